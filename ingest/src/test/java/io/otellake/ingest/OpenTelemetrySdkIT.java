package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.logs.Severity;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.exporter.internal.marshal.Marshaler;
import io.opentelemetry.exporter.internal.otlp.logs.LogsRequestMarshaler;
import io.opentelemetry.exporter.internal.otlp.metrics.MetricsRequestMarshaler;
import io.opentelemetry.exporter.internal.otlp.traces.TraceRequestMarshaler;
import io.opentelemetry.exporter.otlp.http.logs.OtlpHttpLogRecordExporter;
import io.opentelemetry.exporter.otlp.http.metrics.OtlpHttpMetricExporter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.otlp.logs.OtlpGrpcLogRecordExporter;
import io.opentelemetry.exporter.otlp.metrics.OtlpGrpcMetricExporter;
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.SeverityNumber;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.logs.SdkLoggerProvider;
import io.opentelemetry.sdk.logs.data.LogRecordData;
import io.opentelemetry.sdk.logs.export.SimpleLogRecordProcessor;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.testing.exporter.InMemoryLogRecordExporter;
import io.opentelemetry.sdk.testing.exporter.InMemoryMetricReader;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.otellake.infra.KafkaBroker;
import io.otellake.schemas.Ids;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The OpenTelemetry Java SDK's own OTLP exporters (http/protobuf and gRPC) for every signal, pointed at ingest, and the
 * SDK's own OTLP/JSON encoding sent as http/json (the Java SDK has no http/json exporter; its JSON is what its
 * OTLP/JSON logging exporter writes).
 */
class OpenTelemetrySdkIT {
    private static final Resource RESOURCE =
            Resource.create(Attributes.of(AttributeKey.stringKey("service.name"), "shop"));

    private static KafkaBroker kafka;
    private static Ingest ingest;
    private static TopicReader traces;
    private static TopicReader logs;
    private static TopicReader metrics;

    @BeforeAll
    static void start() {
        kafka = TestKafka.broker();
        ingest = Ingest.start(TestKafka.ingestConfig()
                .tracesTopic("sdk-traces")
                .logsTopic("sdk-logs")
                .metricsTopic("sdk-metrics")
                .build());
        traces = new TopicReader(kafka.bootstrapServers(), "sdk-traces");
        logs = new TopicReader(kafka.bootstrapServers(), "sdk-logs");
        metrics = new TopicReader(kafka.bootstrapServers(), "sdk-metrics");
    }

    @AfterAll
    static void stop() {
        traces.close();
        logs.close();
        metrics.close();
        ingest.close();
    }

    @Test
    void spansExportedByTheSdkLandInKafkaWithTheirIds() throws Exception {
        InMemorySpanExporter memory = InMemorySpanExporter.create();
        List<SpanData> spans;
        try (SdkTracerProvider provider = SdkTracerProvider.builder()
                .setResource(RESOURCE)
                .addSpanProcessor(SimpleSpanProcessor.create(memory))
                .build()) {
            Tracer tracer = provider.get("checkout");
            Span parent = tracer.spanBuilder("POST /pay").startSpan();
            tracer.spanBuilder("charge card")
                    .setParent(Context.root().with(parent))
                    .startSpan()
                    .end();
            parent.end();
            spans = memory.getFinishedSpanItems();
        }
        var mark = traces.mark();

        CompletableResultCode result;
        try (OtlpHttpSpanExporter exporter = OtlpHttpSpanExporter.builder()
                .setEndpoint(ingest.uri() + "/v1/traces")
                .addHeader("X-Scope-OrgID", "sdk-tenant")
                .build()) {
            result = exporter.export(spans).join(20, TimeUnit.SECONDS);
        }

        assertThat(result.isSuccess()).isTrue();
        List<ConsumerRecord<byte[], byte[]>> written = traces.since(mark);
        assertThat(written).hasSize(1);
        assertThat(IngestIT.tenants(written.get(0))).containsExactly("sdk-tenant");
        List<io.opentelemetry.proto.trace.v1.Span> received = ExportTraceServiceRequest.parseFrom(
                        written.get(0).value())
                .getResourceSpans(0)
                .getScopeSpans(0)
                .getSpansList();
        assertThat(received)
                .extracting(s -> Ids.toHex(s.getTraceId()), s -> Ids.toHex(s.getSpanId()), s -> s.getName())
                .containsExactlyInAnyOrderElementsOf(spans.stream()
                        .map(s -> tuple(s.getTraceId(), s.getSpanId(), s.getName()))
                        .toList());
        assertThat(received)
                .filteredOn(s -> s.getName().equals("charge card"))
                .singleElement()
                .satisfies(s -> assertThat(Ids.toHex(s.getParentSpanId()))
                        .isEqualTo(spans.stream()
                                .filter(d -> d.getName().equals("POST /pay"))
                                .findFirst()
                                .orElseThrow()
                                .getSpanId()));
    }

