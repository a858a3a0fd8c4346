package io.otellake.ingest;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
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
import java.io.IOException;
import java.io.Writer;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.Base64;
import java.util.Deque;
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
 * <p>How: one pass of Jackson's streaming parser over the UTF-8 bytes (checked first to be UTF-8, as the specification
 * requires), straight onto the messages' builders, field by field as the types' descriptors say. Every value is read as protobuf's {@code JsonFormat} (protobuf-java-util) reads it, with
 * the same numbers, strings, bytes, enums, nulls, oneofs and nesting limit, so that a request means the same as it did
 * when ingest parsed a Gson tree, rewrote the ids in it and gave it to JsonFormat; {@code OtlpJsonDifferentialTest}
 * compares the two on generated requests, valid and broken. Where this reader differs, it refuses what the old way
 * accepted: a key that appears twice in one object (JSON leaves its meaning open, and parsers disagree: the tree kept
 * the last value), the same field under both of its names, and an array of one element where a single string, number
 * or boolean belongs (Gson's tree read it as that element).
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
     * (a 64-bit integer has at most 20 digits, a double is exact in 17 significant ones).
     */
    static final int MAX_NUMBER_CHARS = 1024;

    /** How deep messages may nest in a request: JsonFormat's recursion limit. */
    static final int MAX_MESSAGE_DEPTH = 100;

    /** How deep JSON arrays and objects may nest, known fields or not: Gson's limit, which ingest used before. */
    static final int MAX_JSON_DEPTH = 255;

    private static final JsonFactory JSON = JsonFactory.builder()
            // names are canonicalized per parser; interning a hostile client's million distinct keys would not be
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(MAX_JSON_DEPTH)
                    .maxNumberLength(MAX_NUMBER_CHARS)
                    .build())
            .build();

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
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final JsonParser parser;
    private final String requestType;

    private OtlpJson(JsonParser parser, String requestType) {
        this.parser = parser;
        this.requestType = requestType;
    }

    static ExportTraceServiceRequest parseTraces(byte[] json) throws InvalidExportException {
        return (ExportTraceServiceRequest) parse(json, ExportTraceServiceRequest.newBuilder());
    }

    static ExportLogsServiceRequest parseLogs(byte[] json) throws InvalidExportException {
        return (ExportLogsServiceRequest) parse(json, ExportLogsServiceRequest.newBuilder());
    }

    static ExportMetricsServiceRequest parseMetrics(byte[] json) throws InvalidExportException {
        return (ExportMetricsServiceRequest) parse(json, ExportMetricsServiceRequest.newBuilder());
    }

    private static Message parse(byte[] json, Message.Builder builder) throws InvalidExportException {
        // Jackson would take a body that starts with NUL bytes as UTF-16 or UTF-32; OTLP/JSON is UTF-8 only
        if (!isUtf8(json) || (json.length >= 2 && (json[0] == 0 || json[1] == 0))) {
            throw new InvalidExportException("the body is not valid UTF-8, which OTLP/JSON requires");
        }
        try (JsonParser parser = JSON.createParser(json)) {
            OtlpJson reader =
                    new OtlpJson(parser, builder.getDescriptorForType().getName());
            try {
                reader.request(builder);
            } catch (JsonProcessingException e) {
                String path = reader.path();
                throw new InvalidExportException("the body is not valid JSON: " + jacksonMessage(e)
                        + (path.isEmpty() ? "" : " (in " + shorten(path) + ")"));
            }
        } catch (IOException e) {
            throw new IllegalStateException("reading a byte array failed", e);
        }
        return builder.build();
    }

    private void request(Message.Builder builder) throws IOException, InvalidExportException {
        JsonToken first = parser.nextToken();
        if (first == null) {
            throw new InvalidExportException("the body must be a JSON object; got nothing");
        }
        if (first != JsonToken.START_OBJECT) {
            throw new InvalidExportException(
                    "the body must be a JSON object; got " + (first == JsonToken.START_ARRAY ? "an array" : element()));
        }
        message(builder, 0);
        boolean more;
        try {
            more = parser.nextToken() != null;
        } catch (JsonProcessingException e) {
            more = true;
        }
        if (more) {
            throw new InvalidExportException("the body is not valid JSON: more follows the first JSON value");
        }
    }

    /** Reads the object whose start the parser is at into {@code builder}, nested {@code depth} messages deep. */
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
        JsonToken token;
        while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
            FieldDescriptor field = fields.get(parser.currentName());
            JsonToken value = parser.nextToken();
            if (field == null) {
                parser.skipChildren(); // unknown fields are ignored
                continue;
            }
            long bit = 1L << field.getIndex();
            if ((seen & bit) != 0) {
                parser.skipChildren();
                throw new InvalidExportException(
                        path() + " sets the field " + field.getJsonName() + " a second time in one object");
            }
            seen |= bit;
            if (value == JsonToken.VALUE_NULL) {
                continue; // the default, as for every field
            }
            if (field.isRepeated()) {
                repeated(builder, field, value, depth);
                continue;
            }
            Object parsed = value(builder, field, value, depth);
            OneofDescriptor oneof = field.getContainingOneof();
            if (oneof != null && builder.getOneofFieldDescriptor(oneof) != null) {
                throw shape(" is set where "
                        + builder.getOneofFieldDescriptor(oneof).getJsonName() + " already is (only one of "
                        + oneof.getName() + " may be)");
            }
            builder.setField(field, parsed);
        }
        if (token != JsonToken.END_OBJECT) {
            throw new IllegalStateException("a JSON object holds " + token);
        }
    }

    private void repeated(Message.Builder builder, FieldDescriptor field, JsonToken start, int depth)
            throws IOException, InvalidExportException {
        if (field.isMapField()) {
            throw new IllegalStateException("OTLP has no map fields: " + field.getFullName());
        }
        if (start != JsonToken.START_ARRAY) {
            throw shape(" must be an array; got " + element());
        }
        JsonToken token;
        while ((token = parser.nextToken()) != JsonToken.END_ARRAY) {
            if (token == JsonToken.VALUE_NULL) {
                if (field.getJavaType() == FieldDescriptor.JavaType.ENUM) {
                    continue; // JsonFormat skips a null enum value in a repeated field
                }
                throw shape(" must not be null (an element of the array " + field.getJsonName() + ")");
            }
            builder.addRepeatedField(field, value(builder, field, token, depth));
        }
    }

    /**
     * Reads the value (not null) of {@code field}, or an element of it if repeated, whose first token the parser is
     * at, as JsonFormat reads it.
     */
    private Object value(Message.Builder builder, FieldDescriptor field, JsonToken token, int depth)
            throws IOException, InvalidExportException {
        if (field.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
            if (token != JsonToken.START_OBJECT) {
                throw shape(" must be an object (a " + field.getMessageType().getName() + "); got " + element());
            }
            if (depth >= MAX_MESSAGE_DEPTH) {
                throw new InvalidExportException(
                        path() + " is nested more than " + MAX_MESSAGE_DEPTH + " messages deep");
            }
            Message.Builder child = builder.newBuilderForField(field);
            message(child, depth + 1);
            return child.build();
        }
        Integer idBytes = HEX_IDS.get(field);
        if (idBytes != null) {
            return hexId(token, idBytes);
        }
        if (field.getJavaType() == FieldDescriptor.JavaType.ENUM) {
            return enumValue(field.getEnumType(), token);
        }
        if (!token.isScalarValue()) {
            throw shape(" must be " + expected(field) + "; got " + element());
        }
        if (field.getType() == FieldDescriptor.Type.STRING && token == JsonToken.VALUE_STRING && !field.isRepeated()) {
            return utf8String();
        }
        if (token == JsonToken.VALUE_NUMBER_INT && parser.getNumberType() != JsonParser.NumberType.BIG_INTEGER) {
            // A plain integer of at most 64 bits: what JsonFormat reads with Long.parseLong, without its text.
            Object exact = integer(field, parser.getLongValue());
            if (exact != null) {
                return exact;
            }
        }
        // Every scalar is read from its text, as JsonFormat reads it (a number's digits as written, so a string
        // field takes 12 as "12", a boolean field the string "true").
        String text = parser.getText();
        switch (field.getJavaType()) {
            case INT, LONG, FLOAT, DOUBLE -> {
                checkNumberLength(text);
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
     * The value of an integer field from a JSON integer of at most 64 bits, as JsonFormat reads it, or null where
     * JsonFormat would read its text instead (a field of another type, or out of range, for the message).
     */
    private static Object integer(FieldDescriptor field, long value) {
        return switch (field.getType()) {
            case INT64, SINT64, SFIXED64 -> value;
            case UINT64, FIXED64 -> value >= 0 ? value : null;
            case INT32, SINT32, SFIXED32 -> value == (int) value ? (int) value : null;
            case UINT32, FIXED32 -> value >= 0 && value <= 0xFFFF_FFFFL ? (int) value : null;
            default -> null;
        };
    }

    /**
     * A string value as UTF-8 bytes, which protobuf's generated builders take for a string field (set...Bytes), as
     * they hold strings parsed from protobuf: writing the request for Kafka then copies them instead of encoding every
     * string twice (its UTF-8 length, then its bytes; the length alone had 28% of ingest's profile samples).
     */
    private ByteString utf8String() throws IOException, InvalidExportException {
        char[] chars = parser.getTextCharacters();
        int offset = parser.getTextOffset();
        int length = parser.getTextLength();
        for (int i = 0; i < length; i++) {
            if (chars[offset + i] >= 0x80) {
                String text = new String(chars, offset, length);
                checkUnicode(text);
                return ByteString.copyFromUtf8(text);
            }
        }
        byte[] ascii = new byte[length];
        for (int i = 0; i < length; i++) {
            ascii[i] = (byte) chars[offset + i];
        }
        return ByteString.copyFrom(ascii);
    }

    private ByteString hexId(JsonToken token, int bytes) throws IOException, InvalidExportException {
        if (token != JsonToken.VALUE_STRING) {
            throw notHex(bytes, element());
        }
        char[] chars = parser.getTextCharacters();
        int offset = parser.getTextOffset();
        int length = parser.getTextLength();
        // Hex of another even length is decoded, so that ExportChecks drops that one item (partial success) rather
        // than the whole request; what is not hex at all makes the body malformed.
        if (length % 2 != 0) {
            throw notHex(bytes, quoted(parser.getText()));
        }
        byte[] id = new byte[length / 2];
        for (int i = 0; i < id.length; i++) {
            char high = chars[offset + 2 * i];
            char low = chars[offset + 2 * i + 1];
            if (!HexFormat.isHexDigit(high) || !HexFormat.isHexDigit(low)) {
                throw notHex(bytes, quoted(parser.getText()));
            }
            id[i] = (byte) (HexFormat.fromHexDigit(high) << 4 | HexFormat.fromHexDigit(low));
        }
        return id.length == 0 ? ByteString.EMPTY : ByteString.copyFrom(id);
    }

    /** Call after reading the value, so that the path is where it was. */
    private InvalidExportException notHex(int bytes, String got) {
        return new InvalidExportException(
                path() + " must be " + (2 * bytes) + " hex characters (or empty); got " + got);
    }

    /**
     * An enum value is an integer (OTLP/JSON; a number such as {@code 2.0} is one, and so is a string of one, which
     * JsonFormat reads), or the name of one of the enum's values, which the specification no longer allows but
     * JsonFormat reads and older clients sent. A number the enum does not name (a later version's) is kept, as protobuf
     * keeps it. Anything else is malformed: JsonFormat, told to ignore unknown fields, would drop it without a word
     * ({@code 1.5}, an unknown name, {@code true}, {@code [1]}), and the item would be written as if the field were not
     * set, a span's error status or a log record's severity lost.
     */
    private EnumValueDescriptor enumValue(EnumDescriptor type, JsonToken token)
            throws IOException, InvalidExportException {
        if (!token.isScalarValue()) {
            throw notEnum(type, element());
        }
        String text = parser.getText();
        if (token == JsonToken.VALUE_STRING || token.isNumeric()) {
            checkNumberLength(text);
            EnumValueDescriptor named = token == JsonToken.VALUE_STRING ? type.findValueByName(text) : null;
            if (named != null) {
                return named;
            }
            try {
                return type.findValueByNumberCreatingIfUnknown(new BigDecimal(text).intValueExact());
            } catch (NumberFormatException | ArithmeticException e) {
                // not an integer of 32 bits
            }
        }
        throw notEnum(type, got(token, text));
    }

    /** Call after reading the value, so that the path is where it was. */
    private InvalidExportException notEnum(EnumDescriptor type, String got) {
        return new InvalidExportException(
                path() + " must be an integer (a value of enum " + type.getName() + "); got " + got);
    }

    private void checkNumberLength(String text) throws InvalidExportException {
        if (text.length() > MAX_NUMBER_CHARS) {
            throw new InvalidExportException(path() + " must be a number of at most " + MAX_NUMBER_CHARS
                    + " characters; got " + text.length() + " characters");
        }
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
        return unsigned(text, MAX_UINT32, "32").intValue();
    }

    private long uint64(String text) throws InvalidExportException {
        if (isDigits(text, 18)) {
            return Long.parseLong(text); // a time in nanoseconds, as a string, without BigDecimal: below 2^63
        }
        return unsigned(text, MAX_UINT64, "64").longValue();
    }

    /**
     * An unsigned integer, which JsonFormat reads through {@code BigDecimal.toBigIntegerExact}. That takes time in the
     * exponent: {@code 1e999999999}, 11 characters, is a billion digits, and JsonFormat spent minutes of CPU on it
     * before it could say that it does not fit. The number of its integer digits is known without them.
     */
    private BigInteger unsigned(String text, BigInteger max, String bits) throws InvalidExportException {
        BigInteger value;
        try {
            BigDecimal decimal = new BigDecimal(text);
            long integerDigits = (long) decimal.precision() - decimal.scale();
            if (decimal.signum() != 0 && integerDigits > 20) {
                throw shape(" must be an unsigned " + bits + "-bit integer; got " + got(text) + ", out of range");
            }
            if (decimal.signum() != 0 && integerDigits <= 0) {
                throw new ArithmeticException("a fraction"); // between -1 and 1, and not 0
            }
            value = decimal.toBigIntegerExact();
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

    /** Reads the value whose first token the parser is at, whatever it is, and shows it as JSON. */
    private String element() throws IOException {
        Prefix json = new Prefix();
        try (JsonGenerator generator = JSON.createGenerator(json)) {
            generator.copyCurrentStructure(parser);
        }
        return shorten(json.text.toString());
    }

    /** Keeps the start of what is written, enough to show; a wrong value may be megabytes long. */
    private static final class Prefix extends Writer {
        private final StringBuilder text = new StringBuilder();

        @Override
        public void write(char[] chars, int offset, int length) {
            text.append(chars, offset, Math.max(0, Math.min(length, 81 - text.length())));
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    }

    /** The scalar just read (its token is the parser's current one), as it was written. */
    private String got(String text) {
        return got(parser.currentToken(), text);
    }

    private static String got(JsonToken token, String text) {
        return token == JsonToken.VALUE_STRING ? quoted(text) : shorten(text);
    }

    private static String quoted(String text) {
        String start = text.length() <= 80 ? text : text.substring(0, 80);
        return shorten("\"" + new String(JsonStringEncoder.getInstance().quoteAsString(start)) + "\"");
    }

    /**
     * Where the value just read is, as its keys and indexes from the top of the body, such as {@code
     * resourceSpans[0].scopeSpans[0].spans[3].traceId}.
     */
    private String path() {
        Deque<String> parts = new ArrayDeque<>();
        for (JsonStreamContext c = parser.getParsingContext(); c != null && !c.inRoot(); c = c.getParent()) {
            if (c.inArray()) {
                parts.push("[" + Math.max(0, c.getCurrentIndex()) + "]");
            } else if (c.getCurrentName() != null) {
                parts.push((c.getParent() != null && c.getParent().inRoot() ? "" : ".") + c.getCurrentName());
            }
        }
        return String.join("", parts);
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
     * Jackson's message, for a client: what is wrong and where, without its advice to Java programmers and without the
     * body's text.
     */
    private static String jacksonMessage(JsonProcessingException e) {
        String message = String.valueOf(e.getOriginalMessage());
        int newline = message.indexOf('\n');
        message = newline < 0 ? message : message.substring(0, newline);
        int advice = message.indexOf(" (for ");
        message = advice < 0 ? message : message.substring(0, advice);
        message = message.replaceAll(", from `StreamReadConstraints[^`]*`\\)", ")");
        message = message.replaceAll(
                " \\(start marker at \\[Source: [^]]*; line: (\\d+), column: (\\d+)]\\)",
                " opened at line $1 column $2");
        JsonLocation where = e.getLocation();
        return where == null ? message : message + " at line " + where.getLineNr() + " column " + where.getColumnNr();
    }

    /**
     * Whether {@code bytes} are UTF-8 as RFC 3629 defines it (no overlong forms, no surrogates, nothing above U+10FFFF):
     * what the JDK's decoder accepts, without decoding. Runs of ASCII are checked eight bytes at a time.
     */
    static boolean isUtf8(byte[] bytes) {
        int i = 0;
        int n = bytes.length;
        while (i < n) {
            while (i + Long.BYTES <= n && ((long) LONGS.get(bytes, i) & 0x8080_8080_8080_8080L) == 0) {
                i += Long.BYTES;
            }
            if (i >= n) {
                break;
            }
            int b = bytes[i] & 0xFF;
            if (b < 0x80) {
                i++;
            } else if (b < 0xC2) {
                return false; // a continuation byte, or the start of an overlong form of ASCII
            } else if (b < 0xE0) {
                if (i + 1 >= n || !continuation(bytes[i + 1])) {
                    return false;
                }
                i += 2;
            } else if (b < 0xF0) {
                if (i + 2 >= n || !continuation(bytes[i + 1]) || !continuation(bytes[i + 2])) {
                    return false;
                }
                int second = bytes[i + 1] & 0xFF;
                if ((b == 0xE0 && second < 0xA0) || (b == 0xED && second >= 0xA0)) {
                    return false; // overlong, or a surrogate
                }
                i += 3;
            } else if (b < 0xF5) {
                if (i + 3 >= n
                        || !continuation(bytes[i + 1])
                        || !continuation(bytes[i + 2])
                        || !continuation(bytes[i + 3])) {
                    return false;
                }
                int second = bytes[i + 1] & 0xFF;
                if ((b == 0xF0 && second < 0x90) || (b == 0xF4 && second >= 0x90)) {
                    return false; // overlong, or above U+10FFFF
                }
                i += 4;
            } else {
                return false;
            }
        }
        return true;
    }

    private static boolean continuation(byte b) {
        return (b & 0xC0) == 0x80;
    }

    private static String shorten(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }
}
