package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.UnknownFieldSet;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.opentelemetry.proto.logs.v1.SeverityNumber;
import io.opentelemetry.proto.metrics.v1.AggregationTemporality;
import io.opentelemetry.proto.metrics.v1.Exemplar;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.NumberDataPoint;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.opentelemetry.proto.metrics.v1.Sum;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.otellake.infra.KafkaBroker;
import io.otellake.schemas.OtlpTopics;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Ingest in-process against a real Kafka broker, with the defaults except the address of both. */
class IngestIT {
    private static KafkaBroker kafka;
    private static Ingest ingest;
    private static OtlpHttp http;
    private static TopicReader traces;
    private static TopicReader logs;
    private static TopicReader metrics;

    @BeforeAll
    static void start() {
        kafka = TestKafka.broker();
        ingest = Ingest.start(TestKafka.ingestConfig().build());
        http = new OtlpHttp(ingest.uri());
        traces = new TopicReader(kafka.bootstrapServers(), "otlp-traces");
        logs = new TopicReader(kafka.bootstrapServers(), "otlp-logs");
        metrics = new TopicReader(kafka.bootstrapServers(), "otlp-metrics");
    }

    @AfterAll
    static void stop() {
        traces.close();
        logs.close();
        metrics.close();
        ingest.close();
    }

    @Test
    void protobufTracesAreWrittenAsOneRecordWithTheTenant() throws Exception {
        ExportTraceServiceRequest request = traces("checkout", 3);
        var mark = traces.mark();

        HttpResponse<byte[]> response =
                http.post("/v1/traces", "application/x-protobuf", request.toByteArray(), "X-Scope-OrgID", "team-a");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(OtlpHttp.contentType(response)).isEqualTo("application/x-protobuf");
        assertThat(ExportTraceServiceResponse.parseFrom(response.body()))
                .isEqualTo(ExportTraceServiceResponse.getDefaultInstance());
        List<ConsumerRecord<byte[], byte[]>> written = traces.since(mark);
        assertThat(written).hasSize(1);
        assertThat(written.get(0).value()).isEqualTo(request.toByteArray());
        assertThat(ExportTraceServiceRequest.parseFrom(written.get(0).value())).isEqualTo(request);
        assertThat(tenants(written.get(0))).containsExactly("team-a");
        // One trace: one record, keyed by the trace id so that its spans share a partition.
        assertThat(written.get(0).key())
                .isEqualTo(request.getResourceSpans(0)
                        .getScopeSpans(0)
                        .getSpans(0)
                        .getTraceId()
                        .toByteArray());
    }

    @Test
    void aRequestWithoutTenantBelongsToTenantDefault() {
        ExportTraceServiceRequest request = traces("no-tenant", 1);
        var mark = traces.mark();

        HttpResponse<byte[]> response = http.post("/v1/traces", "application/x-protobuf", request.toByteArray());

        assertThat(response.statusCode()).isEqualTo(200);
        List<ConsumerRecord<byte[], byte[]>> written = traces.since(mark);
        assertThat(written).hasSize(1);
        assertThat(tenants(written.get(0))).containsExactly("default");
    }

    @Test
    void jsonLogsWithHexIdsAreWrittenAsProtobuf() throws Exception {
        String json =
                """
                {"resourceLogs":[{
                  "resource":{"attributes":[{"key":"service.name","value":{"stringValue":"payments"}}]},
                  "scopeLogs":[{"scope":{"name":"app"},"logRecords":[{
                    "timeUnixNano":"1700000000000000123",
                    "observedTimeUnixNano":1700000000000000456,
                    "severityNumber":17,
                    "severityText":"ERROR",
                    "body":{"stringValue":"card declined"},
                    "traceId":"5B8EFFF798038103D269B633813FC60C",
                    "spanId":"eee19b7ec3c1b174",
                    "comesInAFutureVersion":{"x":1}
                  }]}]
                }]}""";
        var mark = logs.mark();

        HttpResponse<byte[]> response =
                http.post("/v1/logs", "application/json; charset=utf-8", json, "X-Scope-OrgID", "team-b");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(OtlpHttp.contentType(response)).isEqualTo("application/json");
        assertThat(new String(response.body(), StandardCharsets.UTF_8)).isEqualTo("{}");
        List<ConsumerRecord<byte[], byte[]>> written = logs.since(mark);
        assertThat(written).hasSize(1);
        assertThat(tenants(written.get(0))).containsExactly("team-b");
        assertThat(ExportLogsServiceRequest.parseFrom(written.get(0).value()))
                .isEqualTo(ExportLogsServiceRequest.newBuilder()
                        .addResourceLogs(ResourceLogs.newBuilder()
                                .setResource(Resource.newBuilder().addAttributes(attribute("service.name", "payments")))
                                .addScopeLogs(ScopeLogs.newBuilder()
                                        .setScope(InstrumentationScope.newBuilder()
                                                .setName("app"))
                                        .addLogRecords(LogRecord.newBuilder()
                                                .setTimeUnixNano(1_700_000_000_000_000_123L)
                                                .setObservedTimeUnixNano(1_700_000_000_000_000_456L)
                                                .setSeverityNumber(SeverityNumber.SEVERITY_NUMBER_ERROR)
                                                .setSeverityText("ERROR")
                                                .setBody(AnyValue.newBuilder().setStringValue("card declined"))
                                                .setTraceId(hex("5b8efff798038103d269b633813fc60c"))
                                                .setSpanId(hex("eee19b7ec3c1b174")))))
                        .build());
    }

