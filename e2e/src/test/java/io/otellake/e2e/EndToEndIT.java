package io.otellake.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.logs.Logger;
import io.opentelemetry.api.logs.Severity;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import io.opentelemetry.exporter.otlp.http.logs.OtlpHttpLogRecordExporter;
import io.opentelemetry.exporter.otlp.http.metrics.OtlpHttpMetricExporter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.logs.SdkLoggerProvider;
import io.opentelemetry.sdk.logs.export.BatchLogRecordProcessor;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.export.PeriodicMetricReader;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.otellake.infra.LocalStack;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The walking skeleton end to end, with every service in its own JVM as {@code ./otel-lake up} runs them: the real
 * OpenTelemetry Java SDK exports spans and logs over OTLP/HTTP protobuf to ingest; they pass through Kafka and the
 * archiver into Parquet on S3; the query API returns them, and DuckDB reads the Parquet files directly.
 */
class EndToEndIT {
    private static final String TENANT = "e2e-shop";
    private static final Duration PATIENCE = Duration.ofSeconds(90);

    private static LocalStack stack;
    private static final HttpClient http = HttpClient.newHttpClient();
    private static final String marker = "marker" + UUID.randomUUID().toString().replace("-", "");
    private static String traceId;
    private static final Set<String> spanIds = new TreeSet<>();
    private static Instant sentAt;

    @BeforeAll
    static void sendTelemetry() throws Exception {
        Path data = Files.createTempDirectory("otel-lake-e2e");
        stack = LocalStack.start(LocalStack.Options.onFreePorts(LocalStack.findRootDir(), data)
                .withServiceEnvironment(LocalStack.Service.ARCHIVER, "OTEL_LAKE_ARCHIVER_MAX_FILE_AGE", "PT1S"));

        sentAt = Instant.now();
        Resource resource = Resource.getDefault().toBuilder()
                .put("service.name", "checkout")
                .build();
        OtlpHttpSpanExporter spanExporter = OtlpHttpSpanExporter.builder()
                .setEndpoint(stack.ingestUrl().resolve("/v1/traces").toString())
                .addHeader("X-Scope-OrgID", TENANT)
                .build();
        OtlpHttpLogRecordExporter logExporter = OtlpHttpLogRecordExporter.builder()
                .setEndpoint(stack.ingestUrl().resolve("/v1/logs").toString())
                .addHeader("X-Scope-OrgID", TENANT)
                .build();
        try (SdkTracerProvider tracing = SdkTracerProvider.builder()
                        .setResource(resource)
                        .addSpanProcessor(
                                BatchSpanProcessor.builder(spanExporter).build())
                        .build();
                SdkLoggerProvider logging = SdkLoggerProvider.builder()
                        .setResource(resource)
                        .addLogRecordProcessor(
                                BatchLogRecordProcessor.builder(logExporter).build())
                        .build()) {
            Tracer tracer = tracing.get("io.otellake.e2e");
            Logger logger = logging.get("io.otellake.e2e");
            Span root = tracer.spanBuilder("POST /checkout")
                    .setSpanKind(SpanKind.SERVER)
                    .setAttribute("http.response.status_code", 502L)
                    .startSpan();
            try (Scope ignored = root.makeCurrent()) {
                traceId = root.getSpanContext().getTraceId();
                spanIds.add(root.getSpanContext().getSpanId());
                for (String step : List.of("reserve stock", "charge card")) {
                    Span child = tracer.spanBuilder(step)
                            .setSpanKind(SpanKind.CLIENT)
                            .startSpan();
                    try (Scope inner = child.makeCurrent()) {
                        spanIds.add(child.getSpanContext().getSpanId());
                        logger.logRecordBuilder()
                                .setSeverity(Severity.WARN)
                                .setSeverityText("WARN")
                                .setBody(step + " was slow " + marker)
                                .setAttribute(AttributeKey.longKey("attempt"), 2L)
                                .emit();
                    } finally {
                        child.end();
                    }
                }
                root.addEvent(
                        "payment declined", Attributes.of(AttributeKey.stringKey("reason"), "insufficient funds"));
                root.setStatus(StatusCode.ERROR, "payment declined");
            } finally {
                root.end();
            }
            assertThat(tracing.forceFlush().join(30, TimeUnit.SECONDS).isSuccess())
                    .as("ingest acknowledged the spans")
                    .isTrue();
            assertThat(logging.forceFlush().join(30, TimeUnit.SECONDS).isSuccess())
                    .as("ingest acknowledged the logs")
                    .isTrue();
        }
        OtlpHttpMetricExporter metricExporter = OtlpHttpMetricExporter.builder()
                .setEndpoint(stack.ingestUrl().resolve("/v1/metrics").toString())
                .addHeader("X-Scope-OrgID", TENANT)
                .build();
        try (SdkMeterProvider meters = SdkMeterProvider.builder()
                .setResource(resource)
                .registerMetricReader(PeriodicMetricReader.builder(metricExporter)
                        .setInterval(Duration.ofHours(1))
                        .build())
                .build()) {
            Meter meter = meters.get("io.otellake.e2e");
            meter.counterBuilder("checkout.orders")
                    .build()
                    .add(3, Attributes.of(AttributeKey.stringKey("outcome"), "declined"));
            DoubleHistogram duration =
                    meter.histogramBuilder("checkout.duration").setUnit("s").build();
            duration.record(0.25);
            duration.record(0.75);
            assertThat(meters.forceFlush().join(30, TimeUnit.SECONDS).isSuccess())
                    .as("ingest acknowledged the metrics")
                    .isTrue();
        }
    }

