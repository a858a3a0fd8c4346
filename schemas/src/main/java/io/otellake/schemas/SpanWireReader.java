package io.otellake.schemas;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.ExtensionRegistryLite;
import com.google.protobuf.MessageLite;
import com.google.protobuf.UnsafeByteOperations;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;

/**
 * Flattens the spans of an encoded {@code ExportTraceServiceRequest} straight from its protobuf wire bytes: the span's
 * own fields, its status and its attributes are read here, without building a {@code Span}, {@code KeyValue} or
 * {@code AnyValue} message. Resources and scopes (once per {@code ResourceSpans} and {@code ScopeSpans}), events,
 * links, and array or kvlist values are parsed by protobuf-java and go through the message path's own code.
 *
 * <p>Guarantee: when {@link #read} returns, its rows are equal, row by row and in order, to those of {@code
 * SpanFlattener.flatten(ExportTraceServiceRequest.parseFrom(bytes))}, with the same event times, and that call would
 * not have thrown. It follows proto3 as protobuf-java parses it: the last occurrence of a scalar field wins, a message
 * field that occurs twice is merged (status, resource, scope, an attribute's value), unknown fields and fields of an
 * unexpected wire type are skipped, strings must be valid UTF-8, nested messages count against protobuf-java's
 * recursion limit. Wherever protobuf-java would throw, and on what it reads but this reader leaves to it (groups,
 * wire types 6 and 7, field number 0, a tag, length or uint32 varint of more than 5 bytes or 32 bits, an int32 or
 * enum that is not a sign-extended 32-bit value, a varint with bits past the 64th), it throws {@link
 * Unread} and emits nothing: the caller then takes the message path, which gives the rows or the exception.
 *
 * <p>Attribute keys and string values, names and trace ids repeat from span to span; a string is reused when its
 * bytes equal those last seen at the same place (the same attribute position, the same field), which saves its
 * decoding here and its hashing in the Parquet writer. One reader per request; not thread-safe.
 */
final class SpanWireReader {
    /** The reader leaves these bytes to protobuf-java. */
    static final class Unread extends Exception {
        Unread(String reason) {
            super(reason, null, false, false);
        }
    }

    private static final int VARINT = 0;
    private static final int FIXED64 = 1;
    private static final int LENGTH_DELIMITED = 2;
    private static final int FIXED32 = 5;

    // Nesting depth at which a message's fields are read in protobuf-java's parse of the whole request, counted as its
    // CodedInputStream counts it, so that the parts parsed on their own meet the same recursion limit.
    private static final int RESOURCE_DEPTH = 2;
    private static final int SCOPE_DEPTH = 3;
    private static final int EVENT_DEPTH = 4;
    private static final int VALUE_DEPTH = 5;

    // string slots: a few fields of the span, then the attribute keys and values by position
    private static final int NAME_SLOT = 0;
    private static final int TRACE_STATE_SLOT = 1;
    private static final int STATUS_MESSAGE_SLOT = 2;
    private static final int SCHEMA_URL_SLOT = 3;
    private static final int TRACE_ID_SLOT = 4;
    private static final int PARENT_SPAN_ID_SLOT = 5;
    private static final int ATTRIBUTE_SLOTS = 16;
    private static final int KEY_SLOTS = 6;
    private static final int VALUE_SLOTS = KEY_SLOTS + ATTRIBUTE_SLOTS;
    private static final int SLOTS = VALUE_SLOTS + ATTRIBUTE_SLOTS;

    private final byte[] buf;
    private int pos;

    private final int[] slotOffset = new int[SLOTS];
    private final int[] slotLength = new int[SLOTS];
    private final String[] slotText = new String[SLOTS];
    private final long[] intValue = new long[ATTRIBUTE_SLOTS];
    private final String[] intText = new String[ATTRIBUTE_SLOTS];

    // the attributes of the span being read, in the lake's form
    private String[] keys = new String[16];
    private String[] texts = new String[16];
    private String[] types = new String[16];
    private int attributeCount;

    /**
     * Types maps of spans read before, by a hash of their first key: most spans of a request carry one of a few sets of
     * attributes that are not strings (a status code, a port), and a span whose types map holds the same entries in the
     * same order as one of these gets that one, not a map of its own. The archiver holds a file's rows until it writes
     * them, so one object fewer per row is less for the garbage collector to copy, and its Parquet writer writes a map
     * it has seen by copying its dictionary ids.
     */
    private final AttributeMap[] recentTypes = new AttributeMap[8];

