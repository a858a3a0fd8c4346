package io.otellake.ingest;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.TypeAdapter;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import com.google.gson.stream.MalformedJsonException;
import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.OneofDescriptor;
import com.google.protobuf.Message;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.metrics.v1.Exemplar;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.EOFException;
import java.io.IOException;
import java.io.StringReader;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads OTLP/JSON ("JSON Protobuf Encoding" of the OTLP specification): the protobuf JSON mapping, except that trace
 * and span ids are hex strings (either case) instead of base64. Keys are lowerCamelCase; the original snake_case names
 * are read too, because protobuf's JsonFormat reads them and an id under such a key must not be mistaken for base64.
 * 64-bit integers may be strings or numbers, enums integers (or names of their values: anything else is malformed, not
 * dropped), unknown fields are ignored.
 *
 * <p>How: one pass of Gson's streaming reader over the text, straight onto the messages' builders, field by field as
 * the types' descriptors say. Every value is read as protobuf's {@code JsonFormat} (protobuf-java-util) reads it, with
 * the same numbers, strings, bytes, enums, nulls, oneofs and nesting limit, so that a request means the same as it did
 * when ingest parsed a Gson tree, rewrote the ids in it and gave it to JsonFormat; {@code OtlpJsonDifferentialTest}
 * compares the two on generated requests, valid and broken. Where this reader differs, it refuses what the old way
 * accepted: a key that appears twice in one object (JSON leaves its meaning open, and parsers disagree: the tree kept
 * the last value) and the same field under both of its names.
 *
 * <p>Checks besides the mapping, each a 400 that names the value's place:
 *
 * <ul>
 *   <li>Ids are hex. Hex of a wrong (even) length is decoded as it is, so that {@link ExportChecks} drops just that
 *       item; what is not hex is malformed.
 *   <li>A number field's value (and an enum field's) is at most {@link #MAX_NUMBER_CHARS} characters long: JsonFormat's
 *       way to read a number that is not a plain {@code long} is {@code BigDecimal}, whose parsing takes time quadratic
 *       in the digits (a million digits, sent as a string, took 13 s of CPU), so that one small request could hold a
 *       thread for minutes.
 *   <li>Enum values are integers or names ({@link #enumValue}), strings Unicode text ({@link #checkUnicode}).
 * </ul>
 */
final class OtlpJson {
    static final int TRACE_ID_BYTES = 16;
    static final int SPAN_ID_BYTES = 8;

    /**
     * The most characters of a number's value, as a JSON number or a string: far more than any number of a field needs
     * (a 64-bit integer has at most 20 digits, a double is exact in 17 significant ones), and Gson reads no longer
     * JSON number anyway (its buffer is 1024 characters).
     */
    static final int MAX_NUMBER_CHARS = 1024;

    /** How deep messages may nest in a request: JsonFormat's recursion limit. */
    static final int MAX_MESSAGE_DEPTH = 100;

    /** The fields that hold trace and span ids, in hex, with their length in bytes. */
    private static final Map<FieldDescriptor, Integer> HEX_IDS = hexIds();

    /** Each message type's fields by the keys JsonFormat reads them under: the JSON name and the proto name. */
    private static final Map<Descriptor, Map<String, FieldDescriptor>> FIELDS_BY_KEY = new ConcurrentHashMap<>();

    private static final BigDecimal MORE_THAN_ONE = new BigDecimal(String.valueOf(1.0 + 1e-6));
    private static final BigDecimal MAX_DOUBLE =
            new BigDecimal(String.valueOf(Double.MAX_VALUE)).multiply(MORE_THAN_ONE);
    private static final BigDecimal MIN_DOUBLE =
            new BigDecimal(String.valueOf(-Double.MAX_VALUE)).multiply(MORE_THAN_ONE);
    private static final BigInteger MAX_UINT32 = BigInteger.valueOf(0xFFFF_FFFFL);
    private static final BigInteger MAX_UINT64 = new BigInteger("FFFFFFFFFFFFFFFF", 16);
    private static final HexFormat HEX = HexFormat.of();
    /** Reads any JSON value as a tree, with the reader's strictness: only to show a value that is in the wrong place. */
    private static final TypeAdapter<JsonElement> ELEMENT = new Gson().getAdapter(JsonElement.class);

    private final JsonReader reader;
    private final String requestType;
    /** The token of the scalar read last, for error messages: STRING, NUMBER or BOOLEAN. */
    private JsonToken scalarToken = JsonToken.NULL;

    private OtlpJson(JsonReader reader, String requestType) {
        this.reader = reader;
        this.requestType = requestType;
    }

    static ExportTraceServiceRequest parseTraces(String json) throws InvalidExportException {
        return (ExportTraceServiceRequest) parse(json, ExportTraceServiceRequest.newBuilder());
    }

    static ExportLogsServiceRequest parseLogs(String json) throws InvalidExportException {
        return (ExportLogsServiceRequest) parse(json, ExportLogsServiceRequest.newBuilder());
    }

    static ExportMetricsServiceRequest parseMetrics(String json) throws InvalidExportException {
        return (ExportMetricsServiceRequest) parse(json, ExportMetricsServiceRequest.newBuilder());
    }

    private static Message parse(String json, Message.Builder builder) throws InvalidExportException {
        JsonReader reader = new JsonReader(new StringReader(json));
        reader.setStrictness(Strictness.STRICT);
        OtlpJson parser = new OtlpJson(reader, builder.getDescriptorForType().getName());
        try {
            JsonToken first;
            try {
                first = reader.peek();
            } catch (EOFException e) {
                throw new InvalidExportException("the body must be a JSON object; got nothing");
            }
            if (first != JsonToken.BEGIN_OBJECT) {
                JsonElement root = ELEMENT.read(reader);
                throw new InvalidExportException("the body must be a JSON object; got "
                        + (root.isJsonArray() ? "an array" : shorten(root.toString())));
            }
            parser.message(builder, 0);
            boolean more;
            try {
                more = reader.peek() != JsonToken.END_DOCUMENT;
            } catch (IOException e) {
                more = true; // strict Gson calls a second value a syntax error
            }
            if (more) {
                throw new InvalidExportException("the body is not valid JSON: more follows the first JSON value");
            }
        } catch (MalformedJsonException | EOFException e) {
            throw new InvalidExportException("the body is not valid JSON: " + gsonMessage(e));
        } catch (IOException | RuntimeException e) {
            // Gson's other complaints (a nesting limit, a number it cannot read) are about the body too.
            throw new InvalidExportException("the body is not valid JSON: " + gsonMessage(e));
        }
        return builder.build();
    }

    /** Reads the object at the reader's position into {@code builder}, nested {@code depth} messages deep. */
    private void message(Message.Builder builder, int depth) throws IOException, InvalidExportException {
        Map<String, FieldDescriptor> fields = FIELDS_BY_KEY.computeIfAbsent(builder.getDescriptorForType(), type -> {
            Map<String, FieldDescriptor> byKey = new HashMap<>();
            for (FieldDescriptor f : type.getFields()) {
                if (f.getIndex() >= Long.SIZE) {
                    throw new IllegalStateException(type.getFullName() + " has more fields than this reader tracks");
                }
                byKey.put(f.getName(), f);
                byKey.put(f.getJsonName(), f);
            }
            return byKey;
        });
        long seen = 0; // by field index; OTLP's messages have fewer than 64 fields
        reader.beginObject();
        while (reader.hasNext()) {
            String key = reader.nextName();
            FieldDescriptor field = fields.get(key);
            if (field == null) {
                reader.skipValue(); // unknown fields are ignored
                continue;
            }
            long bit = 1L << field.getIndex();
            if ((seen & bit) != 0) {
                throw new InvalidExportException(reader.getPath().substring(2) + " sets the field "
                        + field.getJsonName() + " a second time in one object");
            }
            seen |= bit;
            if (reader.peek() == JsonToken.NULL) {
                reader.nextNull(); // the default, as for every field
            } else if (field.isRepeated()) {
                repeated(builder, field, depth);
            } else {
                Object value = value(builder, field, depth);
                OneofDescriptor oneof = field.getContainingOneof();
                if (oneof != null && builder.getOneofFieldDescriptor(oneof) != null) {
                    throw shape(" is set where "
                            + builder.getOneofFieldDescriptor(oneof).getJsonName() + " already is (only one of "
                            + oneof.getName() + " may be)");
                }
                builder.setField(field, value);
            }
        }
        reader.endObject();
    }

    private void repeated(Message.Builder builder, FieldDescriptor field, int depth)
            throws IOException, InvalidExportException {
        if (field.isMapField()) {
            throw new IllegalStateException("OTLP has no map fields: " + field.getFullName());
        }
        if (reader.peek() != JsonToken.BEGIN_ARRAY) {
            throw shape(" must be an array; got " + element());
        }
        reader.beginArray();
        while (reader.hasNext()) {
            if (reader.peek() == JsonToken.NULL) {
                reader.nextNull();
                if (field.getJavaType() == FieldDescriptor.JavaType.ENUM) {
                    continue; // JsonFormat skips a null enum value in a repeated field
                }
                throw shape(" must not be null (an element of the array " + field.getJsonName() + ")");
            }
            builder.addRepeatedField(field, value(builder, field, depth));
        }
        reader.endArray();
    }

    /** Reads the value (not null) of {@code field}, or an element of it if repeated, as JsonFormat does. */
    private Object value(Message.Builder builder, FieldDescriptor field, int depth)
            throws IOException, InvalidExportException {
        if (field.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
            if (reader.peek() != JsonToken.BEGIN_OBJECT) {
                throw shape(" must be an object (a " + field.getMessageType().getName() + "); got " + element());
            }
            if (depth >= MAX_MESSAGE_DEPTH) {
                throw new InvalidExportException(
                        reader.getPath().substring(2) + " is nested more than " + MAX_MESSAGE_DEPTH + " messages deep");
            }
            Message.Builder child = builder.newBuilderForField(field);
            message(child, depth + 1);
            return child.build();
        }
        Integer idBytes = HEX_IDS.get(field);
        if (idBytes != null) {
            return hexId(idBytes);
        }
        if (field.getJavaType() == FieldDescriptor.JavaType.ENUM) {
            return enumValue(field.getEnumType());
        }
        String text = scalar(field);
        switch (field.getJavaType()) {
            case INT, LONG, FLOAT, DOUBLE -> {
                if (text.length() > MAX_NUMBER_CHARS) {
                    throw new InvalidExportException(path() + " must be a number of at most " + MAX_NUMBER_CHARS
                            + " characters; got " + text.length() + " characters");
                }
            }
            case STRING -> checkUnicode(text);
            default -> {
                // bytes and booleans are read in time linear in their length
            }
        }
        return switch (field.getType()) {
            case INT32, SINT32, SFIXED32 -> int32(text);
            case INT64, SINT64, SFIXED64 -> int64(text);
            case UINT32, FIXED32 -> uint32(text);
            case UINT64, FIXED64 -> uint64(text);
            case BOOL -> bool(text);
            case DOUBLE -> doubleValue(text);
            case FLOAT -> floatValue(text);
            case STRING -> text;
            case BYTES -> base64(text);
            default -> throw new IllegalStateException("OTLP has no field of type " + field.getType());
        };
    }

    /**
     * The text of a string, number or boolean, as JsonFormat reads every scalar (a number's digits as written, so a
     * string field takes {@code 12} as "12").
     */
    private String scalar(FieldDescriptor field) throws IOException, InvalidExportException {
        scalarToken = reader.peek();
        return switch (scalarToken) {
            case STRING, NUMBER -> reader.nextString();
            case BOOLEAN -> reader.nextBoolean() ? "true" : "false";
            default -> throw shape(" must be " + expected(field) + "; got " + element());
        };
    }

    private ByteString hexId(int bytes) throws IOException, InvalidExportException {
        String hex = reader.peek() == JsonToken.STRING ? reader.nextString() : null;
        // Hex of another even length is decoded, so that ExportChecks drops that one item (partial success) rather
        // than the whole request; what is not hex at all makes the body malformed.
        if (hex == null || !isHex(hex)) {
            String got = hex == null ? element() : shorten(new JsonPrimitive(hex).toString());
            throw new InvalidExportException(
                    path() + " must be " + (2 * bytes) + " hex characters (or empty); got " + got);
        }
        return hex.isEmpty() ? ByteString.EMPTY : ByteString.copyFrom(HEX.parseHex(hex));
    }

    /**
     * An enum value is an integer (OTLP/JSON; a number such as {@code 2.0} is one, and so is a string of one, which
     * JsonFormat reads), or the name of one of the enum's values, which the specification no longer allows but
     * JsonFormat reads and older clients sent. A number the enum does not name (a later version's) is kept, as protobuf
     * keeps it. Anything else is malformed: JsonFormat, told to ignore unknown fields, would drop it without a word
     * ({@code 1.5}, an unknown name, {@code true}, {@code [1]}), and the item would be written as if the field were not
     * set, a span's error status or a log record's severity lost.
     */
    private EnumValueDescriptor enumValue(EnumDescriptor type) throws IOException, InvalidExportException {
        JsonToken token = reader.peek();
        if (token == JsonToken.STRING || token == JsonToken.NUMBER) {
            scalarToken = token;
            String text = reader.nextString();
            if (text.length() > MAX_NUMBER_CHARS) {
                throw new InvalidExportException(path() + " must be a number of at most " + MAX_NUMBER_CHARS
                        + " characters; got " + text.length() + " characters");
            }
            EnumValueDescriptor named = type.findValueByName(text);
            if (named != null) {
                return named;
            }
            try {
                return type.findValueByNumberCreatingIfUnknown(new BigDecimal(text).intValueExact());
            } catch (NumberFormatException | ArithmeticException e) {
                throw new InvalidExportException(
                        path() + " must be an integer (a value of enum " + type.getName() + "); got " + got(text));
            }
        }
        String got = element();
        throw new InvalidExportException(
                path() + " must be an integer (a value of enum " + type.getName() + "); got " + got);
    }

    private int int32(String text) throws InvalidExportException {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            // JSON does not tell 1 from 1.0: an integer written as a decimal is one
        }
        try {
            return new BigDecimal(text).intValueExact();
        } catch (NumberFormatException | ArithmeticException e) {
            throw shape(" must be a 32-bit integer; got " + got(text));
        }
    }

    private long int64(String text) throws InvalidExportException {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            // as for int32
        }
        try {
            return new BigDecimal(text).longValueExact();
        } catch (NumberFormatException | ArithmeticException e) {
            throw shape(" must be a 64-bit integer; got " + got(text));
        }
    }

    private int uint32(String text) throws InvalidExportException {
        BigInteger value = unsigned(text, MAX_UINT32, "32");
        return value.intValue();
    }

    private long uint64(String text) throws InvalidExportException {
        if (isDigits(text, 18)) {
            return Long.parseLong(text); // the common case, without BigDecimal: below 10^18 < 2^63
        }
        return unsigned(text, MAX_UINT64, "64").longValue();
    }

    private BigInteger unsigned(String text, BigInteger max, String bits) throws InvalidExportException {
        BigInteger value;
        try {
            value = new BigDecimal(text).toBigIntegerExact();
        } catch (NumberFormatException | ArithmeticException e) {
            throw shape(" must be an unsigned " + bits + "-bit integer; got " + got(text));
        }
        if (value.signum() < 0 || value.compareTo(max) > 0) {
            throw shape(" must be an unsigned " + bits + "-bit integer; got " + got(text) + ", out of range");
        }
        return value;
    }

    private boolean bool(String text) throws InvalidExportException {
        return switch (text) {
            case "true" -> true;
            case "false" -> false;
            default -> throw shape(" must be true or false; got " + got(text));
        };
    }

    private double doubleValue(String text) throws InvalidExportException {
        switch (text) {
            case "NaN":
                return Double.NaN;
            case "Infinity":
                return Double.POSITIVE_INFINITY;
            case "-Infinity":
                return Double.NEGATIVE_INFINITY;
            default:
                break;
        }
        BigDecimal value;
        try {
            value = new BigDecimal(text);
        } catch (NumberFormatException e) {
            throw shape(" must be a number; got " + got(text));
        }
        if (value.compareTo(MAX_DOUBLE) > 0 || value.compareTo(MIN_DOUBLE) < 0) {
            throw shape(" must be a number within the range of a double; got " + got(text));
        }
        return value.doubleValue();
    }

    private float floatValue(String text) throws InvalidExportException {
        switch (text) {
            case "NaN":
                return Float.NaN;
            case "Infinity":
                return Float.POSITIVE_INFINITY;
            case "-Infinity":
                return Float.NEGATIVE_INFINITY;
            default:
                break;
        }
        double value;
        try {
            value = Double.parseDouble(text);
        } catch (NumberFormatException e) {
            throw shape(" must be a number; got " + got(text));
        }
        if (value > Float.MAX_VALUE * (1.0 + 1e-6) || value < -Float.MAX_VALUE * (1.0 + 1e-6)) {
            throw shape(" must be a number within the range of a float; got " + got(text));
        }
        return (float) value;
    }

    /** Base64 as JsonFormat reads it: padding optional, the URL-safe alphabet if the standard one does not fit. */
    private ByteString base64(String text) throws InvalidExportException {
        try {
            return ByteString.copyFrom(Base64.getDecoder().decode(text));
        } catch (IllegalArgumentException e) {
            // the URL-safe alphabet, then
        }
        try {
            return ByteString.copyFrom(Base64.getUrlDecoder().decode(text));
        } catch (IllegalArgumentException e) {
            throw shape(" must be base64; got " + got(text));
        }
    }

    /**
     * A string must be Unicode text: protobuf holds it as UTF-8, which cannot encode half of a surrogate pair, so the
     * protobuf encoder would write such a character (JSON escapes one as backslash, u and its hex) as {@code ?}, and
     * the value written would not be the value sent. Binary protobuf with invalid UTF-8 in a string is refused too.
     */
    private void checkUnicode(String text) throws InvalidExportException {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!Character.isSurrogate(c)) {
                continue;
            }
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
                continue;
            }
            throw new InvalidExportException(path() + " is not valid Unicode: character " + i + " is \\u"
                    + HEX.toHexDigits(c) + ", half of a surrogate pair");
        }
    }

    private static String expected(FieldDescriptor field) {
        return switch (field.getJavaType()) {
            case INT, LONG, FLOAT, DOUBLE -> "a number";
            case BOOLEAN -> "true or false";
            case BYTE_STRING -> "base64";
            default -> "a string";
        };
    }

    /** A mistake of the protobuf JSON mapping at the value just read, such as a string where an integer belongs. */
    private InvalidExportException shape(String problem) {
        return new InvalidExportException("the body is not a valid OTLP/JSON " + requestType + ": " + path() + problem);
    }

    /** Reads the value at the reader's position, whatever it is, and shows it as JSON. */
    private String element() throws IOException {
        return shorten(ELEMENT.read(reader).toString());
    }

    /** A scalar just read, as it was written. */
    private String got(String text) {
        return shorten(scalarToken == JsonToken.STRING ? new JsonPrimitive(text).toString() : text);
    }

    /**
     * Where the value just read is, as its keys and indexes from the top of the body, such as {@code
     * resourceSpans[0].scopeSpans[0].spans[3].traceId}. (Before a value is read, {@code reader.getPath()} is where it
     * is.)
     */
    private String path() {
        return reader.getPreviousPath().substring(2); // without "$."
    }

    private static boolean isHex(String s) {
        if (s.length() % 2 != 0) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
                return false;
            }
        }
        return true;
    }

    private static boolean isDigits(String s, int maxLength) {
        if (s.isEmpty() || s.length() > maxLength) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }

    private static Map<FieldDescriptor, Integer> hexIds() {
        Map<FieldDescriptor, Integer> ids = new HashMap<>();
        for (Descriptor type : List.of(
                Span.getDescriptor(), Span.Link.getDescriptor(), LogRecord.getDescriptor(), Exemplar.getDescriptor())) {
            ids.put(type.findFieldByName("trace_id"), TRACE_ID_BYTES);
            ids.put(type.findFieldByName("span_id"), SPAN_ID_BYTES);
        }
        ids.put(Span.getDescriptor().findFieldByName("parent_span_id"), SPAN_ID_BYTES);
        return Map.copyOf(ids);
    }

    /**
     * Gson's message, for a client: without its cause's class name, its advice to Java programmers and its link to a
     * troubleshooting page.
     */
    private static String gsonMessage(Exception e) {
        Throwable t = e.getCause() != null && e.getCause().getMessage() != null ? e.getCause() : e;
        String message = String.valueOf(t.getMessage());
        int see = message.indexOf("\nSee ");
        message = see < 0 ? message : message.substring(0, see);
        return message.replace(
                        "Use JsonReader.setStrictness(Strictness.LENIENT) to accept malformed JSON", "syntax error")
                .replace("End of input", "the body ends too early");
    }

    private static String shorten(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }
}
