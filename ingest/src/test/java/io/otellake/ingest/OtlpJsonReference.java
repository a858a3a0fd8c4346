package io.otellake.ingest;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import java.io.IOException;
import java.io.StringReader;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The OTLP/JSON reader ingest used before {@link OtlpJson}, kept as the reference that {@code OtlpJsonDifferentialTest}
 * compares it with: a Gson tree, each id rewritten from hex to base64 at its exact place, checks of numbers, enums and
 * strings on the tree, then protobuf's own {@code JsonFormat} on the tree printed again. Correct, and about six times
 * the CPU of protobuf per span. It reads text; ingest decoded the body from UTF-8 first, refusing what is not.
 */
final class OtlpJsonReference {
    static final int TRACE_ID_BYTES = 16;
    static final int SPAN_ID_BYTES = 8;

    /**
     * The most characters of a number's value, as a JSON number or a string: far more than any number of a field needs
     * (a 64-bit integer has at most 20 digits, a double is exact in 17 significant ones), and Gson reads no longer
     * JSON number anyway (its buffer is 1024 characters).
     */
    static final int MAX_NUMBER_CHARS = 1024;

    /** Each message type's fields by the keys JsonFormat reads them under: the JSON name and the proto name. */
    private static final Map<Descriptor, Map<String, FieldDescriptor>> FIELDS_BY_KEY = new ConcurrentHashMap<>();

    private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();
    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();
    private static final Base64.Encoder BASE64 = Base64.getEncoder();
    private static final HexFormat HEX = HexFormat.of();

    private OtlpJsonReference() {}

    static ExportTraceServiceRequest parseTraces(String json) throws InvalidExportException {
        JsonObject root = parseObject(json);
        for (Child rs : children(root, "resourceSpans", "resource_spans", "")) {
            for (Child ss : children(rs.object, "scopeSpans", "scope_spans", rs.path)) {
                for (Child span : children(ss.object, "spans", "spans", ss.path)) {
                    hexToBase64(span, "traceId", "trace_id", TRACE_ID_BYTES);
                    hexToBase64(span, "spanId", "span_id", SPAN_ID_BYTES);
                    hexToBase64(span, "parentSpanId", "parent_span_id", SPAN_ID_BYTES);
                    for (Child link : children(span.object, "links", "links", span.path)) {
                        hexToBase64(link, "traceId", "trace_id", TRACE_ID_BYTES);
                        hexToBase64(link, "spanId", "span_id", SPAN_ID_BYTES);
                    }
                }
            }
        }
        return merge(root, ExportTraceServiceRequest.newBuilder()).build();
    }

    static ExportLogsServiceRequest parseLogs(String json) throws InvalidExportException {
        JsonObject root = parseObject(json);
        for (Child rl : children(root, "resourceLogs", "resource_logs", "")) {
            for (Child sl : children(rl.object, "scopeLogs", "scope_logs", rl.path)) {
                for (Child log : children(sl.object, "logRecords", "log_records", sl.path)) {
                    hexToBase64(log, "traceId", "trace_id", TRACE_ID_BYTES);
                    hexToBase64(log, "spanId", "span_id", SPAN_ID_BYTES);
                }
            }
        }
        return merge(root, ExportLogsServiceRequest.newBuilder()).build();
    }

    static ExportMetricsServiceRequest parseMetrics(String json) throws InvalidExportException {
        JsonObject root = parseObject(json);
        for (Child rm : children(root, "resourceMetrics", "resource_metrics", "")) {
            for (Child sm : children(rm.object, "scopeMetrics", "scope_metrics", rm.path)) {
                for (Child metric : children(sm.object, "metrics", "metrics", sm.path)) {
                    for (String data : METRIC_DATA) {
                        for (Child point : dataPoints(metric, data)) {
                            for (Child exemplar : children(point.object, "exemplars", "exemplars", point.path)) {
                                hexToBase64(exemplar, "traceId", "trace_id", TRACE_ID_BYTES);
                                hexToBase64(exemplar, "spanId", "span_id", SPAN_ID_BYTES);
                            }
                        }
                    }
                }
            }
        }
        return merge(root, ExportMetricsServiceRequest.newBuilder()).build();
    }