    /** Attribute maps of spans read before, by a hash of their first key and their size: see {@link #putAttributes}. */
    private final AttributeMap[] recentAttributes = new AttributeMap[8];

    /** The flags of the span read before, boxed: most spans of a request have the same. */
    private Long recentFlags = 0L;

    // the value of the attribute being read: its oneof case as the field number (0: none), and that field
    private int valueField;
    private String valueString = "";
    private long valueBits;
    private int valueBytesOffset;
    private int valueBytesLength;
    private boolean valueIsMessage;

    private SpanWireReader(byte[] buf) {
        this.buf = buf;
        Arrays.fill(slotLength, -1);
    }

    /** The rows of every span of the request, or {@link Unread}. */
    static List<FlatRow> read(byte[] request) throws Unread {
        SpanWireReader reader = new SpanWireReader(request);
        List<FlatRow> rows = new ArrayList<>();
        reader.request(rows);
        return rows;
    }

    private void request(List<FlatRow> rows) throws Unread {
        int end = buf.length;
        while (pos < end) {
            int tag = tag(end);
            if (tag == (1 << 3 | LENGTH_DELIMITED)) {
                int length = length(end);
                resourceSpans(pos + length, rows);
            } else {
                skip(tag, end);
            }
        }
    }

    private void resourceSpans(int end, List<FlatRow> rows) throws Unread {
        int start = pos;
        Resource.Builder resource = null;
        String schemaUrl = "";
        while (pos < end) { // resource and schema url first: they may come after the scope spans
            int tag = tag(end);
            switch (tag) {
                case 1 << 3 | LENGTH_DELIMITED -> {
                    int length = length(end);
                    if (resource == null) {
                        resource = Resource.newBuilder();
                    }
                    merge(resource, length, RESOURCE_DEPTH);
                }
                case 3 << 3 | LENGTH_DELIMITED -> schemaUrl = string(SCHEMA_URL_SLOT, length(end));
                default -> skip(tag, end);
            }
        }
        Resource r = resource == null ? Resource.getDefaultInstance() : resource.build();
        pos = start;
        while (pos < end) {
            int tag = tag(end);
            if (tag == (2 << 3 | LENGTH_DELIMITED)) {
                int length = length(end);
                scopeSpans(pos + length, r, schemaUrl, rows);
            } else {
                skip(tag, end);
            }
        }
    }

    private void scopeSpans(int end, Resource resource, String resourceSchemaUrl, List<FlatRow> rows) throws Unread {
        int start = pos;
        InstrumentationScope.Builder scope = null;
        String schemaUrl = "";
        while (pos < end) {
            int tag = tag(end);
            switch (tag) {
                case 1 << 3 | LENGTH_DELIMITED -> {
                    int length = length(end);
                    if (scope == null) {
                        scope = InstrumentationScope.newBuilder();
                    }
                    merge(scope, length, SCOPE_DEPTH);
                }
                case 3 << 3 | LENGTH_DELIMITED -> schemaUrl = string(SCHEMA_URL_SLOT, length(end));
                default -> skip(tag, end);
            }
        }
        Rows.Origin origin = Rows.Origin.of(
                resource,
                resourceSchemaUrl,
                scope == null ? InstrumentationScope.getDefaultInstance() : scope.build(),
                schemaUrl);
        pos = start;
        while (pos < end) {
            int tag = tag(end);
            if (tag == (2 << 3 | LENGTH_DELIMITED)) {
                int length = length(end);
                GenericRecord row = new GenericData.Record(LakeSchema.SPAN);
                origin.put(row, SpanFlattener.ORIGIN);
                long startTime = span(pos + length, row);
                rows.add(new FlatRow(row, startTime));
            } else {
                skip(tag, end);
            }
        }
    }