    @AfterAll
    static void stopStack() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void logsComeBackFromTheQueryApi() throws Exception {
        String path = "/api/v1/logs?q=" + marker.toUpperCase() + "&start=" + sentAt.minusSeconds(60) + "&end="
                + Instant.now().plusSeconds(60);
        JsonArray data = awaitJson(
                        path,
                        body -> body.getAsJsonObject().getAsJsonArray("data").size() == 2)
                .getAsJsonObject()
                .getAsJsonArray("data");

        List<String> bodies = new ArrayList<>();
        for (JsonElement e : data) {
            JsonObject log = e.getAsJsonObject();
            bodies.add(log.get("body").getAsString());
            assertThat(log.get("service_name").getAsString()).isEqualTo("checkout");
            assertThat(log.get("severity_text").getAsString()).isEqualTo("WARN");
            assertThat(log.get("severity_number").getAsInt()).isEqualTo(13);
            assertThat(log.get("trace_id").getAsString()).isEqualTo(traceId);
            assertThat(spanIds).contains(log.get("span_id").getAsString());
            assertThat(log.getAsJsonObject("attributes")
                            .get("attempt")
                            .getAsJsonPrimitive()
                            .isNumber())
                    .isTrue();
            // the SDK sets no event time unless asked, only the observed time
            assertThat(log.get("timestamp").isJsonNull()).isTrue();
            assertThat(log.get("observed_timestamp").getAsString())
                    .matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z");
        }
        assertThat(bodies)
                .as("newest first")
                .containsExactly("charge card was slow " + marker, "reserve stock was slow " + marker);

        JsonObject otherTenant = getJson(path, "someone-else", 200).getAsJsonObject();
        assertThat(otherTenant.getAsJsonArray("data"))
                .as("another tenant sees nothing")
                .isEmpty();
    }

    @Test
    void theTraceComesBackFromTheQueryApi() throws Exception {
        JsonObject trace = awaitJson(
                        "/api/v1/traces/" + traceId,
                        body -> body.isJsonObject()
                                && body.getAsJsonObject().has("spans")
                                && body.getAsJsonObject()
                                                .getAsJsonArray("spans")
                                                .size()
                                        == 3)
                .getAsJsonObject();

        assertThat(trace.get("trace_id").getAsString()).isEqualTo(traceId);
        Set<String> returned = new TreeSet<>();
        String rootId = null;
        for (JsonElement e : trace.getAsJsonArray("spans")) {
            JsonObject span = e.getAsJsonObject();
            returned.add(span.get("span_id").getAsString());
            if (span.get("name").getAsString().equals("POST /checkout")) {
                rootId = span.get("span_id").getAsString();
                assertThat(span.get("status_code").getAsString()).isEqualTo("ERROR");
                assertThat(span.get("kind").getAsString()).isEqualTo("SERVER");
                assertThat(span.getAsJsonObject("attributes")
                                .get("http.response.status_code")
                                .getAsLong())
                        .isEqualTo(502);
                assertThat(span.getAsJsonArray("events")
                                .get(0)
                                .getAsJsonObject()
                                .get("name")
                                .getAsString())
                        .isEqualTo("payment declined");
            }
        }
        assertThat(returned).isEqualTo(spanIds);
        for (JsonElement e : trace.getAsJsonArray("spans")) {
            JsonObject span = e.getAsJsonObject();
            if (!span.get("span_id").getAsString().equals(rootId)) {
                assertThat(span.get("parent_span_id").getAsString()).isEqualTo(rootId);
            }
        }
        getJson("/api/v1/traces/" + traceId, "someone-else", 404);
    }

