package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.otellake.infra.ChildJvm;
import java.io.File;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Ingest's own process ({@link IngestMain}), for what only a fresh JVM shows. */
class IngestMainIT {
    private static final Pattern SERVES = Pattern.compile("Ingest serves OTLP/HTTP on (http://\\S+) and");

    @TempDir
    Path work;

    @Test
    void aClientThatStopsSendingHalfwayIsCutOffAndFreesItsThread() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        try (ChildJvm ingest = ChildJvm.builder("ingest", IngestMain.class.getName())
                .classpath(classpath())
                .jvmOptions("-Xmx256m")
                .env(IngestConfig.ENV_KAFKA_BOOTSTRAP, TestKafka.broker().bootstrapServers())
                .env(IngestConfig.ENV_HTTP_HOST, "127.0.0.1")
                .env(IngestConfig.ENV_HTTP_PORT, "0")
                .env(IngestConfig.ENV_GRPC_PORT, "0")
                .env(IngestConfig.ENV_TRACES_TOPIC, "main-traces-" + run)
                .env(IngestConfig.ENV_LOGS_TOPIC, "main-logs-" + run)
                .env(IngestConfig.ENV_METRICS_TOPIC, "main-metrics-" + run)
                // one thread: a client that holds it holds all of OTLP/HTTP
                .env(IngestConfig.ENV_HTTP_THREADS, "1")
                .env(IngestConfig.ENV_HTTP_REQUEST_TIMEOUT_MS, "2000")
                .logFile(work.resolve("ingest.log"))
                .start()) {
            ingest.waitForLogLine("Ingest serves OTLP/HTTP on", Duration.ofSeconds(60));
            Matcher m = SERVES.matcher(Files.readString(ingest.logFile()));
            assertThat(m.find()).isTrue();
            URI base = URI.create(m.group(1));

            try (Socket stalled = new Socket(base.getHost(), base.getPort())) {
                OutputStream out = stalled.getOutputStream();
                out.write(("POST /v1/traces HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/x-protobuf\r\n"
                                + "Content-Length: 1000\r\n\r\n0123456789")
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                long sent = System.nanoTime();

                stalled.setSoTimeout(10_000);
                InputStream in = stalled.getInputStream();
                byte[] answer = in.readAllBytes(); // ends when the server closes the connection
                assertThat(Duration.ofNanos(System.nanoTime() - sent))
                        .as("cut off after the 2 s request timeout, not at once")
                        .isGreaterThanOrEqualTo(Duration.ofSeconds(2));
                assertThat(new String(answer, StandardCharsets.ISO_8859_1))
                        .as("no answer: the request was never complete")
                        .doesNotContain("HTTP/1.1 200");
            }

            // The only thread is free again: a well-behaved client is served.
            HttpResponse<String> response = HttpClient.newHttpClient()
                    .send(
                            HttpRequest.newBuilder(base.resolve("/v1/traces"))
                                    .header("Content-Type", "application/x-protobuf")
                                    .timeout(Duration.ofSeconds(30))
                                    .POST(HttpRequest.BodyPublishers.ofByteArray(
                                            IngestIT.traces("after-stall", 1).toByteArray()))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(200);
        }
    }

    private static List<Path> classpath() throws Exception {
        Path target = Path.of("target").toAbsolutePath();
        List<Path> entries = new ArrayList<>();
        entries.add(target.resolve("classes"));
        for (String entry :
                Files.readString(target.resolve("runtime.classpath")).strip().split(File.pathSeparator)) {
            entries.add(Path.of(entry));
        }
        return entries;
    }
}
