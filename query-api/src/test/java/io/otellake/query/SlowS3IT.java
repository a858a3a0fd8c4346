package io.otellake.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.otellake.infra.S3Server;
import io.otellake.schemas.FlatRow;
import io.otellake.schemas.LogFlattener;
import io.otellake.schemas.Signal;
import io.otellake.schemas.TenantId;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * An S3 that sends an archive file slowly costs a query its query timeout, not the time of the transfer: the request
 * is answered 504 at its limit, its fetch is cut soon after, and the service keeps serving.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class SlowS3IT {
    static final Instant T = Instant.parse("2024-07-01T10:00:00Z");
    /** The relay's rate: the file below (about 1.6 MB of random hex text) takes well over a minute to come through. */
    static final int BYTES_PER_SECOND = 16 * 1024;

    static Path cache;
    static S3Server s3server;
    static SlowRelay relay;
    static long fileBytes;

    @LocalServerPort
    int port;

    final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void lake() throws Exception {
        s3server = S3Server.startOnFreePorts(
                Files.createTempDirectory("slow-s3-it").resolve("data"));
        cache = Files.createTempDirectory("slow-s3-it-cache");
        Random random = new Random(3);
        List<FlatRow> rows = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            byte[] noise = new byte[150];
            random.nextBytes(noise);
            rows.addAll(LogFlattener.flatten(QueryApiIT.logs(
                    "svc", T.plusMillis(i), "record " + HexFormat.of().formatHex(noise), i)));
        }
        try (S3Client s3 = QueryApiIT.s3(s3server)) {
            s3.createBucket(b -> b.bucket(QueryApiIT.BUCKET));
            QueryApiIT.put(s3, Signal.LOGS, "acme", rows);
            fileBytes = s3.listObjectsV2(b -> b.bucket(QueryApiIT.BUCKET)).contents().stream()
                    .mapToLong(o -> o.size())
                    .sum();
        }
        relay = new SlowRelay(s3server.endpoint(), BYTES_PER_SECOND);
    }

    @AfterAll
    static void stop() {
        relay.close();
        s3server.close();
    }

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry r) {
        QueryApiIT.lakeProperties(r, () -> relay.endpoint(), () -> s3server, () -> cache);
        r.add("otel-lake.query-timeout", () -> "3s");
    }

    /**
     * A fetch that its query stopped waiting for (504) but that completes before it is cut still holds its file in
     * the cache until it is given back; the grace is a minute here so that the fetch, about 3 s, surely completes.
     */
    @Test
    void aFetchThatCompletesAfterItsQueryTimedOutIsGivenBackToTheCache() throws Exception {
        try (SlowRelay faster = new SlowRelay(s3server.endpoint(), (int) (fileBytes / 3));
                ArchiveFiles archive = new ArchiveFiles(
                        LakeProperties.defaults(
                                new LakeProperties.S3(
                                        faster.endpoint(),
                                        "us-east-1",
                                        QueryApiIT.BUCKET,
                                        "lake",
                                        s3server.accessKey(),
                                        s3server.secretKey(),
                                        ""),
                                Files.createTempDirectory("slow-s3-it-late")),
                        null,
                        Duration.ofMinutes(1))) {
            RequestDeadline.start(Duration.ofSeconds(1));
            try {
                assertThatThrownBy(
                                () -> archive.fetch(Signal.LOGS, TenantId.of("acme"), T, T.plus(Duration.ofHours(1))))
                        .isInstanceOf(QueryRunner.QueryTimeoutException.class);
            } finally {
                RequestDeadline.clear();
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (System.nanoTime() < deadline && (archive.cachedBytes() < fileBytes || archive.heldFiles() > 0)) {
                Thread.sleep(100);
            }
            assertThat(archive.cachedBytes()).as("the fetch completed").isEqualTo(fileBytes);
            assertThat(archive.heldFiles()).as("and its file was given back").isZero();
        }
    }

    HttpResponse<String> get(String path) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                        .header("X-Scope-OrgID", "acme")
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aFileThatComesSlowerThanTheQueryTimeoutGets504AtTheLimitNotWhenItArrives() throws Exception {
        assertThat(fileBytes / BYTES_PER_SECOND)
                .as("seconds the relay needs for the archive file")
                .isGreaterThan(60);
        String range = "start=2024-07-01T10:00:00Z&end=2024-07-01T11:00:00Z";
        for (String path : List.of(
                "/api/v1/logs?q=record&" + range,
                "/api/v1/logs/volume?step=1m&" + range,
                "/api/v1/logs?q=record&limit=1&" + range)) {
            long started = System.nanoTime();
            HttpResponse<String> r = get(path);
            long tookMs = (System.nanoTime() - started) / 1_000_000;
            QueryApiIT.problem(r, 504, "ran longer than 3000 ms");
            assertThat(tookMs)
                    .as("answered at the 3 s limit, not after the transfer (over 60 s): " + path)
                    .isBetween(2_900L, 15_000L);
        }
        assertThat(get("/actuator/health").statusCode()).isEqualTo(200);

        // nothing fetches on once its query has had its answer (the fetch is cut ArchiveFiles.FETCH_GRACE later)
        Thread.sleep(ArchiveFiles.FETCH_GRACE.toMillis() + 1_500);
        long answered = relay.bytesAnswered();
        Thread.sleep(2_000);
        assertThat(relay.bytesAnswered())
                .as("bytes S3 sent in the 2 s after every fetch should have been cut")
                .isEqualTo(answered);
    }
}
