package io.otellake.schemas;

import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;

/**
 * Maps OTLP spans to flat {@link LakeSchema#SPAN} rows and back.
 *
 * <p>Guarantee: {@code restore(flatten(x))} equals x for every span, with its resource and scope, up to the order of
 * attribute keys and duplicate attribute keys (see {@link AttributeCodec}), and an absent {@code status}, which comes
 * back as a present, UNSET one (the same thing in OTLP; the SDKs always send it).
 */
public final class SpanFlattener {
    private static final Schema EVENT =
            LakeSchema.SPAN.getField("events").schema().getElementType();
    private static final Schema LINK =
            LakeSchema.SPAN.getField("links").schema().getElementType();
    private static final String KIND_PREFIX = "SPAN_KIND_";
    private static final String STATUS_PREFIX = "STATUS_CODE_";

    private SpanFlattener() {}

    /** Flattens every span of the request, in request order. */
    public static void flatten(ExportTraceServiceRequest request, Consumer<FlatRow> sink) {
        for (ResourceSpans rs : request.getResourceSpansList()) {
            for (ScopeSpans ss : rs.getScopeSpansList()) {
                for (Span span : ss.getSpansList()) {
                    GenericRecord row = new GenericData.Record(LakeSchema.SPAN);
                    Rows.putResourceAndScope(
                            row, rs.getResource(), rs.getSchemaUrl(), ss.getScope(), ss.getSchemaUrl());
                    putSpan(row, span);
                    sink.accept(new FlatRow(row, span.getStartTimeUnixNano()));
                }
            }
        }
    }

    public static List<FlatRow> flatten(ExportTraceServiceRequest request) {
        List<FlatRow> rows = new ArrayList<>();
        flatten(request, rows::add);
        return rows;
    }

    private static void putSpan(GenericRecord row, Span span) {
        row.put("trace_id", Ids.toHex(span.getTraceId()));
        row.put("span_id", Ids.toHex(span.getSpanId()));
        row.put("parent_span_id", Ids.toHexOrNull(span.getParentSpanId()));
        row.put("trace_state", Rows.emptyToNull(span.getTraceState()));
        row.put("flags", Integer.toUnsignedLong(span.getFlags()));
        row.put("name", span.getName());
        row.put("kind", enumName(span.getKindValue(), span.getKind().name(), KIND_PREFIX));
        row.put("start_time", span.getStartTimeUnixNano());
        row.put("end_time", span.getEndTimeUnixNano());
        row.put("duration_ns", span.getEndTimeUnixNano() - span.getStartTimeUnixNano());
        row.put(
                "status_code",
                enumName(
                        span.getStatus().getCodeValue(),
                        span.getStatus().getCode().name(),
                        STATUS_PREFIX));
        row.put("status_message", Rows.emptyToNull(span.getStatus().getMessage()));
        Rows.putAttributes(row, "", span.getAttributesList());
        row.put("dropped_attributes_count", Integer.toUnsignedLong(span.getDroppedAttributesCount()));
        List<GenericRecord> events = new ArrayList<>(span.getEventsCount());
        for (Span.Event e : span.getEventsList()) {
            GenericRecord event = new GenericData.Record(EVENT);
            event.put("time", e.getTimeUnixNano());
            event.put("name", e.getName());
            Rows.putAttributes(event, "", e.getAttributesList());
            event.put("dropped_attributes_count", Integer.toUnsignedLong(e.getDroppedAttributesCount()));
            events.add(event);
        }
        row.put("events", events);
        row.put("dropped_events_count", Integer.toUnsignedLong(span.getDroppedEventsCount()));
        List<GenericRecord> links = new ArrayList<>(span.getLinksCount());
        for (Span.Link l : span.getLinksList()) {
            GenericRecord link = new GenericData.Record(LINK);
            link.put("trace_id", Ids.toHex(l.getTraceId()));
            link.put("span_id", Ids.toHex(l.getSpanId()));
            link.put("trace_state", Rows.emptyToNull(l.getTraceState()));
            link.put("flags", Integer.toUnsignedLong(l.getFlags()));
            Rows.putAttributes(link, "", l.getAttributesList());
            link.put("dropped_attributes_count", Integer.toUnsignedLong(l.getDroppedAttributesCount()));
            links.add(link);
        }
        row.put("links", links);
        row.put("dropped_links_count", Integer.toUnsignedLong(span.getDroppedLinksCount()));
    }

