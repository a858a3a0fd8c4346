package io.otellake.query;

import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.otellake.schemas.AttributeCodec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * Turns the lake's text-plus-type attributes into JSON values that keep their OTLP type: strings stay strings, ints
 * and doubles become numbers (NaN and infinities become the strings {@code "NaN"}, {@code "Infinity"},
 * {@code "-Infinity"}), bools become booleans, bytes become base64 strings, arrays become arrays, kvlists become
 * objects, and an empty value becomes null.
 */
final class TypedValues {
    private TypedValues() {}

    static Map<String, Object> attributes(Map<String, String> values, Map<String, String> types) {
        Map<String, Object> out = new TreeMap<>();
        for (KeyValue kv : AttributeCodec.decode(values, types)) {
            out.put(kv.getKey(), json(kv.getValue()));
        }
        return out;
    }

    @Nullable
    static Object value(@Nullable String text, @Nullable String type) {
        if (type == null) {
            return null;
        }
        return json(AttributeCodec.decodeValue(text == null ? "" : text, type));
    }

    @Nullable
    static Object json(AnyValue v) {
        return switch (v.getValueCase()) {
            case STRING_VALUE -> v.getStringValue();
            case INT_VALUE -> v.getIntValue();
            case DOUBLE_VALUE ->
                Double.isFinite(v.getDoubleValue()) ? (Object) v.getDoubleValue() : Double.toString(v.getDoubleValue());
            case BOOL_VALUE -> v.getBoolValue();
            case BYTES_VALUE ->
                Base64.getEncoder().encodeToString(v.getBytesValue().toByteArray());
            case ARRAY_VALUE -> {
                List<Object> list = new ArrayList<>();
                for (AnyValue e : v.getArrayValue().getValuesList()) {
                    list.add(json(e));
                }
                yield list;
            }
            case KVLIST_VALUE -> {
                Map<String, Object> map = new LinkedHashMap<>();
                for (KeyValue kv : v.getKvlistValue().getValuesList()) {
                    map.put(kv.getKey(), json(kv.getValue()));
                }
                yield map;
            }
            case STRING_VALUE_STRINDEX -> v.getStringValueStrindex();
            case VALUE_NOT_SET -> null;
        };
    }
}
