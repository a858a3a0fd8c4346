package io.otellake.schemas;

import com.fasterxml.jackson.core.io.schubfach.DoubleToDecimal;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.ArrayValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.common.v1.KeyValueList;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Turns OTLP values into the lake's text form and back, without loss.
 *
 * <p>Attributes are stored as two Parquet maps: {@code attributes} (key to value as text) and {@code
 * attribute_types} (key to OTLP type, only for values that are not strings). So {@code attributes['http.route']}
 * works in every engine, and the pair restores the exact OTLP value:
 *
 * <ul>
 *   <li>string: the string itself (no entry in the types map);
 *   <li>int: decimal, e.g. {@code -42};
 *   <li>double: the shortest decimal that reads back as the same double, in the form of Java's
 *       {@code Double.toString} since Java 19 on every Java version ({@link #doubleText}), e.g. {@code 0.25},
 *       {@code 1.0E23}, {@code NaN}, {@code Infinity};
 *   <li>bool: {@code true} or {@code false};
 *   <li>bytes: standard base64, as in OTLP/JSON;
 *   <li>array and kvlist: the OTLP/JSON encoding of the {@code ArrayValue} or {@code KeyValueList} message;
 *   <li>empty (an AnyValue with no value): the empty string;
 *   <li>strindex (a profiles-only dictionary index): decimal.
 * </ul>
 *
 * <p>Not kept: the order of keys, and duplicate keys (OTLP forbids them; the last one wins); a key's
 * {@code key_strindex} (profiles only); and the difference between a top-level attribute without a value and one whose
 * value is an empty {@code AnyValue} (the same thing in OTLP; it comes back as the latter).
 */
public final class AttributeCodec {
    /** Type names used in the {@code *_attribute_types} maps and in {@code body_type}. */
    public static final String STRING = "string";

    public static final String INT = "int";
    public static final String DOUBLE = "double";

    /**
     * A double's text in the lake: the shortest decimal that reads back as the same double, as Java 19+ prints it
     * ({@code 1.0E23}, {@code 2.82879384806159E17}). Java 17's {@code Double.toString} prints some doubles longer than
     * that ({@code 9.999999999999999E22}, {@code 2.82879384806159008E17}), so the text would depend on the archiver's
     * Java version; Jackson's Schubfach is the algorithm of Java 19+.
     */
    public static String doubleText(double value) {
        return DoubleToDecimal.toString(value);
    }

    public static final String BOOL = "bool";
    public static final String BYTES = "bytes";
    public static final String ARRAY = "array";
    public static final String KVLIST = "kvlist";
    public static final String EMPTY = "empty";
    /** A profiles-only dictionary reference; meaningless in traces and logs, but kept so nothing is lost. */
    public static final String STRINDEX = "strindex";

    private static final JsonFormat.Printer JSON_CAMEL = JsonFormat.printer().omittingInsignificantWhitespace();
    private static final JsonFormat.Parser JSON_PARSER = JsonFormat.parser();

    private AttributeCodec() {}

    /** Attributes in the lake's form: the text of every value, and the type of every value that is no string. */
    public record Encoded(Map<String, String> values, Map<String, String> types) {}

    /** A single value in the lake's form. */
    public record EncodedValue(String text, String type) {}

    public static Encoded encode(List<KeyValue> attributes) {
        if (attributes.isEmpty()) {
            return new Encoded(Map.of(), Map.of());
        }
        if (attributes.size() > SMALL) {
            return encodeLarge(attributes);
        }
        // Spans and log records carry a handful of attributes each: array-backed maps, no hashing of the keys.
        AttributeMap values = new AttributeMap(attributes.size());
        AttributeMap types = null; // most attributes are strings: no map for them
        for (KeyValue kv : attributes) {
            AnyValue value = kv.getValue();
            if (value.getValueCase() == AnyValue.ValueCase.STRING_VALUE) {
                values.add(kv.getKey(), value.getStringValue());
                if (types != null) {
                    types.delete(kv.getKey());
                }
                continue;
            }
            EncodedValue encoded = encodeValue(value);
            values.add(kv.getKey(), encoded.text());
            if (types == null) {
                types = new AttributeMap(4);
            }
            types.add(kv.getKey(), encoded.type());
        }
        return new Encoded(values.built(), types == null || types.isEmpty() ? Map.of() : types.built());
    }

    /** Up to this many attributes go to array-backed maps, whose duplicate check is a linear scan. */
    private static final int SMALL = 32;

    private static Encoded encodeLarge(List<KeyValue> attributes) {
        Map<String, String> values = new LinkedHashMap<>(attributes.size() * 2);
        Map<String, String> types = null;
        for (KeyValue kv : attributes) {
            AnyValue value = kv.getValue();
            if (value.getValueCase() == AnyValue.ValueCase.STRING_VALUE) {
                values.put(kv.getKey(), value.getStringValue());
                if (types != null) {
                    types.remove(kv.getKey());
                }
                continue;
            }
            EncodedValue encoded = encodeValue(value);
            values.put(kv.getKey(), encoded.text());
            if (types == null) {
                types = new LinkedHashMap<>();
            }
            types.put(kv.getKey(), encoded.type());
        }
        return new Encoded(
                Collections.unmodifiableMap(values), types == null ? Map.of() : Collections.unmodifiableMap(types));
    }

    /**
     * {@link #encode(List)} of attributes already in the lake's form, as the wire reader of spans has them: the
     * {@code count} first keys, texts and types, where a null type is a string. The same maps, in the same order.
     *
     * <p>When {@code like}, a map built before, has the very key instances {@code keys[0, count)}
     * ({@link AttributeMap#hasKeys}), there is no key twice and the values map shares {@code like}'s array of keys
     * ({@link AttributeMap#withValues}): the archiver holds a file's rows until it writes them, and spans of one kind
     * carry the same keys, one array fewer per row for the garbage collector to copy.
     */
    static Encoded encode(
            int count, String[] keys, String[] texts, @Nullable String[] types, @Nullable AttributeMap like) {
        if (count == 0) {
            return new Encoded(Map.of(), Map.of());
        }
        if (count > SMALL) {
            Map<String, String> values = new LinkedHashMap<>(count * 2);
            Map<String, String> typeMap = null;
            for (int i = 0; i < count; i++) {
                values.put(keys[i], texts[i]);
                if (types[i] == null) {
                    if (typeMap != null) {
                        typeMap.remove(keys[i]);
                    }
                    continue;
                }
                if (typeMap == null) {
                    typeMap = new LinkedHashMap<>();
                }
                typeMap.put(keys[i], types[i]);
            }
            return new Encoded(
                    Collections.unmodifiableMap(values),
                    typeMap == null ? Map.of() : Collections.unmodifiableMap(typeMap));
        }
        boolean sameKeys = like != null && like.hasKeys(keys, count);
        AttributeMap values = sameKeys ? like.withValues(Arrays.copyOf(texts, count)) : new AttributeMap(count);
        AttributeMap typeMap = null;
        for (int i = 0; i < count; i++) {
            if (!sameKeys) {
                values.add(keys[i], texts[i]);
            }
            if (types[i] == null) {
                if (typeMap != null) {
                    typeMap.delete(keys[i]);
                }
                continue;
            }
            if (typeMap == null) {
                typeMap = new AttributeMap(4);
            }
            typeMap.add(keys[i], types[i]);
        }
        return new Encoded(values.built(), typeMap == null || typeMap.isEmpty() ? Map.of() : typeMap.built());
    }

    public static EncodedValue encodeValue(AnyValue value) {
        return switch (value.getValueCase()) {
            case STRING_VALUE -> new EncodedValue(value.getStringValue(), STRING);
            case INT_VALUE -> new EncodedValue(Long.toString(value.getIntValue()), INT);
            case DOUBLE_VALUE -> new EncodedValue(doubleText(value.getDoubleValue()), DOUBLE);
            case BOOL_VALUE -> new EncodedValue(Boolean.toString(value.getBoolValue()), BOOL);
            case BYTES_VALUE ->
                new EncodedValue(
                        Base64.getEncoder().encodeToString(value.getBytesValue().toByteArray()), BYTES);
            case ARRAY_VALUE -> new EncodedValue(printJson(value.getArrayValue()), ARRAY);
            case KVLIST_VALUE -> new EncodedValue(printJson(value.getKvlistValue()), KVLIST);
            case STRING_VALUE_STRINDEX -> new EncodedValue(Integer.toString(value.getStringValueStrindex()), STRINDEX);
            case VALUE_NOT_SET -> new EncodedValue("", EMPTY);
        };
    }

    /** Restores OTLP attributes from the two maps. Throws {@link IllegalArgumentException} on corrupt input. */
    public static List<KeyValue> decode(Map<String, String> values, Map<String, String> types) {
        List<KeyValue> out = new ArrayList<>(values.size());
        for (Map.Entry<String, String> e : values.entrySet()) {
            out.add(KeyValue.newBuilder()
                    .setKey(e.getKey())
                    .setValue(decodeValue(e.getValue(), types.getOrDefault(e.getKey(), STRING)))
                    .build());
        }
        return out;
    }

    public static AnyValue decodeValue(String text, @Nullable String type) {
        AnyValue.Builder b = AnyValue.newBuilder();
        try {
            switch (type == null ? STRING : type) {
                case STRING -> b.setStringValue(text);
                case INT -> b.setIntValue(Long.parseLong(text));
                case DOUBLE -> b.setDoubleValue(Double.parseDouble(text));
                case BOOL -> b.setBoolValue(Boolean.parseBoolean(text));
                case BYTES ->
                    b.setBytesValue(ByteString.copyFrom(Base64.getDecoder().decode(text)));
                case ARRAY -> {
                    ArrayValue.Builder array = ArrayValue.newBuilder();
                    JSON_PARSER.merge(text, array);
                    if (text.contains("-0")) {
                        negativeZeros(JsonParser.parseString(text), array);
                    }
                    b.setArrayValue(array);
                }
                case KVLIST -> {
                    KeyValueList.Builder list = KeyValueList.newBuilder();
                    JSON_PARSER.merge(text, list);
                    if (text.contains("-0")) {
                        negativeZeros(JsonParser.parseString(text), list);
                    }
                    b.setKvlistValue(list);
                }
                case STRINDEX -> b.setStringValueStrindex(Integer.parseInt(text));
                case EMPTY -> {}
                default -> throw new IllegalArgumentException("unknown attribute type '" + type + "'");
            }
        } catch (InvalidProtocolBufferException | NumberFormatException | JsonParseException e) {
            throw new IllegalArgumentException("cannot decode a value of type " + type + ": " + e.getMessage(), e);
        }
        return b.build();
    }

    // JsonFormat reads a double through BigDecimal, which has no negative zero: "-0.0" came back as 0.0. The sign of
    // each zero is taken again from the text, walking its tree alongside the message JsonFormat built from it.

    private static void negativeZeros(@Nullable JsonElement json, ArrayValue.Builder array) {
        JsonArray values = array(member(json, "values"));
        for (int i = 0; i < Math.min(values.size(), array.getValuesCount()); i++) {
            negativeZeros(values.get(i), array.getValuesBuilder(i));
        }
    }

    private static void negativeZeros(@Nullable JsonElement json, KeyValueList.Builder list) {
        JsonArray values = array(member(json, "values"));
        for (int i = 0; i < Math.min(values.size(), list.getValuesCount()); i++) {
            KeyValue.Builder kv = list.getValuesBuilder(i);
            if (kv.hasValue()) {
                negativeZeros(member(values.get(i), "value"), kv.getValueBuilder());
            }
        }
    }

    private static void negativeZeros(@Nullable JsonElement json, AnyValue.Builder value) {
        switch (value.getValueCase()) {
            case DOUBLE_VALUE -> {
                JsonElement number = member(json, "doubleValue", "double_value");
                if (value.getDoubleValue() == 0
                        && number != null
                        && number.isJsonPrimitive()
                        && Double.compare(Double.parseDouble(number.getAsString()), -0.0) == 0) {
                    value.setDoubleValue(-0.0);
                }
            }
            case ARRAY_VALUE -> negativeZeros(member(json, "arrayValue", "array_value"), value.getArrayValueBuilder());
            case KVLIST_VALUE ->
                negativeZeros(member(json, "kvlistValue", "kvlist_value"), value.getKvlistValueBuilder());
            default -> {}
        }
    }

    /** The member of a JSON object under the first of its names present (OTLP/JSON or proto, as JsonFormat accepts). */
    private static @Nullable JsonElement member(@Nullable JsonElement json, String... names) {
        if (json == null || !json.isJsonObject()) {
            return null;
        }
        JsonObject object = json.getAsJsonObject();
        for (String name : names) {
            if (object.has(name)) {
                return object.get(name);
            }
        }
        return null;
    }

    private static JsonArray array(@Nullable JsonElement json) {
        return json != null && json.isJsonArray() ? json.getAsJsonArray() : new JsonArray();
    }

    private static String printJson(com.google.protobuf.MessageOrBuilder message) {
        try {
            // lowerCamelCase names (stringValue, kvlistValue), as the OTLP/JSON encoding prescribes.
            return JSON_CAMEL.print(message);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("OTLP value cannot be printed as JSON", e);
        }
    }
}