    @Test
    void metricDataPointsAreArchivedOneRowEach() throws Exception {
        Path local = Files.createTempDirectory("otel-lake-e2e-metrics");
        String prefix = LocalStack.PREFIX + "/metrics/tenant=" + TENANT + "/";
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (download(prefix, local) < 1) {
            assertThat(System.nanoTime()).as("metrics archived in time").isLessThan(deadline);
            Thread.sleep(500);
        }
        // The SDK exports cumulative points at the flush and again when it shuts down: two collections, two points
        // per metric, told apart by their time. Each collected point must be in the lake once.
        String points = "read_parquet('" + local + "/**/*.parquet') WHERE metric_name LIKE 'checkout.%'";
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
                Statement st = c.createStatement()) {
            try (ResultSet rs =
                    st.executeQuery("SELECT count(*), count(DISTINCT (metric_name, timestamp)) FROM " + points)) {
                rs.next();
                assertThat(rs.getLong(1)).as("points archived once each").isEqualTo(rs.getLong(2));
                assertThat(rs.getLong(1)).isBetween(2L, 4L);
            }
            try (ResultSet rs = st.executeQuery("SELECT DISTINCT metric_name, metric_type, service_name, value_int,"
                    + " count, sum, is_monotonic, attributes['outcome'], metric_unit FROM " + points
                    + " ORDER BY metric_name")) {
                List<String> rows = new ArrayList<>();
                while (rs.next()) {
                    rows.add(rs.getString(1) + "|" + rs.getString(2) + "|" + rs.getString(3) + "|" + rs.getObject(4)
                            + "|" + rs.getObject(5) + "|" + rs.getObject(6) + "|" + rs.getObject(7) + "|"
                            + rs.getString(8) + "|" + rs.getString(9));
                }
                assertThat(rows)
                        .containsExactly(
                                "checkout.duration|histogram|checkout|null|2|1.0|null|null|s",
                                "checkout.orders|sum|checkout|3|null|null|true|declined|null");
            }
        }
    }

    /** Downloads every object under the prefix into {@code local}; returns how many there were. */
    private static int download(String prefix, Path local) throws Exception {
        int n = 0;
        try (S3Client s3 = S3Client.builder()
                .endpointOverride(stack.s3Endpoint())
                .region(Region.of(LocalStack.REGION))
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(stack.s3AccessKey(), stack.s3SecretKey())))
                .forcePathStyle(true)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .httpClient(UrlConnectionHttpClient.create())
                .build()) {
            for (S3Object o : s3.listObjectsV2Paginator(
                            b -> b.bucket(LocalStack.BUCKET).prefix(prefix))
                    .contents()) {
                Path target = local.resolve(o.key());
                Files.createDirectories(target.getParent());
                Files.deleteIfExists(target);
                s3.getObject(b -> b.bucket(LocalStack.BUCKET).key(o.key()), target);
                n++;
            }
        }
        return n;
    }

    @Test
    void duckDbReadsTheArchiveDirectly() throws Exception {
        // wait until the API sees the whole trace, then read the same files without the API
        awaitJson(
                "/api/v1/traces/" + traceId,
                body -> body.isJsonObject()
                        && body.getAsJsonObject().has("spans")
                        && body.getAsJsonObject().getAsJsonArray("spans").size() == 3);
        Path local = Files.createTempDirectory("otel-lake-e2e-download");
        download(LocalStack.PREFIX + "/", local);
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
                Statement st = c.createStatement()) {
            String spans = "read_parquet('" + local + "/lake/traces/tenant=" + TENANT
                    + "/**/*.parquet', hive_partitioning = true)";
            try (ResultSet rs = st.executeQuery("SELECT span_id, name, tenant, service_name, typeof(start_time) FROM "
                    + spans + " WHERE trace_id = '" + traceId + "' ORDER BY span_id")) {
                Set<String> ids = new TreeSet<>();
                while (rs.next()) {
                    assertThat(ids.add(rs.getString(1)))
                            .as("span %s archived once", rs.getString(1))
                            .isTrue();
                    assertThat(rs.getString(3)).isEqualTo(TENANT);
                    assertThat(rs.getString(4)).isEqualTo("checkout");
                    assertThat(rs.getString(5)).isEqualTo("TIMESTAMPTZ_NS");
                }
                assertThat(ids).isEqualTo(spanIds);
            }
            String logs = "read_parquet('" + local + "/lake/logs/tenant=" + TENANT + "/**/*.parquet')";
            try (ResultSet rs =
                    st.executeQuery("SELECT count(*) FROM " + logs + " WHERE contains(body, '" + marker + "')")) {
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(2);
            }
        }
    }

    // --- HTTP

    private static JsonElement getJson(String path, String tenant, int status) throws Exception {
        HttpResponse<String> r = get(path, tenant);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        return JsonParser.parseString(r.body());
    }

    private static HttpResponse<String> get(String path, String tenant) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(stack.queryUrl() + path))
                .header("X-Scope-OrgID", tenant)
                .build();
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private static JsonElement awaitJson(String path, java.util.function.Predicate<JsonElement> done) throws Exception {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = get(path, TENANT);
            last = r.statusCode() + " " + r.body();
            if (r.statusCode() == 200 || r.statusCode() == 404) {
                JsonElement body = JsonParser.parseString(r.body());
                if (r.statusCode() == 200 && done.test(body)) {
                    return body;
                }
            }
            Thread.sleep(500);
        }
        throw new AssertionError("the query API did not return the data within " + PATIENCE + "; last answer: " + last);
    }
}
