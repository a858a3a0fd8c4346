package io.otellake.ingest;

import com.google.protobuf.ByteString;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Splits a trace export request into one Kafka record per trace id, keyed by the trace id's 16 bytes, so that every
 * span of a trace lands on the same partition however the client batched it (the archiver and any consumer that
 * assembles traces can rely on it).
 *
 * <p>Guarantees: each record is a valid {@link ExportTraceServiceRequest} holding exactly the spans of its trace,
 * under copies of their resource and scope (with schema URLs), in the order the request had them; records come in the
 * order of each trace's first span. A request of one trace is written as it is, byte for byte. Every span must already
 * have a 16-byte trace id ({@link ExportChecks} drops the others).
 */
final class TraceRecords {
    private TraceRecords() {}

    static List<KafkaPublisher.Payload> split(ExportTraceServiceRequest request) {
        ByteString only = singleTraceId(request);
        if (only != null) {
            return List.of(new KafkaPublisher.Payload(only.toByteArray(), request.toByteArray()));
        }
        // trace id -> resource index -> scope index -> spans; insertion order keeps the request's order.
        Map<ByteString, Map<Integer, Map<Integer, List<Span>>>> traces = new LinkedHashMap<>();
        for (int r = 0; r < request.getResourceSpansCount(); r++) {
            ResourceSpans resource = request.getResourceSpans(r);
            for (int s = 0; s < resource.getScopeSpansCount(); s++) {
                for (Span span : resource.getScopeSpans(s).getSpansList()) {
                    traces.computeIfAbsent(span.getTraceId(), k -> new LinkedHashMap<>())
                            .computeIfAbsent(r, k -> new LinkedHashMap<>())
                            .computeIfAbsent(s, k -> new ArrayList<>())
                            .add(span);
                }
            }
        }
        List<KafkaPublisher.Payload> payloads = new ArrayList<>(traces.size());
        traces.forEach((traceId, resources) -> {
            ExportTraceServiceRequest.Builder part = ExportTraceServiceRequest.newBuilder();
            resources.forEach((r, scopes) -> {
                ResourceSpans resource = request.getResourceSpans(r);
                ResourceSpans.Builder partResource = resource.toBuilder().clearScopeSpans();
                scopes.forEach((s, spans) -> partResource.addScopeSpans(
                        resource.getScopeSpans(s).toBuilder().clearSpans().addAllSpans(spans)));
                part.addResourceSpans(partResource);
            });
            payloads.add(new KafkaPublisher.Payload(
                    traceId.toByteArray(), part.build().toByteArray()));
        });
        return payloads;
    }

    /** The trace id every span shares, or null when there are several (or no spans). */
    private static @Nullable ByteString singleTraceId(ExportTraceServiceRequest request) {
        @Nullable ByteString found = null;
        for (ResourceSpans resource : request.getResourceSpansList()) {
            for (ScopeSpans scope : resource.getScopeSpansList()) {
                for (Span span : scope.getSpansList()) {
                    if (found == null) {
                        found = span.getTraceId();
                    } else if (!found.equals(span.getTraceId())) {
                        return null;
                    }
                }
            }
        }
        return found;
    }
}