    /** The equal map of {@link #recentTypes} in its stead, or {@code types}, which it then remembers. */
    private Map<String, String> shared(Map<String, String> types) {
        if (!(types instanceof AttributeMap map) || map.isEmpty()) {
            return types;
        }
        int slot = (map.keyAt(0).hashCode() * 31 + map.size()) & (recentTypes.length - 1);
        AttributeMap recent = recentTypes[slot];
        if (recent != null && recent.sameInOrder(map)) {
            return recent;
        }
        recentTypes[slot] = map;
        return map;
    }

    /**
     * Puts the attributes read into the row, as {@link AttributeCodec#encode} maps them, sharing the array of keys of
     * an earlier span's map with the very same key instances (the reader hands out one instance per key and position
     * while the bytes repeat).
     */
    private void putAttributes(GenericRecord row) {
        int count = attributeCount;
        int slot = count == 0 ? 0 : (keys[0].hashCode() * 31 + count) & (recentAttributes.length - 1);
        AttributeCodec.Encoded attributes = AttributeCodec.encode(count, keys, texts, types, recentAttributes[slot]);
        row.put(SpanFlattener.ATTRIBUTES, attributes.values());
        row.put(SpanFlattener.ATTRIBUTE_TYPES, shared(attributes.types()));
        if (count > 0 && attributes.values() instanceof AttributeMap map) {
            recentAttributes[slot] = map;
        }
    }

    /** Puts the span's columns into the row; returns its start time. */
    private long span(int end, GenericRecord row) throws Unread {
        int traceIdOffset = 0;
        int traceIdLength = 0;
        int spanIdOffset = 0;
        int spanIdLength = 0;
        int parentOffset = 0;
        int parentLength = 0;
        String traceState = "";
        String name = "";
        int kind = 0;
        long startTime = 0;
        long endTime = 0;
        int flags = 0;
        int droppedAttributes = 0;
        int droppedEvents = 0;
        int droppedLinks = 0;
        String statusMessage = "";
        int statusCode = 0;
        List<GenericRecord> events = null;
        List<GenericRecord> links = null;
        attributeCount = 0;
        while (pos < end) {
            int tag = tag(end);
            switch (tag) {
                case 1 << 3 | LENGTH_DELIMITED -> {
                    traceIdLength = length(end);
                    traceIdOffset = pos;
                    pos += traceIdLength;
                }
                case 2 << 3 | LENGTH_DELIMITED -> {
                    spanIdLength = length(end);
                    spanIdOffset = pos;
                    pos += spanIdLength;
                }
                case 3 << 3 | LENGTH_DELIMITED -> traceState = string(TRACE_STATE_SLOT, length(end));
                case 4 << 3 | LENGTH_DELIMITED -> {
                    parentLength = length(end);
                    parentOffset = pos;
                    pos += parentLength;
                }
                case 5 << 3 | LENGTH_DELIMITED -> name = string(NAME_SLOT, length(end));
                case 6 << 3 | VARINT -> kind = int32(end);
                case 7 << 3 | FIXED64 -> startTime = fixed64(end);
                case 8 << 3 | FIXED64 -> endTime = fixed64(end);
                case 9 << 3 | LENGTH_DELIMITED -> {
                    int length = length(end);
                    attribute(pos + length);
                }
                case 10 << 3 | VARINT -> droppedAttributes = uint32(end);
                case 11 << 3 | LENGTH_DELIMITED -> {
                    Span.Event.Builder event = Span.Event.newBuilder();
                    merge(event, length(end), EVENT_DEPTH);
                    if (events == null) {
                        events = new ArrayList<>();
                    }
                    events.add(SpanFlattener.event(event.build()));
                }
                case 12 << 3 | VARINT -> droppedEvents = uint32(end);
                case 13 << 3 | LENGTH_DELIMITED -> {
                    Span.Link.Builder link = Span.Link.newBuilder();
                    merge(link, length(end), EVENT_DEPTH);
                    if (links == null) {
                        links = new ArrayList<>();
                    }
                    links.add(SpanFlattener.link(link.build()));
                }
                case 14 << 3 | VARINT -> droppedLinks = uint32(end);
                case 15 << 3 | LENGTH_DELIMITED -> {
                    // a second status merges into the first: its fields, where present, win
                    int statusLength = length(end);
                    int statusEnd = pos + statusLength;
                    while (pos < statusEnd) {
                        int statusTag = tag(statusEnd);
                        switch (statusTag) {
                            case 2 << 3 | LENGTH_DELIMITED ->
                                statusMessage = string(STATUS_MESSAGE_SLOT, length(statusEnd));
                            case 3 << 3 | VARINT -> statusCode = int32(statusEnd);
                            default -> skip(statusTag, statusEnd);
                        }
                    }
                }
                case 16 << 3 | FIXED32 -> flags = fixed32(end);
                default -> skip(tag, end);
            }
        }
        row.put(SpanFlattener.TRACE_ID, hex(TRACE_ID_SLOT, traceIdOffset, traceIdLength));
        row.put(SpanFlattener.SPAN_ID, Ids.toHex(buf, spanIdOffset, spanIdLength));
        row.put(
                SpanFlattener.PARENT_SPAN_ID,
                parentLength == 0 ? null : hex(PARENT_SPAN_ID_SLOT, parentOffset, parentLength));
        row.put(SpanFlattener.TRACE_STATE, Rows.emptyToNull(traceState));
        long unsignedFlags = Integer.toUnsignedLong(flags);
        if (recentFlags != unsignedFlags) {
            recentFlags = unsignedFlags;
        }
        row.put(SpanFlattener.FLAGS, recentFlags);
        row.put(SpanFlattener.NAME, name);
        row.put(SpanFlattener.KIND, SpanFlattener.kindName(kind));
        row.put(SpanFlattener.START_TIME, startTime);
        row.put(SpanFlattener.END_TIME, endTime);
        row.put(SpanFlattener.DURATION_NS, endTime - startTime);
        row.put(SpanFlattener.STATUS_CODE, SpanFlattener.statusCodeName(statusCode));
        row.put(SpanFlattener.STATUS_MESSAGE, Rows.emptyToNull(statusMessage));
        putAttributes(row);
        row.put(SpanFlattener.DROPPED_ATTRIBUTES_COUNT, Integer.toUnsignedLong(droppedAttributes));
        // one shared empty list, not one per span: the archiver holds a file's rows in memory until it writes them
        row.put(SpanFlattener.EVENTS, events == null ? List.of() : events);
        row.put(SpanFlattener.DROPPED_EVENTS_COUNT, Integer.toUnsignedLong(droppedEvents));
        row.put(SpanFlattener.LINKS, links == null ? List.of() : links);
        row.put(SpanFlattener.DROPPED_LINKS_COUNT, Integer.toUnsignedLong(droppedLinks));
        return startTime;
    }