    @Test
    void anEmptyRequestIsAcceptedAndNotWritten() {
        var mark = traces.mark();

        HttpResponse<byte[]> protobuf = http.post("/v1/traces", "application/x-protobuf", new byte[0]);
        HttpResponse<byte[]> json = http.post("/v1/traces", "application/json", "{\"resourceSpans\":[]}");
        HttpResponse<byte[]> noSpans = http.post(
                "/v1/traces",
                "application/x-protobuf",
                ExportTraceServiceRequest.newBuilder()
                        .addResourceSpans(ResourceSpans.newBuilder().addScopeSpans(ScopeSpans.getDefaultInstance()))
                        .build()
                        .toByteArray());

        assertThat(List.of(protobuf.statusCode(), json.statusCode(), noSpans.statusCode()))
                .containsExactly(200, 200, 200);
        assertThat(traces.mark()).isEqualTo(mark);
    }

    @Test
    void otherContentTypesAre415() {
        HttpResponse<byte[]> response = http.post("/v1/traces", "text/plain", "hello");

        assertThat(response.statusCode()).isEqualTo(415);
        assertThat(OtlpHttp.contentType(response)).isEqualTo("text/plain; charset=utf-8");
        assertThat(OtlpHttp.message(response))
                .isEqualTo("Content-Type must be application/x-protobuf or application/json (UTF-8); got"
                        + " 'text/plain'");
        HttpResponse<byte[]> utf16 = http.post("/v1/logs", "application/json; charset=UTF-16", "{}");
        assertThat(utf16.statusCode()).isEqualTo(415);
        assertThat(OtlpHttp.message(utf16))
                .isEqualTo("Content-Type must be application/x-protobuf or application/json (UTF-8); got"
                        + " 'application/json; charset=UTF-16'");
        assertThat(http.post("/v1/logs", "application/json; charset=\"UTF-8\"", "{}")
                        .statusCode())
                .isEqualTo(200);
    }

    @Test
    void otherContentEncodingsAre415() {
        HttpResponse<byte[]> response =
                http.post("/v1/traces", "application/x-protobuf", new byte[] {1, 2, 3}, "Content-Encoding", "br");

        assertThat(response.statusCode()).isEqualTo(415);
        assertThat(OtlpHttp.message(response))
                .isEqualTo("Content-Encoding 'br' is not supported; send gzip or identity");
    }

    @Test
    void severalContentEncodingLinesAreOneListAsOnOneLine() {
        // RFC 9110, section 5.3: the lines of a field are one comma-separated list. Only the first line was read, so
        // a body gzipped twice was gunzipped once and refused as not protobuf (400), and identity before gzip was
        // taken as identity, the gzip body refused as not protobuf.
        byte[] request = OtlpConformanceIT.logs(1).toByteArray();
        var mark = logs.mark();

        HttpResponse<byte[]> twice = http.post(
                "/v1/logs",
                "application/x-protobuf",
                OtlpConformanceIT.gzip(OtlpConformanceIT.gzip(request)),
                "Content-Encoding",
                "gzip",
                "Content-Encoding",
                "gzip");
        HttpResponse<byte[]> identityThenGzip = http.post(
                "/v1/logs",
                "application/x-protobuf",
                OtlpConformanceIT.gzip(request),
                "Content-Encoding",
                "identity",
                "Content-Encoding",
                "gzip");

        assertThat(twice.statusCode()).isEqualTo(415);
        assertThat(OtlpHttp.message(twice))
                .isEqualTo("Content-Encoding 'gzip, gzip' is not supported; send gzip or identity");
        // identity is no coding (RFC 9110, section 8.4.1): the body is gzip
        assertThat(identityThenGzip.statusCode()).isEqualTo(200);
        assertThat(logs.since(mark)).singleElement().satisfies(r -> assertThat(r.value())
                .isEqualTo(request));
    }