    /** The kinds of metric data whose points may carry exemplars, in lowerCamelCase and snake_case. */
    private static final List<String> METRIC_DATA =
            List.of("gauge", "sum", "histogram", "exponentialHistogram", "exponential_histogram");

    private static List<Child> dataPoints(Child metric, String key) {
        JsonElement data = metric.object.get(key);
        if (data == null || !data.isJsonObject()) {
            return List.of();
        }
        return children(data.getAsJsonObject(), "dataPoints", "data_points", join(metric.path, key));
    }

    private static JsonObject parseObject(String json) throws InvalidExportException {
        JsonReader reader = new JsonReader(new StringReader(json));
        reader.setStrictness(Strictness.STRICT);
        JsonElement root;
        try {
            root = GSON.fromJson(reader, JsonElement.class);
        } catch (JsonParseException e) {
            throw new InvalidExportException("the body is not valid JSON: " + gsonMessage(e));
        }
        if (root == null || !root.isJsonObject()) {
            throw new InvalidExportException("the body must be a JSON object; got "
                    + (root == null ? "nothing" : root.isJsonArray() ? "an array" : shorten(root.toString())));
        }
        boolean more;
        try {
            more = reader.peek() != JsonToken.END_DOCUMENT;
        } catch (IOException e) {
            more = true;
        }
        if (more) {
            throw new InvalidExportException("the body is not valid JSON: more follows the first JSON value");
        }
        return root.getAsJsonObject();
    }

    private static <B extends Message.Builder> B merge(JsonObject root, B builder) throws InvalidExportException {
        checkValues(root, builder.getDescriptorForType(), "");
        try {
            PARSER.merge(GSON.toJson(root), builder);
            return builder;
        } catch (InvalidProtocolBufferException e) {
            throw new InvalidExportException("the body is not a valid OTLP/JSON "
                    + builder.getDescriptorForType().getName() + ": " + e.getMessage());
        }
    }

    /**
     * Checks the values JsonFormat will read of a message and of every message in it, by their fields' types. Unknown
     * keys, and values of a shape JsonFormat refuses anyway, are left alone.
     */
    private static void checkValues(JsonObject object, Descriptor type, String path) throws InvalidExportException {
        Map<String, FieldDescriptor> fields = FIELDS_BY_KEY.computeIfAbsent(type, t -> {
            Map<String, FieldDescriptor> byKey = new HashMap<>();
            for (FieldDescriptor f : t.getFields()) {
                byKey.put(f.getName(), f);
                byKey.put(f.getJsonName(), f);
            }
            return byKey;
        });
        for (Map.Entry<String, JsonElement> member : object.entrySet()) {
            FieldDescriptor field = fields.get(member.getKey());
            if (field == null || field.isMapField()) {
                continue; // unknown fields are ignored; OTLP has no map fields
            }
            String fieldPath = join(path, member.getKey());
            JsonElement value = member.getValue();
            if (field.isRepeated() && value.isJsonArray()) {
                JsonArray elements = value.getAsJsonArray();
                for (int i = 0; i < elements.size(); i++) {
                    checkValue(elements.get(i), field, fieldPath + "[" + i + "]");
                }
            } else {
                checkValue(value, field, fieldPath);
            }
        }
    }

    private static void checkValue(JsonElement value, FieldDescriptor field, String path)
            throws InvalidExportException {
        switch (field.getJavaType()) {
            case MESSAGE -> {
                if (value.isJsonObject()) {
                    checkValues(value.getAsJsonObject(), field.getMessageType(), path);
                }
            }
            case INT, LONG, FLOAT, DOUBLE -> {
                if (value.isJsonPrimitive()) {
                    checkNumberLength(value.getAsString(), path);
                }
            }
            case ENUM -> checkEnum(value, field.getEnumType(), path);
            case STRING -> {
                if (value.isJsonPrimitive()) {
                    checkUnicode(value.getAsString(), path);
                }
            }
            default -> {
                // JsonFormat reads bytes and booleans in time linear in their length
            }
        }
    }