    /** Reads one {@code KeyValue} of the span's attributes, up to {@code end}, into the lake's form. */
    private void attribute(int end) throws Unread {
        int start = pos;
        int index = attributeCount;
        int slot = index & (ATTRIBUTE_SLOTS - 1);
        String key = "";
        valueField = 0;
        valueIsMessage = false;
        while (pos < end) {
            int tag = tag(end);
            switch (tag) {
                case 1 << 3 | LENGTH_DELIMITED -> key = string(KEY_SLOTS + slot, length(end));
                case 2 << 3 | LENGTH_DELIMITED -> {
                    // a second value merges into the first, as protobuf-java merges a message field that repeats
                    int length = length(end);
                    value(pos + length, slot);
                }
                default -> skip(tag, end);
            }
        }
        if (index == keys.length) {
            keys = Arrays.copyOf(keys, index * 2);
            texts = Arrays.copyOf(texts, index * 2);
            types = Arrays.copyOf(types, index * 2);
        }
        keys[index] = key;
        if (valueIsMessage) {
            AttributeCodec.EncodedValue encoded = AttributeCodec.encodeValue(messageValue(start, end));
            texts[index] = encoded.text();
            types[index] = encoded.type().equals(AttributeCodec.STRING) ? null : encoded.type();
        } else {
            putValue(index, slot);
        }
        attributeCount = index + 1;
    }