    @Test
    void emptyItemsOfTheContentEncodingListAreIgnored() {
        // RFC 9110, section 5.6.1.2: a recipient must accept empty list items and ignore them
        byte[] request = OtlpConformanceIT.logs(1).toByteArray();
        for (String value : List.of("gzip,", ", gzip", " , gzip , ")) {
            HttpResponse<byte[]> response = http.post(
                    "/v1/logs", "application/x-protobuf", OtlpConformanceIT.gzip(request), "Content-Encoding", value);
            assertThat(response.statusCode()).as(value).isEqualTo(200);
        }
        assertThat(http.post("/v1/logs", "application/x-protobuf", request, "Content-Encoding", ",")
                        .statusCode())
                .isEqualTo(200);
    }

    @Test
    void twoContentTypesAre415RatherThanTheFirstOneRead() {
        // A body with two media types has none: the first was taken, so this protobuf was read as JSON (400).
        var mark = logs.mark();

        HttpResponse<byte[]> response = http.post(
                "/v1/logs",
                "application/json",
                OtlpConformanceIT.logs(1).toByteArray(),
                "Content-Type",
                "application/x-protobuf");

        assertThat(response.statusCode()).isEqualTo(415);
        assertThat(OtlpHttp.contentType(response)).isEqualTo("text/plain; charset=utf-8");
        assertThat(OtlpHttp.message(response))
                .isEqualTo("Content-Type must be sent once, application/x-protobuf or application/json; got"
                        + " 'application/json', 'application/x-protobuf'");
        assertThat(logs.mark()).isEqualTo(mark);
    }

    @Test
    void gzipJsonIsDecompressedAndWrittenAsProtobuf() throws Exception {
        String json =
                """
                {"resourceLogs":[{"scopeLogs":[{"logRecords":[
                  {"body":{"stringValue":"zipped"},"spanId":"EEE19B7EC3C1B174"}
                ]}]}]}""";
        var mark = logs.mark();

        HttpResponse<byte[]> response = http.post(
                "/v1/logs",
                "application/json",
                OtlpConformanceIT.gzip(json.getBytes(StandardCharsets.UTF_8)),
                "Content-Encoding",
                "GZIP");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(new String(response.body(), StandardCharsets.UTF_8)).isEqualTo("{}");
        assertThat(logs.since(mark)).singleElement().satisfies(r -> assertThat(
                        ExportLogsServiceRequest.parseFrom(r.value()))
                .isEqualTo(ExportLogsServiceRequest.newBuilder()
                        .addResourceLogs(ResourceLogs.newBuilder()
                                .addScopeLogs(ScopeLogs.newBuilder()
                                        .addLogRecords(LogRecord.newBuilder()
                                                .setBody(AnyValue.newBuilder().setStringValue("zipped"))
                                                .setSpanId(hex("eee19b7ec3c1b174")))))
                        .build()));
    }

    @Test
    void xGzipIsGzip() throws Exception {
        // RFC 9110, section 8.4.1.3: a recipient should take "x-gzip" as "gzip"; older HTTP stacks still send it.
        ExportTraceServiceRequest request = traces("legacy-client", 2);
        var mark = traces.mark();

        HttpResponse<byte[]> response = http.post(
                "/v1/traces",
                "application/x-protobuf",
                OtlpConformanceIT.gzip(request.toByteArray()),
                "Content-Encoding",
                "x-gzip");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(traces.since(mark)).singleElement().satisfies(r -> assertThat(
                        ExportTraceServiceRequest.parseFrom(r.value()))
                .isEqualTo(request));
    }

    @Test
    void gzipOverTheLimitAfterDecompressionSaysSo() {
        byte[] body = OtlpConformanceIT.gzip(new byte[IngestConfig.DEFAULT_MAX_BODY_BYTES + 1]);

        HttpResponse<byte[]> response =
                http.post("/v1/traces", "application/x-protobuf", body, "Content-Encoding", "gzip");

        assertThat(response.statusCode()).isEqualTo(413);
        assertThat(OtlpHttp.message(response))
                .isEqualTo("the body is more than 8388608 bytes after decompression; the limit is 8388608 bytes: send"
                        + " smaller batches");
    }

