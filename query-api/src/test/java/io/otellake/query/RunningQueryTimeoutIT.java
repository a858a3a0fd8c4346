package io.otellake.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.otellake.archiver.ParquetFiles;
import io.otellake.infra.S3Server;
import io.otellake.schemas.LogFlattener;
import io.otellake.schemas.Partition;
import io.otellake.schemas.Signal;
import io.otellake.schemas.TenantId;
import java.lang.management.ManagementFactory;
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
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.util.LinkedMultiValueMap;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import tools.jackson.databind.JsonNode;

/**
 * A DuckDB statement that is running when {@code otel-lake.query-timeout} (1 s here) is up is cancelled: the request is
 * answered 504 with a problem document within 4 s of its limit, while the statement alone runs longer than 5 s (more
 * than 10 s on an idle machine), DuckDB stops working on it, and the service answers the next query. {@link QueryTimeoutIT} covers a
 * limit so short that no statement starts.
 *
 * <p>The lake: tenant acme has {@value #ROWS} logs at 10:00 on 2024-07-01, each a body of 1 KiB of random hex, in one
 * file of row groups of about 100 records. The regex {@value #COSTLY} (999 counted repetitions, under LogFilter's
 * bound) matches none of them and costs RE2 milliseconds a body. DuckDB notices a cancel only between pieces of its
 * scan; the small row groups keep those pieces a fraction of a second long, so that the bound on how soon the 504
 * comes tests the service, not how DuckDB divides one large row group (with the archiver's 64 MiB row groups, such a
 * file is one row group, and in one run the 504 came 3 s after the limit instead of 0.2 s).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class RunningQueryTimeoutIT {
    static final Instant T = Instant.parse("2024-07-01T10:00:00Z");
    static final String RANGE = "start=2024-07-01T10:00:00Z&end=2024-07-01T11:00:00Z";
    static final int ROWS = 16_000;
    static final String COSTLY = "a[0-9a-f]{999}z";
    static final long TIMEOUT_MS = 1_000;

    static Path cache;
    static S3Server s3server;

    @LocalServerPort
    int port;

    final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void lake() throws Exception {
        s3server = S3Server.startOnFreePorts(
                Files.createTempDirectory("running-timeout-it-s3").resolve("data"));
        cache = Files.createTempDirectory("running-timeout-it-cache");
        Random random = new Random(5);
        List<GenericRecord> rows = new ArrayList<>();
        for (int i = 0; i < ROWS; i++) {
            byte[] noise = new byte[512];
            random.nextBytes(noise);
            LogFlattener.flatten(QueryApiIT.logs(
                            "svc", T.plusMillis(i), HexFormat.of().formatHex(noise), 0))
                    .forEach(r -> rows.add(r.record()));
        }
        Path file = Files.createTempFile("running-timeout-it", ".parquet");
        ParquetFiles.write(Signal.LOGS, rows, file, 128 * 1024, ParquetFiles.ZSTD_LEVEL);
        String key = QueryApiIT.LAYOUT.objectKey(
                Partition.of(Signal.LOGS, TenantId.of("acme"), QueryApiIT.nanos(T)), "fixture+0+0.parquet");
        try (S3Client s3 = QueryApiIT.s3(s3server)) {
            s3.createBucket(b -> b.bucket(QueryApiIT.BUCKET));
            s3.putObject(b -> b.bucket(QueryApiIT.BUCKET).key(key), RequestBody.fromFile(file));
        }
        Files.delete(file);
    }

    @AfterAll
    static void stop() {
        s3server.close();
    }

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry r) {
        QueryApiIT.lakeProperties(r, () -> s3server.endpoint(), () -> s3server, () -> cache);
        r.add("otel-lake.query-timeout", () -> TIMEOUT_MS + "ms");
    }

    @Test
    void aStatementStillRunningAtTheLimitIsCancelledAndAnswered504SoonAfterIt() throws Exception {
        // the file in the cache first, so that the costly query's time goes to its statement, not to S3
        JsonNode volume = null;
        for (int i = 0; i < 10 && volume == null; i++) {
            HttpResponse<String> r = get("/api/v1/logs/volume?step=1h&" + RANGE);
            volume = r.statusCode() == 200 ? QueryApiIT.JSON.readTree(r.body()) : null;
        }
        assertThat(volume)
                .as("the volume query was answered within the limit once the file was cached")
                .isNotNull();
        volume = QueryApiIT.JSON.readTree(
                get("/api/v1/logs/volume?step=1h&" + RANGE).body());
        assertThat(volume.get("stats").get("cache_hits").asInt())
                .as("the file comes from the cache")
                .isEqualTo(1);

        long started = System.nanoTime();
        HttpResponse<String> r = get("/api/v1/logs?regex=" + QueryApiIT.enc(COSTLY) + "&" + RANGE);
        long tookMs = (System.nanoTime() - started) / 1_000_000;
        QueryLimitsIT.problem(
                r,
                504,
                "Query timed out",
                "the query ran longer than 1000 ms and was stopped; narrow the time range or the filters");
        assertThat(tookMs)
                .as("answered soon after its limit, before the statement would end (over 5 s, as checked below)")
                .isBetween(TIMEOUT_MS, TIMEOUT_MS + 4_000);

        // DuckDB stopped working on it: a running statement keeps its two threads busy
        Thread.sleep(500);
        long cpuBefore = processCpuNanos();
        Thread.sleep(3_000);
        assertThat((processCpuNanos() - cpuBefore) / 1_000_000)
                .as("CPU milliseconds the process used in the 3 s after the answer")
                .isLessThan(1_000);

        assertThat(get("/actuator/health").statusCode()).isEqualTo(200);
        HttpResponse<String> after = get("/api/v1/logs/volume?step=1h&" + RANGE);
        assertThat(after.statusCode())
                .as("the service answers the next query: " + after.body())
                .isEqualTo(200);
        long total = 0;
        for (JsonNode bucket : QueryApiIT.JSON.readTree(after.body()).get("data")) {
            total += bucket.get("count").asLong();
        }
        assertThat(total).isEqualTo(ROWS);

        // the same search, left to run for up to 5 s, is still running then: the 504 above did cut a statement
        LakeProperties d = LakeProperties.defaults(
                new LakeProperties.S3(
                        s3server.endpoint(),
                        "us-east-1",
                        QueryApiIT.BUCKET,
                        "lake",
                        s3server.accessKey(),
                        s3server.secretKey(),
                        ""),
                Files.createTempDirectory("running-timeout-it-direct"));
        LakeProperties fiveSeconds = withQueryTimeout(d, Duration.ofSeconds(5));
        LinkedMultiValueMap<String, String> params = new LinkedMultiValueMap<>();
        params.add("regex", COSTLY);
        try (ArchiveFiles archive = new ArchiveFiles(fiveSeconds);
                DuckDb duckDb = new DuckDb(fiveSeconds, archive);
                QueryRunner runner = new QueryRunner(duckDb, archive, fiveSeconds)) {
            LogSearch search = new LogSearch(archive, runner);
            LogSearch.Query query = new LogSearch.Query(
                    TenantId.of("acme"),
                    T,
                    T.plusSeconds(3600),
                    LogFilter.parse(params),
                    100,
                    LogSearch.Direction.BACKWARD,
                    null);
            long directStarted = System.nanoTime();
            assertThatThrownBy(() -> search.search(query)).isInstanceOf(QueryRunner.QueryTimeoutException.class);
            assertThat((System.nanoTime() - directStarted) / 1_000_000)
                    .as("the statement alone runs longer than 5 s")
                    .isGreaterThanOrEqualTo(5_000);
        }
    }

    static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    static LakeProperties withQueryTimeout(LakeProperties d, Duration queryTimeout) {
        return new LakeProperties(
                d.s3(),
                d.cacheDir(),
                d.cacheMaxBytes(),
                d.maxRange(),
                d.traceLookback(),
                d.defaultLimit(),
                d.maxLimit(),
                d.duckdbMemoryLimit(),
                d.duckdbThreads(),
                queryTimeout,
                d.maxConcurrentQueries(),
                d.queueTimeout(),
                d.maxBytesPerQuery(),
                d.maxTraceSpans(),
                d.authEnabled(),
                d.authTokens(),
                d.listingTtl());
    }

    HttpResponse<String> get(String path) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                        .header("X-Scope-OrgID", "acme")
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
