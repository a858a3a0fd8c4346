package io.otellake.schemas;

import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.metrics.v1.Exemplar;
import io.opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.HistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.NumberDataPoint;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.opentelemetry.proto.metrics.v1.SummaryDataPoint;
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

    /**
     * Sorts every attribute list and drops resources, scopes and metrics without a data point: the shape {@link
     * MetricFlattener#restore(List)} produces.
     */
    static ExportMetricsServiceRequest normalize(ExportMetricsServiceRequest request) {
        ExportMetricsServiceRequest.Builder out = ExportMetricsServiceRequest.newBuilder();
        for (ResourceMetrics rm : request.getResourceMetricsList()) {
            ResourceMetrics.Builder r =
                    rm.toBuilder().setResource(normalize(rm.getResource())).clearScopeMetrics();
            for (ScopeMetrics sm : rm.getScopeMetricsList()) {
                ScopeMetrics.Builder s =
                        sm.toBuilder().setScope(normalize(sm.getScope())).clearMetrics();
                for (Metric m : sm.getMetricsList()) {
                    Metric normalized = normalize(m);
                    if (points(normalized) > 0) {
                        s.addMetrics(normalized);
                    }
                }
                if (s.getMetricsCount() > 0) {
                    r.addScopeMetrics(s);
                }
            }
            if (r.getScopeMetricsCount() > 0) {
                out.addResourceMetrics(r);
            }
        }
        return out.build();
    }

    static int points(Metric m) {
        return switch (m.getDataCase()) {
            case GAUGE -> m.getGauge().getDataPointsCount();
            case SUM -> m.getSum().getDataPointsCount();
            case HISTOGRAM -> m.getHistogram().getDataPointsCount();
            case EXPONENTIAL_HISTOGRAM -> m.getExponentialHistogram().getDataPointsCount();
            case SUMMARY -> m.getSummary().getDataPointsCount();
            case DATA_NOT_SET -> 0;
        };
    }

    static Metric normalize(Metric m) {
        Metric.Builder b = m.toBuilder().clearMetadata().addAllMetadata(sorted(m.getMetadataList()));
        switch (m.getDataCase()) {
            case GAUGE -> {
                var g = b.getGaugeBuilder();
                List<NumberDataPoint> points = g.getDataPointsList();
                g.clearDataPoints();
                points.forEach(p -> g.addDataPoints(normalize(p)));
            }
            case SUM -> {
                var g = b.getSumBuilder();
                List<NumberDataPoint> points = g.getDataPointsList();
                g.clearDataPoints();
                points.forEach(p -> g.addDataPoints(normalize(p)));
            }
            case HISTOGRAM -> {
                var g = b.getHistogramBuilder();
                List<HistogramDataPoint> points = g.getDataPointsList();
                g.clearDataPoints();
                points.forEach(p -> g.addDataPoints(p.toBuilder()
                        .clearAttributes()
                        .addAllAttributes(sorted(p.getAttributesList()))
                        .clearExemplars()
                        .addAllExemplars(normalizeExemplars(p.getExemplarsList()))));
            }
            case EXPONENTIAL_HISTOGRAM -> {
                var g = b.getExponentialHistogramBuilder();
                List<ExponentialHistogramDataPoint> points = g.getDataPointsList();
                g.clearDataPoints();
                points.forEach(p -> g.addDataPoints(p.toBuilder()
                        .clearAttributes()
                        .addAllAttributes(sorted(p.getAttributesList()))
                        .clearExemplars()
                        .addAllExemplars(normalizeExemplars(p.getExemplarsList()))));
            }
            case SUMMARY -> {
                var g = b.getSummaryBuilder();
                List<SummaryDataPoint> points = g.getDataPointsList();
                g.clearDataPoints();
                points.forEach(p -> g.addDataPoints(
                        p.toBuilder().clearAttributes().addAllAttributes(sorted(p.getAttributesList()))));
            }
            case DATA_NOT_SET -> {}
        }
        return b.build();
    }

    static NumberDataPoint normalize(NumberDataPoint p) {
        return p.toBuilder()
                .clearAttributes()
                .addAllAttributes(sorted(p.getAttributesList()))
                .clearExemplars()
                .addAllExemplars(normalizeExemplars(p.getExemplarsList()))
                .build();
    }

    static List<Exemplar> normalizeExemplars(List<Exemplar> exemplars) {
        return exemplars.stream()
                .map(e -> e.toBuilder()
                        .clearFilteredAttributes()
                        .addAllFilteredAttributes(sorted(e.getFilteredAttributesList()))
                        .build())
                .toList();
    }
}