    @Test
    void truncatedGzipIs400() {
        byte[] gzip = OtlpConformanceIT.gzip(traces("cut", 2).toByteArray());

        HttpResponse<byte[]> response = http.post(
                "/v1/traces",
                "application/x-protobuf",
                Arrays.copyOf(gzip, gzip.length - 9),
                "Content-Encoding",
                "gzip");

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(OtlpHttp.message(response)).isEqualTo("the gzip body ends too early");
    }

    @Test
    void jsonMetricsWithHexExemplarIdsAreWrittenAsProtobuf() throws Exception {
        String json =
                """
                {"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"requests","sum":{
                  "aggregationTemporality":2,"isMonotonic":true,"dataPoints":[{
                    "timeUnixNano":"1700000000000000000","asInt":"42",
                    "exemplars":[{"asInt":1,"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"eee19b7ec3c1b174"}]
                  }]}}]}]}]}""";
        var mark = metrics.mark();

        HttpResponse<byte[]> response = http.post("/v1/metrics", "application/json", json, "X-Scope-OrgID", "team-m");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(new String(response.body(), StandardCharsets.UTF_8)).isEqualTo("{}");
        assertThat(metrics.since(mark)).singleElement().satisfies(r -> {
            assertThat(tenants(r)).containsExactly("team-m");
            assertThat(ExportMetricsServiceRequest.parseFrom(r.value()))
                    .isEqualTo(ExportMetricsServiceRequest.newBuilder()
                            .addResourceMetrics(ResourceMetrics.newBuilder()
                                    .addScopeMetrics(ScopeMetrics.newBuilder()
                                            .addMetrics(Metric.newBuilder()
                                                    .setName("requests")
                                                    .setSum(Sum.newBuilder()
                                                            .setAggregationTemporality(
                                                                    AggregationTemporality
                                                                            .AGGREGATION_TEMPORALITY_CUMULATIVE)
                                                            .setIsMonotonic(true)
                                                            .addDataPoints(NumberDataPoint.newBuilder()
                                                                    .setTimeUnixNano(1_700_000_000_000_000_000L)
                                                                    .setAsInt(42)
                                                                    .addExemplars(Exemplar.newBuilder()
                                                                            .setAsInt(1)
                                                                            .setTraceId(hex(
                                                                                    "5b8efff798038103d269b633813fc60c"))
                                                                            .setSpanId(hex("eee19b7ec3c1b174"))))))))
                            .build());
        });
    }

    @Test
    void jsonPartialSuccessIsAnsweredInJson() throws Exception {
        String json =
                """
                {"resourceSpans":[{"scopeSpans":[{"spans":[
                  {"name":"good","traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"},
                  {"name":"bad","traceId":"5b8efff798038103","spanId":"eee19b7ec3c1b175"}
                ]}]}]}""";
        var mark = traces.mark();

        HttpResponse<byte[]> response = http.post("/v1/traces", "application/json", json);

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(OtlpHttp.contentType(response)).isEqualTo("application/json");
        assertThat(new String(response.body(), StandardCharsets.UTF_8))
                .isEqualTo("{\"partialSuccess\":{\"rejectedSpans\":\"1\",\"errorMessage\":\"1 of 2 spans rejected;"
                        + " the first: resourceSpans[0].scopeSpans[0].spans[1].traceId must be 16 bytes;"
                        + " got 8 bytes\"}}");
        assertThat(traces.since(mark)).singleElement().satisfies(r -> assertThat(
                        ExportTraceServiceRequest.parseFrom(r.value()))
                .isEqualTo(ExportTraceServiceRequest.newBuilder()
                        .addResourceSpans(ResourceSpans.newBuilder()
                                .addScopeSpans(ScopeSpans.newBuilder()
                                        .addSpans(Span.newBuilder()
                                                .setName("good")
                                                .setTraceId(hex("5b8efff798038103d269b633813fc60c"))
                                                .setSpanId(hex("eee19b7ec3c1b174")))))
                        .build()));
    }

    @Test
    void garbageProtobufIs400WithTheParseError() throws Exception {
        var mark = traces.mark();

        HttpResponse<byte[]> response =
                http.post("/v1/traces", "application/x-protobuf", new byte[] {(byte) 0xff, (byte) 0xff, 0x01});

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(OtlpHttp.contentType(response)).isEqualTo("application/x-protobuf");
        assertThat(OtlpHttp.protobufStatusCode(response)).isEqualTo(3); // INVALID_ARGUMENT
        assertThat(OtlpHttp.message(response))
                .startsWith("the body is not a valid protobuf ExportTraceServiceRequest: ");
        assertThat(traces.mark()).isEqualTo(mark);
    }