    /** Rebuilds the OTLP span of one row, inside its own resource and scope. */
    public static ResourceSpans restore(GenericRecord row) {
        Span.Builder span = Span.newBuilder()
                .setTraceId(Ids.fromHex(Rows.nullToEmpty(row.get("trace_id"))))
                .setSpanId(Ids.fromHex(Rows.nullToEmpty(row.get("span_id"))))
                .setParentSpanId(Ids.fromHex(Rows.nullToEmpty(row.get("parent_span_id"))))
                .setTraceState(Rows.nullToEmpty(row.get("trace_state")))
                .setFlags(Rows.uint32(row.get("flags")))
                .setName(Rows.nullToEmpty(row.get("name")))
                .setKindValue(enumNumber(Rows.nullToEmpty(row.get("kind")), KIND_PREFIX, Span.SpanKind::valueOf))
                .setStartTimeUnixNano(Rows.int64(row.get("start_time")))
                .setEndTimeUnixNano(Rows.int64(row.get("end_time")))
                .addAllAttributes(Rows.getAttributes(row, ""))
                .setDroppedAttributesCount(Rows.uint32(row.get("dropped_attributes_count")))
                .setDroppedEventsCount(Rows.uint32(row.get("dropped_events_count")))
                .setDroppedLinksCount(Rows.uint32(row.get("dropped_links_count")));
        Status status = Status.newBuilder()
                .setCodeValue(
                        enumNumber(Rows.nullToEmpty(row.get("status_code")), STATUS_PREFIX, Status.StatusCode::valueOf))
                .setMessage(Rows.nullToEmpty(row.get("status_message")))
                .build();
        span.setStatus(status);
        for (Object o : (List<?>) row.get("events")) {
            GenericRecord e = (GenericRecord) o;
            span.addEvents(Span.Event.newBuilder()
                    .setTimeUnixNano(Rows.int64(e.get("time")))
                    .setName(Rows.nullToEmpty(e.get("name")))
                    .addAllAttributes(Rows.getAttributes(e, ""))
                    .setDroppedAttributesCount(Rows.uint32(e.get("dropped_attributes_count"))));
        }
        for (Object o : (List<?>) row.get("links")) {
            GenericRecord l = (GenericRecord) o;
            span.addLinks(Span.Link.newBuilder()
                    .setTraceId(Ids.fromHex(Rows.nullToEmpty(l.get("trace_id"))))
                    .setSpanId(Ids.fromHex(Rows.nullToEmpty(l.get("span_id"))))
                    .setTraceState(Rows.nullToEmpty(l.get("trace_state")))
                    .setFlags(Rows.uint32(l.get("flags")))
                    .addAllAttributes(Rows.getAttributes(l, ""))
                    .setDroppedAttributesCount(Rows.uint32(l.get("dropped_attributes_count"))));
        }
        return ResourceSpans.newBuilder()
                .setResource(Rows.resource(row))
                .setSchemaUrl(Rows.nullToEmpty(row.get("resource_schema_url")))
                .addScopeSpans(ScopeSpans.newBuilder()
                        .setScope(Rows.scope(row))
                        .setSchemaUrl(Rows.nullToEmpty(row.get("scope_schema_url")))
                        .addSpans(span))
                .build();
    }

    /** {@code SPAN_KIND_SERVER} becomes {@code SERVER}; a number no enum knows stays a number. */
    static String enumName(int number, String name, String prefix) {
        return name.equals("UNRECOGNIZED") ? Integer.toString(number) : name.substring(prefix.length());
    }

    static <E extends com.google.protobuf.ProtocolMessageEnum> int enumNumber(
            String text, String prefix, java.util.function.Function<String, E> valueOf) {
        if (text.isEmpty()) {
            return 0;
        }
        if (Character.isDigit(text.charAt(0)) || text.charAt(0) == '-') {
            return Integer.parseInt(text);
        }
        return valueOf.apply(prefix + text).getNumber();
    }
}
