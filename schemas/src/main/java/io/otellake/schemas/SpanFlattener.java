package io.otellake.schemas;

import com.google.protobuf.InvalidProtocolBufferException;
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
import org.jspecify.annotations.Nullable;

/**
 * Maps OTLP spans to flat {@link LakeSchema#SPAN} rows and back.
 *
 * <p>Guarantee: {@code restore(flatten(x))} equals x for every span, with its resource and scope, up to the order of
 * attribute keys and duplicate attribute keys (see {@link AttributeCodec}), and an absent {@code status}, which comes
 * back as a present, UNSET one (the same thing in OTLP; the SDKs always send it). Not kept either: a resource's
 * {@code entity_refs}, a development-stage OTLP field that has no column yet.
 */
public final class SpanFlattener {
    private static final Schema EVENT =
            LakeSchema.SPAN.getField("events").schema().getElementType();
    private static final Schema LINK =
            LakeSchema.SPAN.getField("links").schema().getElementType();
    private static final String KIND_PREFIX = "SPAN_KIND_";
    private static final String STATUS_PREFIX = "STATUS_CODE_";
    static final int TRACE_ID = LakeSchema.SPAN.getField("trace_id").pos();
    static final int SPAN_ID = LakeSchema.SPAN.getField("span_id").pos();
    static final int PARENT_SPAN_ID = LakeSchema.SPAN.getField("parent_span_id").pos();
    static final int TRACE_STATE = LakeSchema.SPAN.getField("trace_state").pos();
    static final int FLAGS = LakeSchema.SPAN.getField("flags").pos();
    static final int NAME = LakeSchema.SPAN.getField("name").pos();
    static final int KIND = LakeSchema.SPAN.getField("kind").pos();
    static final int START_TIME = LakeSchema.SPAN.getField("start_time").pos();
    static final int END_TIME = LakeSchema.SPAN.getField("end_time").pos();
    static final int DURATION_NS = LakeSchema.SPAN.getField("duration_ns").pos();
    static final int STATUS_CODE = LakeSchema.SPAN.getField("status_code").pos();
    static final int STATUS_MESSAGE = LakeSchema.SPAN.getField("status_message").pos();
    static final int DROPPED_ATTRIBUTES_COUNT =
            LakeSchema.SPAN.getField("dropped_attributes_count").pos();
    static final int EVENTS = LakeSchema.SPAN.getField("events").pos();
    static final int DROPPED_EVENTS_COUNT =
            LakeSchema.SPAN.getField("dropped_events_count").pos();
    static final int LINKS = LakeSchema.SPAN.getField("links").pos();
    static final int DROPPED_LINKS_COUNT =
            LakeSchema.SPAN.getField("dropped_links_count").pos();
    static final int ATTRIBUTES = LakeSchema.SPAN.getField("attributes").pos();
    static final int ATTRIBUTE_TYPES =
            LakeSchema.SPAN.getField("attribute_types").pos();
    static final int[] ORIGIN = Rows.Origin.positions(LakeSchema.SPAN);

    private SpanFlattener() {}