    @Test
    void brokenJsonIs400WithWhereItBroke() {
        HttpResponse<byte[]> response = http.post("/v1/logs", "application/json", "{\"resourceLogs\":[{]}");

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(OtlpHttp.contentType(response)).isEqualTo("application/json");
        assertThat(OtlpHttp.message(response))
                .isEqualTo("the body is not valid JSON: Unexpected close marker ']': expected '}' at line 1 column 19"
                        + " (in resourceLogs[0])");
    }

    @Test
    void aJsonNumberOfAMillionDigitsIs400AtOnce() {
        // JsonFormat parses such a number through BigDecimal, in time quadratic in its digits: 13 s of CPU for these,
        // minutes for the 8 MiB a body may hold, on one of ingest's threads.
        String json = "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":\"" + "1".repeat(1_000_000)
                + "\"}]}]}]}";
        var mark = logs.mark();
        long start = System.nanoTime();

        HttpResponse<byte[]> response = http.post("/v1/logs", "application/json", json);

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(OtlpHttp.message(response))
                .isEqualTo("resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano must be a number of at most 1024"
                        + " characters; got 1000000 characters");
        assertThat(logs.mark()).isEqualTo(mark);
    }

    @Test
    void aJsonEnumValueThatIsNotAnIntegerIs400RatherThanDropped() {
        // JsonFormat, ignoring unknown fields, dropped it: the span was written as if its status were UNSET.
        var mark = traces.mark();

        HttpResponse<byte[]> response = http.post(
                "/v1/traces",
                "application/json",
                "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"5b8efff798038103d269b633813fc60c\","
                        + "\"spanId\":\"eee19b7ec3c1b174\",\"name\":\"op\",\"status\":{\"code\":\"STATUS_CODE_FAILED\"}}"
                        + "]}]}]}");

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(OtlpHttp.message(response))
                .isEqualTo("resourceSpans[0].scopeSpans[0].spans[0].status.code must be an integer (a value of enum"
                        + " StatusCode); got \"STATUS_CODE_FAILED\"");
        assertThat(traces.mark()).isEqualTo(mark);
    }

    @Test
    void aJsonStringWithHalfOfASurrogatePairIs400RatherThanWrittenAltered() {
        // Protobuf's encoder wrote this attribute key, half of a surrogate pair, as "?": 200, and a value that was
        // never sent.
        var mark = logs.mark();

        HttpResponse<byte[]> response = http.post(
                "/v1/logs",
                "application/json",
                "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"attributes\":[{\"key\":\"\\udc00\","
                        + "\"value\":{\"stringValue\":\"v\"}}]}]}]}]}");

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(OtlpHttp.message(response))
                .isEqualTo("resourceLogs[0].scopeLogs[0].logRecords[0].attributes[0].key is not valid Unicode:"
                        + " character 0 is \\udc00, half of a surrogate pair");
        assertThat(logs.mark()).isEqualTo(mark);
    }

    @Test
    void badHexIdIs400SayingWhich() {
        HttpResponse<byte[]> response = http.post(
                "/v1/traces",
                "application/json",
                "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"abc\"}]}]}]}");

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(OtlpHttp.message(response))
                .isEqualTo("resourceSpans[0].scopeSpans[0].spans[0].traceId must be 32 hex characters (or empty);"
                        + " got \"abc\"");
    }

    @Test
    void anInvalidTenantIs400WithTheRule() {
        HttpResponse<byte[]> response = http.post(
                "/v1/traces", "application/x-protobuf", traces("x", 1).toByteArray(), "X-Scope-OrgID", "../etc");

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(OtlpHttp.message(response))
                .isEqualTo("X-Scope-OrgID: tenant id must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'; got"
                        + " '../etc'");
    }

