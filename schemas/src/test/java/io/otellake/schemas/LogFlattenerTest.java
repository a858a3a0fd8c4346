package io.otellake.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Value;
import io.opentelemetry.api.logs.Severity;
import io.opentelemetry.exporter.internal.otlp.logs.LogsRequestMarshaler;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.ArrayValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.common.v1.KeyValueList;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.opentelemetry.proto.logs.v1.SeverityNumber;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.sdk.logs.SdkLoggerProvider;
import io.opentelemetry.sdk.logs.export.SimpleLogRecordProcessor;
import io.opentelemetry.sdk.testing.exporter.InMemoryLogRecordExporter;
import java.io.ByteArrayOutputStream;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.Test;

class LogFlattenerTest {

    static KeyValue kv(String key, AnyValue value) {
        return KeyValue.newBuilder().setKey(key).setValue(value).build();
    }

    static AnyValue str(String s) {
        return AnyValue.newBuilder().setStringValue(s).build();
    }

    static ExportLogsServiceRequest edgeCases() {
        LogRecord full = LogRecord.newBuilder()
                .setTimeUnixNano(1_700_000_000_123_456_789L)
                .setObservedTimeUnixNano(1_700_000_000_223_456_789L)
                .setTraceId(ByteString.fromHex("0af7651916cd43dd8448eb211c80319c"))
                .setSpanId(ByteString.fromHex("b7ad6b7169203331"))
                .setFlags(1)
                .setSeverityText("WARN")
                .setSeverityNumber(SeverityNumber.SEVERITY_NUMBER_WARN)
                .setEventName("device.app.lifecycle")
                .setBody(str("payment declined: card ****4242"))
                .addAttributes(kv(
                        "http.status_code",
                        AnyValue.newBuilder().setIntValue(402).build()))
                .setDroppedAttributesCount(3)
                .build();
        LogRecord structured = LogRecord.newBuilder()
                .setObservedTimeUnixNano(1_700_003_600_000_000_000L) // time unknown (0)
                .setSeverityNumberValue(99) // a number no enum knows
                .setBody(AnyValue.newBuilder()
                        .setKvlistValue(KeyValueList.newBuilder()
                                .addValues(kv("user", str("ada")))
                                .addValues(kv(
                                        "items",
                                        AnyValue.newBuilder()
                                                .setArrayValue(ArrayValue.newBuilder()
                                                        .addValues(AnyValue.newBuilder()
                                                                .setIntValue(1))
                                                        .addValues(AnyValue.newBuilder()
                                                                .setDoubleValue(2.5)))
                                                .build()))))
                .build();
        LogRecord arrayBody = LogRecord.newBuilder()
                .setTimeUnixNano(5)
                .setBody(AnyValue.newBuilder()
                        .setArrayValue(
                                ArrayValue.newBuilder().addValues(str("a")).addValues(str("b"))))
                .build();
        LogRecord bytesBody = LogRecord.newBuilder()
                .setBody(AnyValue.newBuilder().setBytesValue(ByteString.copyFromUtf8("raw")))
                .build();
        LogRecord emptyBody =
                LogRecord.newBuilder().setBody(AnyValue.getDefaultInstance()).build();
        LogRecord noBody = LogRecord.newBuilder().build();
        return ExportLogsServiceRequest.newBuilder()
                .addResourceLogs(ResourceLogs.newBuilder()
                        .setResource(Resource.newBuilder().addAttributes(kv("service.name", str("payments"))))
                        .addScopeLogs(ScopeLogs.newBuilder()
                                .addLogRecords(full)
                                .addLogRecords(structured)
                                .addLogRecords(arrayBody)
                                .addLogRecords(bytesBody)
                                .addLogRecords(emptyBody)
                                .addLogRecords(noBody)))
                .build();
    }

    @Test
    void handWrittenEdgeCasesSurviveTheRoundTrip() {
        assertRoundTrip(edgeCases());
    }

