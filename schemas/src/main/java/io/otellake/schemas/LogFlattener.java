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
 * is; any other body as text in the same form as an attribute value, with its type in {@code body_type}. Not kept: a
 * resource's {@code entity_refs}, a development-stage OTLP field that has no column yet.
 */
public final class LogFlattener {
    private static final int TIMESTAMP = LakeSchema.LOG.getField("timestamp").pos();
    private static final int OBSERVED_TIMESTAMP =
            LakeSchema.LOG.getField("observed_timestamp").pos();
    private static final int TRACE_ID = LakeSchema.LOG.getField("trace_id").pos();
    private static final int SPAN_ID = LakeSchema.LOG.getField("span_id").pos();
    private static final int TRACE_FLAGS =
            LakeSchema.LOG.getField("trace_flags").pos();
    private static final int SEVERITY_TEXT =
            LakeSchema.LOG.getField("severity_text").pos();
    private static final int SEVERITY_NUMBER =
            LakeSchema.LOG.getField("severity_number").pos();
    private static final int EVENT_NAME = LakeSchema.LOG.getField("event_name").pos();
    private static final int BODY = LakeSchema.LOG.getField("body").pos();
    private static final int BODY_TYPE = LakeSchema.LOG.getField("body_type").pos();
    private static final int DROPPED_ATTRIBUTES_COUNT =
            LakeSchema.LOG.getField("dropped_attributes_count").pos();
    private static final int ATTRIBUTES = LakeSchema.LOG.getField("attributes").pos();
    private static final int ATTRIBUTE_TYPES =
            LakeSchema.LOG.getField("attribute_types").pos();
    private static final int[] ORIGIN = Rows.Origin.positions(LakeSchema.LOG);

    private LogFlattener() {}

    /** Flattens every log record of the request, in request order. */
    public static void flatten(ExportLogsServiceRequest request, Consumer<FlatRow> sink) {
        for (ResourceLogs rl : request.getResourceLogsList()) {
            for (ScopeLogs sl : rl.getScopeLogsList()) {
                Rows.Origin origin =
                        Rows.Origin.of(rl.getResource(), rl.getSchemaUrl(), sl.getScope(), sl.getSchemaUrl());
                for (LogRecord log : sl.getLogRecordsList()) {
                    GenericRecord row = new GenericData.Record(LakeSchema.LOG);
                    origin.put(row, ORIGIN);
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
        row.put(TIMESTAMP, log.getTimeUnixNano() == 0 ? null : log.getTimeUnixNano());
        row.put(OBSERVED_TIMESTAMP, log.getObservedTimeUnixNano() == 0 ? null : log.getObservedTimeUnixNano());
        row.put(TRACE_ID, Ids.toHexOrNull(log.getTraceId()));
        row.put(SPAN_ID, Ids.toHexOrNull(log.getSpanId()));
        row.put(TRACE_FLAGS, Integer.toUnsignedLong(log.getFlags()));
        row.put(SEVERITY_TEXT, Rows.emptyToNull(log.getSeverityText()));
        row.put(SEVERITY_NUMBER, log.getSeverityNumberValue());
        row.put(EVENT_NAME, Rows.emptyToNull(log.getEventName()));
        if (log.hasBody()) {
            AttributeCodec.EncodedValue body = AttributeCodec.encodeValue(log.getBody());
            row.put(BODY, body.text());
            row.put(BODY_TYPE, body.type());
        } else {
            row.put(BODY, null);
            row.put(BODY_TYPE, null);
        }
        Rows.putAttributes(row, ATTRIBUTES, ATTRIBUTE_TYPES, log.getAttributesList());
        row.put(DROPPED_ATTRIBUTES_COUNT, Integer.toUnsignedLong(log.getDroppedAttributesCount()));
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
