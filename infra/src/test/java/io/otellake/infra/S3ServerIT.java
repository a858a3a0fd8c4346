package io.otellake.infra;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.Locale;
import java.util.stream.Stream;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class S3ServerIT {
    @TempDir
    Path tempDir;

    @Test
    void answersS3RequestsAndKeepsBucketsAcrossRestarts() throws Exception {
        Path dataDir = tempDir.resolve("s3");
        Files.createDirectories(dataDir.resolve("otel-lake"));
        try (S3Server server = S3Server.startOnFreePorts(dataDir)) {
            assertThat(server.endpoint()).isEqualTo(URI.create("http://127.0.0.1:" + server.port()));
            assertThat(server.toString()).contains(server.accessKey()).doesNotContain(server.secretKey());

            Response anonymous = get(server.endpoint(), null);
            assertThat(anonymous.status()).isEqualTo(403);
            assertThat(anonymous.body()).contains("<Error>", "AccessDenied");

            Response listing = get(server.endpoint(), server);
            assertThat(listing.status()).isEqualTo(200);
            assertThat(listing.body()).contains("ListAllMyBucketsResult", "<Name>otel-lake</Name>");

            server.stop();
            assertThat(server.isRunning()).isFalse();
            assertThat(Ports.isOpen("127.0.0.1", server.port())).isFalse();

            server.start();
            assertThat(get(server.endpoint(), server).body()).contains("<Name>otel-lake</Name>");
            assertThat(Files.readString(server.logFile())).contains("Started");
        }
        try (Stream<Path> entries = Files.list(dataDir)) {
            assertThat(entries).as("only buckets in the data directory").containsExactly(dataDir.resolve("otel-lake"));
        }
    }

    @Test
    void servesADataDirectoryWithSpacesAndLettersBeyondAscii() throws Exception {
        // S3Proxy reads its properties as ISO-8859-1: a UTF-8 "ü" in the base directory would name another one.
        Path dataDir = tempDir.resolve("Jürgen's lake/s3");
        Files.createDirectories(dataDir.resolve("otel-lake"));
        try (S3Server server = S3Server.startOnFreePorts(dataDir)) {
            Response listing = get(server.endpoint(), server);
            assertThat(listing.status()).isEqualTo(200);
            assertThat(listing.body()).contains("<Name>otel-lake</Name>");
        }
        try (Stream<Path> entries = Files.list(tempDir)) {
            assertThat(entries).containsExactly(tempDir.resolve("Jürgen's lake"));
        }
    }

    record Response(int status, String body) {}

    /** GET with an AWS signature v2 when {@code signer} is given: enough S3 for a test, without an S3 client. */
    private static Response get(URI endpoint, S3Server signer) throws Exception {
        HttpURLConnection connection =
                (HttpURLConnection) endpoint.resolve("/").toURL().openConnection();
        if (signer != null) {
            String date = DateTimeFormatter.RFC_1123_DATE_TIME
                    .withLocale(Locale.ROOT)
                    .format(ZonedDateTime.now(ZoneOffset.UTC));
            Mac mac = Mac.getInstance("HmacSHA1");
            mac.init(new SecretKeySpec(signer.secretKey().getBytes(StandardCharsets.UTF_8), "HmacSHA1"));
            String signature = Base64.getEncoder()
                    .encodeToString(mac.doFinal(("GET\n\n\n" + date + "\n/").getBytes(StandardCharsets.UTF_8)));
            connection.setRequestProperty("Date", date);
            connection.setRequestProperty("Authorization", "AWS " + signer.accessKey() + ":" + signature);
        }
        int status = connection.getResponseCode();
        byte[] body = (status < 400 ? connection.getInputStream() : connection.getErrorStream()).readAllBytes();
        return new Response(status, new String(body, StandardCharsets.UTF_8));
    }
}
