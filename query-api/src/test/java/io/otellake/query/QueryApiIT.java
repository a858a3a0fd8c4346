package io.otellake.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.ArrayValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.common.v1.KeyValueList;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.otellake.archiver.ParquetFiles;
import io.otellake.archiver.TraceIndex;
import io.otellake.infra.S3Server;
import io.otellake.schemas.FlatRow;
import io.otellake.schemas.LakeLayout;
import io.otellake.schemas.LogFlattener;
import io.otellake.schemas.Partition;
import io.otellake.schemas.Signal;
import io.otellake.schemas.SpanFlattener;
import io.otellake.schemas.TenantId;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The query API over real archive files (written by the archiver's own Parquet writer) in a real S3 server.
 *
 * <p>The lake: tenant acme has logs at 10:15 and 08:30 on 2024-05-01 and a trace whose spans start at 10:59 and 11:01;
 * tenant globex has one log at 10:20 with the same words as acme's.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class QueryApiIT {
    static final String BUCKET = "lake-it";
    static final Instant T10 = Instant.parse("2024-05-01T10:15:00.123456789Z");
    static final String TRACE = "0af7651916cd43dd8448eb211c80319c";
    static final Instant PAGER_T = Instant.parse("2024-05-02T10:00:00.5Z");
    static final String PAGER_RANGE = "start=2024-05-02T10:00:00Z&end=2024-05-02T11:00:00Z";
    static final LakeLayout LAYOUT = new LakeLayout("lake");
    static final JsonMapper JSON = JsonMapper.builder().build();

    static S3Server s3server;
    static Path cache;

    @LocalServerPort
    int port;

    final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void lake() throws Exception {
        s3server = S3Server.startOnFreePorts(
                Files.createTempDirectory("query-it-s3").resolve("data"));
        cache = Files.createTempDirectory("query-it-cache");
        try (S3Client s3 = s3()) {
            s3.createBucket(b -> b.bucket(BUCKET));
            put(
                    s3,
                    Signal.LOGS,
                    "acme",
                    LogFlattener.flatten(logs("checkout", T10, "Payment DECLINED for order 7", 7)));
            put(s3, Signal.LOGS, "acme", LogFlattener.flatten(logs("cart", T10.plusSeconds(1), "cart saved", 0)));
            ExportLogsServiceRequest.Builder odd = logs("odd", T10, "severity out of range", 0).toBuilder();
            odd.getResourceLogsBuilder(0)
                    .getScopeLogsBuilder(0)
                    .getLogRecordsBuilder(0)
                    .setSeverityNumberValue(999);
            put(s3, Signal.LOGS, "odd", LogFlattener.flatten(odd.build()));
            put(
                    s3,
                    Signal.LOGS,
                    "acme",
                    LogFlattener.flatten(logs("checkout", T10.minusSeconds(6300), "early declined", 0)));
            put(
                    s3,
                    Signal.LOGS,
                    "globex",
                    LogFlattener.flatten(logs("checkout", T10.plusSeconds(300), "payment declined at globex", 0)));
            put(s3, Signal.TRACES, "acme", SpanFlattener.flatten(trace()));
            // another acme trace two days later: a lookup through the trace index must not read its hour
            ExportTraceServiceRequest later = trace();
            Span far = later.getResourceSpans(0).getScopeSpans(0).getSpans(2).toBuilder()
                    .setTraceId(ByteString.fromHex("33333333333333333333333333333333"))
                    .setStartTimeUnixNano(nanos(Instant.parse("2024-05-03T08:00:00Z")))
                    .setEndTimeUnixNano(nanos(Instant.parse("2024-05-03T08:00:01Z")))
                    .build();
            put(
                    s3,
                    Signal.TRACES,
                    "acme",
                    SpanFlattener.flatten(ExportTraceServiceRequest.newBuilder()
                            .addResourceSpans(later.getResourceSpans(0).toBuilder()
                                    .setScopeSpans(0, ScopeSpans.newBuilder().addSpans(far)))
                            .build()));
            // tenant ranged: one trace, two spans in one hour (14:00 and 14:30), and a span that ends before it starts
            put(s3, Signal.TRACES, "ranged", SpanFlattener.flatten(ranged()));
            // a tenant whose id starts with another's: its keys share the text prefix "tenant=acme"
            put(s3, Signal.LOGS, "acme-evil", LogFlattener.flatten(logs("checkout", T10, "declined at acme-evil", 0)));
            // tenant pager: 25 records in two files, 10 of them at the very same nanosecond
            List<FlatRow> first = new ArrayList<>();
            List<FlatRow> second = new ArrayList<>();
            for (int i = 0; i < 25; i++) {
                Instant t = i < 10 ? PAGER_T : PAGER_T.plusSeconds(i);
                int severity = new int[] {5, 9, 13, 17, 21}[i % 5];
                (i % 2 == 0 ? first : second)
                        .addAll(LogFlattener.flatten(pagerLog("svc-" + (i % 3), t, "record " + i, severity, i)));
            }
            put(s3, Signal.LOGS, "pager", first);
            put(s3, Signal.LOGS, "pager", second);
            // tenant bigpage: 20 records with bodies of 1 MiB each, more than one page holds
            List<FlatRow> big = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                String body = "big " + i + " " + "x".repeat(1 << 20);
                big.addAll(LogFlattener.flatten(pagerLog("svc", PAGER_T.plusSeconds(i), body, 9, i)));
            }
            put(s3, Signal.LOGS, "bigpage", big);
            // tenant unicode: letters whose lowercase Java and DuckDB write differently
            put(s3, Signal.LOGS, "unicode", LogFlattener.flatten(logs("road", T10, "ΟΔΟΣ ΚΛΕΙΣΤΟΣ in İstanbul", 0)));
        }
    }

    @AfterAll
    static void stop() {
        s3server.close();
    }

    /**
     * The lake settings every query IT gives Spring: S3 at {@code endpoint} (the server, or a relay in front of it),
     * the test bucket, the server's keys and the cache folder; suppliers, as the servers start in {@code @BeforeAll}.
     */
    static void lakeProperties(
            DynamicPropertyRegistry r, Supplier<URI> endpoint, Supplier<S3Server> server, Supplier<Path> cache) {
        r.add("otel-lake.s3.endpoint", () -> endpoint.get().toString());
        r.add("otel-lake.s3.bucket", () -> BUCKET);
        r.add("otel-lake.s3.access-key", () -> server.get().accessKey());
        r.add("otel-lake.s3.secret-key", () -> server.get().secretKey());
        r.add("otel-lake.cache-dir", () -> cache.get().toString());
    }

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry r) {
        lakeProperties(r, () -> s3server.endpoint(), () -> s3server, () -> cache);
        r.add("otel-lake.trace-lookback", () -> "4000d"); // the fixtures are from 2024
    }

    @Test
    void logSearchFindsTheTenantsMatchingRecordsNewestFirstWithTypedAttributes() throws Exception {
        JsonNode body =
                getJson("/api/v1/logs?start=2024-05-01T10:00:00Z&end=2024-05-01T11:00:00Z&q=declined", "acme", 200);

        JsonNode data = body.get("data");
        assertThat(data).hasSize(1);
        JsonNode log = data.get(0);
        assertThat(log.get("body").asString()).isEqualTo("Payment DECLINED for order 7");
        assertThat(log.get("timestamp").asString()).isEqualTo("2024-05-01T10:15:00.123456789Z");
        assertThat(log.get("service_name").asString()).isEqualTo("checkout");
        assertThat(log.get("severity_number").asInt()).isEqualTo(17);
        assertThat(log.get("trace_id").asString()).isEqualTo(TRACE);
        assertThat(log.get("attributes").get("order.id").isIntegralNumber()).isTrue();
        assertThat(log.get("attributes").get("order.id").asLong()).isEqualTo(7);
        assertThat(log.get("attributes").get("retry").isBoolean()).isTrue();
        assertThat(log.get("attributes").get("amount").asDouble()).isEqualTo(12.5);
        assertThat(log.get("attributes").get("tags").isArray()).isTrue();
        assertThat(log.get("attributes").get("tags").get(1).asInt()).isEqualTo(2);
        assertThat(log.get("attributes").get("card").get("brand").asString()).isEqualTo("visa");
        assertThat(log.get("resource_attributes").get("service.name").asString())
                .isEqualTo("checkout");
        assertThat(body.get("stats").get("partitions").asInt()).isEqualTo(1);
        assertThat(body.get("stats").get("files").asInt())
                .as("only the 10:00 hour's files are read")
                .isEqualTo(2);
        JsonNode stats = body.get("stats");
        assertThat(stats.get("rows_scanned").asLong())
                .as("one record in each of the two files")
                .isEqualTo(2);
        assertThat(stats.get("bytes_fetched").asLong() + stats.get("cache_hits").asLong())
                .isPositive();
        assertThat(stats.has("elapsed_ms")).isTrue();
    }

    @Test
    void resultsAreNewestFirstAndLimited() throws Exception {
        JsonNode all = getJson("/api/v1/logs?start=2024-05-01T08:00:00Z&end=2024-05-01T12:00:00Z", "acme", 200);
        assertThat(all.get("data"))
                .extracting(n -> n.get("body").asString())
                .containsExactly("cart saved", "Payment DECLINED for order 7", "early declined");
        assertThat(all.get("stats").get("partitions").asInt()).isEqualTo(4);

        JsonNode one = getJson("/api/v1/logs?start=2024-05-01T08:00:00Z&end=2024-05-01T12:00:00Z&limit=1", "acme", 200);
        assertThat(one.get("data")).extracting(n -> n.get("body").asString()).containsExactly("cart saved");
    }

    @Test
    void startAndEndAcceptEpochNanosecondsAndEndIsExclusive() throws Exception {
        long t = T10.getEpochSecond() * 1_000_000_000L + T10.getNano();
        JsonNode exact = getJson("/api/v1/logs?start=" + t + "&end=" + (t + 1), "acme", 200);
        assertThat(exact.get("data"))
                .extracting(n -> n.get("body").asString())
                .containsExactly("Payment DECLINED for order 7");
        JsonNode before = getJson("/api/v1/logs?start=" + (t - 10) + "&end=" + t, "acme", 200);
        assertThat(before.get("data")).isEmpty();
    }

    @Test
    void rfc3339TimesMayUseASpaceInsteadOfTAndLowerCase() throws Exception {
        for (String start : List.of("2024-05-01 10:00:00Z", "2024-05-01t10:00:00z", "2024-05-01 12:00:00+02:00")) {
            JsonNode body = getJson(
                    "/api/v1/logs?start=" + enc(start) + "&end=" + enc("2024-05-01T12:00:00Z") + "&limit=1",
                    "acme",
                    200);
            assertThat(body.get("data"))
                    .as(start)
                    .extracting(n -> n.get("body").asString())
                    .containsExactly("cart saved");
        }
    }

    @Test
    void timesEpochNanosecondsCannotHoldAreRefusedNotFailed() throws Exception {
        String trace = "/api/v1/traces/" + TRACE;
        problem(getRaw(trace + "?start=3000-01-01T00:00:00Z", "acme"), 400, "start must be between");
        problem(getRaw(trace + "?start=0001-01-01T00:00:00Z", "acme"), 400, "start must be between");
        problem(getRaw(trace + "?start=9223372036854775807", "acme"), 400, "start must be between");
        long lateNanos = TimeParam.toNanos(Instant.parse("2261-12-31T23:00:00Z"));
        problem(getRaw(trace + "?start=" + lateNanos, "acme"), 400, "end must be between"); // end: start + 24 h
        problem(getRaw("/api/v1/logs?start=" + enc("+999999999-12-31T23:00:00Z"), "acme"), 400, "start must be");
        problem(getRaw("/api/v1/traces?end=3000-01-01T00:00:00Z", "acme"), 400, "end must be between");
        problem(getRaw("/api/v1/logs/volume?start=1600-01-01T00:00:00Z", "acme"), 400, "start must be between");
        assertThat(getJson("/api/v1/logs?start=1678-01-01T00:00:00Z&end=1678-01-01T01:00:00Z", "acme", 200)
                        .get("data"))
                .isEmpty();
    }

    @Test
    void serviceFilterMayRepeat() throws Exception {
        String range = "start=2024-05-01T08:00:00Z&end=2024-05-01T12:00:00Z";
        assertThat(getJson("/api/v1/logs?" + range + "&service=cart", "acme", 200)
                        .get("data"))
                .hasSize(1);
        assertThat(getJson("/api/v1/logs?" + range + "&service=cart&service=checkout", "acme", 200)
                        .get("data"))
                .hasSize(3);
        assertThat(getJson("/api/v1/logs?" + range + "&service=nope", "acme", 200)
                        .get("data"))
                .isEmpty();
    }

    @Test
    void aParameterGivenTwiceIsRefusedUnlessItMayRepeat() throws Exception {
        String range = "start=2024-05-01T08:00:00Z&end=2024-05-01T12:00:00Z";
        problem(getRaw("/api/v1/logs?" + range + "&q=declined&q=order", "acme"), 400, "q may be given once");
        problem(
                getRaw("/api/v1/logs?" + range + "&start=2024-05-01T10:00:00Z", "acme"),
                400,
                "start may be given once");
        problem(getRaw("/api/v1/logs?" + range + "&limit=1&limit=2", "acme"), 400, "limit may be given once");
        problem(getRaw("/api/v1/logs/volume?" + range + "&step=1m&step=1h", "acme"), 400, "step may be given once");
        problem(getRaw("/api/v1/traces?" + range + "&service=a&service=b", "acme"), 400, "service may be given once");
        problem(
                getRaw("/api/v1/traces/" + TRACE + "?format=otlp&format=lake", "acme"),
                400,
                "format may be given once");
        assertThat(getJson("/api/v1/logs?" + range + "&service=cart&service=checkout&q=declined", "acme", 200)
                        .get("data"))
                .extracting(n -> n.get("body").asString())
                .containsExactly("Payment DECLINED for order 7", "early declined");
    }

    @Test
    void oneTenantNeverSeesAnothersRecords() throws Exception {
        String path = "/api/v1/logs?start=2024-05-01T00:00:00Z&end=2024-05-02T00:00:00Z&q=declined";
        assertThat(getJson(path, "globex", 200).get("data"))
                .extracting(n -> n.get("body").asString())
                .containsExactly("payment declined at globex");
        assertThat(getJson(path, "acme", 200).get("data"))
                .extracting(n -> n.get("body").asString())
                .containsExactly("Payment DECLINED for order 7", "early declined");
        assertThat(getJson(path, null, 200).get("data"))
                .as("no header means tenant 'default'")
                .isEmpty();
        getJson("/api/v1/traces/" + TRACE + "?start=2024-05-01T00:00:00Z&end=2024-05-02T00:00:00Z", "globex", 404);
    }

    @Test
    void aTenantHeaderSentTwiceIsRefusedNotOneOfItsValuesPicked() throws Exception {
        HttpResponse<String> r = http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                                + "/api/v1/logs?start=2024-05-01T10:00:00Z&end=2024-05-01T11:00:00Z"))
                        .header("X-Scope-OrgID", "globex")
                        .header("X-Scope-OrgID", "acme")
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        problem(r, 400, "X-Scope-OrgID must be sent once; got 2 values");
    }

    @Test
    void anEmptyTenantHeaderIsRefusedAsIngestRefusesItNotReadAsTheDefaultTenant() throws Exception {
        HttpResponse<String> r = http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                                + "/api/v1/logs?start=2024-05-01T10:00:00Z&end=2024-05-01T11:00:00Z"))
                        .header("X-Scope-OrgID", "")
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        problem(r, 400, "X-Scope-OrgID: tenant id must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'; got ''");
    }

    @Test
    void aTenantWhoseIdExtendsAnothersIsStillAnotherTenant() throws Exception {
        String path = "/api/v1/logs?start=2024-05-01T10:00:00Z&end=2024-05-01T11:00:00Z&q=declined";
        assertThat(getJson(path, "acme", 200).get("data"))
                .extracting(n -> n.get("body").asString())
                .containsExactly("Payment DECLINED for order 7");
        assertThat(getJson(path, "acme-evil", 200).get("data"))
                .extracting(n -> n.get("body").asString())
                .containsExactly("declined at acme-evil");
        JsonNode stats = getJson(path, "acme", 200).get("stats");
        assertThat(stats.get("files").asInt())
                .as("acme's own two files of that hour, nothing of acme-evil")
                .isEqualTo(2);
    }

    @Test
    void injectionAndTraversalAttemptsAreHarmless() throws Exception {
        String range = "start=2024-05-01T00:00:00Z&end=2024-05-02T00:00:00Z";
        for (String q : List.of("' OR 1=1 --", "x'); SELECT * FROM read_csv('/etc/passwd'); --", "%", "_")) {
            JsonNode body = getJson("/api/v1/logs?" + range + "&q=" + enc(q), "acme", 200);
            assertThat(body.get("data")).as(q).isEmpty();
        }
        assertThat(getJson("/api/v1/logs?" + range + "&service=" + enc("' OR '1'='1"), "acme", 200)
                        .get("data"))
                .isEmpty();
        problem(getRaw("/api/v1/logs?" + range, "../globex"), 400, "tenant id must be");
        problem(getRaw("/api/v1/logs?" + range, "acme/../globex"), 400, "tenant id must be");
    }

    @Test
    void traceLookupReturnsEverySpanAcrossHours() throws Exception {
        JsonNode body = getJson(
                "/api/v1/traces/" + TRACE.toUpperCase() + "?start=2024-05-01T10:00:00Z&end=2024-05-01T12:00:00Z",
                "acme",
                200);

        assertThat(body.get("trace_id").asString()).isEqualTo(TRACE);
        JsonNode spans = body.get("spans");
        assertThat(spans).extracting(s -> s.get("name").asString()).containsExactly("POST /checkout", "charge card");
        JsonNode root = spans.get(0);
        assertThat(root.get("span_id").asString()).isEqualTo("b7ad6b7169203331");
        assertThat(root.get("parent_span_id").isNull()).isTrue();
        assertThat(root.get("kind").asString()).isEqualTo("SERVER");
        assertThat(root.get("start_time").asString()).isEqualTo("2024-05-01T10:59:00.000000001Z");
        assertThat(root.get("duration_ns").asLong()).isEqualTo(180_000_000_000L);
        assertThat(root.get("status_code").asString()).isEqualTo("ERROR");
        assertThat(root.get("attributes").get("http.response.status_code").asInt())
                .isEqualTo(502);
        assertThat(root.get("events").get(0).get("name").asString()).isEqualTo("retry");
        assertThat(root.get("events").get(0).get("attributes").get("attempt").asInt())
                .isEqualTo(2);
        assertThat(root.get("events").get(0).get("time").asString()).isEqualTo("2024-05-01T10:59:30.000000000Z");
        assertThat(root.get("links").get(0).get("span_id").asString()).isEqualTo("00f067aa0ba902b7");
        assertThat(spans.get(1).get("parent_span_id").asString()).isEqualTo("b7ad6b7169203331");
    }

    @Test
    void traceLookupWithoutATimeRangeReadsOnlyTheHoursTheTraceIndexNames() throws Exception {
        JsonNode body = getJson("/api/v1/traces/" + TRACE, "acme", 200);

        assertThat(spanIds(body)).containsExactly("b7ad6b7169203331", "00000000000000aa");
        // every acme index file, then only the span files of the trace's two hours (10:00 and 11:00)
        long indexFiles = keys("lake/_index/traces/tenant=acme/").size();
        long spanFiles = keys("lake/traces/tenant=acme/dt=2024-05-01/hour=10/").size()
                + keys("lake/traces/tenant=acme/dt=2024-05-01/hour=11/").size();
        assertThat(keys("lake/traces/tenant=acme/")).hasSizeGreaterThan((int) spanFiles);
        assertThat(body.get("stats").get("files").asLong()).isEqualTo(indexFiles + spanFiles);
        // another tenant's index never names this trace
        problem(getRaw("/api/v1/traces/" + TRACE, "globex"), 404, "trace index");
        problem(getRaw("/api/v1/traces/ffffffffffffffffffffffffffffffff", "acme"), 404, "trace index");
    }

    @Test
    void aTraceLookupWithEmptyStartAndEndIsOneWithoutATimeRange() throws Exception {
        JsonNode body = getJson("/api/v1/traces/" + TRACE + "?start=&end=", "acme", 200);
        assertThat(spanIds(body)).containsExactly("b7ad6b7169203331", "00000000000000aa");
        JsonNode without = getJson("/api/v1/traces/" + TRACE, "acme", 200);
        assertThat(body.get("stats").get("files").asLong())
                .as("read through the trace index, as without the parameters")
                .isEqualTo(without.get("stats").get("files").asLong());
    }

    @Test
    void traceLookupOverALongRangeReadsOnlyTheHoursTheTraceIndexNamesWithinIt() throws Exception {
        JsonNode week = getJson(
                "/api/v1/traces/" + TRACE + "?start=2024-04-27T00:00:00Z&end=2024-05-04T00:00:00Z", "acme", 200);

        assertThat(spanIds(week)).containsExactly("b7ad6b7169203331", "00000000000000aa");
        long indexFilesOfTheWeek = keys("lake/_index/traces/tenant=acme/").stream()
                .filter(k -> k.compareTo("lake/_index/traces/tenant=acme/dt=2024-04-27/") >= 0
                        && k.compareTo("lake/_index/traces/tenant=acme/dt=2024-05-04/") < 0)
                .count();
        assertThat(indexFilesOfTheWeek).isPositive();
        long spanFiles = keys("lake/traces/tenant=acme/dt=2024-05-01/hour=10/").size()
                + keys("lake/traces/tenant=acme/dt=2024-05-01/hour=11/").size();
        assertThat(keys("lake/traces/tenant=acme/dt=2024-05-03/"))
                .as("an hour of the range without the trace (another trace), which a scan would read")
                .isNotEmpty();
        assertThat(week.get("stats").get("files").asLong()).isEqualTo(indexFilesOfTheWeek + spanFiles);

        // The range still decides: ending at 11:00 leaves out the span that started after it.
        JsonNode untilEleven = getJson(
                "/api/v1/traces/" + TRACE + "?start=2024-04-30T00:00:00Z&end=2024-05-01T11:00:00Z", "acme", 200);
        assertThat(spanIds(untilEleven)).containsExactly("b7ad6b7169203331");
        problem(
                getRaw("/api/v1/traces/" + TRACE + "?start=2024-04-27T00:00:00Z&end=2024-05-04T00:00:00Z", "globex"),
                404,
                "no trace");
    }

    @Test
    void aLongRangeThatStartsInsideATracesHourStillFindsItsLaterSpans() throws Exception {
        // the index row of hour 14 starts at 14:00, before the range: the hour must still be read
        JsonNode after = getJson(
                "/api/v1/traces/" + RANGED + "?start=2024-05-01T14:10:00Z&end=2024-05-02T00:00:00Z", "ranged", 200);
        assertThat(spanIds(after)).containsExactly("000000000000000b", "000000000000000c");
        JsonNode late = getJson(
                "/api/v1/traces/" + RANGED + "?start=2024-05-01T14:40:00Z&end=2024-05-02T00:00:00Z", "ranged", 200);
        assertThat(spanIds(late))
                .as("a span whose end precedes its start still counts by its start")
                .containsExactly("000000000000000c");
        JsonNode before = getJson(
                "/api/v1/traces/" + RANGED + "?start=2024-04-30T14:00:00Z&end=2024-05-01T14:10:00Z", "ranged", 200);
        assertThat(spanIds(before)).containsExactly("000000000000000a");
        problem(
                getRaw("/api/v1/traces/" + RANGED + "?start=2024-05-01T14:50:00Z&end=2024-05-02T00:00:00Z", "ranged"),
                404,
                "no trace");
    }

    /**
     * A listing of the trace index is reused for a few seconds; an index file it names may be gone meanwhile (the
     * roll-up of an index day writes one file and deletes its inputs). The lookup lists again, once, instead of
     * failing 503.
     */
    @Test
    void aTraceIndexFileGoneSinceItsListingIsListedAgainNotA503() throws Exception {
        String tenant = "indexmove";
        ExportTraceServiceRequest first = ranged();
        ExportTraceServiceRequest.Builder second = ranged().toBuilder();
        second.getResourceSpansBuilder(0)
                .getScopeSpansBuilder(0)
                .getSpansBuilderList()
                .forEach(span -> span.setTraceId(ByteString.fromHex("7e57ab1e7e57ab1e7e57ab1e7e57ab1e"))
                        .setStartTimeUnixNano(span.getStartTimeUnixNano() + 86_400_000_000_000L)
                        .setEndTimeUnixNano(
                                span.getEndTimeUnixNano() == 0 ? 0 : span.getEndTimeUnixNano() + 86_400_000_000_000L));
        try (S3Client s3 = s3()) {
            put(s3, Signal.TRACES, tenant, SpanFlattener.flatten(first));
            put(s3, Signal.TRACES, tenant, SpanFlattener.flatten(second.build()));
        }
        // lists the tenant's whole index, but fetches only the first day's files
        JsonNode day1 = getJson(
                "/api/v1/traces/" + RANGED + "?start=2024-05-01T00:00:00Z&end=2024-05-01T23:00:00Z", tenant, 200);
        assertThat(spanIds(day1)).hasSize(3);
        // the second day's index file moves to another key, as a roll-up would leave it
        String dayTwo = "lake/_index/traces/tenant=" + tenant + "/dt=2024-05-02/";
        List<String> moved = keys(dayTwo);
        assertThat(moved).hasSize(1);
        try (S3Client s3 = s3()) {
            s3.copyObject(b -> b.sourceBucket(BUCKET)
                    .sourceKey(moved.get(0))
                    .destinationBucket(BUCKET)
                    .destinationKey(dayTwo + "rolled-up.parquet"));
            s3.deleteObject(b -> b.bucket(BUCKET).key(moved.get(0)));
        }

        JsonNode day2 = getJson("/api/v1/traces/7e57ab1e7e57ab1e7e57ab1e7e57ab1e", tenant, 200);

        assertThat(spanIds(day2)).containsExactly("000000000000000a", "000000000000000b", "000000000000000c");
    }

    @Test
    void objectsOutsideTheTraceIndexsDayFoldersAreIgnored() throws Exception {
        try (S3Client s3 = s3()) {
            for (String stray : List.of("stray.parquet", "notes.txt")) {
                s3.putObject(
                        b -> b.bucket(BUCKET).key("lake/_index/traces/tenant=ranged/" + stray),
                        RequestBody.fromString("not an index file"));
            }
        }
        JsonNode body = getJson("/api/v1/traces/" + RANGED, "ranged", 200);
        assertThat(spanIds(body)).containsExactly("000000000000000a", "000000000000000b", "000000000000000c");
    }

    /** The span ids of a trace lookup's answer, in its order. */
    static List<String> spanIds(JsonNode trace) {
        List<String> ids = new ArrayList<>();
        trace.get("spans").forEach(span -> ids.add(span.get("span_id").asString()));
        return ids;
    }

    private static List<String> keys(String prefix) {
        try (S3Client s3 = s3()) {
            return s3.listObjectsV2Paginator(b -> b.bucket(BUCKET).prefix(prefix)).contents().stream()
                    .map(software.amazon.awssdk.services.s3.model.S3Object::key)
                    .toList();
        }
    }

    @Test
    void aCompactedFileAndTheInputsItReplacesCountOnceAndAnInputDeletedAfterListingIsListedAgain() throws Exception {
        String tenant = "compactor";
        Instant h1 = Instant.parse("2024-06-01T01:10:00Z");
        List<FlatRow> a = LogFlattener.flatten(logs("svc", h1, "record a", 0));
        List<FlatRow> b = LogFlattener.flatten(logs("svc", h1.plusSeconds(1), "record b", 0));
        List<FlatRow> d = LogFlattener.flatten(logs("svc", Instant.parse("2024-06-01T05:10:00Z"), "record d", 0));
        List<FlatRow> both = new ArrayList<>(a);
        both.addAll(b);
        try (S3Client s3 = s3()) {
            // mid-compaction: the compacted file is up, its inputs are not deleted yet
            putFile(s3, tenant, "otlp-logs+0+1.parquet", a, Map.of());
            putFile(s3, tenant, "otlp-logs+0+2.parquet", b, Map.of());
            putFile(
                    s3,
                    tenant,
                    "compacted-1-aaaaaa.parquet",
                    both,
                    Map.of("otel-lake-compacted-from", "otlp-logs+0+1.parquet,otlp-logs+0+2.parquet"));
            putFile(s3, tenant, "otlp-logs+1+7.parquet", d, Map.of());
        }
        JsonNode first = getJson("/api/v1/logs?start=2024-06-01T00:00:00Z&end=2024-06-01T04:00:00Z", tenant, 200);
        assertThat(first.get("data")).extracting(l -> l.get("body").asString()).containsExactly("record b", "record a");

        try (S3Client s3 = s3()) {
            // hour 05 is compacted now; the day's listing the first query cached still names the deleted input
            putFile(
                    s3,
                    tenant,
                    "compacted-2-bbbbbb.parquet",
                    d,
                    Map.of("otel-lake-compacted-from", "otlp-logs+1+7.parquet"));
            String input = LAYOUT.objectKey(
                    Partition.of(Signal.LOGS, TenantId.of(tenant), d.get(0).eventTimeNanos()), "otlp-logs+1+7.parquet");
            s3.deleteObject(r -> r.bucket(BUCKET).key(input));
        }
        JsonNode second = getJson("/api/v1/logs?start=2024-06-01T04:00:00Z&end=2024-06-01T08:00:00Z", tenant, 200);
        assertThat(second.get("data")).extracting(l -> l.get("body").asString()).containsExactly("record d");
    }

    /**
     * Compaction moves records into a new file between two pages: the pages still return every record once, in both
     * directions, among records of one time (which only their content orders) and with two records that are alike in
     * everything (which only their count tells apart).
     */
    @Test
    void pagesContinueAcrossACompactionWithoutRepeatsOrGaps() throws Exception {
        Instant tie = Instant.parse("2024-06-02T03:04:05.123456789Z");
        List<String> sent = List.of("tie-0", "tie-1", "tie-2", "tie-2", "tie-3", "tie-4", "tie-5");
        for (String direction : List.of("backward", "forward")) {
            String tenant = "pagecompact-" + direction;
            List<List<FlatRow>> inputs = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
            for (int i = 0; i < sent.size(); i++) {
                inputs.get(i % 3).addAll(LogFlattener.flatten(logs("svc", tie, sent.get(i), 7)));
            }
            try (S3Client s3 = s3()) {
                for (int f = 0; f < inputs.size(); f++) {
                    putFile(s3, tenant, "otlp-logs+0+" + f + ".parquet", inputs.get(f), Map.of());
                }
            }
            String range = "start=2024-06-02T03:00:00Z&end=2024-06-02T04:00:00Z&limit=2&direction=" + direction;
            List<String> returned = new ArrayList<>();
            JsonNode page = getJson("/api/v1/logs?" + range, tenant, 200);
            page.get("data").forEach(log -> returned.add(log.get("body").asString()));

            // the hour is compacted: one new file, its rows in another order, the entries of their maps too (the
            // compactor reads maps back into hash maps), and the inputs gone
            List<FlatRow> all = new ArrayList<>();
            inputs.forEach(all::addAll);
            java.util.Collections.reverse(all);
            try (S3Client s3 = s3()) {
                putRecords(
                        s3,
                        tenant,
                        "compacted-3-cccccc.parquet",
                        all.stream().map(r -> withMapsReversed(r.record())).toList(),
                        all.get(0).eventTimeNanos(),
                        Map.of(
                                "otel-lake-compacted-from",
                                "otlp-logs+0+0.parquet,otlp-logs+0+1.parquet,otlp-logs+0+2.parquet"));
                for (int f = 0; f < inputs.size(); f++) {
                    String key = LAYOUT.objectKey(
                            Partition.of(
                                    Signal.LOGS, TenantId.of(tenant), all.get(0).eventTimeNanos()),
                            "otlp-logs+0+" + f + ".parquet");
                    s3.deleteObject(r -> r.bucket(BUCKET).key(key));
                }
            }
            // the first page's listing is reused for otel-lake.listing-ttl (5 s); then the next page reads the new file
            Thread.sleep(5_500);
            int pages = 1;
            while (!page.get("next_cursor").isNull() && pages < 10) {
                page = getJson(
                        "/api/v1/logs?" + range + "&cursor="
                                + page.get("next_cursor").asString(),
                        tenant,
                        200);
                page.get("data").forEach(log -> returned.add(log.get("body").asString()));
                pages++;
            }

            assertThat(page.get("stats").get("files").asInt())
                    .as("the last page read the compacted file")
                    .isEqualTo(1);
            assertThat(returned).as(direction).containsExactlyInAnyOrderElementsOf(sent);
            assertThat(pages).as(direction).isEqualTo(4);
        }
    }

    /** The cache is checked against ETags: an object overwritten under the same key is fetched again, not served stale. */
    @Test
    void anObjectOverwrittenUnderItsKeyIsFetchedAgainNotServedFromTheCache() throws Exception {
        Instant at = Instant.parse("2024-06-03T05:06:07Z");
        String range = "/api/v1/logs?start=2024-06-03T05:00:00Z&end=2024-06-03T06:00:00Z";
        try (S3Client s3 = s3()) {
            putFile(
                    s3,
                    "etag",
                    "otlp-logs+0+0.parquet",
                    LogFlattener.flatten(logs("svc", at, "first version", 0)),
                    Map.of());
        }
        JsonNode first = getJson(range, "etag", 200);
        assertThat(first.get("data")).extracting(n -> n.get("body").asString()).containsExactly("first version");
        assertThat(getJson(range, "etag", 200).get("stats").get("cache_hits").asInt())
                .as("cached")
                .isEqualTo(1);

        try (S3Client s3 = s3()) {
            putFile(
                    s3,
                    "etag",
                    "otlp-logs+0+0.parquet",
                    LogFlattener.flatten(logs("svc", at, "second version", 0)),
                    Map.of());
        }
        Thread.sleep(5_500); // the listing, and the ETag it holds, is reused for otel-lake.listing-ttl (5 s)

        JsonNode second = getJson(range, "etag", 200);
        assertThat(second.get("data")).extracting(n -> n.get("body").asString()).containsExactly("second version");
        assertThat(second.get("stats").get("cache_hits").asInt()).isZero();
        assertThat(second.get("stats").get("bytes_fetched").asLong()).isPositive();
    }

    /**
     * S3Proxy keeps an object's ETag beside its file (in an extended attribute): a file copied into its directory
     * without them, as {@code cp -r} copies {@code data/s3} of the local stack, is listed without an ETag, which was a
     * 500 for every query of its hour.
     */
    @Test
    void anObjectListedWithoutAnETagIsReadAndCached() throws Exception {
        Instant at = Instant.parse("2024-06-04T05:06:07Z");
        String range = "/api/v1/logs?start=2024-06-04T05:00:00Z&end=2024-06-04T06:00:00Z";
        String key = LAYOUT.objectKey(Partition.of(Signal.LOGS, TenantId.of("noetag"), at), "otlp-logs+0+0.parquet");
        try (S3Client s3 = s3()) {
            putFile(s3, "noetag", "uploaded.parquet", LogFlattener.flatten(logs("svc", at, "copied in", 0)), Map.of());
            String uploaded = key.replace("otlp-logs+0+0.parquet", "uploaded.parquet");
            Path objects = s3server.dataDir().resolve(BUCKET);
            Files.copy(objects.resolve(uploaded), objects.resolve(key)); // the bytes only, not the attributes
            s3.deleteObject(b -> b.bucket(BUCKET).key(uploaded));
            assertThat(s3.listObjectsV2(b -> b.bucket(BUCKET).prefix(key)).contents())
                    .singleElement()
                    .satisfies(o -> assertThat(o.eTag()).isNull());
        }

        JsonNode first = getJson(range, "noetag", 200);
        assertThat(first.get("data")).extracting(n -> n.get("body").asString()).containsExactly("copied in");
        assertThat(first.get("stats").get("cache_hits").asInt()).isZero();
        JsonNode second = getJson(range, "noetag", 200);
        assertThat(second.get("data")).extracting(n -> n.get("body").asString()).containsExactly("copied in");
        assertThat(second.get("stats").get("cache_hits").asInt()).isEqualTo(1);
    }

    /**
     * An object DuckDB cannot read (not Parquet, or cut short) is a 503 that names it, never a 500, and the service
     * goes on answering; a local copy damaged in the cache is dropped, so the next query fetches the object again.
     */
    @Test
    void anArchiveFileDuckDbCannotReadIsA503NamingItAndADamagedCachedCopyIsFetchedAgain() throws Exception {
        Instant at = Instant.parse("2024-06-05T05:06:07Z");
        String range = "/api/v1/logs?start=2024-06-05T05:00:00Z&end=2024-06-05T06:00:00Z";
        String key = LAYOUT.objectKey(Partition.of(Signal.LOGS, TenantId.of("damaged"), at), "otlp-logs+0+7.parquet");
        double before = unreadableCount();
        try (S3Client s3 = s3()) {
            putFile(
                    s3,
                    "damaged",
                    "otlp-logs+0+0.parquet",
                    LogFlattener.flatten(logs("svc", at, "intact", 0)),
                    Map.of());
            s3.putObject(b -> b.bucket(BUCKET).key(key), RequestBody.fromString("not a parquet file"));
        }

        HttpResponse<String> refused = getRaw(range, "damaged");
        problem(refused, 503, "the archive file " + key + " in bucket " + BUCKET + " cannot be read");
        assertThat(JSON.readTree(refused.body()).get("detail").asString())
                .contains("No magic bytes found at end of file")
                .doesNotContain(cache.toString());
        assertThat(unreadableCount()).isEqualTo(before + 1);
        assertTheServiceStillAnswers();

        // a copy in the cache, cut short on the local disk after it was fetched whole
        Instant other = Instant.parse("2024-06-06T05:06:07Z");
        String otherRange = "/api/v1/logs?start=2024-06-06T05:00:00Z&end=2024-06-06T06:00:00Z";
        String otherKey =
                LAYOUT.objectKey(Partition.of(Signal.LOGS, TenantId.of("damaged"), other), "otlp-logs+0+0.parquet");
        String etag;
        try (S3Client s3 = s3()) {
            putFile(
                    s3,
                    "damaged",
                    "otlp-logs+0+0.parquet",
                    LogFlattener.flatten(logs("svc", other, "whole", 0)),
                    Map.of());
            etag = s3.headObject(b -> b.bucket(BUCKET).key(otherKey)).eTag();
        }
        assertThat(getJson(otherRange, "damaged", 200).get("data"))
                .extracting(n -> n.get("body").asString())
                .containsExactly("whole");
        Path copy = cache.resolve(ObjectCache.fileName(otherKey, etag));
        byte[] bytes = Files.readAllBytes(copy);
        Files.write(copy, java.util.Arrays.copyOf(bytes, bytes.length / 2));

        HttpResponse<String> damagedCopy = getRaw(otherRange, "damaged");
        problem(damagedCopy, 503, "the archive file " + otherKey + " in bucket " + BUCKET);
        assertThat(JSON.readTree(damagedCopy.body()).get("detail").asString())
                .as("the statement's text is not the client's business")
                .doesNotContain("read_parquet", "\n");
        JsonNode again = getJson(otherRange, "damaged", 200);
        assertThat(again.get("data")).extracting(n -> n.get("body").asString()).containsExactly("whole");
        assertThat(again.get("stats").get("cache_hits").asInt()).isZero();
        assertThat(again.get("stats").get("bytes_fetched").asLong()).isEqualTo(bytes.length);
        assertThat(unreadableCount()).isEqualTo(before + 2);
    }

    private double unreadableCount() throws Exception {
        return getRaw("/actuator/prometheus", null)
                .body()
                .lines()
                .filter(l -> l.startsWith("otel_lake_archive_unreadable_total"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .sum();
    }

    /** Writes log rows of one hour as a file with the given name and S3 metadata. */
    private static void putFile(S3Client s3, String tenant, String name, List<FlatRow> rows, Map<String, String> meta)
            throws Exception {
        putRecords(
                s3,
                tenant,
                name,
                rows.stream().map(FlatRow::record).toList(),
                rows.get(0).eventTimeNanos(),
                meta);
    }

    private static void putRecords(
            S3Client s3,
            String tenant,
            String name,
            List<org.apache.avro.generic.GenericRecord> rows,
            long eventNanos,
            Map<String, String> meta)
            throws Exception {
        Path file = Files.createTempFile("fixture", ".parquet");
        ParquetFiles.write(Signal.LOGS, rows, file);
        String key = LAYOUT.objectKey(Partition.of(Signal.LOGS, TenantId.of(tenant), eventNanos), name);
        s3.putObject(b -> b.bucket(BUCKET).key(key).metadata(meta), RequestBody.fromFile(file));
        Files.delete(file);
    }

    /** A copy of a row whose maps list their entries in reverse order. */
    private static org.apache.avro.generic.GenericRecord withMapsReversed(org.apache.avro.generic.GenericRecord row) {
        org.apache.avro.generic.GenericData.Record copy =
                new org.apache.avro.generic.GenericData.Record(row.getSchema());
        for (org.apache.avro.Schema.Field field : row.getSchema().getFields()) {
            Object value = row.get(field.pos());
            if (value instanceof Map<?, ?> map) {
                List<Map.Entry<?, ?>> entries = new ArrayList<>(map.entrySet());
                java.util.Collections.reverse(entries);
                Map<Object, Object> reversed = new java.util.LinkedHashMap<>();
                entries.forEach(e -> reversed.put(e.getKey(), e.getValue()));
                value = reversed;
            }
            copy.put(field.pos(), value);
        }
        return copy;
    }

    @Test
    void errorsAreProblemDetails() throws Exception {
        problem(
                getRaw(
                        "/api/v1/traces/ffffffffffffffffffffffffffffffff?start=2024-05-01T10:00:00Z&end=2024-05-01T12:00:00Z",
                        "acme"),
                404,
                "no trace");
        problem(getRaw("/api/v1/traces/not-hex", "acme"), 400, "32 hex characters");
        problem(getRaw("/api/v1/logs?start=yesterday", "acme"), 400, "RFC 3339");
        problem(
                getRaw("/api/v1/logs?start=2024-05-01T10:00:00Z&end=2024-05-01T09:00:00Z", "acme"),
                400,
                "end must be after start");
        problem(getRaw("/api/v1/logs?start=2024-01-01T00:00:00Z&end=2024-05-01T00:00:00Z", "acme"), 400, "longer than");
        problem(getRaw("/api/v1/logs?limit=0", "acme"), 400, "limit");
        problem(getRaw("/api/v1/logs?limit=many", "acme"), 400, "limit");
        problem(getRaw("/api/v1/nothing-here", "acme"), 404, "no such path; the API answers GET /api/v1/logs");
        problem(getRaw("/api/v1/traces?min_duration=5s&max_duration=1s", "acme"), 400, "min_duration must not be");
        problem(
                getRaw("/api/v1/logs?regex=" + enc("[0-9a-f]{1000}[0-9a-f]{1000}z"), "acme"),
                400,
                "regex repeats more than 1000 times");
    }

    @Test
    void requestsTheServletContainerRefusesItselfAlsoGetAProblem() throws Exception {
        // refused by Tomcat before any controller or exception handler runs
        HttpResponse<String> encodedSlash = getRaw("/api/v1/traces/abc%2Fdef", "acme");
        problem(encodedSlash, 400, "encoded '/'");
        assertThat(JSON.readTree(encodedSlash.body()).get("instance").asString())
                .isEqualTo("/api/v1/traces/abc%2Fdef");
        problem(getRaw("/api/v1/logs?" + "service=a&".repeat(1500) + PAGER_RANGE, "pager"), 400, "too many parameters");
        problem(getRaw("/api/v1/logs?q=" + "a".repeat(9000) + "&" + PAGER_RANGE, "pager"), 400, "longer than 8 KB");
        assertTheServiceStillAnswers();
    }

    @Test
    void errorsTheContainerAnswersAndTheErrorPagePathAreProblemsToo() throws Exception {
        problem(getRaw("/error", "acme"), 404, null);
        problem(getRaw("/WEB-INF/web.xml", "acme"), 404, null);
        for (String path : List.of("/api/v1/logs?" + PAGER_RANGE, "/api/v1/traces/" + TRACE, "/actuator/health")) {
            HttpResponse<String> trace = http.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                            .method("TRACE", HttpRequest.BodyPublishers.noBody())
                            .header("X-Scope-OrgID", "pager")
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            problem(trace, 405, null);
        }
        assertTheServiceStillAnswers();
    }

    @Test
    void theOperationsEndpointsAnswerAnOddAcceptHeaderWithoutA500() throws Exception {
        for (String path : List.of("/actuator/health", "/actuator/health/readiness", "/actuator/prometheus")) {
            for (String accept : List.of(",", "garbage", "application/json;charset=latin1", "text/plain;q=x")) {
                HttpResponse<String> r = http.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                                .header("Accept", accept)
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode())
                        .as("%s with Accept: %s -> %s", path, accept, r.body())
                        .isIn(200, 406);
            }
        }
    }

    @Test
    void aQueryStringThatDoesNotDecodeIsA400NotA500() throws Exception {
        // Tomcat throws for these only when the controller first asks for the parameters
        List<String> paths = List.of(
                "/api/v1/logs?" + PAGER_RANGE + "&",
                "/api/v1/logs/volume?" + PAGER_RANGE + "&",
                "/api/v1/traces?" + PAGER_RANGE + "&",
                "/api/v1/traces/" + TRACE + "?");
        for (String bad : List.of("q=%FF", "q=%C3", "service=%ED%A0%80", "=x", "attr.%FF=x")) {
            for (String path : paths) {
                problem(getRaw(path + bad, "pager"), 400, "percent-encoded UTF-8");
            }
        }
        for (String bad : List.of("q=%zz", "q=%", "q=%2")) { // java.net.URI refuses these, so they go as bytes
            for (String path : paths) {
                String answer = rawGet(path + bad);
                assertThat(answer).as(path + bad).startsWith("HTTP/1.1 400 ");
                assertThat(answer).contains("Content-Type: application/problem+json", "percent-encoded UTF-8");
            }
        }
        assertTheServiceStillAnswers();
    }

    @Test
    void aGetsBodyIsNeverReadForParametersWhateverItsContentType() throws Exception {
        // a multipart body was parsed for parameters: without a boundary a 500, with one its fields were filters that
        // the audit line (the query string) did not show
        String body = "--xyz\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\nrecord 3\r\n--xyz--\r\n";
        for (String contentType :
                List.of("multipart/form-data", "multipart/form-data; boundary=xyz", "multipart/mixed; boundary=xyz")) {
            HttpResponse<String> r = http.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/logs?" + PAGER_RANGE))
                            .method("GET", HttpRequest.BodyPublishers.ofString(body))
                            .header("Content-Type", contentType)
                            .header("X-Scope-OrgID", "pager")
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(contentType + ": " + r.body()).isEqualTo(200);
            assertThat(JSON.readTree(r.body()).get("data")).as(contentType).hasSize(25);
        }
        assertTheServiceStillAnswers();
    }

    @Test
    void anotherMethodWithABrokenFormBodyIsA405ProblemNotA500() throws Exception {
        // Spring's form-content filter parsed a form body of PUT, PATCH and DELETE before any handler: "q=%zz" was a
        // 500 from outside the error handling, with no audit line
        for (String method : List.of("PUT", "PATCH", "DELETE", "POST")) {
            for (String path : List.of("/api/v1/logs?" + PAGER_RANGE, "/api/v1/traces/" + TRACE)) {
                HttpResponse<String> r = http.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                                .method(method, HttpRequest.BodyPublishers.ofString("q=%zz&service=%"))
                                .header("Content-Type", "application/x-www-form-urlencoded")
                                .header("X-Scope-OrgID", "pager")
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                problem(r, 405, null);
            }
        }
        assertTheServiceStillAnswers();
    }

    /** The whole answer to a GET of {@code target} for tenant pager, sent as it is. */
    private String rawGet(String target) throws Exception {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream()
                    .write(("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Scope-OrgID: pager\r\n"
                                    + "Connection: close\r\n\r\n")
                            .getBytes(StandardCharsets.ISO_8859_1));
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /**
     * Whatever a client puts in the query string, the answer is a 200 or a 4xx problem, never a 500, and the service
     * goes on answering: requests built at random (seeded, so a failure repeats) from the API's parameter names,
     * names it does not know, and values that break parsers (huge and negative numbers, bad times, durations and ids,
     * regex and SQL metacharacters, control characters, non-ASCII, long text). {@code -Dquery.fuzz.seed=N} tries
     * another sequence.
     */
    @Test
    void randomQueryStringsGetA200OrA4xxProblemNeverA500() throws Exception {
        java.util.SplittableRandom random = new java.util.SplittableRandom(Long.getLong("query.fuzz.seed", 20261203));
        Set<String> logExtras = Set.of("attr.http.route", "resource.service.name", "attr.", "resource.", "attr.a.b");
        Map<String, List<String>> endpoints = new LinkedHashMap<>();
        endpoints.put("/api/v1/logs", sorted(LogController.SEARCH_PARAMETERS, logExtras));
        endpoints.put("/api/v1/logs/volume", sorted(LogController.VOLUME_PARAMETERS, logExtras));
        endpoints.put("/api/v1/traces", sorted(TraceController.SEARCH_PARAMETERS, Set.of()));
        endpoints.put("/api/v1/traces/" + TRACE, sorted(TraceController.LOOKUP_PARAMETERS, Set.of()));
        endpoints.put(
                "/api/v1/traces/" + TRACE.toUpperCase(java.util.Locale.ROOT),
                sorted(TraceController.LOOKUP_PARAMETERS, Set.of()));
        endpoints.put("/api/v1/traces/xyz", sorted(TraceController.LOOKUP_PARAMETERS, Set.of()));
        List<String> strangers = List.of("LIMIT", "x", "", "q[]", "attr", "resource.");
        List<String> times = List.of(
                "2024-05-01T08:00:00Z",
                "2024-05-01T10:00:00Z",
                "2024-05-01T12:00:00.123456789+02:00",
                "2024-05-02t11:00:00z",
                "2024-05-01 10:00:00Z",
                "2024-13-01T00:00:00Z",
                "2024-05-01",
                "1714557600000000000",
                "-1714557600000000000",
                "1678-01-01T00:00:00Z",
                "2262-04-11T23:47:16.854775808Z");
        List<String> numbers = List.of(
                "0", "-1", "1", "7", "5000", "5001", "99999999999999999999", "-9223372036854775808", "1e3", "0x10");
        List<String> durations =
                List.of("1h", "30s", "0s", "-5m", "250ms", "1000000d", "9999999999999999999s", "2", "1.5s", "1H");
        List<String> ids = List.of(
                TRACE,
                TRACE.toUpperCase(java.util.Locale.ROOT),
                "0".repeat(32),
                "g".repeat(32),
                "00f067aa0ba902b7",
                "ab");
        List<String> texts = List.of(
                "declined",
                "",
                " ",
                "%",
                "%00",
                "\u0000",
                "\n",
                "'; DROP TABLE logs; --",
                "' OR '1'='1",
                ".*",
                "(",
                "[a-",
                "\\",
                "(a+)+$",
                "a{1000}{1000}",
                "ΟΔΟΣ",
                "\uD83D\uDE00",
                "../../etc/passwd",
                "x".repeat(10_000));
        Map<String, List<String>> valuesOf = new java.util.HashMap<>();
        for (String name : List.of("start", "end")) {
            valuesOf.put(name, times);
        }
        valuesOf.put("limit", numbers);
        for (String name : List.of("step", "min_duration", "max_duration")) {
            valuesOf.put(name, durations);
        }
        valuesOf.put("trace_id", ids);
        valuesOf.put("span_id", ids);
        valuesOf.put("direction", List.of("backward", "forward", "BACKWARD", "sideways"));
        valuesOf.put("severity_min", List.of("error", "ERROR", "info", "WARN2", "FATAL4", "25", "0", "13"));
        valuesOf.put("format", List.of("otlp", "lake", "OTLP", "json"));
        valuesOf.put("status", List.of("error", "ok", "ERROR", "unset"));
        valuesOf.put(
                "cursor",
                List.of("djQ6MTcxNDY0NDAyMDUwMDAwMDAwMDo2ODgwNTc0NzIxNzA0MDA3NjE4", "djQ6" + "A".repeat(300)));
        List<String> every = valuesOf.values().stream().flatMap(List::stream).toList();
        java.util.TreeMap<Integer, Integer> statuses = new java.util.TreeMap<>();
        List<String> paths = new ArrayList<>(endpoints.keySet());
        for (int i = 0; i < 600; i++) {
            String path = paths.get(random.nextInt(paths.size()));
            List<String> known = endpoints.get(path);
            StringBuilder query = new StringBuilder();
            int params = random.nextInt(5);
            for (int p = 0; p < params; p++) {
                String name = random.nextInt(10) == 0
                        ? strangers.get(random.nextInt(strangers.size()))
                        : known.get(random.nextInt(known.size()));
                List<String> pool = random.nextInt(4) == 0 ? every : valuesOf.getOrDefault(name, texts);
                query.append(p == 0 ? '?' : '&')
                        .append(URLEncoder.encode(name, StandardCharsets.UTF_8))
                        .append('=')
                        .append(URLEncoder.encode(pool.get(random.nextInt(pool.size())), StandardCharsets.UTF_8));
            }
            String target = path + query;
            HttpResponse<String> r = getRaw(target, random.nextBoolean() ? "acme" : "pager");
            assertThat(r.statusCode()).as(target + " -> " + r.body()).isIn(200, 400, 404, 422);
            if (r.statusCode() != 200) {
                problem(r, r.statusCode(), null);
            }
            statuses.merge(r.statusCode(), 1, Integer::sum);
        }
        // the generator reaches past the parameter checks: searches that run, and lookups that find nothing
        assertThat(statuses.getOrDefault(200, 0)).as(statuses.toString()).isGreaterThan(100);
        assertThat(statuses.getOrDefault(404, 0)).as(statuses.toString()).isPositive();
        assertTheServiceStillAnswers();
    }

    @Test
    void anAcceptHeaderThatDoesNotParseGetsA406ProblemLikeOneThatNamesNothingWeProduce() throws Exception {
        for (String accept : List.of(
                "garbage",
                "text/html",
                "application/json;charset=ISO-8859-1",
                "application/json;q=0",
                "*/*;q=0",
                "application/json;q=0, text/html")) {
            for (String path :
                    List.of("/api/v1/logs?" + PAGER_RANGE, "/api/v1/logs?start=bad", "/api/v1/traces/nothex")) {
                HttpResponse<String> r = http.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                                .header("Accept", accept)
                                .header("X-Scope-OrgID", "pager")
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                problem(r, 406, "application/json");
            }
        }
        assertTheServiceStillAnswers();
    }

    @Test
    void anAcceptHeaderAskingForUtf8OrAlsoForAnotherCharsetGetsJson() throws Exception {
        for (String accept :
                List.of("application/json;charset=UTF-8", "application/json;charset=latin1, application/json;q=0.5")) {
            HttpResponse<String> r = http.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/logs?" + PAGER_RANGE))
                            .header("Accept", accept)
                            .header("X-Scope-OrgID", "pager")
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(accept + ": " + r.body()).isEqualTo(200);
            assertThat(JSON.readTree(r.body()).get("data")).hasSize(25);
        }
    }

    private static List<String> sorted(Set<String> names, Set<String> more) {
        java.util.TreeSet<String> all = new java.util.TreeSet<>(names);
        all.addAll(more);
        return List.copyOf(all);
    }

    private void assertTheServiceStillAnswers() throws Exception {
        assertThat(getJson("/api/v1/logs?" + PAGER_RANGE + "&limit=1", "pager", 200)
                        .get("data"))
                .hasSize(1);
    }

    @Test
    void cursorsPageThroughEveryRecordOnceInBothDirections() throws Exception {
        for (String direction : List.of("backward", "forward")) {
            List<String> bodies = new ArrayList<>();
            List<String> times = new ArrayList<>();
            String cursor = null;
            int pages = 0;
            do {
                String path = "/api/v1/logs?" + PAGER_RANGE + "&limit=7&direction=" + direction
                        + (cursor == null ? "" : "&cursor=" + cursor);
                JsonNode page = getJson(path, "pager", 200);
                for (JsonNode log : page.get("data")) {
                    bodies.add(log.get("body").asString());
                    times.add(log.get("timestamp").asString());
                }
                cursor = page.get("next_cursor").isNull()
                        ? null
                        : page.get("next_cursor").asString();
                pages++;
            } while (cursor != null && pages < 10);

            assertThat(pages).as(direction).isEqualTo(4);
            assertThat(bodies).as(direction).hasSize(25).doesNotHaveDuplicates();
            List<String> sorted = new ArrayList<>(times);
            sorted.sort(direction.equals("backward") ? java.util.Comparator.reverseOrder() : null);
            assertThat(times).as(direction).isEqualTo(sorted);
        }
    }

    @Test
    void aSearchWithoutStartAndEndPagesThroughTheHourOfItsFirstPageNotTheHourBeforeEachPage() throws Exception {
        // Without start and end a search covers the hour before it was asked, and its cursor carries that hour: a
        // later page continues in it instead of in the hour before its own moment, which would have slid past the
        // records between. The pager's records lie in an hour of 2024, so a cursor naming that hour stands for a
        // first page asked at 11:00 that day; without the pinned range the next pages would search the last hour and
        // find none of them.
        String explicit = "/api/v1/logs?" + PAGER_RANGE + "&limit=7&direction=forward";
        JsonNode first = getJson(explicit, "pager", 200);
        List<String> expected = new ArrayList<>();
        String cursor = first.get("next_cursor").asString();
        while (cursor != null) {
            JsonNode page = getJson(explicit + "&cursor=" + cursor, "pager", 200);
            page.get("data").forEach(log -> expected.add(log.get("body").asString()));
            cursor = page.get("next_cursor").isNull()
                    ? null
                    : page.get("next_cursor").asString();
        }
        assertThat(expected).as("the 25 records after the first page's 7").hasSize(18);
        String[] position = new String(
                        java.util.Base64.getUrlDecoder()
                                .decode(first.get("next_cursor").asString()),
                        StandardCharsets.UTF_8)
                .split(":");
        assertThat(position[0]).isEqualTo("v4");
        LogCursor after =
                new LogCursor(Long.parseLong(position[1]), Long.parseLong(position[2]), Long.parseLong(position[3]));
        String query = LogCursor.query(
                TenantId.of("pager"),
                LogSearch.Direction.FORWARD,
                new org.springframework.util.LinkedMultiValueMap<>(
                        Map.of("limit", List.of("7"), "direction", List.of("forward"))));
        String unranged = "/api/v1/logs?limit=7&direction=forward";

        List<String> got = new ArrayList<>();
        cursor = after.inRange(Instant.parse("2024-05-02T10:00:00Z"), Instant.parse("2024-05-02T11:00:00Z"))
                .encode(query);
        int pages = 0;
        while (cursor != null && pages++ < 10) {
            JsonNode page = getJson(unranged + "&cursor=" + cursor, "pager", 200);
            page.get("data").forEach(log -> got.add(log.get("body").asString()));
            cursor = page.get("next_cursor").isNull()
                    ? null
                    : page.get("next_cursor").asString();
        }
        assertThat(got).isEqualTo(expected);

        // the range is not signed: one longer than OTEL_LAKE_MAX_RANGE is refused like a start and end would be
        String tooLong = after.inRange(Instant.parse("2024-01-01T00:00:00Z"), Instant.parse("2024-05-02T11:00:00Z"))
                .encode(query);
        problem(getRaw(unranged + "&cursor=" + tooLong, "pager"), 400, "the time range is longer than the allowed");
    }

    @Test
    void aPageEndsEarlyWithACursorOnceItHoldsSixteenMebibytesOfText() throws Exception {
        List<Integer> pageSizes = new ArrayList<>();
        List<String> bodies = new ArrayList<>();
        String cursor = null;
        do {
            JsonNode page = getJson(
                    "/api/v1/logs?" + PAGER_RANGE + "&limit=100" + (cursor == null ? "" : "&cursor=" + cursor),
                    "bigpage",
                    200);
            pageSizes.add(page.get("data").size());
            for (JsonNode log : page.get("data")) {
                String body = log.get("body").asString();
                bodies.add(body.substring(0, body.indexOf(' ', 4))); // "big 7"
            }
            cursor = page.get("next_cursor").isNull()
                    ? null
                    : page.get("next_cursor").asString();
        } while (cursor != null && pageSizes.size() < 10);

        // 15 bodies of 1 MiB and a little fit in 16 MiB; the other 5 come on the next page, newest first throughout
        assertThat(pageSizes).containsExactly(15, 5);
        List<String> expected = new ArrayList<>();
        for (int i = 19; i >= 0; i--) {
            expected.add("big " + i);
        }
        assertThat(bodies).isEqualTo(expected);
    }

    @Test
    void aCursorGivenWithOtherParametersThanItsSearchIsRefusedButALimitMayChange() throws Exception {
        String first = "/api/v1/logs?" + PAGER_RANGE + "&limit=7&direction=backward";
        String cursor = getJson(first, "pager", 200).get("next_cursor").asString();

        for (String other : List.of(
                "/api/v1/logs?" + PAGER_RANGE + "&limit=7&direction=forward",
                "/api/v1/logs?" + PAGER_RANGE + "&limit=7&q=record",
                "/api/v1/logs?start=2024-05-02T10:00:00Z&end=2024-05-02T10:30:00Z&limit=7")) {
            problem(getRaw(other + "&cursor=" + cursor, "pager"), 400, "cursor belongs to a search with other");
        }
        problem(getRaw(first + "&cursor=" + cursor, "acme"), 400, "cursor belongs to a search with other");
        JsonNode next = getJson("/api/v1/logs?" + PAGER_RANGE + "&limit=30&cursor=" + cursor, "pager", 200);
        assertThat(next.get("data"))
                .as("the other 18 records, on a longer page")
                .hasSize(18);
    }

    @Test
    void aCursorWithATimeNoPageCanEndAtOrAnImpossibleCountIsRefusedNotFailed() throws Exception {
        for (String direction : List.of("backward", "forward")) {
            String search = "/api/v1/logs?" + PAGER_RANGE + "&direction=" + direction;
            String[] parts = cursorParts(getJson(search + "&limit=5", "pager", 200));
            // a real cursor of this very search, with one field changed: what is refused is the value, not the search
            for (String seen : List.of("9223372036854775807", "1000000001", "0")) {
                String[] changed = parts.clone();
                changed[3] = seen;
                problem(getRaw(search + "&cursor=" + cursor(changed), "pager"), 400, "cursor is not one");
            }
            for (long nanos : new long[] {Long.MAX_VALUE, Long.MIN_VALUE + 1}) {
                String[] changed = parts.clone();
                changed[1] = Long.toString(nanos);
                problem(
                        getRaw(search + "&cursor=" + cursor(changed), "pager"),
                        400,
                        "cursor is not one this API returned");
            }
            // the earlier formats, without the search's fingerprint or range, are refused too
            problem(
                    getRaw(
                            search + "&cursor=" + cursor(parts[0].replace("v4", "v2"), parts[1], parts[2], parts[3]),
                            "pager"),
                    400,
                    "cursor is not one this API returned");
            problem(
                    getRaw(search + "&cursor=" + cursor("v3", parts[1], parts[2], parts[3], parts[6]), "pager"),
                    400,
                    "cursor is not one this API returned");
            assertThat(getJson(search + "&limit=5&cursor=" + cursor(parts), "pager", 200)
                            .get("data"))
                    .as("the cursor as returned still works")
                    .hasSize(5);
        }
    }

    private static String[] cursorParts(JsonNode page) {
        String raw = new String(
                java.util.Base64.getUrlDecoder().decode(page.get("next_cursor").asString()), StandardCharsets.UTF_8);
        String[] parts = raw.split(":", -1);
        assertThat(parts).hasSize(7);
        assertThat(parts[0]).isEqualTo("v4");
        return parts;
    }

    private static String cursor(String... parts) {
        return java.util.Base64.getUrlEncoder()
                .withoutPadding()
                .encodeToString(String.join(":", parts).getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void theTextSearchIgnoresCaseBeyondAsciiAndABodyAlwaysFindsItself() throws Exception {
        String range = "/api/v1/logs?start=2024-05-01T10:00:00Z&end=2024-05-01T11:00:00Z&q=";
        for (String q : List.of("ΟΔΟΣ ΚΛΕΙΣΤΟΣ in İstanbul", "ΟΔΟΣ", "οδοσ", "κλειστοσ in", "İSTANBUL", "istanbul")) {
            assertThat(getJson(range + enc(q), "unicode", 200).get("data"))
                    .as(q)
                    .extracting(n -> n.get("body").asString())
                    .containsExactly("ΟΔΟΣ ΚΛΕΙΣΤΟΣ in İstanbul");
        }
    }

    @Test
    void filtersBySeverityIdsAttributesAndRegex() throws Exception {
        String base = "/api/v1/logs?" + PAGER_RANGE + "&limit=100";
        assertThat(getJson(base + "&severity_min=WARN", "pager", 200).get("data"))
                .hasSize(15);
        assertThat(getJson(base + "&severity_min=17", "pager", 200).get("data")).hasSize(10);
        assertThat(getJson(base + "&severity_min=fatal", "pager", 200).get("data"))
                .hasSize(5);
        assertThat(getJson(base + "&attr.http.route=/odd", "pager", 200).get("data"))
                .hasSize(12);
        assertThat(getJson(base + "&resource.k8s.namespace.name=payments", "pager", 200)
                        .get("data"))
                .extracting(n -> n.get("body").asString())
                .containsExactlyInAnyOrder("record 0", "record 1", "record 2", "record 3", "record 4");
        assertThat(getJson(base + "&trace_id=" + String.format("%032X", 8), "pager", 200)
                        .get("data"))
                .extracting(n -> n.get("body").asString())
                .containsExactly("record 7");
        assertThat(getJson(base + "&span_id=" + String.format("%016x", 25), "pager", 200)
                        .get("data"))
                .extracting(n -> n.get("body").asString())
                .containsExactly("record 24");
        assertThat(getJson(base + "&regex=" + enc("^record 1[0-2]$"), "pager", 200)
                        .get("data"))
                .extracting(n -> n.get("body").asString())
                .containsExactlyInAnyOrder("record 10", "record 11", "record 12");
        assertThat(getJson(base + "&service=svc-0&severity_min=ERROR", "pager", 200)
                        .get("data"))
                .extracting(n -> n.get("body").asString())
                .containsExactlyInAnyOrder("record 3", "record 9", "record 18", "record 24");
        problem(getRaw(base + "&severity_min=LOUD", "pager"), 400, "severity_min");
        problem(getRaw(base + "&trace_id=xyz", "pager"), 400, "trace_id must be 32 hex");
        // digits of other scripts and fullwidth forms are digits to Character.digit, but no id is written in them
        String fullwidth = enc("\uFF10") + TRACE.substring(1);
        problem(getRaw(base + "&trace_id=" + fullwidth, "pager"), 400, "trace_id must be 32 hex");
        problem(getRaw(base + "&span_id=" + enc("\u0660") + "00000000000001a", "pager"), 400, "span_id must be 16 hex");
        problem(getRaw("/api/v1/traces/" + fullwidth, "acme"), 400, "trace_id must be 32 hex");
        problem(getRaw("/api/v1/traces/" + fullwidth + "?start=2024-05-01T10:00:00Z", "acme"), 400, "32 hex");
        problem(getRaw(base + "&servce=typo", "pager"), 400, "unknown parameter 'servce'");
        problem(getRaw(base + "&direction=sideways", "pager"), 400, "direction");
        problem(getRaw(base + "&cursor=bm9wZQ", "pager"), 400, "cursor");
        // numbers too are ASCII digits only, and without a plus sign
        String arabicFive = enc("\u0665");
        problem(
                getRaw("/api/v1/logs?" + PAGER_RANGE + "&limit=" + arabicFive, "pager"),
                400,
                "limit must be a whole number");
        problem(getRaw("/api/v1/logs?" + PAGER_RANGE + "&limit=%2B5", "pager"), 400, "limit must be a whole number");
        problem(getRaw(base + "&severity_min=" + enc("\u0661\u0663"), "pager"), 400, "severity_min");
        problem(getRaw(base + "&severity_min=%2B13", "pager"), 400, "severity_min");
        problem(getRaw("/api/v1/logs/volume?" + PAGER_RANGE + "&step=" + arabicFive + "m", "pager"), 400, "step");
        problem(getRaw("/api/v1/logs/volume?" + PAGER_RANGE + "&step=%2B5m", "pager"), 400, "step");
        problem(getRaw("/api/v1/traces?limit=" + arabicFive, "acme"), 400, "limit must be a whole number");
        problem(
                getRaw("/api/v1/logs?start=" + enc("\uFF11\uFF10") + "&end=2024-05-01T11:00:00Z", "pager"),
                400,
                "start");
        // before 1970 in epoch nanoseconds, as RFC 3339 allows it
        assertThat(getJson("/api/v1/logs?start=-1000000000&end=0", "pager", 200).get("data"))
                .isEmpty();
    }

    @Test
    void aRegexRe2CannotCompileIsA400WhetherOrNotTheRangeHoldsRecords() throws Exception {
        String empty = "start=2020-01-01T00:00:00Z&end=2020-01-01T01:00:00Z";
        for (String range : List.of(PAGER_RANGE, empty)) {
            problem(getRaw("/api/v1/logs?" + range + "&regex=" + enc("("), "pager"), 400, "regex is not a valid RE2");
            problem(getRaw("/api/v1/logs?" + range + "&regex=" + enc("a{1001}"), "pager"), 400, "repetition");
            problem(getRaw("/api/v1/logs?" + range + "&regex=" + enc("(?<n>x)"), "pager"), 400, "regex");
            problem(getRaw("/api/v1/logs?" + range + "&regex=" + enc("x\\1"), "pager"), 400, "regex");
            problem(getRaw("/api/v1/logs/volume?" + range + "&regex=" + enc("(x"), "pager"), 400, "regex");
        }
    }

    @Test
    void aSeverityNumberBeyondTheOtlpRangeHasNoSeverityInSearchAndVolumeAlike() throws Exception {
        String range = "start=2024-05-01T10:00:00Z&end=2024-05-01T11:00:00Z";
        assertThat(getJson("/api/v1/logs?" + range, "odd", 200)
                        .get("data")
                        .get(0)
                        .get("severity_number")
                        .asInt())
                .isEqualTo(999);
        assertThat(getJson("/api/v1/logs?severity_min=FATAL4&" + range, "odd", 200)
                        .get("data"))
                .isEmpty();
        assertThat(getJson("/api/v1/logs/volume?step=1h&" + range, "odd", 200)
                        .get("data")
                        .get(0)
                        .get("severity")
                        .asString())
                .isEqualTo("UNSPECIFIED");
    }

    @Test
    void volumeCountsPerStepAndSeverity() throws Exception {
        JsonNode body = getJson("/api/v1/logs/volume?" + PAGER_RANGE + "&step=1m", "pager", 200);

        assertThat(body.get("step_seconds").asLong()).isEqualTo(60);
        Map<String, Long> bySeverity = new java.util.TreeMap<>();
        long total = 0;
        for (JsonNode b : body.get("data")) {
            assertThat(b.get("time").asString()).isEqualTo("2024-05-02T10:00:00.000000000Z");
            bySeverity.merge(b.get("severity").asString(), b.get("count").asLong(), Long::sum);
            total += b.get("count").asLong();
        }
        assertThat(total).isEqualTo(25);
        assertThat(bySeverity)
                .containsExactlyInAnyOrderEntriesOf(
                        Map.of("DEBUG", 5L, "INFO", 5L, "WARN", 5L, "ERROR", 5L, "FATAL", 5L));
        JsonNode errors = getJson("/api/v1/logs/volume?" + PAGER_RANGE + "&step=30m&severity_min=ERROR", "pager", 200);
        assertThat(errors.get("data")).hasSize(2);
        problem(getRaw("/api/v1/logs/volume?" + PAGER_RANGE + "&step=1x", "pager"), 400, "step");
        problem(
                getRaw("/api/v1/logs/volume?start=2024-05-01T00:00:00Z&end=2024-05-08T00:00:00Z&step=1s", "pager"),
                400,
                "buckets");
    }

    @Test
    void aVolumeStepTooLongForNanosecondsIsRefusedNotFailed() throws Exception {
        String volume = "/api/v1/logs/volume?" + PAGER_RANGE + "&step=";
        problem(getRaw(volume + "1000000d", "pager"), 400, "step must be at most 106751 days");
        problem(getRaw(volume + "99999999999999999d", "pager"), 400, "step must be at most");
        problem(getRaw(volume + "9999999999999999h", "pager"), 400, "step must be at most");
        JsonNode longest = getJson(volume + "106751d", "pager", 200);
        long total = 0;
        for (JsonNode b : longest.get("data")) {
            total += b.get("count").asLong();
        }
        assertThat(total).as("one bucket holds every record").isEqualTo(25);
    }

    @Test
    void aQueryOverTheByteLimitIsRefusedBeforeAnythingIsFetched() throws Exception {
        LakeProperties tight = LakeProperties.defaults(
                        new LakeProperties.S3(
                                s3server.endpoint(),
                                "us-east-1",
                                BUCKET,
                                "lake",
                                s3server.accessKey(),
                                s3server.secretKey(),
                                ""),
                        Files.createTempDirectory("query-it-tight"))
                .withLimits(4, java.time.Duration.ofSeconds(2), 1000);
        try (ArchiveFiles archive = new ArchiveFiles(tight)) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> archive.fetch(
                            Signal.LOGS, TenantId.of("pager"), PAGER_T.minusSeconds(1), PAGER_T.plusSeconds(60)))
                    .isInstanceOf(ArchiveFiles.QueryTooLargeException.class)
                    .hasMessageContaining("narrow the time range");
            try (var files = Files.list(tight.cacheDir())) {
                assertThat(files).as("nothing fetched").isEmpty();
            }
        }
    }

    /**
     * A lookup through the trace index reads the index files and then the span files of the hours they name; the byte
     * limit is for both together, so the second fetch counts what the first read.
     */
    @Test
    void theByteLimitCountsWhatTheQueryReadBeforeAsWell() throws Exception {
        LakeProperties.S3 s3 = new LakeProperties.S3(
                s3server.endpoint(), "us-east-1", BUCKET, "lake", s3server.accessKey(), s3server.secretKey(), "");
        List<Partition> hour = List.of(
                Partition.of(Signal.TRACES, TenantId.of("ranged"), nanos(Instant.parse("2024-05-01T14:00:00Z"))));
        long spanBytes;
        long indexBytes;
        try (ArchiveFiles archive =
                new ArchiveFiles(LakeProperties.defaults(s3, Files.createTempDirectory("query-it-limit")))) {
            ArchiveFiles.Fetched index =
                    archive.fetchTraceIndex(TenantId.of("ranged"), Instant.parse("2024-05-01T00:00:00Z"));
            indexBytes = index.archiveBytes();
            archive.release(index);
            ArchiveFiles.Fetched spans = archive.fetch(Signal.TRACES, TenantId.of("ranged"), hour);
            spanBytes = spans.archiveBytes();
            archive.release(spans);
        }
        assertThat(indexBytes)
                .as("the index files' size, as listed")
                .isEqualTo(keys("lake/_index/traces/tenant=ranged/dt=").stream()
                        .mapToLong(QueryApiIT::size)
                        .sum());
        assertThat(spanBytes).isPositive();

        LakeProperties exact = LakeProperties.defaults(s3, Files.createTempDirectory("query-it-limit"))
                .withLimits(4, java.time.Duration.ofSeconds(2), indexBytes + spanBytes);
        try (ArchiveFiles archive = new ArchiveFiles(exact)) {
            archive.release(archive.fetch(Signal.TRACES, TenantId.of("ranged"), hour, indexBytes));
            org.assertj.core.api.Assertions.assertThatThrownBy(
                            () -> archive.fetch(Signal.TRACES, TenantId.of("ranged"), hour, indexBytes + 1))
                    .isInstanceOf(ArchiveFiles.QueryTooLargeException.class)
                    .hasMessageContaining("the query would read " + (indexBytes + spanBytes + 1) + " bytes");
        }
    }

    private static long size(String key) {
        try (S3Client s3 = s3()) {
            return s3.headObject(b -> b.bucket(BUCKET).key(key)).contentLength();
        }
    }

    @Test
    void traceSearchSummarizesMatchingTracesNewestFirst() throws Exception {
        String range = "/api/v1/traces?start=2024-05-01T10:00:00Z&end=2024-05-01T12:00:00Z";
        JsonNode all = getJson(range, "acme", 200).get("data");
        assertThat(all)
                .extracting(t -> t.get("trace_id").asString())
                .containsExactly("22222222222222222222222222222222", TRACE);
        JsonNode t = all.get(1);
        assertThat(t.get("root_service").asString()).isEqualTo("checkout");
        assertThat(t.get("root_span").asString()).isEqualTo("POST /checkout");
        assertThat(t.get("start_time").asString()).isEqualTo("2024-05-01T10:59:00.000000001Z");
        assertThat(t.get("duration_ns").asLong()).isEqualTo(180_000_000_000L);
        assertThat(t.get("span_count").asInt()).isEqualTo(2);
        assertThat(t.get("error_count").asInt()).isEqualTo(1);
        assertThat(t.get("services")).extracting(JsonNode::asString).containsExactly("checkout");

        assertThat(getJson(range + "&status=error", "acme", 200).get("data"))
                .extracting(n -> n.get("trace_id").asString())
                .containsExactly(TRACE);
        assertThat(getJson(range + "&min_duration=1m", "acme", 200).get("data"))
                .extracting(n -> n.get("trace_id").asString())
                .containsExactly(TRACE);
        assertThat(getJson(range + "&max_duration=2s", "acme", 200).get("data"))
                .extracting(n -> n.get("trace_id").asString())
                .containsExactly("22222222222222222222222222222222", TRACE);
        assertThat(getJson(range + "&name=" + enc("charge card"), "acme", 200).get("data"))
                .extracting(n -> n.get("trace_id").asString())
                .containsExactly(TRACE);
        assertThat(getJson(range + "&service=nope", "acme", 200).get("data")).isEmpty();
        assertThat(getJson(range, "globex", 200).get("data")).isEmpty();
        assertThat(getJson(range + "&limit=1", "acme", 200).get("data")).hasSize(1);
        problem(getRaw(range + "&min_duration=soon", "acme"), 400, "min_duration");
        problem(getRaw(range + "&status=ok", "acme"), 400, "status");
    }

    @Test
    void aDurationWithMoreDigitsThanALongHoldsIsRefusedNotFailed() throws Exception {
        String range = "/api/v1/traces?start=2024-05-01T10:00:00Z&end=2024-05-01T12:00:00Z";
        problem(getRaw(range + "&min_duration=99999999999999999999", "acme"), 400, "min_duration is too large");
        problem(getRaw(range + "&max_duration=99999999999999999999ms", "acme"), 400, "max_duration is too large");
        problem(getRaw(range + "&max_duration=9999999999999h", "acme"), 400, "max_duration is too large");
        assertThat(getJson(range + "&min_duration=9223372036854775807", "acme", 200)
                        .get("data"))
                .isEmpty();
    }

    @Test
    void traceSearchKeepsToTheRangeWhereItCutsAnHour() throws Exception {
        // The hours a range covers whole are read without a time filter (RangeScan); the hours it cuts are filtered.
        // The root starts at 10:59:00.000000001, its child and the other trace's span at 11:01:00.
        JsonNode afterRoot = getJson(
                        "/api/v1/traces?start=2024-05-01T10:59:00.000000002Z&end=2024-05-01T12:00:00Z", "acme", 200)
                .get("data");
        assertThat(afterRoot)
                .extracting(t -> t.get("trace_id").asString())
                .containsExactlyInAnyOrder("22222222222222222222222222222222", TRACE);
        JsonNode childOnly =
                afterRoot.get(0).get("trace_id").asString().equals(TRACE) ? afterRoot.get(0) : afterRoot.get(1);
        assertThat(childOnly.get("span_count").asInt()).isEqualTo(1);
        assertThat(childOnly.get("root_span").asString()).isEqualTo("charge card");
        assertThat(childOnly.get("start_time").asString()).isEqualTo("2024-05-01T11:01:00.000000000Z");

        JsonNode untilChild = getJson("/api/v1/traces?start=2024-05-01T10:00:00Z&end=2024-05-01T11:01:00Z", "acme", 200)
                .get("data");
        assertThat(untilChild).extracting(t -> t.get("trace_id").asString()).containsExactly(TRACE);
        assertThat(untilChild.get(0).get("span_count").asInt()).isEqualTo(1);
        assertThat(untilChild.get(0).get("root_span").asString()).isEqualTo("POST /checkout");

        JsonNode withChild = getJson(
                        "/api/v1/traces?start=2024-05-01T10:59:00.000000001Z&end=2024-05-01T11:01:00.000000001Z",
                        "acme",
                        200)
                .get("data");
        assertThat(withChild)
                .extracting(t -> t.get("trace_id").asString())
                .containsExactly("22222222222222222222222222222222", TRACE);
        assertThat(withChild.get(1).get("span_count").asInt()).isEqualTo(2);
    }

    @Test
    void aTraceComesBackAsOtlpJsonThatOtlpToolsRead() throws Exception {
        HttpResponse<String> r = getRaw(
                "/api/v1/traces/" + TRACE + "?start=2024-05-01T10:00:00Z&end=2024-05-01T12:00:00Z&format=otlp", "acme");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode body = JSON.readTree(r.body());
        JsonNode spans =
                body.get("resourceSpans").get(0).get("scopeSpans").get(0).get("spans");
        assertThat(body.get("resourceSpans"))
                .as("one resource and scope, grouped again")
                .hasSize(1);
        assertThat(spans).hasSize(2);
        JsonNode root = spans.get(0);
        assertThat(root.get("traceId").asString()).isEqualTo(TRACE);
        assertThat(root.get("spanId").asString()).isEqualTo("b7ad6b7169203331");
        assertThat(root.get("kind").asInt()).isEqualTo(2);
        assertThat(root.get("startTimeUnixNano").asString()).isEqualTo("1714561140000000001");
        assertThat(root.get("links").get(0).get("spanId").asString()).isEqualTo("00f067aa0ba902b7");
        assertThat(spans.get(1).get("parentSpanId").asString()).isEqualTo("b7ad6b7169203331");
        assertThat(body.get("resourceSpans")
                        .get(0)
                        .get("resource")
                        .get("attributes")
                        .get(0)
                        .get("key")
                        .asString())
                .isEqualTo("service.name");

        // an OTLP decoder reads it back into the archived spans (ids go back from hex to bytes first)
        String base64Ids = r.body()
                .replace(
                        "\"" + TRACE + "\"",
                        "\""
                                + java.util.Base64.getEncoder()
                                        .encodeToString(
                                                ByteString.fromHex(TRACE).toByteArray()) + "\"");
        assertThat(base64Ids).isNotEqualTo(r.body());
        var request = ExportTraceServiceRequest.newBuilder();
        com.google.protobuf.util.JsonFormat.parser().ignoringUnknownFields().merge(base64Ids, request);
        assertThat(request.getResourceSpans(0).getScopeSpans(0).getSpans(0).getTraceId())
                .isEqualTo(ByteString.fromHex(TRACE));
        assertThat(request.getResourceSpans(0)
                        .getScopeSpans(0)
                        .getSpans(0)
                        .getEvents(0)
                        .getName())
                .isEqualTo("retry");
        problem(getRaw("/api/v1/traces/" + TRACE + "?format=xml", "acme"), 400, "format");
    }

    @Test
    void aQueryWhoseFilesOutgrowTheCacheStillReadsThemAll() throws Exception {
        // the defaults allow a query 10 GB of files and the cache 2 GB: here, two files and a cache of 1000 bytes
        LakeProperties d = LakeProperties.defaults(
                new LakeProperties.S3(
                        s3server.endpoint(),
                        "us-east-1",
                        BUCKET,
                        "lake",
                        s3server.accessKey(),
                        s3server.secretKey(),
                        ""),
                Files.createTempDirectory("query-it-small-cache"));
        LakeProperties small = with(d, 1000, d.duckdbMemoryLimit(), d.maxTraceSpans());
        try (ArchiveFiles archive = new ArchiveFiles(small);
                DuckDb duckDb = new DuckDb(small, archive);
                QueryRunner runner = new QueryRunner(duckDb, archive, small)) {
            LogSearch.Result result = new LogSearch(archive, runner)
                    .search(new LogSearch.Query(
                            TenantId.of("pager"),
                            Instant.parse("2024-05-02T10:00:00Z"),
                            Instant.parse("2024-05-02T11:00:00Z"),
                            LogFilter.parse(new org.springframework.util.LinkedMultiValueMap<>()),
                            100,
                            LogSearch.Direction.BACKWARD,
                            null));
            assertThat(result.data()).hasSize(25);
            assertThat(result.stats().files()).isEqualTo(2);
            try (var files = Files.list(small.cacheDir())) {
                assertThat(files)
                        .as("once the query is done, the cache keeps to its bound again: no file fits in 1000 bytes")
                        .isEmpty();
            }
        }
    }

    @Test
    void aTraceOfMoreSpansThanALookupMayReturnIsRefusedAndAFetchPastItsRequestsTimeStops() throws Exception {
        LakeProperties d = LakeProperties.defaults(
                new LakeProperties.S3(
                        s3server.endpoint(),
                        "us-east-1",
                        BUCKET,
                        "lake",
                        s3server.accessKey(),
                        s3server.secretKey(),
                        ""),
                Files.createTempDirectory("query-it-limits"));
        LakeProperties oneSpan = with(d, d.cacheMaxBytes(), d.duckdbMemoryLimit(), 1);
        Instant start = Instant.parse("2024-05-01T10:00:00Z");
        Instant end = Instant.parse("2024-05-01T12:00:00Z");
        try (ArchiveFiles archive = new ArchiveFiles(oneSpan);
                DuckDb duckDb = new DuckDb(oneSpan, archive);
                QueryRunner runner = new QueryRunner(duckDb, archive, oneSpan)) {
            TraceLookup lookup = new TraceLookup(archive, runner, oneSpan);
            assertThatThrownBy(() -> lookup.lookup(TenantId.of("acme"), TRACE, start, end))
                    .isInstanceOf(ArchiveFiles.QueryTooLargeException.class)
                    .hasMessage("trace " + TRACE + " has more than the 1 spans one lookup may return"
                            + " (OTEL_LAKE_MAX_TRACE_SPANS)");

            RequestDeadline.start(java.time.Duration.ofMillis(1));
            try {
                Thread.sleep(5);
                assertThatThrownBy(() -> archive.fetch(Signal.TRACES, TenantId.of("acme"), start, end))
                        .as("nothing more is fetched for a request whose time is up")
                        .isInstanceOf(QueryRunner.QueryTimeoutException.class);
            } finally {
                RequestDeadline.clear();
            }
        }
        JsonNode whole = getJson(
                "/api/v1/traces/" + TRACE + "?start=2024-05-01T10:00:00Z&end=2024-05-01T12:00:00Z", "acme", 200);
        assertThat(whole.get("spans"))
                .as("the service's own limit, 100,000 spans, holds the trace")
                .hasSize(2);
    }

    @Test
    void everyAnswerHasExactlyTheFieldsAndTypesItsOpenApiSchemaNames() throws Exception {
        JsonNode doc = getJson("/v3/api-docs", null, 200);
        String range = "start=2024-05-01T08:00:00Z&end=2024-05-01T12:00:00Z";
        Map<String, String> answers = new LinkedHashMap<>();
        answers.put("/api/v1/logs", "/api/v1/logs?" + range);
        answers.put("/api/v1/logs/volume", "/api/v1/logs/volume?step=1h&" + range);
        answers.put("/api/v1/traces", "/api/v1/traces?" + range);
        answers.put("/api/v1/traces/{traceId}", "/api/v1/traces/" + TRACE + "?" + range);
        answers.put("/api/v1/traces/{traceId} ", "/api/v1/traces/" + TRACE + "?format=otlp&" + range);
        for (Map.Entry<String, String> answer : answers.entrySet()) {
            JsonNode schema = doc.get("paths")
                    .get(answer.getKey().strip())
                    .get("get")
                    .get("responses")
                    .get("200")
                    .get("content")
                    .get("application/json")
                    .get("schema");
            List<String> checked = new ArrayList<>();
            assertMatches(doc, schema, getJson(answer.getValue(), "acme", 200), answer.getKey(), checked);
            assertThat(checked)
                    .as("every field of " + answer.getKey() + " was checked")
                    .isNotEmpty();
            if (answer.getKey().endsWith(" ")) {
                assertThat(checked)
                        .as("an OTLP answer matched its own schema")
                        .contains(answer.getKey() + ".resourceSpans[0]");
            } else if (answer.getKey().equals("/api/v1/traces/{traceId}")) {
                assertThat(checked)
                        .as("the walk reached the events and links of a span")
                        .contains(answer.getKey() + ".spans[0].events[0].attributes")
                        .contains(answer.getKey() + ".spans[0].links[0].span_id");
            } else {
                assertThat(checked).as("the walk reached a row").contains(answer.getKey() + ".data[0]");
            }
        }
        JsonNode bearer = doc.get("components").get("securitySchemes").get("bearer");
        assertThat(bearer.get("type").asString()).isEqualTo("http");
        assertThat(bearer.get("scheme").asString()).isEqualTo("bearer");
        for (String path : answers.keySet()) {
            assertThat(doc.get("paths")
                            .get(path.strip())
                            .get("get")
                            .get("security")
                            .get(0)
                            .has("bearer"))
                    .as(path)
                    .isTrue();
        }
    }

    /** {@code value} has exactly the properties {@code schema} names, each of its type, recursively. */
    private static void assertMatches(
            JsonNode doc, JsonNode schema, JsonNode value, String where, List<String> checked) {
        if (schema.has("$ref")) {
            String name = schema.get("$ref").asString().substring("#/components/schemas/".length());
            schema = doc.get("components").get("schemas").get(name);
        }
        if (schema.has("oneOf")) {
            // exactly one of the alternatives describes the value
            List<String> matched = new ArrayList<>();
            for (JsonNode alternative : schema.get("oneOf")) {
                List<String> walked = new ArrayList<>();
                try {
                    assertMatches(doc, alternative, value, where, walked);
                    matched.add(alternative.toString());
                    checked.addAll(walked);
                } catch (AssertionError e) {
                    // not this one
                }
            }
            assertThat(matched)
                    .as(where + " matches exactly one of " + schema.get("oneOf"))
                    .hasSize(1);
            return;
        }
        checked.add(where);
        List<String> types = new ArrayList<>(); // OpenAPI 3.1: "type": "string" or ["string", "null"]
        if (schema.path("type").isArray()) {
            schema.get("type").forEach(t -> types.add(t.asString()));
        } else if (schema.has("type")) {
            types.add(schema.get("type").asString());
        }
        if (value.isNull()) {
            assertThat(types).as(where + " may be null: " + schema).contains("null");
            return;
        }
        types.remove("null");
        String type = types.isEmpty() ? "" : types.get(0);
        switch (type) {
            case "object" -> {
                assertThat(value.isObject()).as(where + " is an object").isTrue();
                if (schema.has("properties")) {
                    List<String> fields = new ArrayList<>();
                    value.propertyNames().forEach(fields::add);
                    List<String> documented = new ArrayList<>();
                    schema.get("properties").propertyNames().forEach(documented::add);
                    assertThat(fields).as(where + " fields").containsExactlyElementsOf(documented);
                    for (String field : fields) {
                        assertMatches(
                                doc,
                                schema.get("properties").get(field),
                                value.get(field),
                                where + "." + field,
                                checked);
                    }
                }
            }
            case "array" -> {
                assertThat(value.isArray()).as(where + " is an array").isTrue();
                for (int i = 0; i < value.size(); i++) {
                    assertMatches(doc, schema.get("items"), value.get(i), where + "[" + i + "]", checked);
                }
            }
            case "integer" ->
                assertThat(value.isIntegralNumber())
                        .as(where + " is an integer")
                        .isTrue();
            case "string" ->
                assertThat(value.isString()).as(where + " is a string").isTrue();
            default -> assertThat(type).as(where + ": any value, no type").isEmpty();
        }
    }

    /** {@code d} with another cache bound, DuckDB memory limit and span limit of a trace lookup. */
    static LakeProperties with(LakeProperties d, long cacheMaxBytes, String duckdbMemoryLimit, int maxTraceSpans) {
        return new LakeProperties(
                d.s3(),
                d.cacheDir(),
                cacheMaxBytes,
                d.maxRange(),
                d.traceLookback(),
                d.defaultLimit(),
                d.maxLimit(),
                duckdbMemoryLimit,
                d.duckdbThreads(),
                d.queryTimeout(),
                d.maxConcurrentQueries(),
                d.queueTimeout(),
                d.maxBytesPerQuery(),
                maxTraceSpans,
                d.authEnabled(),
                d.authTokens(),
                d.listingTtl());
    }

    /**
     * The document's server is relative, never the request's Host: a forged Host (or forwarded host) used to come back
     * as the server URL, where Swagger UI's "try it out" would send the reader's bearer token.
     */
    @Test
    void theOpenApiDocumentsServerIsItsOwnOriginNotTheRequestsHostHeader() throws Exception {
        String answer;
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream()
                    .write(("GET /v3/api-docs HTTP/1.1\r\nHost: attacker.example:8443\r\n"
                                    + "X-Forwarded-Host: forwarded.example\r\nX-Forwarded-Proto: https\r\n"
                                    + "Connection: close\r\n\r\n")
                            .getBytes(StandardCharsets.ISO_8859_1));
            answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
        assertThat(answer).startsWith("HTTP/1.1 200").doesNotContain("attacker.example", "forwarded.example");
        JsonNode doc = getJson("/v3/api-docs", null, 200);
        assertThat(doc.get("servers")).hasSize(1);
        assertThat(doc.get("servers").get(0).get("url").asString()).isEqualTo("/");
        assertThat(doc.get("info").get("title").asString()).isEqualTo("otel-lake query API");
    }

    @Test
    void theOpenApiDocumentDescribesExactlyTheParametersTheApiAccepts() throws Exception {
        JsonNode doc = getJson("/v3/api-docs", null, 200);
        assertThat(doc.get("openapi").asString()).startsWith("3.");
        JsonNode paths = doc.get("paths");
        java.util.Set<String> documented = new java.util.TreeSet<>();
        paths.propertyNames().forEach(documented::add);
        assertThat(documented)
                .containsExactlyInAnyOrder(
                        "/api/v1/logs", "/api/v1/logs/volume", "/api/v1/traces", "/api/v1/traces/{traceId}");
        assertThat(queryParameters(paths.get("/api/v1/logs")))
                .containsExactlyInAnyOrderElementsOf(LogController.SEARCH_PARAMETERS);
        assertThat(queryParameters(paths.get("/api/v1/logs/volume")))
                .containsExactlyInAnyOrderElementsOf(LogController.VOLUME_PARAMETERS);
        assertThat(queryParameters(paths.get("/api/v1/traces")))
                .containsExactlyInAnyOrderElementsOf(TraceController.SEARCH_PARAMETERS);
        assertThat(queryParameters(paths.get("/api/v1/traces/{traceId}")))
                .containsExactlyInAnyOrderElementsOf(TraceController.LOOKUP_PARAMETERS);
        for (String path : documented) {
            JsonNode responses = paths.get(path).get("get").get("responses");
            java.util.List<String> statuses = new ArrayList<>();
            responses.propertyNames().forEach(statuses::add);
            java.util.List<String> errors =
                    new ArrayList<>(List.of("400", "401", "403", "406", "422", "429", "500", "503", "504"));
            if (path.contains("{")) {
                errors.add("404");
            }
            assertThat(statuses).as(path).containsExactlyInAnyOrderElementsOf(concat(List.of("200"), errors));
            for (String status : errors) {
                assertThat(responses
                                .get(status)
                                .get("content")
                                .get("application/problem+json")
                                .get("schema")
                                .get("$ref")
                                .asString())
                        .as(path + " " + status)
                        .isEqualTo("#/components/schemas/Problem");
            }
            assertThat(responses.get("429").get("headers").has("Retry-After")).isTrue();
        }
        assertThat(doc.get("components")
                        .get("schemas")
                        .get("Problem")
                        .get("properties")
                        .has("detail"))
                .isTrue();
        assertThat(getRaw("/swagger-ui/index.html", null).statusCode()).isEqualTo(200);
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> both = new ArrayList<>(a);
        both.addAll(b);
        return both;
    }

    /**
     * The query parameters of the path's GET; each must carry a description and the schema OpenAPI requires of every
     * parameter, and the GET must take the tenant header.
     */
    static java.util.List<String> queryParameters(JsonNode path) {
        java.util.List<String> names = new ArrayList<>();
        java.util.List<String> headers = new ArrayList<>();
        for (JsonNode p : path.get("get").get("parameters")) {
            assertThat(p.path("schema").path("type").asString(""))
                    .as("schema type of " + p.get("name").asString())
                    .isIn("string", "integer", "array");
            if (p.get("in").asString().equals("header")) {
                headers.add(p.get("name").asString());
            }
            if (p.get("in").asString().equals("query")) {
                names.add(p.get("name").asString());
                assertThat(p.has("description") ? p.get("description").asString() : "")
                        .as("description of " + p.get("name").asString())
                        .isNotBlank();
            }
        }
        assertThat(headers).containsExactly("X-Scope-OrgID");
        return names;
    }

    @Test
    void cacheMetricsAndHealthAreExposed() throws Exception {
        String path = "/api/v1/logs?start=2024-05-01T08:00:00Z&end=2024-05-01T12:00:00Z";
        getJson(path, "acme", 200);
        JsonNode again = getJson(path, "acme", 200);
        assertThat(again.get("stats").get("cache_hits").asInt())
                .as("the second read is served from the cache")
                .isEqualTo(again.get("stats").get("files").asInt());
        assertThat(again.get("stats").get("bytes_fetched").asLong()).isZero();

        HttpResponse<String> metrics = getRaw("/actuator/prometheus", null);
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body())
                .contains(
                        "otel_lake_cache_hits_total",
                        "otel_lake_cache_misses_total",
                        "otel_lake_cache_fetched_bytes_total",
                        "otel_lake_cache_evictions_total",
                        "otel_lake_cache_size_bytes");
        double hits = metrics.body()
                .lines()
                .filter(l -> l.startsWith("otel_lake_cache_hits_total"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .sum();
        assertThat(hits)
                .isGreaterThanOrEqualTo(again.get("stats").get("cache_hits").asDouble());
        assertThat(getJson("/actuator/health/readiness", null, 200)
                        .get("status")
                        .asString())
                .isEqualTo("UP");
    }

    // --- fixtures

    static S3Client s3() {
        return s3(s3server);
    }

    static S3Client s3(S3Server s3server) {
        return S3Client.builder()
                .endpointOverride(s3server.endpoint())
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(s3server.accessKey(), s3server.secretKey())))
                .forcePathStyle(true)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .httpClient(UrlConnectionHttpClient.create())
                .build();
    }

    /** Writes the rows as the archiver would: one file per hour partition. */
    static void put(S3Client s3, Signal signal, String tenant, List<FlatRow> rows) throws Exception {
        Map<Partition, List<GenericRecord>> byHour = new LinkedHashMap<>();
        for (FlatRow row : rows) {
            byHour.computeIfAbsent(
                            Partition.of(signal, TenantId.of(tenant), row.eventTimeNanos()), p -> new ArrayList<>())
                    .add(row.record());
        }
        for (var e : byHour.entrySet()) {
            Path file = Files.createTempFile("fixture", ".parquet");
            ParquetFiles.write(signal, e.getValue(), file);
            String key = LAYOUT.objectKey(e.getKey(), "fixture+0+" + System.nanoTime() + ".parquet");
            s3.putObject(b -> b.bucket(BUCKET).key(key), RequestBody.fromFile(file));
            if (signal == Signal.TRACES) { // and its trace index file, as the archiver writes it
                TraceIndex.write(TraceIndex.entries(e.getValue()), file);
                String indexKey = TraceIndex.indexKey(LAYOUT.prefix() + "/", key);
                s3.putObject(b -> b.bucket(BUCKET).key(indexKey), RequestBody.fromFile(file));
            }
            Files.delete(file);
        }
    }

    static KeyValue kv(String k, AnyValue v) {
        return KeyValue.newBuilder().setKey(k).setValue(v).build();
    }

    static AnyValue str(String s) {
        return AnyValue.newBuilder().setStringValue(s).build();
    }

    static long nanos(Instant t) {
        return t.getEpochSecond() * 1_000_000_000L + t.getNano();
    }

    static ExportLogsServiceRequest logs(String service, Instant time, String body, int orderId) {
        LogRecord.Builder log = LogRecord.newBuilder()
                .setTimeUnixNano(nanos(time))
                .setSeverityNumberValue(17)
                .setSeverityText("ERROR")
                .setBody(str(body));
        if (orderId > 0) {
            log.setTraceId(ByteString.fromHex(TRACE))
                    .addAttributes(kv(
                            "order.id",
                            AnyValue.newBuilder().setIntValue(orderId).build()))
                    .addAttributes(
                            kv("retry", AnyValue.newBuilder().setBoolValue(true).build()))
                    .addAttributes(kv(
                            "amount", AnyValue.newBuilder().setDoubleValue(12.5).build()))
                    .addAttributes(kv(
                            "tags",
                            AnyValue.newBuilder()
                                    .setArrayValue(ArrayValue.newBuilder()
                                            .addValues(str("a"))
                                            .addValues(AnyValue.newBuilder().setIntValue(2)))
                                    .build()))
                    .addAttributes(kv(
                            "card",
                            AnyValue.newBuilder()
                                    .setKvlistValue(KeyValueList.newBuilder().addValues(kv("brand", str("visa"))))
                                    .build()));
        }
        return ExportLogsServiceRequest.newBuilder()
                .addResourceLogs(ResourceLogs.newBuilder()
                        .setResource(Resource.newBuilder().addAttributes(kv("service.name", str(service))))
                        .addScopeLogs(ScopeLogs.newBuilder().addLogRecords(log)))
                .build();
    }

    static ExportLogsServiceRequest pagerLog(String service, Instant time, String body, int severity, int i) {
        LogRecord log = LogRecord.newBuilder()
                .setTimeUnixNano(nanos(time))
                .setSeverityNumberValue(severity)
                .setBody(str(body))
                .setTraceId(ByteString.fromHex(String.format("%032x", i + 1)))
                .setSpanId(ByteString.fromHex(String.format("%016x", i + 1)))
                .addAttributes(kv("http.route", str(i % 2 == 0 ? "/even" : "/odd")))
                .build();
        return ExportLogsServiceRequest.newBuilder()
                .addResourceLogs(ResourceLogs.newBuilder()
                        .setResource(Resource.newBuilder()
                                .addAttributes(kv("service.name", str(service)))
                                .addAttributes(kv("k8s.namespace.name", str(i < 5 ? "payments" : "shop"))))
                        .addScopeLogs(ScopeLogs.newBuilder().addLogRecords(log)))
                .build();
    }

    static final String RANGED = "44444444444444444444444444444444";

    /** Spans a (14:00-14:00:01), b (14:30-14:30:01) and c (starts 14:45, ends at 0) of one trace, on 2024-05-01. */
    static ExportTraceServiceRequest ranged() {
        ScopeSpans.Builder scope = ScopeSpans.newBuilder();
        String[][] spans = {{"a", "14:00:00", "14:00:01"}, {"b", "14:30:00", "14:30:01"}, {"c", "14:45:00", null}};
        for (String[] s : spans) {
            long start = nanos(Instant.parse("2024-05-01T" + s[1] + "Z"));
            scope.addSpans(Span.newBuilder()
                    .setTraceId(ByteString.fromHex(RANGED))
                    .setSpanId(ByteString.fromHex("000000000000000" + s[0]))
                    .setName("step " + s[0])
                    .setStartTimeUnixNano(start)
                    .setEndTimeUnixNano(s[2] == null ? 0 : nanos(Instant.parse("2024-05-01T" + s[2] + "Z"))));
        }
        return ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .setResource(Resource.newBuilder().addAttributes(kv("service.name", str("ranged"))))
                        .addScopeSpans(scope))
                .build();
    }

    static ExportTraceServiceRequest trace() {
        long rootStart = nanos(Instant.parse("2024-05-01T10:59:00.000000001Z"));
        Span root = Span.newBuilder()
                .setTraceId(ByteString.fromHex(TRACE))
                .setSpanId(ByteString.fromHex("b7ad6b7169203331"))
                .setName("POST /checkout")
                .setKind(Span.SpanKind.SPAN_KIND_SERVER)
                .setStartTimeUnixNano(rootStart)
                .setEndTimeUnixNano(rootStart + 180_000_000_000L)
                .addAttributes(kv(
                        "http.response.status_code",
                        AnyValue.newBuilder().setIntValue(502).build()))
                .addEvents(Span.Event.newBuilder()
                        .setName("retry")
                        .setTimeUnixNano(nanos(Instant.parse("2024-05-01T10:59:30Z")))
                        .addAttributes(kv(
                                "attempt", AnyValue.newBuilder().setIntValue(2).build())))
                .addLinks(Span.Link.newBuilder()
                        .setTraceId(ByteString.fromHex("11111111111111111111111111111111"))
                        .setSpanId(ByteString.fromHex("00f067aa0ba902b7")))
                .setStatus(io.opentelemetry.proto.trace.v1.Status.newBuilder()
                        .setCode(io.opentelemetry.proto.trace.v1.Status.StatusCode.STATUS_CODE_ERROR))
                .build();
        Span child = Span.newBuilder()
                .setTraceId(ByteString.fromHex(TRACE))
                .setSpanId(ByteString.fromHex("00000000000000aa"))
                .setParentSpanId(ByteString.fromHex("b7ad6b7169203331"))
                .setName("charge card")
                .setKind(Span.SpanKind.SPAN_KIND_CLIENT)
                .setStartTimeUnixNano(nanos(Instant.parse("2024-05-01T11:01:00Z")))
                .setEndTimeUnixNano(nanos(Instant.parse("2024-05-01T11:01:02Z")))
                .build();
        Span otherTrace = child.toBuilder()
                .setTraceId(ByteString.fromHex("22222222222222222222222222222222"))
                .setName("other")
                .build();
        return ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .setResource(Resource.newBuilder().addAttributes(kv("service.name", str("checkout"))))
                        .addScopeSpans(ScopeSpans.newBuilder()
                                .addSpans(root)
                                .addSpans(child)
                                .addSpans(otherTrace)))
                .build();
    }

    // --- HTTP

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    HttpResponse<String> getRaw(String path, String tenant) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
        if (tenant != null) {
            b.header("X-Scope-OrgID", tenant);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    JsonNode getJson(String path, String tenant, int status) throws Exception {
        HttpResponse<String> r = getRaw(path, tenant);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        return JSON.readTree(r.body());
    }

    static void problem(HttpResponse<String> r, int status, String detailContains) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type"))
                .hasValueSatisfying(ct -> assertThat(ct).startsWith("application/problem+json"));
        JsonNode p = JSON.readTree(r.body());
        assertThat(p.get("status").asInt()).isEqualTo(status);
        if (detailContains != null) {
            assertThat(p.get("detail").asString()).contains(detailContains);
        }
    }
}
