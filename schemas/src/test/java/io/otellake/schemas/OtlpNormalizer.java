package io.otellake.schemas;

import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Sorts attribute keys and makes an absent span status present: the only differences the lake allows itself, so
 * that messages can be compared with equals.
 */
final class OtlpNormalizer {
    private OtlpNormalizer() {}

    static List<KeyValue> sorted(List<KeyValue> attributes) {
        List<KeyValue> copy = new ArrayList<>(attributes);
        copy.sort(Comparator.comparing(KeyValue::getKey));
        return copy;
    }

    static Resource normalize(Resource r) {
        return r.toBuilder()
                .clearAttributes()
                .addAllAttributes(sorted(r.getAttributesList()))
                .build();
    }

    static InstrumentationScope normalize(InstrumentationScope s) {
        return s.toBuilder()
                .clearAttributes()
                .addAllAttributes(sorted(s.getAttributesList()))
                .build();
    }

    static Span normalize(Span span) {
        Span.Builder b = span.toBuilder()
                .setStatus(span.getStatus()) // absent and UNSET are the same status
                .clearAttributes()
                .addAllAttributes(sorted(span.getAttributesList()));
        b.clearEvents();
        for (Span.Event e : span.getEventsList()) {
            b.addEvents(e.toBuilder().clearAttributes().addAllAttributes(sorted(e.getAttributesList())));
        }
        b.clearLinks();
        for (Span.Link l : span.getLinksList()) {
            b.addLinks(l.toBuilder().clearAttributes().addAllAttributes(sorted(l.getAttributesList())));
        }
        return b.build();
    }

    static LogRecord normalize(LogRecord log) {
        return log.toBuilder()
                .clearAttributes()
                .addAllAttributes(sorted(log.getAttributesList()))
                .build();
    }

    /** One ResourceSpans per span, each normalized: the shape {@link SpanFlattener#restore} produces. */
    static List<ResourceSpans> explode(List<ResourceSpans> request) {
        List<ResourceSpans> out = new ArrayList<>();
        for (ResourceSpans rs : request) {
            for (var ss : rs.getScopeSpansList()) {
                for (Span span : ss.getSpansList()) {
                    out.add(ResourceSpans.newBuilder()
                            .setResource(normalize(rs.getResource()))
                            .setSchemaUrl(rs.getSchemaUrl())
                            .addScopeSpans(ss.toBuilder()
                                    .setScope(normalize(ss.getScope()))
                                    .clearSpans()
                                    .addSpans(normalize(span)))
                            .build());
                }
            }
        }
        return out;
    }

    static ResourceSpans normalize(ResourceSpans rs) {
        return explode(List.of(rs)).get(0);
    }

    static List<ResourceLogs> explodeLogs(List<ResourceLogs> request) {
        List<ResourceLogs> out = new ArrayList<>();
        for (ResourceLogs rl : request) {
            for (var sl : rl.getScopeLogsList()) {
                for (LogRecord log : sl.getLogRecordsList()) {
                    out.add(ResourceLogs.newBuilder()
                            .setResource(normalize(rl.getResource()))
                            .setSchemaUrl(rl.getSchemaUrl())
                            .addScopeLogs(sl.toBuilder()
                                    .setScope(normalize(sl.getScope()))
                                    .clearLogRecords()
                                    .addLogRecords(normalize(log)))
                            .build());
                }
            }
        }
        return out;
    }

    static ResourceLogs normalize(ResourceLogs rl) {
        return explodeLogs(List.of(rl)).get(0);
    }
}