    /** Reads the fields of an {@code AnyValue} up to {@code end}, over what earlier occurrences left. */
    private void value(int end, int slot) throws Unread {
        while (pos < end) {
            int tag = tag(end);
            switch (tag) {
                case 1 << 3 | LENGTH_DELIMITED -> {
                    valueString = string(VALUE_SLOTS + slot, length(end));
                    valueField = 1;
                }
                case 2 << 3 | VARINT -> {
                    valueBits = varint64(end) != 0 ? 1 : 0;
                    valueField = 2;
                }
                case 3 << 3 | VARINT -> {
                    valueBits = varint64(end);
                    valueField = 3;
                }
                case 4 << 3 | FIXED64 -> {
                    valueBits = fixed64(end);
                    valueField = 4;
                }
                case 5 << 3 | LENGTH_DELIMITED, 6 << 3 | LENGTH_DELIMITED -> {
                    // an array or kvlist: the whole value goes to protobuf-java, which merges such fields its own way
                    valueIsMessage = true;
                    int length = length(end);
                    pos += length;
                }
                case 7 << 3 | LENGTH_DELIMITED -> {
                    valueBytesLength = length(end);
                    valueBytesOffset = pos;
                    pos += valueBytesLength;
                    valueField = 7;
                }
                case 8 << 3 | VARINT -> {
                    valueBits = int32(end);
                    valueField = 8;
                }
                default -> skip(tag, end);
            }
        }
    }

    private void putValue(int index, int slot) {
        switch (valueField) {
            case 1 -> {
                texts[index] = valueString;
                types[index] = null;
            }
            case 2 -> {
                texts[index] = valueBits != 0 ? "true" : "false";
                types[index] = AttributeCodec.BOOL;
            }
            case 3 -> {
                String text = intText[slot];
                if (text == null || intValue[slot] != valueBits) {
                    text = Long.toString(valueBits);
                    intText[slot] = text;
                    intValue[slot] = valueBits;
                }
                texts[index] = text;
                types[index] = AttributeCodec.INT;
            }
            case 4 -> {
                texts[index] = AttributeCodec.doubleText(Double.longBitsToDouble(valueBits));
                types[index] = AttributeCodec.DOUBLE;
            }
            case 7 -> {
                texts[index] = Base64.getEncoder()
                        .encodeToString(Arrays.copyOfRange(buf, valueBytesOffset, valueBytesOffset + valueBytesLength));
                types[index] = AttributeCodec.BYTES;
            }
            case 8 -> {
                texts[index] = Integer.toString((int) valueBits);
                types[index] = AttributeCodec.STRINDEX;
            }
            default -> {
                texts[index] = "";
                types[index] = AttributeCodec.EMPTY;
            }
        }
    }

    /** The value of the {@code KeyValue} from {@code start} to {@code end}, parsed and merged by protobuf-java. */
    private AnyValue messageValue(int start, int end) throws Unread {
        AnyValue.Builder value = AnyValue.newBuilder();
        pos = start;
        while (pos < end) {
            int tag = tag(end);
            if (tag == (2 << 3 | LENGTH_DELIMITED)) {
                merge(value, length(end), VALUE_DEPTH);
            } else {
                skip(tag, end);
            }
        }
        return value.build();
    }

    /**
     * Merges the next {@code length} bytes into the builder, as protobuf-java's parse of the whole request would at
     * that nesting depth, and moves past them.
     */
    private void merge(MessageLite.Builder builder, int length, int depth) throws Unread {
        CodedInputStream in = CodedInputStream.newInstance(buf, pos, length);
        int limit = in.setRecursionLimit(0); // the default, which the parse of the whole request starts from
        in.setRecursionLimit(limit - depth);
        try {
            builder.mergeFrom(in, ExtensionRegistryLite.getEmptyRegistry());
            in.checkLastTagWas(0);
        } catch (IOException e) {
            throw new Unread(e.getMessage());
        }
        pos += length;
    }

    // --- wire format

    private int tag(int end) throws Unread {
        if (pos < end) {
            int b = buf[pos];
            if (b >= 8) { // one byte, field number 1 to 15
                pos++;
                return b;
            }
        }
        int tag = uint32(end);
        if (tag >>> 3 == 0) {
            throw new Unread("field number 0");
        }
        return tag;
    }

    /** A length that fits before {@code end}. */
    private int length(int end) throws Unread {
        if (pos < end && buf[pos] >= 0) { // one byte, below 128: most lengths
            int length = buf[pos++];
            if (length > end - pos) {
                throw new Unread("truncated");
            }
            return length;
        }
        int length = uint32(end);
        if (length < 0 || length > end - pos) {
            throw new Unread("truncated");
        }
        return length;
    }