    @Test
    void aBodyOverTheLimitIs413WithOrWithoutContentLength() {
        byte[] tooLarge = new byte[IngestConfig.DEFAULT_MAX_BODY_BYTES + 1];
        Arrays.fill(tooLarge, (byte) 'x');
        var mark = traces.mark();

        HttpResponse<byte[]> declared = http.post("/v1/traces", "application/x-protobuf", tooLarge);
        HttpResponse<byte[]> chunked = http.send(HttpRequest.newBuilder(http.uri("/v1/traces"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(tooLarge)))
                .build());

        assertThat(declared.statusCode()).isEqualTo(413);
        assertThat(OtlpHttp.message(declared))
                .isEqualTo("the body is 8388609 bytes; the limit is 8388608 bytes: send smaller batches");
        assertThat(chunked.statusCode()).isEqualTo(413);
        assertThat(OtlpHttp.message(chunked))
                .isEqualTo("the body is more than 8388608 bytes; the limit is 8388608 bytes: send smaller batches");
        assertThat(traces.mark()).isEqualTo(mark);
    }

    @Test
    void aBodyAtTheLimitIsRead() {
        // A valid request padded with an unknown field up to exactly the limit.
        ExportTraceServiceRequest request = traces("big", 1);
        int limit = IngestConfig.DEFAULT_MAX_BODY_BYTES;
        int padding = limit
                - request.getSerializedSize()
                - CodedOutputStream.computeTagSize(1000)
                - CodedOutputStream.computeUInt32SizeNoTag(limit);
        ExportTraceServiceRequest padded = request.toBuilder()
                .setUnknownFields(UnknownFieldSet.newBuilder()
                        .addField(
                                1000,
                                UnknownFieldSet.Field.newBuilder()
                                        .addLengthDelimited(ByteString.copyFrom(new byte[padding]))
                                        .build())
                        .build())
                .build();
        assertThat(padded.getSerializedSize()).isEqualTo(IngestConfig.DEFAULT_MAX_BODY_BYTES);
        var mark = traces.mark();

        HttpResponse<byte[]> response = http.post("/v1/traces", "application/x-protobuf", padded.toByteArray());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(traces.since(mark)).singleElement().satisfies(r -> assertThat(r.value())
                .isEqualTo(padded.toByteArray()));
    }

    @Test
    void wrongMethodIs405AndUnknownPathIs404() {
        HttpResponse<byte[]> get = http.get("/v1/traces");
        HttpResponse<byte[]> unknown = http.post("/v1/profiles", "application/x-protobuf", new byte[0]);
        HttpResponse<byte[]> longer = http.post("/v1/traces/more", "application/x-protobuf", new byte[0]);

        assertThat(get.statusCode()).isEqualTo(405);
        assertThat(get.headers().firstValue("Allow")).contains("POST");
        assertThat(OtlpHttp.message(get)).isEqualTo("GET is not allowed on /v1/traces; use POST");
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(OtlpHttp.message(unknown))
                .isEqualTo("no such endpoint: /v1/profiles; ingest serves POST /v1/traces, POST /v1/logs, POST"
                        + " /v1/metrics, GET /health, GET /ready and GET /metrics");
        assertThat(longer.statusCode()).isEqualTo(404);
    }

    @Test
    void metricsCountItemsPerTenantAndSignalBytesAndLatencies() {
        ExportTraceServiceRequest.Builder partly = traces("metered", 3).toBuilder();
        partly.getResourceSpansBuilder(0)
                .getScopeSpansBuilder(0)
                .getSpansBuilder(2)
                .setSpanId(ByteString.copyFromUtf8("bad"));
        assertThat(http.post("/v1/traces", OtlpHttp.PROTOBUF, partly.build().toByteArray(), "X-Scope-OrgID", "metered")
                        .statusCode())
                .isEqualTo(200);
        assertThat(http.post(
                                "/v1/metrics",
                                OtlpHttp.PROTOBUF,
                                OtlpConformanceIT.metrics().toByteArray(),
                                "X-Scope-OrgID",
                                "metered")
                        .statusCode())
                .isEqualTo(200);

        HttpResponse<byte[]> response = http.get("/metrics");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(OtlpHttp.contentType(response)).isEqualTo("text/plain; version=0.0.4; charset=utf-8");
        List<String> lines =
                new String(response.body(), StandardCharsets.UTF_8).lines().toList();
        assertThat(lines)
                .contains(
                        "# TYPE otel_lake_ingest_items_accepted_total counter",
                        "otel_lake_ingest_items_accepted_total{signal=\"traces\",tenant=\"metered\"} 2",
                        "otel_lake_ingest_items_rejected_total{signal=\"traces\",tenant=\"metered\"} 1",
                        "otel_lake_ingest_items_accepted_total{signal=\"metrics\",tenant=\"metered\"} 3",
                        "# TYPE otel_lake_ingest_request_duration_seconds histogram",
                        "otel_lake_ingest_in_flight_bytes 0",
                        "otel_lake_ingest_kafka_reachable 1");
        assertThat(lines)
                .filteredOn(l ->
                        l.startsWith("otel_lake_ingest_items_rejected_total{signal=\"metrics\",tenant=\"metered\"}"))
                .isEmpty();
        assertThat(lines)
                .anyMatch(l -> l.matches(
                        "otel_lake_ingest_received_bytes_total\\{signal=\"metrics\",transport=\"http\"} [1-9][0-9]*"))
                .anyMatch(l -> l.matches("otel_lake_ingest_requests_total\\{signal=\"metrics\",transport=\"http\","
                        + "status=\"200\"} [1-9][0-9]*"))
                .anyMatch(l -> l.matches("otel_lake_ingest_request_duration_seconds_bucket\\{signal=\"metrics\","
                        + "transport=\"http\",le=\"\\+Inf\"} [1-9][0-9]*"))
                .anyMatch(l -> l.matches("otel_lake_ingest_kafka_produce_duration_seconds_count\\{"
                        + "topic=\"otlp-metrics\",outcome=\"acknowledged\"} [1-9][0-9]*"));
    }

