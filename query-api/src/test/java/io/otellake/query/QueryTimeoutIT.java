package io.otellake.query;

import static org.assertj.core.api.Assertions.assertThat;

import io.otellake.infra.S3Server;
import io.otellake.schemas.FlatRow;
import io.otellake.schemas.LogFlattener;
import io.otellake.schemas.Signal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A query that outlives {@code otel-lake.query-timeout} is stopped and answered 504 with a problem document, and the
 * service goes on serving. The limit here is 1 ms, so that a scan of 200,000 records cannot finish in time: the 504
 * comes from the check before a statement starts. {@link RunningQueryTimeoutIT} cancels a statement while it runs.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class QueryTimeoutIT {
    static final Instant T = Instant.parse("2024-07-01T10:00:00Z");
    static Path cache;
    static S3Server s3server;

    @LocalServerPort
    int port;

    final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void lake() throws Exception {
        s3server = S3Server.startOnFreePorts(
                Files.createTempDirectory("timeout-it-s3").resolve("data"));
        cache = Files.createTempDirectory("timeout-it-cache");
        List<FlatRow> rows = new ArrayList<>();
        for (int i = 0; i < 200_000; i++) {
            rows.addAll(LogFlattener.flatten(
                    QueryApiIT.logs("svc-" + (i % 7), T.plusMillis(i), "record " + i + " of a long scan", i)));
        }
        try (S3Client s3 = QueryApiIT.s3(s3server)) {
            s3.createBucket(b -> b.bucket(QueryApiIT.BUCKET));
            QueryApiIT.put(s3, Signal.LOGS, "acme", rows);
        }
    }

    @AfterAll
    static void stop() {
        s3server.close();
    }

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry r) {
        QueryApiIT.lakeProperties(r, () -> s3server.endpoint(), () -> s3server, () -> cache);
        r.add("otel-lake.query-timeout", () -> "1ms");
    }

    HttpResponse<String> get(String path) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                        .header("X-Scope-OrgID", "acme")
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aQueryOverTheTimeLimitIsStoppedWith504AndTheServiceKeepsServing() throws Exception {
        String range = "start=2024-07-01T10:00:00Z&end=2024-07-01T11:00:00Z";
        for (String path : List.of(
                // a regular expression that no body matches, tried on every one: a scan of many milliseconds
                "/api/v1/logs?regex=record%20%5B0-9%5D%2B%20of%20a%20short%20scan&" + range,
                "/api/v1/logs/volume?step=1m&regex=record%20%5B0-9%5D%2B&" + range)) {
            long started = System.nanoTime();
            HttpResponse<String> r = get(path);
            QueryApiIT.problem(r, 504, "ran longer than");
            assertThat((System.nanoTime() - started) / 1_000_000)
                    .as("answered within seconds")
                    .isLessThan(10_000);
        }
        assertThat(get("/actuator/health").statusCode()).isEqualTo(200);
        assertThat(get("/api/v1/logs?regex=record%20%5B0-9%5D%2B%20of%20a%20short%20scan&" + range + "&limit=1")
                        .statusCode())
                .as("the same query runs again (and times out again), the service is not wedged")
                .isEqualTo(504);
    }
}
