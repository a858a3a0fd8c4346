package io.otellake.schemas;

import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;

/**
 * Maps OTLP log records to flat {@link LakeSchema#LOG} rows and back.
 *
 * <p>Guarantee: {@code restore(flatten(x))} equals x for every log record, with its resource and scope, up to the
 * order of attribute keys and duplicate attribute keys (see {@link AttributeCodec}). A string body is stored as it
 * is; any other body as text in the same form as an attribute value, with its type in {@code body_type}.
 */
public final class LogFlattener {
    private LogFlattener() {}

    /** Flattens every log record of the request, in request order. */
    public static void flatten(ExportLogsServiceRequest request, Consumer<FlatRow> sink) {
        for (ResourceLogs rl : request.getResourceLogsList()) {
            for (ScopeLogs sl : rl.getScopeLogsList()) {
                for (LogRecord log : sl.getLogRecordsList()) {
                    GenericRecord row = new GenericData.Record(LakeSchema.LOG);
                    Rows.putResourceAndScope(
                            row, rl.getResource(), rl.getSchemaUrl(), sl.getScope(), sl.getSchemaUrl());
                    putLog(row, log);
                    sink.accept(new FlatRow(row, eventTimeNanos(log)));
                }
            }
        }
    }

    public static List<FlatRow> flatten(ExportLogsServiceRequest request) {
        List<FlatRow> rows = new ArrayList<>();
        flatten(request, rows::add);
        return rows;
    }

    /** The log's time, or its observed time when the time is 0 (unknown). */
    public static long eventTimeNanos(LogRecord log) {
        return log.getTimeUnixNano() != 0 ? log.getTimeUnixNano() : log.getObservedTimeUnixNano();
    }

    private static void putLog(GenericRecord row, LogRecord log) {
        row.put("timestamp", log.getTimeUnixNano() == 0 ? null : log.getTimeUnixNano());
        row.put("observed_timestamp", log.getObservedTimeUnixNano() == 0 ? null : log.getObservedTimeUnixNano());
        row.put("trace_id", Ids.toHexOrNull(log.getTraceId()));
        row.put("span_id", Ids.toHexOrNull(log.getSpanId()));
        row.put("trace_flags", Integer.toUnsignedLong(log.getFlags()));
        row.put("severity_text", Rows.emptyToNull(log.getSeverityText()));
        row.put("severity_number", log.getSeverityNumberValue());
        row.put("event_name", Rows.emptyToNull(log.getEventName()));
        if (log.hasBody()) {
            AttributeCodec.EncodedValue body = AttributeCodec.encodeValue(log.getBody());
            row.put("body", body.text());
            row.put("body_type", body.type());
        } else {
            row.put("body", null);
            row.put("body_type", null);
        }
        Rows.putAttributes(row, "", log.getAttributesList());
        row.put("dropped_attributes_count", Integer.toUnsignedLong(log.getDroppedAttributesCount()));
    }

    /** Rebuilds the OTLP log record of one row, inside its own resource and scope. */
    public static ResourceLogs restore(GenericRecord row) {
        LogRecord.Builder log = LogRecord.newBuilder()
                .setTimeUnixNano(Rows.int64(row.get("timestamp")))
                .setObservedTimeUnixNano(Rows.int64(row.get("observed_timestamp")))
                .setTraceId(Ids.fromHex(Rows.nullToEmpty(row.get("trace_id"))))
                .setSpanId(Ids.fromHex(Rows.nullToEmpty(row.get("span_id"))))
                .setFlags(Rows.uint32(row.get("trace_flags")))
                .setSeverityText(Rows.nullToEmpty(row.get("severity_text")))
                .setSeverityNumberValue((int) Rows.int64(row.get("severity_number")))
                .setEventName(Rows.nullToEmpty(row.get("event_name")))
                .addAllAttributes(Rows.getAttributes(row, ""))
                .setDroppedAttributesCount(Rows.uint32(row.get("dropped_attributes_count")));
        Object bodyType = row.get("body_type");
        if (bodyType != null) {
            log.setBody(AttributeCodec.decodeValue(Rows.nullToEmpty(row.get("body")), bodyType.toString()));
        }
        return ResourceLogs.newBuilder()
                .setResource(Rows.resource(row))
                .setSchemaUrl(Rows.nullToEmpty(row.get("resource_schema_url")))
                .addScopeLogs(ScopeLogs.newBuilder()
                        .setScope(Rows.scope(row))
                        .setSchemaUrl(Rows.nullToEmpty(row.get("scope_schema_url")))
                        .addLogRecords(log))
                .build();
    }
}