    /**
     * A protobuf export's success has an empty body. Sending it once made reading the rest of the request throw, which
     * the handler took for a client that went away: the commonest answer of all was missing from the metrics.
     */
    @Test
    void aProtobufSuccessIsCountedAndTimedLikeEveryOtherAnswer() {
        String answered = "otel_lake_ingest_requests_total{signal=\"logs\",transport=\"http\",status=\"200\"} ";
        String timed = "otel_lake_ingest_request_duration_seconds_count{signal=\"logs\",transport=\"http\"} ";
        long answeredBefore = metric(answered);
        long timedBefore = metric(timed);

        HttpResponse<byte[]> response = http.post(
                "/v1/logs", OtlpHttp.PROTOBUF, OtlpConformanceIT.logs(2).toByteArray());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).isEmpty();
        assertThat(response.headers().firstValue("Content-Length")).hasValue("0");
        // The handler counts an answer once it is sent, which may be just after the client has it.
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (metric(timed) == timedBefore && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(metric(answered)).isEqualTo(answeredBefore + 1);
        assertThat(metric(timed)).isEqualTo(timedBefore + 1);
    }

    /** One series' value in /metrics; 0 while it has none. */
    private static long metric(String series) {
        return new String(http.get("/metrics").body(), StandardCharsets.UTF_8)
                .lines()
                .filter(line -> line.startsWith(series))
                .mapToLong(line -> Long.parseLong(line.substring(series.length())))
                .findFirst()
                .orElse(0);
    }

    @Test
    void readyIs200WhileKafkaAnswers() {
        HttpResponse<byte[]> response = http.get("/ready");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(OtlpHttp.message(response)).isEqualTo("ok");
    }

    @Test
    void healthIs200() {
        HttpResponse<byte[]> response = http.get("/health");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(OtlpHttp.message(response)).isEqualTo("ok");
        assertThat(http.get("/healthz").statusCode()).isEqualTo(200);
    }

    @Test
    void topicsAreCreatedWithRetentionPartitionsAndRecordSize() throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            Set<String> topics = Set.of("otlp-traces", "otlp-logs", "otlp-metrics");
            Map<String, TopicDescription> descriptions =
                    admin.describeTopics(topics).allTopicNames().get(20, TimeUnit.SECONDS);
            Map<ConfigResource, Config> configs = admin.describeConfigs(topics.stream()
                            .map(t -> new ConfigResource(ConfigResource.Type.TOPIC, t))
                            .toList())
                    .all()
                    .get(20, TimeUnit.SECONDS);