    /** A varint of at most 5 bytes and 32 bits: tags, lengths, uint32. */
    private int uint32(int end) throws Unread {
        int start = pos;
        long value = varint64(end);
        if (pos - start > 5 || value >>> 32 != 0) {
            throw new Unread("varint wider than 32 bits");
        }
        return (int) value;
    }

    /** An int32 or enum: a non-negative varint of 32 bits, or a negative one sign-extended to 64. */
    private int int32(int end) throws Unread {
        long value = varint64(end);
        if (value != (int) value) {
            throw new Unread("varint wider than int32");
        }
        return (int) value;
    }

    private long varint64(int end) throws Unread {
        long value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos >= end) {
                throw new Unread("truncated varint");
            }
            int b = buf[pos++];
            value |= (long) (b & 0x7f) << shift;
            if (b >= 0) {
                if (shift == 63 && b > 1) {
                    throw new Unread("varint wider than 64 bits");
                }
                return value;
            }
        }
        throw new Unread("malformed varint");
    }

    private long fixed64(int end) throws Unread {
        if (end - pos < 8) {
            throw new Unread("truncated");
        }
        long value = (long) LONGS.get(buf, pos);
        pos += 8;
        return value;
    }

    private int fixed32(int end) throws Unread {
        if (end - pos < 4) {
            throw new Unread("truncated");
        }
        int value = (buf[pos] & 0xff)
                | (buf[pos + 1] & 0xff) << 8
                | (buf[pos + 2] & 0xff) << 16
                | (buf[pos + 3] & 0xff) << 24;
        pos += 4;
        return value;
    }

    /** Skips a field this reader does not read (unknown, or of another wire type than its own). */
    private void skip(int tag, int end) throws Unread {
        switch (tag & 7) {
            case VARINT -> varint64(end);
            case FIXED64 -> {
                if (end - pos < 8) {
                    throw new Unread("truncated");
                }
                pos += 8;
            }
            case LENGTH_DELIMITED -> {
                int length = length(end); // before pos is read: pos += length(end) would lose the length's bytes
                pos += length;
            }
            case FIXED32 -> {
                if (end - pos < 4) {
                    throw new Unread("truncated");
                }
                pos += 4;
            }
            default -> throw new Unread("wire type " + (tag & 7));
        }
    }

    /** The next {@code length} bytes as a string, which must be UTF-8 as protobuf-java requires; moves past them. */
    private String string(int slot, int length) throws Unread {
        int offset = pos;
        pos += length;
        if (length == 0) {
            return "";
        }
        if (slotLength[slot] == length
                && Arrays.equals(buf, slotOffset[slot], slotOffset[slot] + length, buf, offset, offset + length)) {
            return slotText[slot];
        }
        String text = utf8(offset, length);
        slotOffset[slot] = offset;
        slotLength[slot] = length;
        slotText[slot] = text;
        return text;
    }

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    /** Whether the bytes are all below 0x80: eight at a time, then one by one. */
    static boolean ascii(byte[] b, int offset, int length) {
        int i = offset;
        int end = offset + length;
        long bits = 0;
        for (; i + 8 <= end; i += 8) {
            bits |= (long) LONGS.get(b, i);
        }
        for (; i < end; i++) {
            bits |= b[i];
        }
        return (bits & 0x8080808080808080L) == 0;
    }

    private String utf8(int offset, int length) throws Unread {
        if (ascii(buf, offset, length)) {
            return new String(buf, offset, length, StandardCharsets.ISO_8859_1);
        }
        ByteString bytes = UnsafeByteOperations.unsafeWrap(buf, offset, length);
        if (!bytes.isValidUtf8()) {
            throw new Unread("invalid UTF-8");
        }
        return bytes.toStringUtf8();
    }

    /** Lowercase hex of an id, as {@link Ids#toHex} gives it. */
    private String hex(int slot, int offset, int length) {
        if (length == 0) {
            return "";
        }
        if (slotLength[slot] == length
                && Arrays.equals(buf, slotOffset[slot], slotOffset[slot] + length, buf, offset, offset + length)) {
            return slotText[slot];
        }
        String text = Ids.toHex(buf, offset, length);
        slotOffset[slot] = offset;
        slotLength[slot] = length;
        slotText[slot] = text;
        return text;
    }
}