    /**
     * An enum value is an integer (OTLP/JSON; a number such as {@code 2.0} is one, and so is a string of one, which
     * JsonFormat reads), or the name of one of the enum's values, which the specification no longer allows but
     * JsonFormat reads and older clients sent. Anything else is malformed: JsonFormat, told to ignore unknown fields,
     * would drop it without a word ({@code 1.5}, an unknown name, {@code true}, {@code [1]}), and the item would be
     * written as if the field were not set, a span's error status or a log record's severity lost.
     */
    private static void checkEnum(JsonElement value, EnumDescriptor type, String path) throws InvalidExportException {
        if (value.isJsonNull()) {
            return; // the default, as for every field
        }
        if (value.isJsonPrimitive()) {
            JsonPrimitive primitive = value.getAsJsonPrimitive();
            String text = primitive.getAsString();
            checkNumberLength(text, path);
            if (primitive.isString() && type.findValueByName(text) != null) {
                return;
            }
            if (!primitive.isBoolean()) {
                try {
                    new BigDecimal(text).intValueExact();
                    return;
                } catch (NumberFormatException | ArithmeticException e) {
                    // not an integer of 32 bits
                }
            }
        }
        throw new InvalidExportException(path + " must be an integer (a value of enum " + type.getName() + "); got "
                + shorten(value.toString()));
    }

    private static void checkNumberLength(String text, String path) throws InvalidExportException {
        if (text.length() > MAX_NUMBER_CHARS) {
            throw new InvalidExportException(path + " must be a number of at most " + MAX_NUMBER_CHARS
                    + " characters; got " + text.length() + " characters");
        }
    }

    /**
     * A string must be Unicode text: protobuf holds it as UTF-8, which cannot encode half of a surrogate pair, so the
     * protobuf encoder would write such a character (JSON escapes one as backslash, u and its hex) as {@code ?}, and the value written
     * would not be the value sent. Binary protobuf with invalid UTF-8 in a string is refused too.
     */
    private static void checkUnicode(String text, String path) throws InvalidExportException {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!Character.isSurrogate(c)) {
                continue;
            }
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
                continue;
            }
            throw new InvalidExportException(path + " is not valid Unicode: character " + i + " is \\u"
                    + HEX.toHexDigits(c) + ", half of a surrogate pair");
        }
    }

    private static void hexToBase64(Child parent, String camel, String snake, int bytes) throws InvalidExportException {
        hexToBase64(parent, camel, bytes);
        hexToBase64(parent, snake, bytes);
    }

    private static void hexToBase64(Child parent, String key, int bytes) throws InvalidExportException {
        JsonElement value = parent.object.get(key);
        if (value == null || value.isJsonNull()) {
            return;
        }
        String hex = value.isJsonPrimitive() && value.getAsJsonPrimitive().isString() ? value.getAsString() : null;
        // Hex of another even length is decoded, so that ExportChecks drops that one item (partial success) rather
        // than the whole request; what is not hex at all makes the body malformed.
        if (hex == null || !isHex(hex)) {
            throw new InvalidExportException(parent.path + "." + key + " must be " + (2 * bytes)
                    + " hex characters (or empty); got " + shorten(value.toString()));
        }
        if (!hex.isEmpty()) {
            parent.object.add(key, new JsonPrimitive(BASE64.encodeToString(HEX.parseHex(hex))));
        }
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

    /**
     * The objects in the array under {@code camel} (or {@code snake}). Anything else there (not an array, elements
     * not objects) is left for JsonFormat, which rejects it with its own message.
     */
    private static List<Child> children(JsonObject parent, String camel, String snake, String parentPath) {
        List<Child> children = new ArrayList<>();
        addChildren(parent.get(camel), join(parentPath, camel), children);
        if (!snake.equals(camel)) {
            addChildren(parent.get(snake), join(parentPath, snake), children);
        }
        return children;
    }

    private static void addChildren(JsonElement array, String path, List<Child> children) {
        if (array == null || !array.isJsonArray()) {
            return;
        }
        JsonArray elements = array.getAsJsonArray();
        for (int i = 0; i < elements.size(); i++) {
            if (elements.get(i).isJsonObject()) {
                children.add(new Child(elements.get(i).getAsJsonObject(), path + "[" + i + "]"));
            }
        }
    }

    private static String join(String parentPath, String key) {
        return parentPath.isEmpty() ? key : parentPath + "." + key;
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

    /** A JSON object and where it is in the request, for error messages. */
    private record Child(JsonObject object, String path) {}
}