            assertThat(descriptions.values()).allSatisfy(d -> {
                assertThat(d.partitions()).hasSize(3);
                assertThat(d.partitions())
                        .allSatisfy(p -> assertThat(p.replicas()).hasSize(1));
            });
            assertThat(configs.values()).hasSize(3).allSatisfy(c -> {
                assertThat(c.get("retention.ms").value()).isEqualTo("86400000");
                assertThat(c.get("max.message.bytes").value()).isEqualTo(Integer.toString(8 * 1024 * 1024 + 65536));
                assertThat(c.get("min.insync.replicas").value()).isEqualTo("1");
            });
        }
    }

    @Test
    void startingAgainLeavesExistingTopicsAsTheyAre() {
        IngestConfig other = ingest.config().toBuilder()
                .topicRetentionMs(1000)
                .topicPartitions(1)
                .build();

        try (Ingest second = Ingest.start(other)) {
            assertThat(second.port()).isNotEqualTo(ingest.port());
        }
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            Config config = admin.describeConfigs(List.of(new ConfigResource(ConfigResource.Type.TOPIC, "otlp-traces")))
                    .all()
                    .get(20, TimeUnit.SECONDS)
                    .values()
                    .iterator()
                    .next();
            assertThat(config.get("retention.ms").value()).isEqualTo("86400000");
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aTakenGrpcPortStopsStartUpWithTheVariableToSet() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            IngestConfig config =
                    ingest.config().toBuilder().grpcPort(taken.getLocalPort()).build();

            assertThatThrownBy(() -> Ingest.start(config))
                    .isInstanceOf(IngestStartException.class)
                    .hasMessageStartingWith("Cannot listen for OTLP/gRPC on 127.0.0.1:" + taken.getLocalPort() + " (")
                    .hasMessageEndingWith("is another process using the port? Set OTEL_LAKE_INGEST_GRPC_PORT.");
        }
    }

    @Test
    void closeFinishesTheRequestsInFlight() throws Exception {
        Ingest closing = Ingest.start(ingest.config());
        byte[] body = traces("in-flight", 2).toByteArray();
        int half = body.length / 2;
        var mark = traces.mark();

        // A raw socket, to hold the request in flight (half its body sent) exactly as long as the test needs.
        try (Socket socket = new Socket("127.0.0.1", closing.port())) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/traces HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/x-protobuf\r\n"
                            + "Content-Length: " + body.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.write(body, 0, half);
            out.flush();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (closing.requestsInFlight() == 0) {
                assertThat(System.nanoTime()).as("the request reaches ingest").isLessThan(deadline);
                Thread.sleep(10);
            }

            Thread closer = new Thread(closing::close, "closer");
            closer.start();
            Thread.sleep(300);
            assertThat(closer.isAlive())
                    .as("close() waits for the request in flight")
                    .isTrue();
            assertThat(http.get("/health").statusCode()).isEqualTo(200); // the other instance is unaffected
            out.write(body, half, body.length - half);
            out.flush();
            String statusLine = new BufferedReader(
                            new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII))
                    .readLine();
            closer.join(TimeUnit.SECONDS.toMillis(15));

            assertThat(statusLine).isEqualTo("HTTP/1.1 200 OK");
            assertThat(closer.isAlive()).isFalse();
        }
        assertThat(traces.since(mark)).singleElement().satisfies(r -> assertThat(r.value())
                .isEqualTo(body));
        assertThatThrownBy(() -> new Socket("127.0.0.1", closing.port()).close())
                .isInstanceOf(ConnectException.class);
    }

    static ExportTraceServiceRequest traces(String service, int spans) {
        ScopeSpans.Builder scope = ScopeSpans.newBuilder();
        byte[] traceId = randomBytes(16);
        for (int i = 0; i < spans; i++) {
            scope.addSpans(Span.newBuilder()
                    .setTraceId(ByteString.copyFrom(traceId))
                    .setSpanId(ByteString.copyFrom(randomBytes(8)))
                    .setName("op-" + i)
                    .setKind(Span.SpanKind.SPAN_KIND_SERVER)
                    .setStartTimeUnixNano(1_700_000_000_000_000_000L + i)
                    .setEndTimeUnixNano(1_700_000_000_500_000_000L + i)
                    .addAttributes(attribute("http.route", "/pay")));
        }
        return ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .setResource(Resource.newBuilder().addAttributes(attribute("service.name", service)))
                        .addScopeSpans(scope))
                .build();
    }

    static List<String> tenants(ConsumerRecord<byte[], byte[]> record) {
        return StreamSupport.stream(
                        record.headers().headers(OtlpTopics.TENANT_HEADER).spliterator(), false)
                .map(Header::value)
                .map(v -> new String(v, StandardCharsets.UTF_8))
                .toList();
    }

    private static KeyValue attribute(String key, String value) {
        return KeyValue.newBuilder()
                .setKey(key)
                .setValue(AnyValue.newBuilder().setStringValue(value))
                .build();
    }

    private static ByteString hex(String hex) {
        return ByteString.copyFrom(HexFormat.of().parseHex(hex));
    }

    private static byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        ThreadLocalRandom.current().nextBytes(bytes);
        return bytes;
    }
}
