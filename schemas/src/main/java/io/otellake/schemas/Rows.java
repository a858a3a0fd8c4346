package io.otellake.schemas;

import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.generic.GenericRecord;
import org.jspecify.annotations.Nullable;

/** Column plumbing shared by the span, log and metric mappings. */
final class Rows {
    static final String SERVICE_NAME = "service.name";

    private Rows() {}

    @Nullable
    static String emptyToNull(String s) {
        return s.isEmpty() ? null : s;
    }

    static String nullToEmpty(@Nullable Object s) {
        return s == null ? "" : s.toString();
    }

    @Nullable
    static String serviceName(Resource resource) {
        for (KeyValue kv : resource.getAttributesList()) {
            if (kv.getKey().equals(SERVICE_NAME) && kv.getValue().hasStringValue()) {
                return kv.getValue().getStringValue();
            }
        }
        return null;
    }

    /** Writes {@code <prefix>attributes} and {@code <prefix>attribute_types}. */
    static void putAttributes(GenericRecord row, String prefix, List<KeyValue> attributes) {
        AttributeCodec.Encoded encoded = AttributeCodec.encode(attributes);
        row.put(prefix + "attributes", encoded.values());
        row.put(prefix + "attribute_types", encoded.types());
    }

    static List<KeyValue> getAttributes(GenericRecord row, String prefix) {
        return AttributeCodec.decode(
                stringMap(row.get(prefix + "attributes")), stringMap(row.get(prefix + "attribute_types")));
    }

    static void putResourceAndScope(
            GenericRecord row,
            Resource resource,
            String resourceSchemaUrl,
            InstrumentationScope scope,
            String scopeSchemaUrl) {
        row.put("service_name", serviceName(resource));
        putAttributes(row, "resource_", resource.getAttributesList());
        row.put("resource_dropped_attributes_count", Integer.toUnsignedLong(resource.getDroppedAttributesCount()));
        row.put("resource_schema_url", emptyToNull(resourceSchemaUrl));
        row.put("scope_name", emptyToNull(scope.getName()));
        row.put("scope_version", emptyToNull(scope.getVersion()));
        putAttributes(row, "scope_", scope.getAttributesList());
        row.put("scope_dropped_attributes_count", Integer.toUnsignedLong(scope.getDroppedAttributesCount()));
        row.put("scope_schema_url", emptyToNull(scopeSchemaUrl));
    }

    static Resource resource(GenericRecord row) {
        return Resource.newBuilder()
                .addAllAttributes(getAttributes(row, "resource_"))
                .setDroppedAttributesCount(uint32(row.get("resource_dropped_attributes_count")))
                .build();
    }

    static InstrumentationScope scope(GenericRecord row) {
        return InstrumentationScope.newBuilder()
                .setName(nullToEmpty(row.get("scope_name")))
                .setVersion(nullToEmpty(row.get("scope_version")))
                .addAllAttributes(getAttributes(row, "scope_"))
                .setDroppedAttributesCount(uint32(row.get("scope_dropped_attributes_count")))
                .build();
    }

    static int uint32(@Nullable Object value) {
        return value == null ? 0 : (int) ((Number) value).longValue();
    }

    static long int64(@Nullable Object value) {
        return value == null ? 0 : ((Number) value).longValue();
    }

    /** Avro hands maps back with {@code Utf8} keys and values; the lake's maps are string to string. */
    static Map<String, String> stringMap(@Nullable Object value) {
        if (value == null) {
            return Map.of();
        }
        Map<?, ?> raw = (Map<?, ?>) value;
        Map<String, String> out = new HashMap<>(raw.size() * 2);
        raw.forEach((k, v) -> out.put(k.toString(), v == null ? "" : v.toString()));
        return out;
    }
}
