package io.otellake.ingest;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.opentelemetry.proto.metrics.v1.Exemplar;
import io.opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.HistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.NumberDataPoint;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.util.List;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * What ingest checks in a parsed export request before Kafka sees it: every trace id is 16 bytes and every span id 8
 * bytes, or empty (proto3's "absent"), except a span's own trace and span ids, which the OTLP spec requires (present
 * and not all zeros). The archiver turns ids into hex columns; an id of another length would be a row
 * nobody can join on, so the item that carries it (a span, a log record, a data point whose exemplar carries it) is
 * dropped here, at the edge, and counted, so that the client hears about it through OTLP's {@code partial_success}.
 *
 * <p>Guarantee: a request without invalid items is returned as it is (the same instance). Otherwise the invalid items
 * are removed, and so are the scopes and resources (and metrics) that held only invalid items; everything else is kept
 * in its order.
 */
final class ExportChecks {
    private ExportChecks() {}

    /** Spans with ids of a wrong length are dropped. */
    static OtlpSignal.DecodedExport checkSpans(ExportTraceServiceRequest request) {
        Rejections rejections = new Rejections("spans");
        int total = 0;
        for (int i = 0; i < request.getResourceSpansCount(); i++) {
            ResourceSpans rs = request.getResourceSpans(i);
            for (int j = 0; j < rs.getScopeSpansCount(); j++) {
                ScopeSpans ss = rs.getScopeSpans(j);
                for (int k = 0; k < ss.getSpansCount(); k++) {
                    String error = spanError(ss.getSpans(k));
                    if (error != null) { // the path only then: building it for every valid span cost 5% of ingest's CPU
                        rejections.add(error, "resourceSpans[" + i + "].scopeSpans[" + j + "].spans[" + k + "]");
                    }
                }
                total += ss.getSpansCount();
            }
        }
        if (rejections.count == 0) {
            return new OtlpSignal.DecodedExport(request, total, 0, "");
        }
        ExportTraceServiceRequest.Builder kept = ExportTraceServiceRequest.newBuilder();
        for (ResourceSpans rs : request.getResourceSpansList()) {
            ResourceSpans.Builder resource = rs.toBuilder().clearScopeSpans();
            for (ScopeSpans ss : rs.getScopeSpansList()) {
                List<Span> valid = ss.getSpansList().stream()
                        .filter(s -> spanError(s) == null)
                        .toList();
                if (!valid.isEmpty() || ss.getSpansCount() == 0) {
                    resource.addScopeSpans(ss.toBuilder().clearSpans().addAllSpans(valid));
                }
            }
            if (resource.getScopeSpansCount() > 0 || rs.getScopeSpansCount() == 0) {
                kept.addResourceSpans(resource);
            }
        }
        return rejections.result(kept.build(), total);
    }

    /** Log records with ids of a wrong length are dropped. */
    static OtlpSignal.DecodedExport checkLogRecords(ExportLogsServiceRequest request) {
        Rejections rejections = new Rejections("log records");
        int total = 0;
        for (int i = 0; i < request.getResourceLogsCount(); i++) {
            ResourceLogs rl = request.getResourceLogs(i);
            for (int j = 0; j < rl.getScopeLogsCount(); j++) {
                ScopeLogs sl = rl.getScopeLogs(j);
                for (int k = 0; k < sl.getLogRecordsCount(); k++) {
                    String error = logError(sl.getLogRecords(k));
                    if (error != null) {
                        rejections.add(error, "resourceLogs[" + i + "].scopeLogs[" + j + "].logRecords[" + k + "]");
                    }
                }
                total += sl.getLogRecordsCount();
            }
        }
        if (rejections.count == 0) {
            return new OtlpSignal.DecodedExport(request, total, 0, "");
        }
        ExportLogsServiceRequest.Builder kept = ExportLogsServiceRequest.newBuilder();
        for (ResourceLogs rl : request.getResourceLogsList()) {
            ResourceLogs.Builder resource = rl.toBuilder().clearScopeLogs();
            for (ScopeLogs sl : rl.getScopeLogsList()) {
                List<LogRecord> valid = sl.getLogRecordsList().stream()
                        .filter(r -> logError(r) == null)
                        .toList();
                if (!valid.isEmpty() || sl.getLogRecordsCount() == 0) {
                    resource.addScopeLogs(sl.toBuilder().clearLogRecords().addAllLogRecords(valid));
                }
            }
            if (resource.getScopeLogsCount() > 0 || rl.getScopeLogsCount() == 0) {
                kept.addResourceLogs(resource);
            }
        }
        return rejections.result(kept.build(), total);
    }

    /**
     * Data points with an exemplar whose ids are of a wrong length are dropped, and so is a metric whose data is of a
     * type this version does not know (a later OTLP's, kept by the parser as an unknown field): the archive has no
     * columns for it, so it would be acknowledged and then archived as nothing. Such a metric counts as one rejected
     * data point, as its points cannot be counted.
     */
    static OtlpSignal.DecodedExport checkDataPoints(ExportMetricsServiceRequest request) {
        Rejections rejections = new Rejections("data points");
        int total = 0;
        for (int i = 0; i < request.getResourceMetricsCount(); i++) {
            ResourceMetrics rm = request.getResourceMetrics(i);
            for (int j = 0; j < rm.getScopeMetricsCount(); j++) {
                ScopeMetrics sm = rm.getScopeMetrics(j);
                for (int k = 0; k < sm.getMetricsCount(); k++) {
                    Metric metric = sm.getMetrics(k);
                    String path = "resourceMetrics[" + i + "].scopeMetrics[" + j + "].metrics[" + k + "]";
                    if (unknownData(metric)) {
                        rejections.add(UNKNOWN_DATA, path);
                        total++;
                        continue;
                    }
                    List<List<Exemplar>> exemplars = exemplarsOfDataPoints(metric);
                    for (int l = 0; l < exemplars.size(); l++) {
                        String error = exemplarsError(exemplars.get(l));
                        if (error != null) {
                            rejections.add(error, path + dataPointsField(metric) + "[" + l + "]");
                        }
                    }
                    total += dataPointCount(metric);
                }
            }
        }
        if (rejections.count == 0) {
            return new OtlpSignal.DecodedExport(request, total, 0, "");
        }
        ExportMetricsServiceRequest.Builder kept = ExportMetricsServiceRequest.newBuilder();
        for (ResourceMetrics rm : request.getResourceMetricsList()) {
            ResourceMetrics.Builder resource = rm.toBuilder().clearScopeMetrics();
            for (ScopeMetrics sm : rm.getScopeMetricsList()) {
                ScopeMetrics.Builder scope = sm.toBuilder().clearMetrics();
                for (Metric metric : sm.getMetricsList()) {
                    if (unknownData(metric)) {
                        continue;
                    }
                    Metric valid = withoutInvalidDataPoints(metric);
                    if (dataPointCount(valid) > 0 || dataPointCount(metric) == 0) {
                        scope.addMetrics(valid);
                    }
                }
                if (scope.getMetricsCount() > 0 || sm.getMetricsCount() == 0) {
                    resource.addScopeMetrics(scope);
                }
            }
            if (resource.getScopeMetricsCount() > 0 || rm.getScopeMetricsCount() == 0) {
                kept.addResourceMetrics(resource);
            }
        }
        return rejections.result(kept.build(), total);
    }

    private static final String UNKNOWN_DATA = "data is of a type otel-lake does not know (it stores gauge, sum,"
            + " histogram, exponentialHistogram and summary)";

    /** Whether the metric has no data of a known type but fields this version does not know. */
    private static boolean unknownData(Metric metric) {
        return metric.getDataCase() == Metric.DataCase.DATA_NOT_SET
                && !metric.getUnknownFields().asMap().isEmpty();
    }

    static int dataPointCount(Metric metric) {
        return switch (metric.getDataCase()) {
            case GAUGE -> metric.getGauge().getDataPointsCount();
            case SUM -> metric.getSum().getDataPointsCount();
            case HISTOGRAM -> metric.getHistogram().getDataPointsCount();
            case EXPONENTIAL_HISTOGRAM -> metric.getExponentialHistogram().getDataPointsCount();
            case SUMMARY -> metric.getSummary().getDataPointsCount();
            case DATA_NOT_SET -> 0;
        };
    }

    private static String dataPointsField(Metric metric) {
        return switch (metric.getDataCase()) {
            case GAUGE -> ".gauge.dataPoints";
            case SUM -> ".sum.dataPoints";
            case HISTOGRAM -> ".histogram.dataPoints";
            case EXPONENTIAL_HISTOGRAM -> ".exponentialHistogram.dataPoints";
            case SUMMARY -> ".summary.dataPoints";
            case DATA_NOT_SET -> ".dataPoints";
        };
    }

    /** The exemplars of each data point, in order; summaries have none. */
    private static List<List<Exemplar>> exemplarsOfDataPoints(Metric metric) {
        return switch (metric.getDataCase()) {
            case GAUGE ->
                metric.getGauge().getDataPointsList().stream()
                        .map(NumberDataPoint::getExemplarsList)
                        .toList();
            case SUM ->
                metric.getSum().getDataPointsList().stream()
                        .map(NumberDataPoint::getExemplarsList)
                        .toList();
            case HISTOGRAM ->
                metric.getHistogram().getDataPointsList().stream()
                        .map(HistogramDataPoint::getExemplarsList)
                        .toList();
            case EXPONENTIAL_HISTOGRAM ->
                metric.getExponentialHistogram().getDataPointsList().stream()
                        .map(ExponentialHistogramDataPoint::getExemplarsList)
                        .toList();
            case SUMMARY, DATA_NOT_SET -> List.of();
        };
    }

    private static Metric withoutInvalidDataPoints(Metric metric) {
        Metric.Builder b = metric.toBuilder();
        switch (metric.getDataCase()) {
            case GAUGE ->
                b.getGaugeBuilder()
                        .clearDataPoints()
                        .addAllDataPoints(
                                valid(metric.getGauge().getDataPointsList(), NumberDataPoint::getExemplarsList));
            case SUM ->
                b.getSumBuilder()
                        .clearDataPoints()
                        .addAllDataPoints(
                                valid(metric.getSum().getDataPointsList(), NumberDataPoint::getExemplarsList));
            case HISTOGRAM ->
                b.getHistogramBuilder()
                        .clearDataPoints()
                        .addAllDataPoints(
                                valid(metric.getHistogram().getDataPointsList(), HistogramDataPoint::getExemplarsList));
            case EXPONENTIAL_HISTOGRAM ->
                b.getExponentialHistogramBuilder()
                        .clearDataPoints()
                        .addAllDataPoints(valid(
                                metric.getExponentialHistogram().getDataPointsList(),
                                ExponentialHistogramDataPoint::getExemplarsList));
            case SUMMARY, DATA_NOT_SET -> {
                // no exemplars, nothing to drop
            }
        }
        return b.build();
    }

    private static <P> List<P> valid(List<P> points, Function<P, List<Exemplar>> exemplars) {
        return points.stream()
                .filter(p -> exemplarsError(exemplars.apply(p)) == null)
                .toList();
    }

    private static @Nullable String spanError(Span span) {
        String error = requiredIdError(span.getTraceId(), OtlpJson.TRACE_ID_BYTES, "traceId");
        if (error == null) {
            error = requiredIdError(span.getSpanId(), OtlpJson.SPAN_ID_BYTES, "spanId");
        }
        if (error == null) {
            error = idError(span.getParentSpanId(), OtlpJson.SPAN_ID_BYTES, "parentSpanId");
        }
        for (int l = 0; error == null && l < span.getLinksCount(); l++) {
            Span.Link link = span.getLinks(l);
            error = idError(link.getTraceId(), OtlpJson.TRACE_ID_BYTES, "links[" + l + "].traceId");
            if (error == null) {
                error = idError(link.getSpanId(), OtlpJson.SPAN_ID_BYTES, "links[" + l + "].spanId");
            }
        }
        return error;
    }

    private static @Nullable String logError(LogRecord log) {
        String error = idError(log.getTraceId(), OtlpJson.TRACE_ID_BYTES, "traceId");
        return error != null ? error : idError(log.getSpanId(), OtlpJson.SPAN_ID_BYTES, "spanId");
    }

    private static @Nullable String exemplarsError(List<Exemplar> exemplars) {
        for (int e = 0; e < exemplars.size(); e++) {
            Exemplar exemplar = exemplars.get(e);
            String error = idError(exemplar.getTraceId(), OtlpJson.TRACE_ID_BYTES, "exemplars[" + e + "].traceId");
            if (error == null) {
                error = idError(exemplar.getSpanId(), OtlpJson.SPAN_ID_BYTES, "exemplars[" + e + "].spanId");
            }
            if (error != null) {
                return error;
            }
        }
        return null;
    }

    /**
     * A span's own trace and span ids are required: the OTLP spec calls an id that is empty, of another length or all
     * zeros invalid. A span without them belongs to no trace and cannot be found.
     */
    private static @Nullable String requiredIdError(ByteString id, int bytes, String field) {
        if (id.size() != bytes) {
            return field + " must be " + bytes + " bytes; got " + id.size() + " bytes";
        }
        return allZero(id) ? field + " must not be all zeros" : null;
    }

    static boolean allZero(ByteString id) {
        for (int i = 0; i < id.size(); i++) {
            if (id.byteAt(i) != 0) {
                return false;
            }
        }
        return true;
    }

    private static @Nullable String idError(ByteString id, int bytes, String field) {
        if (id.isEmpty() || id.size() == bytes) {
            return null;
        }
        return field + " must be " + bytes + " bytes (or empty); got " + id.size() + " bytes";
    }

    /** Counts the invalid items and keeps the first one's reason, for the client's message. */
    private static final class Rejections {
        private final String items;
        private int count;
        private @Nullable String first;

        Rejections(String items) {
            this.items = items;
        }

        void add(String error, String path) {
            if (count == 0) {
                first = path + "." + error;
            }
            count++;
        }

        OtlpSignal.DecodedExport result(Message kept, int total) {
            String message = count + " of " + total + " " + items + " rejected; the first: " + first;
            return new OtlpSignal.DecodedExport(kept, total - count, count, message);
        }
    }
}