    @Test
    void realSdkOutputSurvivesTheRoundTrip() throws Exception {
        InMemoryLogRecordExporter exporter = InMemoryLogRecordExporter.create();
        List<io.opentelemetry.sdk.logs.data.LogRecordData> items;
        try (SdkLoggerProvider provider = SdkLoggerProvider.builder()
                .setResource(io.opentelemetry.sdk.resources.Resource.getDefault().toBuilder()
                        .put("service.name", "cart")
                        .build())
                .addLogRecordProcessor(SimpleLogRecordProcessor.create(exporter))
                .build()) {
            var logger = provider.get("io.otellake.test");
            logger.logRecordBuilder()
                    .setTimestamp(Instant.ofEpochSecond(1_700_000_000L, 987_654_321))
                    .setSeverity(Severity.ERROR)
                    .setSeverityText("ERROR")
                    .setBody("order 42 failed")
                    .setAttribute(AttributeKey.longKey("order.id"), 42L)
                    .setAttribute(AttributeKey.stringArrayKey("tags"), List.of("x", "y"))
                    .emit();
            logger.logRecordBuilder()
                    .setBody(Value.of(Map.of("k", Value.of(1L), "nested", Value.of(Value.of("a"), Value.of(true)))))
                    .emit();
            // read before close: shutting the provider down empties the in-memory exporter
            items = exporter.getFinishedLogRecordItems();
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        LogsRequestMarshaler.create(items).writeBinaryTo(out);
        ExportLogsServiceRequest request = ExportLogsServiceRequest.parseFrom(out.toByteArray());

        assertThat(request.getResourceLogs(0).getScopeLogs(0).getLogRecordsCount())
                .isEqualTo(2);
        assertRoundTrip(request);
    }

    @Test
    void columnsHoldWhatDocsSchemaMdPromises() {
        List<FlatRow> rows = LogFlattener.flatten(edgeCases());
        GenericRecord full = rows.get(0).record();
        GenericRecord structured = rows.get(1).record();

        assertThat(full.get("timestamp")).isEqualTo(1_700_000_000_123_456_789L);
        assertThat(full.get("trace_id")).isEqualTo("0af7651916cd43dd8448eb211c80319c");
        assertThat(full.get("severity_number")).isEqualTo(13);
        assertThat(full.get("service_name")).isEqualTo("payments");
        assertThat(full.get("body")).isEqualTo("payment declined: card ****4242");
        assertThat(full.get("body_type")).isEqualTo("string");
        assertThat(full.get("event_name")).isEqualTo("device.app.lifecycle");
        assertThat(rows.get(0).eventTimeNanos()).isEqualTo(1_700_000_000_123_456_789L);

        assertThat(structured.get("timestamp")).isNull();
        assertThat(rows.get(1).eventTimeNanos())
                .as("observed time stands in for a missing time")
                .isEqualTo(1_700_003_600_000_000_000L);
        assertThat(structured.get("body_type")).isEqualTo("kvlist");
        assertThat(structured.get("body"))
                .isEqualTo("{\"values\":[{\"key\":\"user\",\"value\":{\"stringValue\":\"ada\"}},"
                        + "{\"key\":\"items\",\"value\":{\"arrayValue\":{\"values\":[{\"intValue\":\"1\"},"
                        + "{\"doubleValue\":2.5}]}}}]}");
        assertThat(structured.get("trace_id")).isNull();
        assertThat(rows.get(5).record().get("body_type")).isNull();
        assertThat(rows.get(4).record().get("body_type")).isEqualTo("empty");
    }

    static void assertRoundTrip(ExportLogsServiceRequest request) {
        List<ResourceLogs> expected = OtlpNormalizer.explodeLogs(request.getResourceLogsList());
        List<ResourceLogs> restored = LogFlattener.flatten(request).stream()
                .map(row -> LogFlattener.restore(AvroRoundTrip.through(row.record())))
                .map(OtlpNormalizer::normalize)
                .toList();

        assertThat(restored).hasSize(expected.size());
        for (int i = 0; i < expected.size(); i++) {
            assertThat(restored.get(i)).as("log record %d", i).isEqualTo(expected.get(i));
        }
    }
}
