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

    /**
     * The string value of {@code service.name}, or null when it is absent or not a string. Of duplicate keys the last
     * one wins, as it does in {@code resource_attributes}, so that the two columns never disagree.
     */
    @Nullable
    static String serviceName(Resource resource) {
        String name = null;
        for (KeyValue kv : resource.getAttributesList()) {
            if (kv.getKey().equals(SERVICE_NAME)) {
                name = kv.getValue().hasStringValue() ? kv.getValue().getStringValue() : null;
            }
        }
        return name;
    }

    /** Writes {@code <prefix>attributes} and {@code <prefix>attribute_types}. */
    static void putAttributes(GenericRecord row, String prefix, List<KeyValue> attributes) {
        AttributeCodec.Encoded encoded = AttributeCodec.encode(attributes);
        row.put(prefix + "attributes", encoded.values());
        row.put(prefix + "attribute_types", encoded.types());
    }

    /** Writes the attributes and their types at those positions of the row. */
    static void putAttributes(GenericRecord row, int valuesAt, int typesAt, List<KeyValue> attributes) {
        AttributeCodec.Encoded encoded = AttributeCodec.encode(attributes);
        row.put(valuesAt, encoded.values());
        row.put(typesAt, encoded.types());
    }

    static List<KeyValue> getAttributes(GenericRecord row, String prefix) {
        return AttributeCodec.decode(
                stringMap(row.get(prefix + "attributes")), stringMap(row.get(prefix + "attribute_types")));
    }

    /**
     * The resource and scope columns, encoded once for all the rows of one scope. Its maps (read-only, as {@link
     * AttributeCodec#encode} returns them) are shared by those rows: encoding them again for every row was a tenth
     * of the flattening.
     */
    record Origin(
            @Nullable String serviceName,
            Map<String, String> resourceAttributes,
            Map<String, String> resourceAttributeTypes,
            Long resourceDroppedAttributesCount,
            @Nullable String resourceSchemaUrl,
            @Nullable String scopeName,
            @Nullable String scopeVersion,
            Map<String, String> scopeAttributes,
            Map<String, String> scopeAttributeTypes,
            Long scopeDroppedAttributesCount,
            @Nullable String scopeSchemaUrl) {

        static Origin of(
                Resource resource, String resourceSchemaUrl, InstrumentationScope scope, String scopeSchemaUrl) {
            AttributeCodec.Encoded r = AttributeCodec.encode(resource.getAttributesList());
            AttributeCodec.Encoded s = AttributeCodec.encode(scope.getAttributesList());
            return new Origin(
                    Rows.serviceName(resource),
                    r.values(),
                    r.types(),
                    Integer.toUnsignedLong(resource.getDroppedAttributesCount()),
                    emptyToNull(resourceSchemaUrl),
                    emptyToNull(scope.getName()),
                    emptyToNull(scope.getVersion()),
                    s.values(),
                    s.types(),
                    Integer.toUnsignedLong(scope.getDroppedAttributesCount()),
                    emptyToNull(scopeSchemaUrl));
        }

        /** Puts the columns at the positions {@link #positions} found in the row's schema. */
        void put(GenericRecord row, int[] at) {
            row.put(at[0], serviceName);
            row.put(at[1], resourceAttributes);
            row.put(at[2], resourceAttributeTypes);
            row.put(at[3], resourceDroppedAttributesCount);
            row.put(at[4], resourceSchemaUrl);
            row.put(at[5], scopeName);
            row.put(at[6], scopeVersion);
            row.put(at[7], scopeAttributes);
            row.put(at[8], scopeAttributeTypes);
            row.put(at[9], scopeDroppedAttributesCount);
            row.put(at[10], scopeSchemaUrl);
        }

        /** The positions of the resource and scope columns in a row schema, in the order {@link #put} uses. */
        static int[] positions(org.apache.avro.Schema schema) {
            String[] names = {
                "service_name",
                "resource_attributes",
                "resource_attribute_types",
                "resource_dropped_attributes_count",
                "resource_schema_url",
                "scope_name",
                "scope_version",
                "scope_attributes",
                "scope_attribute_types",
                "scope_dropped_attributes_count",
                "scope_schema_url"
            };
            int[] at = new int[names.length];
            for (int i = 0; i < names.length; i++) {
                at[i] = schema.getField(names[i]).pos();
            }
            return at;
        }
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