    /** Flattens every span of the request, in request order. */
    public static void flatten(ExportTraceServiceRequest request, Consumer<FlatRow> sink) {
        for (ResourceSpans rs : request.getResourceSpansList()) {
            for (ScopeSpans ss : rs.getScopeSpansList()) {
                Rows.Origin origin =
                        Rows.Origin.of(rs.getResource(), rs.getSchemaUrl(), ss.getScope(), ss.getSchemaUrl());
                for (Span span : ss.getSpansList()) {
                    GenericRecord row = new GenericData.Record(LakeSchema.SPAN);
                    origin.put(row, ORIGIN);
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

    /**
     * Flattens every span of an encoded {@code ExportTraceServiceRequest}, in request order: the same rows, with the same
     * event times, as {@code flatten(ExportTraceServiceRequest.parseFrom(request))}, and the same exception where that
     * throws. The spans' own fields, status and attributes are read straight from the protobuf wire bytes, without
     * building their messages (see {@code SpanWireReader}); resources, scopes, events, links and array or kvlist
     * values are parsed by protobuf-java. Where the wire reader meets what it leaves to protobuf-java (malformed or
     * truncated bytes, invalid UTF-8, groups, unusual varint encodings), this takes the message path above instead,
     * so errors and their messages stay protobuf-java's.
     *
     * @throws InvalidProtocolBufferException where {@code ExportTraceServiceRequest.parseFrom} throws it
     */
    public static List<FlatRow> flatten(byte[] request) throws InvalidProtocolBufferException {
        try {
            return SpanWireReader.read(request);
        } catch (SpanWireReader.Unread | RuntimeException e) {
            // the message path decides: same rows, or the same exception
            return flatten(ExportTraceServiceRequest.parseFrom(request));
        }
    }

    private static void putSpan(GenericRecord row, Span span) {
        row.put(TRACE_ID, Ids.toHex(span.getTraceId()));
        row.put(SPAN_ID, Ids.toHex(span.getSpanId()));
        row.put(PARENT_SPAN_ID, Ids.toHexOrNull(span.getParentSpanId()));
        row.put(TRACE_STATE, Rows.emptyToNull(span.getTraceState()));
        row.put(FLAGS, Integer.toUnsignedLong(span.getFlags()));
        row.put(NAME, span.getName());
        row.put(KIND, kindName(span.getKindValue()));
        row.put(START_TIME, span.getStartTimeUnixNano());
        row.put(END_TIME, span.getEndTimeUnixNano());
        row.put(DURATION_NS, span.getEndTimeUnixNano() - span.getStartTimeUnixNano());
        row.put(STATUS_CODE, statusCodeName(span.getStatus().getCodeValue()));
        row.put(STATUS_MESSAGE, Rows.emptyToNull(span.getStatus().getMessage()));
        Rows.putAttributes(row, ATTRIBUTES, ATTRIBUTE_TYPES, span.getAttributesList());
        row.put(DROPPED_ATTRIBUTES_COUNT, Integer.toUnsignedLong(span.getDroppedAttributesCount()));
        // as the wire reader does: a span without events or links shares the one empty list
        List<GenericRecord> events = span.getEventsCount() == 0 ? List.of() : new ArrayList<>(span.getEventsCount());
        for (Span.Event e : span.getEventsList()) {
            events.add(event(e));
        }
        row.put(EVENTS, events);
        row.put(DROPPED_EVENTS_COUNT, Integer.toUnsignedLong(span.getDroppedEventsCount()));
        List<GenericRecord> links = span.getLinksCount() == 0 ? List.of() : new ArrayList<>(span.getLinksCount());
        for (Span.Link l : span.getLinksList()) {
            links.add(link(l));
        }
        row.put(LINKS, links);
        row.put(DROPPED_LINKS_COUNT, Integer.toUnsignedLong(span.getDroppedLinksCount()));
    }

    static GenericRecord event(Span.Event e) {
        GenericRecord event = new GenericData.Record(EVENT);
        event.put("time", e.getTimeUnixNano());
        event.put("name", e.getName());
        Rows.putAttributes(event, "", e.getAttributesList());
        event.put("dropped_attributes_count", Integer.toUnsignedLong(e.getDroppedAttributesCount()));
        return event;
    }

    static GenericRecord link(Span.Link l) {
        GenericRecord link = new GenericData.Record(LINK);
        link.put("trace_id", Ids.toHex(l.getTraceId()));
        link.put("span_id", Ids.toHex(l.getSpanId()));
        link.put("trace_state", Rows.emptyToNull(l.getTraceState()));
        link.put("flags", Integer.toUnsignedLong(l.getFlags()));
        Rows.putAttributes(link, "", l.getAttributesList());
        link.put("dropped_attributes_count", Integer.toUnsignedLong(l.getDroppedAttributesCount()));
        return link;
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

    /** The {@code kind} column of a kind number, for both paths: {@code SERVER}, or the number no enum knows. */
    static String kindName(int number) {
        return number >= 0 && number < KIND_NAMES.length
                ? KIND_NAMES[number]
                : enumNameOf(Span.SpanKind.forNumber(number), number, KIND_PREFIX);
    }

    /** The {@code status_code} column of a status code number, for both paths: {@code ERROR}, or the number. */
    static String statusCodeName(int number) {
        return number >= 0 && number < STATUS_NAMES.length
                ? STATUS_NAMES[number]
                : enumNameOf(Status.StatusCode.forNumber(number), number, STATUS_PREFIX);
    }

    private static final String[] KIND_NAMES = names(6, n -> Span.SpanKind.forNumber(n), KIND_PREFIX);
    private static final String[] STATUS_NAMES = names(3, n -> Status.StatusCode.forNumber(n), STATUS_PREFIX);

    private static String[] names(int count, java.util.function.IntFunction<Enum<?>> forNumber, String prefix) {
        String[] names = new String[count];
        for (int n = 0; n < count; n++) {
            names[n] = enumNameOf(forNumber.apply(n), n, prefix);
        }
        return names;
    }

    /** {@code SPAN_KIND_SERVER} becomes {@code SERVER}; a number no enum knows stays a number. */
    private static String enumNameOf(@Nullable Enum<?> known, int number, String prefix) {
        return known == null ? Integer.toString(number) : known.name().substring(prefix.length());
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