    @Test
    void spansExportedByTheSdkOverGzipGrpcLandInKafka() throws Exception {
        InMemorySpanExporter memory = InMemorySpanExporter.create();
        List<SpanData> spans;
        try (SdkTracerProvider provider = SdkTracerProvider.builder()
                .setResource(RESOURCE)
                .addSpanProcessor(SimpleSpanProcessor.create(memory))
                .build()) {
            Tracer tracer = provider.get("checkout");
            tracer.spanBuilder("GET /cart").startSpan().end();
            tracer.spanBuilder("GET /stock").startSpan().end();
            spans = memory.getFinishedSpanItems();
        }
        var mark = traces.mark();

        CompletableResultCode result;
        try (OtlpGrpcSpanExporter exporter = OtlpGrpcSpanExporter.builder()
                .setEndpoint("http://127.0.0.1:" + ingest.grpcPort())
                .setCompression("gzip")
                .addHeader("X-Scope-OrgID", "grpc-tenant")
                .build()) {
            result = exporter.export(spans).join(20, TimeUnit.SECONDS);
        }

        assertThat(result.isSuccess()).isTrue();
        // Two root spans are two traces: one record each, keyed by its trace id.
        List<ConsumerRecord<byte[], byte[]>> written = traces.since(mark);
        assertThat(written).hasSize(2);
        List<io.opentelemetry.proto.trace.v1.Span> received = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> record : written) {
            assertThat(IngestIT.tenants(record)).containsExactly("grpc-tenant");
            List<io.opentelemetry.proto.trace.v1.Span> ofRecord = ExportTraceServiceRequest.parseFrom(record.value())
                    .getResourceSpans(0)
                    .getScopeSpans(0)
                    .getSpansList();
            assertThat(ofRecord)
                    .singleElement()
                    .satisfies(s -> assertThat(s.getTraceId().toByteArray()).isEqualTo(record.key()));
            received.addAll(ofRecord);
        }
        assertThat(received)
                .extracting(s -> Ids.toHex(s.getTraceId()), s -> Ids.toHex(s.getSpanId()), s -> s.getName())
                .containsExactlyInAnyOrderElementsOf(spans.stream()
                        .map(s -> tuple(s.getTraceId(), s.getSpanId(), s.getName()))
                        .toList());
    }

    @Test
    void logRecordsExportedByTheSdkLandInKafkaWithTheirTraceContext() throws Exception {
        SpanContext spanContext = SpanContext.create(
                "0af7651916cd43dd8448eb211c80319c",
                "b7ad6b7169203331",
                TraceFlags.getSampled(),
                TraceState.getDefault());
        List<LogRecordData> records = logRecords("card declined", Context.root().with(Span.wrap(spanContext)));
        var mark = logs.mark();

        CompletableResultCode result;
        try (OtlpHttpLogRecordExporter exporter = OtlpHttpLogRecordExporter.builder()
                .setEndpoint(ingest.uri() + "/v1/logs")
                .build()) {
            result = exporter.export(records).join(20, TimeUnit.SECONDS);
        }

        assertThat(result.isSuccess()).isTrue();
        List<ConsumerRecord<byte[], byte[]>> written = logs.since(mark);
        assertThat(written).hasSize(1);
        assertThat(IngestIT.tenants(written.get(0))).containsExactly("default");
        LogRecord received = ExportLogsServiceRequest.parseFrom(written.get(0).value())
                .getResourceLogs(0)
                .getScopeLogs(0)
                .getLogRecords(0);
        assertThat(Ids.toHex(received.getTraceId())).isEqualTo("0af7651916cd43dd8448eb211c80319c");
        assertThat(Ids.toHex(received.getSpanId())).isEqualTo("b7ad6b7169203331");
        assertThat(received.getBody().getStringValue()).isEqualTo("card declined");
        assertThat(received.getSeverityNumber()).isEqualTo(SeverityNumber.SEVERITY_NUMBER_WARN);
    }

    @Test
    void logRecordsExportedByTheSdkOverGrpcLandInKafka() throws Exception {
        List<LogRecordData> records = logRecords("stock low");
        var mark = logs.mark();

        CompletableResultCode result;
        try (OtlpGrpcLogRecordExporter exporter = OtlpGrpcLogRecordExporter.builder()
                .setEndpoint("http://127.0.0.1:" + ingest.grpcPort())
                .addHeader("X-Scope-OrgID", "grpc-tenant")
                .build()) {
            result = exporter.export(records).join(20, TimeUnit.SECONDS);
        }

        assertThat(result.isSuccess()).isTrue();
        List<ConsumerRecord<byte[], byte[]>> written = logs.since(mark);
        assertThat(written).singleElement().satisfies(r -> assertThat(IngestIT.tenants(r))
                .containsExactly("grpc-tenant"));
        LogRecord received = ExportLogsServiceRequest.parseFrom(written.get(0).value())
                .getResourceLogs(0)
                .getScopeLogs(0)
                .getLogRecords(0);
        assertThat(received.getBody().getStringValue()).isEqualTo("stock low");
        assertThat(received.getSeverityNumber()).isEqualTo(SeverityNumber.SEVERITY_NUMBER_WARN);
    }

    @Test
    void metricsExportedByTheSdkOverHttpProtobufAndGrpcLandInKafka() throws Exception {
        List<MetricData> collected = metricData();
        assertThat(collected)
                .extracting(MetricData::getName)
                .containsExactlyInAnyOrder("orders", "queue.depth", "checkout.duration");

        var mark = metrics.mark();
        CompletableResultCode overHttp;
        try (OtlpHttpMetricExporter exporter = OtlpHttpMetricExporter.builder()
                .setEndpoint(ingest.uri() + "/v1/metrics")
                .addHeader("X-Scope-OrgID", "http-tenant")
                .build()) {
            overHttp = exporter.export(collected).join(20, TimeUnit.SECONDS);
        }
        CompletableResultCode overGrpc;
        try (OtlpGrpcMetricExporter exporter = OtlpGrpcMetricExporter.builder()
                .setEndpoint("http://127.0.0.1:" + ingest.grpcPort())
                .setCompression("gzip")
                .addHeader("X-Scope-OrgID", "grpc-tenant")
                .build()) {
            overGrpc = exporter.export(collected).join(20, TimeUnit.SECONDS);
        }

        assertThat(overHttp.isSuccess()).isTrue();
        assertThat(overGrpc.isSuccess()).isTrue();
        List<ConsumerRecord<byte[], byte[]>> written = metrics.since(mark);
        assertThat(written).extracting(r -> IngestIT.tenants(r).get(0)).containsExactly("http-tenant", "grpc-tenant");
        for (ConsumerRecord<byte[], byte[]> record : written) {
            List<Metric> received = ExportMetricsServiceRequest.parseFrom(record.value())
                    .getResourceMetrics(0)
                    .getScopeMetrics(0)
                    .getMetricsList();
            assertThat(received)
                    .extracting(Metric::getName, Metric::getDataCase)
                    .containsExactlyInAnyOrder(
                            tuple("orders", Metric.DataCase.SUM),
                            tuple("queue.depth", Metric.DataCase.GAUGE),
                            tuple("checkout.duration", Metric.DataCase.HISTOGRAM));
            assertThat(received)
                    .filteredOn(m -> m.getName().equals("orders"))
                    .singleElement()
                    .satisfies(m ->
                            assertThat(m.getSum().getDataPoints(0).getAsInt()).isEqualTo(3));
            assertThat(received)
                    .filteredOn(m -> m.getName().equals("checkout.duration"))
                    .singleElement()
                    .satisfies(m -> assertThat(m.getHistogram().getDataPoints(0).getCount())
                            .isEqualTo(2));
        }
    }

    /** The SDK's own OTLP/JSON of spans, of log records and of metrics, each sent as http/json. */
    @Test
    void theSdksOwnOtlpJsonOfEverySignalIsTakenAsHttpJson() throws Exception {
        InMemorySpanExporter memory = InMemorySpanExporter.create();
        List<SpanData> spans;
        try (SdkTracerProvider provider = SdkTracerProvider.builder()
                .setResource(RESOURCE)
                .addSpanProcessor(SimpleSpanProcessor.create(memory))
                .build()) {
            Span parent = provider.get("checkout").spanBuilder("POST /pay").startSpan();
            parent.setAttribute("http.response.status_code", 201L);
            parent.end();
            spans = memory.getFinishedSpanItems();
        }
        var tracesMark = traces.mark();
        var logsMark = logs.mark();
        var metricsMark = metrics.mark();

        assertThat(postJson("/v1/traces", TraceRequestMarshaler.create(spans))).isEqualTo(200);
        assertThat(postJson("/v1/logs", LogsRequestMarshaler.create(logRecords("paid"))))
                .isEqualTo(200);
        assertThat(postJson("/v1/metrics", MetricsRequestMarshaler.create(metricData())))
                .isEqualTo(200);

        io.opentelemetry.proto.trace.v1.Span span = ExportTraceServiceRequest.parseFrom(
                        traces.since(tracesMark).get(0).value())
                .getResourceSpans(0)
                .getScopeSpans(0)
                .getSpans(0);
        assertThat(Ids.toHex(span.getTraceId())).isEqualTo(spans.get(0).getTraceId());
        assertThat(Ids.toHex(span.getSpanId())).isEqualTo(spans.get(0).getSpanId());
        assertThat(span.getStartTimeUnixNano()).isEqualTo(spans.get(0).getStartEpochNanos());
        assertThat(span.getAttributes(0).getValue().getIntValue()).isEqualTo(201);
        assertThat(ExportLogsServiceRequest.parseFrom(
                                logs.since(logsMark).get(0).value())
                        .getResourceLogs(0)
                        .getScopeLogs(0)
                        .getLogRecords(0)
                        .getBody()
                        .getStringValue())
                .isEqualTo("paid");
        assertThat(ExportMetricsServiceRequest.parseFrom(
                                metrics.since(metricsMark).get(0).value())
                        .getResourceMetrics(0)
                        .getScopeMetrics(0)
                        .getMetricsList())
                .extracting(Metric::getName)
                .containsExactlyInAnyOrder("orders", "queue.depth", "checkout.duration");
    }

    private static int postJson(String path, Marshaler request) throws Exception {
        java.io.ByteArrayOutputStream json = new java.io.ByteArrayOutputStream();
        request.writeJsonTo(json);
        HttpResponse<String> response = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create(ingest.uri() + path))
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofByteArray(json.toByteArray()))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
        return response.statusCode();
    }

    /** One WARN log record with {@code body}, as the SDK makes it. */
    private static List<LogRecordData> logRecords(String body) {
        return logRecords(body, Context.root());
    }

    /** The same, in {@code context} (a span's, for the record's trace and span ids). */
    private static List<LogRecordData> logRecords(String body, Context context) {
        InMemoryLogRecordExporter memory = InMemoryLogRecordExporter.create();
        try (SdkLoggerProvider provider = SdkLoggerProvider.builder()
                .setResource(RESOURCE)
                .addLogRecordProcessor(SimpleLogRecordProcessor.create(memory))
                .build()) {
            provider.get("checkout")
                    .logRecordBuilder()
                    .setContext(context)
                    .setSeverity(Severity.WARN)
                    .setBody(body)
                    .emit();
            return memory.getFinishedLogRecordItems();
        }
    }

    /** A counter (a sum), a gauge and a histogram, as the SDK collects them. */
    private static List<MetricData> metricData() {
        InMemoryMetricReader reader = InMemoryMetricReader.create();
        try (SdkMeterProvider provider = SdkMeterProvider.builder()
                .setResource(RESOURCE)
                .registerMetricReader(reader)
                .build()) {
            Meter meter = provider.get("checkout");
            meter.counterBuilder("orders").build().add(3, Attributes.of(AttributeKey.stringKey("method"), "card"));
            meter.gaugeBuilder("queue.depth").build().set(7.5);
            var duration =
                    meter.histogramBuilder("checkout.duration").setUnit("ms").build();
            duration.record(12.0);
            duration.record(40.0);
            return new ArrayList<>(reader.collectAllMetrics());
        }
    }
}
