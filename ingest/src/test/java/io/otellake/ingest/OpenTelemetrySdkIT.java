package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.logs.Severity;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.exporter.otlp.http.logs.OtlpHttpLogRecordExporter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.SeverityNumber;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.logs.SdkLoggerProvider;
import io.opentelemetry.sdk.logs.data.LogRecordData;
import io.opentelemetry.sdk.logs.export.SimpleLogRecordProcessor;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.testing.exporter.InMemoryLogRecordExporter;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.otellake.infra.KafkaBroker;
import io.otellake.schemas.Ids;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The OpenTelemetry Java SDK's own OTLP exporters (http/protobuf and gRPC), pointed at ingest. */
class OpenTelemetrySdkIT {
    private static final Resource RESOURCE =
            Resource.create(Attributes.of(AttributeKey.stringKey("service.name"), "shop"));

    private static KafkaBroker kafka;
    private static Ingest ingest;
    private static TopicReader traces;
    private static TopicReader logs;

    @BeforeAll
    static void start() {
        kafka = TestKafka.broker();
        ingest = Ingest.start(TestKafka.ingestConfig()
                .tracesTopic("sdk-traces")
                .logsTopic("sdk-logs")
                .build());
        traces = new TopicReader(kafka.bootstrapServers(), "sdk-traces");
        logs = new TopicReader(kafka.bootstrapServers(), "sdk-logs");
    }

    @AfterAll
    static void stop() {
        traces.close();
        logs.close();
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
        InMemoryLogRecordExporter memory = InMemoryLogRecordExporter.create();
        List<LogRecordData> records;
        try (SdkLoggerProvider provider = SdkLoggerProvider.builder()
                .setResource(RESOURCE)
                .addLogRecordProcessor(SimpleLogRecordProcessor.create(memory))
                .build()) {
            provider.get("checkout")
                    .logRecordBuilder()
                    .setContext(Context.root().with(Span.wrap(spanContext)))
                    .setSeverity(Severity.WARN)
                    .setBody("card declined")
                    .emit();
            records = memory.getFinishedLogRecordItems();
        }
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
}
