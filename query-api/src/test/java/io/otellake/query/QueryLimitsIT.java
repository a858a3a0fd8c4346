package io.otellake.query;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.otellake.infra.S3Server;
import io.otellake.schemas.FlatRow;
import io.otellake.schemas.LogFlattener;
import io.otellake.schemas.Signal;
import io.otellake.schemas.SpanFlattener;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import software.amazon.awssdk.services.s3.S3Client;
import tools.jackson.databind.JsonNode;

/**
 * The query limits as a client meets them over HTTP, each a problem document with the status and words the API
 * promises: one query at a time ({@code otel-lake.max-concurrent-queries=1}, a turn waited for 300 ms) is 429 with
 * {@code Retry-After} for a second one; a query whose files add up to more than {@code otel-lake.max-bytes-per-query}
 * is 422 before anything is fetched; a trace of more spans than {@code otel-lake.max-trace-spans} is 422.
 *
 * <p>S3 is behind a {@link SlowRelay} that answers {@value #BYTES_PER_SECOND} bytes a second, so that the query
 * holding the one turn (tenant slow's file of about 90 KB) holds it for seconds.
 *
 * <p>The lake, on 2024-05-01 between 10:00 and 11:00: tenant slow has 150 logs of 1 KiB random hex, under the byte
 * limit; tenant big has 600 such logs, over it; tenant traces has trace {@link #TWO_SPANS} and trace {@link #ONE_SPAN}.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class QueryLimitsIT {
    static final Instant T = Instant.parse("2024-05-01T10:00:00Z");
    static final String HOUR = "start=2024-05-01T10:00:00Z&end=2024-05-01T11:00:00Z";
    static final String TWO_SPANS = "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0";
    static final String ONE_SPAN = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";
    static final int BYTES_PER_SECOND = 10 * 1024;
    static final long MAX_BYTES = 150_000;

    static S3Server s3server;
    static SlowRelay relay;
    static Path cache;
    static long slowBytes;
    static long bigBytes;

    @LocalServerPort
    int port;

    final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void lake() throws Exception {
        s3server = S3Server.startOnFreePorts(
                Files.createTempDirectory("limits-it-s3").resolve("data"));
        cache = Files.createTempDirectory("limits-it-cache");
        try (S3Client s3 = QueryApiIT.s3(s3server)) {
            s3.createBucket(b -> b.bucket(QueryApiIT.BUCKET));
            QueryApiIT.put(s3, Signal.LOGS, "slow", noise(150));
            QueryApiIT.put(s3, Signal.LOGS, "big", noise(600));
            QueryApiIT.put(s3, Signal.TRACES, "traces", SpanFlattener.flatten(traces()));
            slowBytes = bytesUnder(s3, "lake/logs/tenant=slow/");
            bigBytes = bytesUnder(s3, "lake/logs/tenant=big/");
        }
        assertThat(slowBytes)
                .as("tenant slow's file: under the limit, and seconds long behind the relay")
                .isBetween(5L * BYTES_PER_SECOND, MAX_BYTES);
        assertThat(bigBytes).as("tenant big's file: over the limit").isGreaterThan(MAX_BYTES);
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
        r.add("otel-lake.max-concurrent-queries", () -> "1");
        r.add("otel-lake.queue-timeout", () -> "300ms");
        r.add("otel-lake.max-bytes-per-query", () -> Long.toString(MAX_BYTES));
        r.add("otel-lake.max-trace-spans", () -> "1");
        r.add("otel-lake.trace-lookback", () -> "4000d"); // the fixtures are from 2024
    }

    @Test
    void aQueryWhileAnotherHoldsTheOnlyTurnIsAnswered429WithRetryAfterAndGetsItsTurnOnceItIsFree() throws Exception {
        long answeredBefore = relay.bytesAnswered();
        long started = System.nanoTime();
        CompletableFuture<HttpResponse<String>> holder = get("/api/v1/logs?" + HOUR + "&limit=1", "slow");
        // it holds the turn once S3 answers anything for it: the API lists the archive only after the gate
        while (relay.bytesAnswered() == answeredBefore && !holder.isDone()) {
            Thread.sleep(10);
        }
        assertThat(holder).as("the first query is still fetching its file").isNotDone();

        long asked = System.nanoTime();
        HttpResponse<String> refused = get("/api/v1/traces?" + HOUR, "traces").get(30, TimeUnit.SECONDS);
        long waitedMs = (System.nanoTime() - asked) / 1_000_000;
        problem(refused, 429, "Too many queries", "too many queries are running; retry shortly");
        assertThat(refused.headers().firstValue("Retry-After")).hasValue("1");
        assertThat(waitedMs).as("it waited its queue timeout for a turn").isGreaterThanOrEqualTo(290);
        assertThat(holder).as("the first query held the turn all that time").isNotDone();
        assertThat(get("/actuator/health", null).get(30, TimeUnit.SECONDS).statusCode())
                .as("health is not a query and is not queued")
                .isEqualTo(200);

        HttpResponse<String> held = holder.get(60, TimeUnit.SECONDS);
        assertThat(held.statusCode()).as(held.body()).isEqualTo(200);
        assertThat((System.nanoTime() - started) / 1_000_000)
                .as("the holder's file took seconds to come through the relay")
                .isGreaterThan(2_000);
        HttpResponse<String> after = get("/api/v1/traces?" + HOUR, "traces").get(30, TimeUnit.SECONDS);
        assertThat(after.statusCode())
                .as("the turn is free again: " + after.body())
                .isEqualTo(200);
        assertThat(QueryApiIT.JSON.readTree(after.body()).get("data"))
                .extracting(t -> t.get("trace_id").asString())
                .containsExactlyInAnyOrder(TWO_SPANS, ONE_SPAN);
    }

    @Test
    void aQueryOverTheByteLimitIsAnswered422BeforeItsFilesAreFetched() throws Exception {
        String detail = "the query would read " + bigBytes + " bytes of archive, more than the allowed " + MAX_BYTES
                + "; narrow the time range or the tenant's data";
        long answeredBefore = relay.bytesAnswered();
        for (String path :
                List.of("/api/v1/logs?" + HOUR, "/api/v1/logs?" + HOUR + "&q=nothing", "/api/v1/logs/volume?" + HOUR)) {
            problem(get(path, "big").get(60, TimeUnit.SECONDS), 422, "Query too large", detail);
        }
        assertThat(relay.bytesAnswered() - answeredBefore)
                .as("S3 sent the listings only, not the file of " + bigBytes + " bytes")
                .isLessThan(bigBytes / 10);

        // a query whose files are under the limit is answered
        HttpResponse<String> small = get("/api/v1/traces?" + HOUR, "traces").get(60, TimeUnit.SECONDS);
        assertThat(small.statusCode()).as(small.body()).isEqualTo(200);
    }

    @Test
    void aTraceOfMoreSpansThanALookupMayReturnIsAnswered422AndOneAtTheLimitIsReturned() throws Exception {
        String detail = "trace " + TWO_SPANS + " has more than the 1 spans one lookup may return"
                + " (OTEL_LAKE_MAX_TRACE_SPANS)";
        for (String query :
                List.of("?" + HOUR, "", "?format=otlp", "?start=2024-04-28T00:00:00Z&end=2024-05-03T00:00:00Z")) {
            problem(
                    get("/api/v1/traces/" + TWO_SPANS + query, "traces").get(60, TimeUnit.SECONDS),
                    422,
                    "Query too large",
                    detail);
        }
        for (String query : List.of("?" + HOUR, "")) {
            HttpResponse<String> r =
                    get("/api/v1/traces/" + ONE_SPAN + query, "traces").get(60, TimeUnit.SECONDS);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(QueryApiIT.spanIds(QueryApiIT.JSON.readTree(r.body()))).containsExactly("00000000000000b1");
        }
    }

    CompletableFuture<HttpResponse<String>> get(String path, String tenant) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
        if (tenant != null) {
            b.header("X-Scope-OrgID", tenant);
        }
        return http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A problem document with exactly this status, title and detail. */
    static void problem(HttpResponse<String> r, int status, String title, String detail) {
        QueryApiIT.problem(r, status, null);
        JsonNode p = QueryApiIT.JSON.readTree(r.body());
        assertThat(p.get("title").asString()).isEqualTo(title);
        assertThat(p.get("detail").asString()).isEqualTo(detail);
    }

    static long bytesUnder(S3Client s3, String prefix) {
        return s3.listObjectsV2(b -> b.bucket(QueryApiIT.BUCKET).prefix(prefix)).contents().stream()
                .mapToLong(o -> o.size())
                .sum();
    }

    /** {@code n} logs in the 10:00 hour, each a body of 1 KiB of random hex: Parquet cannot shrink it much. */
    static List<FlatRow> noise(int n) {
        Random random = new Random(n);
        List<FlatRow> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] noise = new byte[512];
            random.nextBytes(noise);
            rows.addAll(LogFlattener.flatten(
                    QueryApiIT.logs("svc", T.plusSeconds(i), HexFormat.of().formatHex(noise), 0)));
        }
        return rows;
    }

    /** Trace TWO_SPANS: spans a1 (10:10) and a2 (10:20); trace ONE_SPAN: span b1 (10:40). */
    static ExportTraceServiceRequest traces() {
        ScopeSpans.Builder scope = ScopeSpans.newBuilder();
        String[][] spans = {{TWO_SPANS, "a1", "10:10"}, {TWO_SPANS, "a2", "10:20"}, {ONE_SPAN, "b1", "10:40"}};
        for (String[] s : spans) {
            long start = QueryApiIT.nanos(Instant.parse("2024-05-01T" + s[2] + ":00Z"));
            scope.addSpans(Span.newBuilder()
                    .setTraceId(ByteString.fromHex(s[0]))
                    .setSpanId(ByteString.fromHex("00000000000000" + s[1]))
                    .setName("span " + s[1])
                    .setStartTimeUnixNano(start)
                    .setEndTimeUnixNano(start + 1_000_000_000L));
        }
        return ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .setResource(Resource.newBuilder()
                                .addAttributes(QueryApiIT.kv("service.name", QueryApiIT.str("traced"))))
                        .addScopeSpans(scope))
                .build();
    }
}
