package io.otellake.query;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.otellake.schemas.Ids;
import io.otellake.schemas.SpanFlattener;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.generic.GenericRecord;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * A trace as an OTLP/JSON {@code ExportTraceServiceRequest}, so that any OTLP tool can replay it: spans of the same
 * resource and scope are grouped again, ids are hex (not base64, as the OTLP/JSON encoding requires), field names
 * lowerCamelCase, enums integers, 64-bit integers strings.
 */
final class OtlpTraceJson {
    private static final JsonFormat.Printer PRINTER =
            JsonFormat.printer().omittingInsignificantWhitespace().printingEnumsAsInts();
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private OtlpTraceJson() {}

    static ExportTraceServiceRequest request(List<GenericRecord> rows) {
        Map<ResourceSpans, Map<ScopeSpans, List<Span>>> grouped = new LinkedHashMap<>();
        for (GenericRecord row : rows) {
            ResourceSpans one = SpanFlattener.restore(row);
            ScopeSpans scope = one.getScopeSpans(0);
            ResourceSpans resourceKey = one.toBuilder().clearScopeSpans().build();
            ScopeSpans scopeKey = scope.toBuilder().clearSpans().build();
            grouped.computeIfAbsent(resourceKey, k -> new LinkedHashMap<>())
                    .computeIfAbsent(scopeKey, k -> new ArrayList<>())
                    .addAll(scope.getSpansList());
        }
        ExportTraceServiceRequest.Builder request = ExportTraceServiceRequest.newBuilder();
        grouped.forEach((resource, scopes) -> {
            ResourceSpans.Builder rs = resource.toBuilder();
            scopes.forEach((scope, spans) -> rs.addScopeSpans(scope.toBuilder().addAllSpans(spans)));
            request.addResourceSpans(rs);
        });
        return request.build();
    }

    static String json(ExportTraceServiceRequest request) {
        try {
            JsonNode tree = JSON.readTree(PRINTER.print(request));
            for (JsonNode rs : tree.path("resourceSpans")) {
                for (JsonNode ss : rs.path("scopeSpans")) {
                    for (JsonNode span : ss.path("spans")) {
                        hex((ObjectNode) span, "traceId", "spanId", "parentSpanId");
                        for (JsonNode link : span.path("links")) {
                            hex((ObjectNode) link, "traceId", "spanId");
                        }
                    }
                }
            }
            return JSON.writeValueAsString(tree);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("a trace cannot be printed as OTLP/JSON", e);
        }
    }

    private static void hex(ObjectNode node, String... fields) {
        for (String field : fields) {
            JsonNode value = node.get(field);
            if (value != null && value.isString()) {
                node.put(
                        field,
                        Ids.toHex(ByteString.copyFrom(
                                java.util.Base64.getDecoder().decode(value.asString()))));
            }
        }
    }
}
