package io.otellake.schemas;

import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.metrics.v1.AggregationTemporality;
import io.opentelemetry.proto.metrics.v1.Exemplar;
import io.opentelemetry.proto.metrics.v1.ExponentialHistogram;
import io.opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Gauge;
import io.opentelemetry.proto.metrics.v1.Histogram;
import io.opentelemetry.proto.metrics.v1.HistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.NumberDataPoint;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.opentelemetry.proto.metrics.v1.Sum;
import io.opentelemetry.proto.metrics.v1.Summary;
import io.opentelemetry.proto.metrics.v1.SummaryDataPoint;
import io.opentelemetry.proto.resource.v1.Resource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.jspecify.annotations.Nullable;

/**
 * Maps OTLP metrics to flat {@link LakeSchema#METRIC} rows, one per data point, and back.
 *
 * <p>Every row repeats its metric's name, description, unit, type, temporality, monotonicity and metadata, and its
 * resource and scope. {@link #restore(List)} groups rows back into resources, scopes and metrics.
 *
 * <p>Guarantee: {@code restore(flatten(x))} equals x up to the order of attribute keys and duplicate attribute keys
 * (see {@link AttributeCodec}), and up to grouping: resources, scopes and metrics that hold no data point have no row
 * and do not come back, and equal resources (or scopes, or metrics) that x lists more than once come back as one,
 * holding the points of all of them in row order; an absent resource or scope message comes back as an empty one (the
 * same thing in OTLP). Values are kept as sent, whether or not they follow OTLP's rules (bucket counts against bounds,
 * a value on a point flagged as having none). Unsigned 64-bit counts ({@code count}, {@code zero_count}, bucket
 * counts) keep their bits in a signed {@code long}. Not kept: a resource's {@code entity_refs}, a development-stage
 * OTLP field that has no column yet.
 */
public final class MetricFlattener {
    static final String GAUGE = "gauge";
    static final String SUM = "sum";
    static final String HISTOGRAM = "histogram";
    static final String EXPONENTIAL_HISTOGRAM = "exponential_histogram";
    static final String SUMMARY = "summary";

    private static final Schema EXEMPLAR =
            LakeSchema.METRIC.getField("exemplars").schema().getElementType();
    private static final Schema QUANTILE =
            nonNull(LakeSchema.METRIC.getField("quantile_values").schema()).getElementType();
    private static final String TEMPORALITY_PREFIX = "AGGREGATION_TEMPORALITY_";

    private static final int[] ORIGIN = Rows.Origin.positions(LakeSchema.METRIC);

    private MetricFlattener() {}

    /** Flattens every data point of the request, in request order. */
    public static void flatten(ExportMetricsServiceRequest request, Consumer<FlatRow> sink) {
        for (ResourceMetrics rm : request.getResourceMetricsList()) {
            for (ScopeMetrics sm : rm.getScopeMetricsList()) {
                // encoded once, its maps shared by every point of the scope: a large resource with many points was
                // encoded again per point, holding far more memory than the record's own bytes
                Rows.Origin origin =
                        Rows.Origin.of(rm.getResource(), rm.getSchemaUrl(), sm.getScope(), sm.getSchemaUrl());
                for (Metric metric : sm.getMetricsList()) {
                    flatten(origin, metric, sink);
                }
            }
        }
    }

    public static List<FlatRow> flatten(ExportMetricsServiceRequest request) {
        List<FlatRow> rows = new ArrayList<>();
        flatten(request, rows::add);
        return rows;
    }

    /**
     * A point's time, or its start time when the time is 0 (unknown). Both are 0 only for a point that violates
     * OTLP; it lands in the hour of the epoch, as a log record without any time does.
     */
    public static long eventTimeNanos(long timeUnixNano, long startTimeUnixNano) {
        return timeUnixNano != 0 ? timeUnixNano : startTimeUnixNano;
    }

    private static void flatten(Rows.Origin origin, Metric metric, Consumer<FlatRow> sink) {
        AttributeCodec.Encoded metadata = AttributeCodec.encode(metric.getMetadataList());
        switch (metric.getDataCase()) {
            case GAUGE -> {
                for (NumberDataPoint p : metric.getGauge().getDataPointsList()) {
                    GenericRecord row = row(origin, metadata, metric, GAUGE, null, null);
                    putNumber(row, p);
                    sink.accept(emit(row, p.getTimeUnixNano(), p.getStartTimeUnixNano()));
                }
            }
            case SUM -> {
                Sum sum = metric.getSum();
                for (NumberDataPoint p : sum.getDataPointsList()) {
                    GenericRecord row = row(
                            origin,
                            metadata,
                            metric,
                            SUM,
                            temporality(sum.getAggregationTemporalityValue(), sum.getAggregationTemporality()),
                            sum.getIsMonotonic());
                    putNumber(row, p);
                    sink.accept(emit(row, p.getTimeUnixNano(), p.getStartTimeUnixNano()));
                }
            }
            case HISTOGRAM -> {
                Histogram histogram = metric.getHistogram();
                for (HistogramDataPoint p : histogram.getDataPointsList()) {
                    GenericRecord row = row(
                            origin,
                            metadata,
                            metric,
                            HISTOGRAM,
                            temporality(
                                    histogram.getAggregationTemporalityValue(), histogram.getAggregationTemporality()),
                            null);
                    putHistogram(row, p);
                    sink.accept(emit(row, p.getTimeUnixNano(), p.getStartTimeUnixNano()));
                }
            }
            case EXPONENTIAL_HISTOGRAM -> {
                ExponentialHistogram histogram = metric.getExponentialHistogram();
                for (ExponentialHistogramDataPoint p : histogram.getDataPointsList()) {
                    GenericRecord row = row(
                            origin,
                            metadata,
                            metric,
                            EXPONENTIAL_HISTOGRAM,
                            temporality(
                                    histogram.getAggregationTemporalityValue(), histogram.getAggregationTemporality()),
                            null);
                    putExponentialHistogram(row, p);
                    sink.accept(emit(row, p.getTimeUnixNano(), p.getStartTimeUnixNano()));
                }
            }
            case SUMMARY -> {
                for (SummaryDataPoint p : metric.getSummary().getDataPointsList()) {
                    GenericRecord row = row(origin, metadata, metric, SUMMARY, null, null);
                    putSummary(row, p);
                    sink.accept(emit(row, p.getTimeUnixNano(), p.getStartTimeUnixNano()));
                }
            }
            case DATA_NOT_SET -> {
                // no data, no point, no row
            }
        }
    }

    private static FlatRow emit(GenericRecord row, long time, long startTime) {
        row.put("timestamp", time == 0 ? null : time);
        row.put("start_timestamp", startTime == 0 ? null : startTime);
        return new FlatRow(row, eventTimeNanos(time, startTime));
    }

    /** A row with every column of the metric, resource and scope, and every point column at its empty value. */
    private static GenericRecord row(
            Rows.Origin origin,
            AttributeCodec.Encoded metadata,
            Metric metric,
            String type,
            @Nullable String temporality,
            @Nullable Boolean monotonic) {
        GenericRecord row = new GenericData.Record(LakeSchema.METRIC);
        row.put("metric_name", metric.getName());
        row.put("metric_description", Rows.emptyToNull(metric.getDescription()));
        row.put("metric_unit", Rows.emptyToNull(metric.getUnit()));
        row.put("metric_type", type);
        row.put("aggregation_temporality", temporality);
        row.put("is_monotonic", monotonic);
        row.put("metric_metadata", metadata.values());
        row.put("metric_metadata_types", metadata.types());
        origin.put(row, ORIGIN);
        row.put("exemplars", List.of());
        return row;
    }

    private static void putNumber(GenericRecord row, NumberDataPoint p) {
        Rows.putAttributes(row, "", p.getAttributesList());
        row.put("flags", Integer.toUnsignedLong(p.getFlags()));
        switch (p.getValueCase()) {
            case AS_DOUBLE -> row.put("value_double", p.getAsDouble());
            case AS_INT -> row.put("value_int", p.getAsInt());
            case VALUE_NOT_SET -> {}
        }
        row.put("exemplars", exemplars(p.getExemplarsList()));
    }

    private static void putHistogram(GenericRecord row, HistogramDataPoint p) {
        Rows.putAttributes(row, "", p.getAttributesList());
        row.put("flags", Integer.toUnsignedLong(p.getFlags()));
        row.put("count", p.getCount());
        row.put("sum", p.hasSum() ? p.getSum() : null);
        row.put("min", p.hasMin() ? p.getMin() : null);
        row.put("max", p.hasMax() ? p.getMax() : null);
        row.put("bucket_counts", p.getBucketCountsList());
        row.put("explicit_bounds", p.getExplicitBoundsList());
        row.put("exemplars", exemplars(p.getExemplarsList()));
    }

    private static void putExponentialHistogram(GenericRecord row, ExponentialHistogramDataPoint p) {
        Rows.putAttributes(row, "", p.getAttributesList());
        row.put("flags", Integer.toUnsignedLong(p.getFlags()));
        row.put("count", p.getCount());
        row.put("sum", p.hasSum() ? p.getSum() : null);
        row.put("min", p.hasMin() ? p.getMin() : null);
        row.put("max", p.hasMax() ? p.getMax() : null);
        row.put("scale", p.getScale());
        row.put("zero_count", p.getZeroCount());
        row.put("zero_threshold", p.getZeroThreshold());
        if (p.hasPositive()) {
            row.put("positive_offset", p.getPositive().getOffset());
            row.put("positive_bucket_counts", p.getPositive().getBucketCountsList());
        }
        if (p.hasNegative()) {
            row.put("negative_offset", p.getNegative().getOffset());
            row.put("negative_bucket_counts", p.getNegative().getBucketCountsList());
        }
        row.put("exemplars", exemplars(p.getExemplarsList()));
    }

    private static void putSummary(GenericRecord row, SummaryDataPoint p) {
        Rows.putAttributes(row, "", p.getAttributesList());
        row.put("flags", Integer.toUnsignedLong(p.getFlags()));
        row.put("count", p.getCount());
        row.put("sum", p.getSum());
        List<GenericRecord> quantiles = new ArrayList<>(p.getQuantileValuesCount());
        for (SummaryDataPoint.ValueAtQuantile q : p.getQuantileValuesList()) {
            GenericRecord quantile = new GenericData.Record(QUANTILE);
            quantile.put("quantile", q.getQuantile());
            quantile.put("value", q.getValue());
            quantiles.add(quantile);
        }
        row.put("quantile_values", quantiles);
    }

    private static List<GenericRecord> exemplars(List<Exemplar> exemplars) {
        List<GenericRecord> out = new ArrayList<>(exemplars.size());
        for (Exemplar e : exemplars) {
            GenericRecord exemplar = new GenericData.Record(EXEMPLAR);
            exemplar.put("timestamp", e.getTimeUnixNano() == 0 ? null : e.getTimeUnixNano());
            switch (e.getValueCase()) {
                case AS_DOUBLE -> exemplar.put("value_double", e.getAsDouble());
                case AS_INT -> exemplar.put("value_int", e.getAsInt());
                case VALUE_NOT_SET -> {}
            }
            exemplar.put("trace_id", Ids.toHexOrNull(e.getTraceId()));
            exemplar.put("span_id", Ids.toHexOrNull(e.getSpanId()));
            Rows.putAttributes(exemplar, "filtered_", e.getFilteredAttributesList());
            out.add(exemplar);
        }
        return out;
    }

    /** {@code AGGREGATION_TEMPORALITY_DELTA} becomes {@code delta}; a number no enum knows stays a number. */
    private static String temporality(int number, AggregationTemporality temporality) {
        return temporality == AggregationTemporality.UNRECOGNIZED
                ? Integer.toString(number)
                : temporality.name().substring(TEMPORALITY_PREFIX.length()).toLowerCase(java.util.Locale.ROOT);
    }

    private static int temporalityNumber(@Nullable Object text) {
        String s = Rows.nullToEmpty(text);
        if (s.isEmpty()) {
            return 0;
        }
        if (Character.isDigit(s.charAt(0)) || s.charAt(0) == '-') {
            return Integer.parseInt(s);
        }
        return AggregationTemporality.valueOf(TEMPORALITY_PREFIX + s.toUpperCase(java.util.Locale.ROOT))
                .getNumber();
    }

    /**
     * Rebuilds the rows' metrics, grouped: rows with equal resources share one {@code ResourceMetrics}, within it
     * rows with equal scopes one {@code ScopeMetrics}, and within that rows of the same metric (name, description,
     * unit, type, temporality, monotonicity and metadata) one {@code Metric}. Groups and points keep the order in
     * which their first row came. Attributes of resources, scopes and metadata come back sorted by key.
     */
    public static ExportMetricsServiceRequest restore(List<GenericRecord> rows) {
        Map<ResourceMetrics, Map<ScopeMetrics, Map<Metric, Metric.Builder>>> groups = new LinkedHashMap<>();
        for (GenericRecord row : rows) {
            ResourceMetrics resourceKey = ResourceMetrics.newBuilder()
                    .setResource(sortedResource(Rows.resource(row)))
                    .setSchemaUrl(Rows.nullToEmpty(row.get("resource_schema_url")))
                    .build();
            ScopeMetrics scopeKey = ScopeMetrics.newBuilder()
                    .setScope(sortedScope(Rows.scope(row)))
                    .setSchemaUrl(Rows.nullToEmpty(row.get("scope_schema_url")))
                    .build();
            Metric metricKey = metric(row, true).build();
            Metric.Builder metric = groups.computeIfAbsent(resourceKey, k -> new LinkedHashMap<>())
                    .computeIfAbsent(scopeKey, k -> new LinkedHashMap<>())
                    .computeIfAbsent(metricKey, Metric::toBuilder);
            addPoint(metric, row);
        }
        ExportMetricsServiceRequest.Builder request = ExportMetricsServiceRequest.newBuilder();
        groups.forEach((resourceKey, scopes) -> {
            ResourceMetrics.Builder rm = resourceKey.toBuilder();
            scopes.forEach((scopeKey, metrics) -> {
                ScopeMetrics.Builder sm = scopeKey.toBuilder();
                metrics.values().forEach(sm::addMetrics);
                rm.addScopeMetrics(sm);
            });
            request.addResourceMetrics(rm);
        });
        return request.build();
    }

    /** Rebuilds the OTLP metric of one row, holding that row's point only, inside its own resource and scope. */
    public static ResourceMetrics restore(GenericRecord row) {
        Metric.Builder metric = metric(row, false);
        addPoint(metric, row);
        return ResourceMetrics.newBuilder()
                .setResource(Rows.resource(row))
                .setSchemaUrl(Rows.nullToEmpty(row.get("resource_schema_url")))
                .addScopeMetrics(ScopeMetrics.newBuilder()
                        .setScope(Rows.scope(row))
                        .setSchemaUrl(Rows.nullToEmpty(row.get("scope_schema_url")))
                        .addMetrics(metric))
                .build();
    }

    /** The row's metric with its data message set but no points yet. */
    private static Metric.Builder metric(GenericRecord row, boolean sortMetadata) {
        List<KeyValue> metadata = AttributeCodec.decode(
                Rows.stringMap(row.get("metric_metadata")), Rows.stringMap(row.get("metric_metadata_types")));
        Metric.Builder metric = Metric.newBuilder()
                .setName(Rows.nullToEmpty(row.get("metric_name")))
                .setDescription(Rows.nullToEmpty(row.get("metric_description")))
                .setUnit(Rows.nullToEmpty(row.get("metric_unit")))
                .addAllMetadata(sortMetadata ? sorted(metadata) : metadata);
        int temporality = temporalityNumber(row.get("aggregation_temporality"));
        String type = Rows.nullToEmpty(row.get("metric_type"));
        switch (type) {
            case GAUGE -> metric.setGauge(Gauge.getDefaultInstance());
            case SUM ->
                metric.setSum(Sum.newBuilder()
                        .setAggregationTemporalityValue(temporality)
                        .setIsMonotonic(Boolean.TRUE.equals(row.get("is_monotonic"))));
            case HISTOGRAM -> metric.setHistogram(Histogram.newBuilder().setAggregationTemporalityValue(temporality));
            case EXPONENTIAL_HISTOGRAM ->
                metric.setExponentialHistogram(
                        ExponentialHistogram.newBuilder().setAggregationTemporalityValue(temporality));
            case SUMMARY -> metric.setSummary(Summary.getDefaultInstance());
            default -> throw new IllegalArgumentException("unknown metric_type '" + type + "'");
        }
        return metric;
    }

    private static void addPoint(Metric.Builder metric, GenericRecord row) {
        long time = Rows.int64(row.get("timestamp"));
        long startTime = Rows.int64(row.get("start_timestamp"));
        List<KeyValue> attributes = Rows.getAttributes(row, "");
        int flags = Rows.uint32(row.get("flags"));
        switch (metric.getDataCase()) {
            case GAUGE -> metric.getGaugeBuilder().addDataPoints(number(row, time, startTime, attributes, flags));
            case SUM -> metric.getSumBuilder().addDataPoints(number(row, time, startTime, attributes, flags));
            case HISTOGRAM -> {
                HistogramDataPoint.Builder p = HistogramDataPoint.newBuilder()
                        .setTimeUnixNano(time)
                        .setStartTimeUnixNano(startTime)
                        .addAllAttributes(attributes)
                        .setFlags(flags)
                        .setCount(Rows.int64(row.get("count")))
                        .addAllBucketCounts(longs(row.get("bucket_counts")))
                        .addAllExplicitBounds(doubles(row.get("explicit_bounds")))
                        .addAllExemplars(exemplars(row));
                if (row.get("sum") != null) {
                    p.setSum(((Number) row.get("sum")).doubleValue());
                }
                if (row.get("min") != null) {
                    p.setMin(((Number) row.get("min")).doubleValue());
                }
                if (row.get("max") != null) {
                    p.setMax(((Number) row.get("max")).doubleValue());
                }
                metric.getHistogramBuilder().addDataPoints(p);
            }
            case EXPONENTIAL_HISTOGRAM -> {
                ExponentialHistogramDataPoint.Builder p = ExponentialHistogramDataPoint.newBuilder()
                        .setTimeUnixNano(time)
                        .setStartTimeUnixNano(startTime)
                        .addAllAttributes(attributes)
                        .setFlags(flags)
                        .setCount(Rows.int64(row.get("count")))
                        .setScale((int) Rows.int64(row.get("scale")))
                        .setZeroCount(Rows.int64(row.get("zero_count")))
                        .setZeroThreshold(doubleOrZero(row.get("zero_threshold")))
                        .addAllExemplars(exemplars(row));
                if (row.get("sum") != null) {
                    p.setSum(((Number) row.get("sum")).doubleValue());
                }
                if (row.get("min") != null) {
                    p.setMin(((Number) row.get("min")).doubleValue());
                }
                if (row.get("max") != null) {
                    p.setMax(((Number) row.get("max")).doubleValue());
                }
                if (row.get("positive_offset") != null) {
                    p.setPositive(ExponentialHistogramDataPoint.Buckets.newBuilder()
                            .setOffset((int) Rows.int64(row.get("positive_offset")))
                            .addAllBucketCounts(longs(row.get("positive_bucket_counts"))));
                }
                if (row.get("negative_offset") != null) {
                    p.setNegative(ExponentialHistogramDataPoint.Buckets.newBuilder()
                            .setOffset((int) Rows.int64(row.get("negative_offset")))
                            .addAllBucketCounts(longs(row.get("negative_bucket_counts"))));
                }
                metric.getExponentialHistogramBuilder().addDataPoints(p);
            }
            case SUMMARY -> {
                SummaryDataPoint.Builder p = SummaryDataPoint.newBuilder()
                        .setTimeUnixNano(time)
                        .setStartTimeUnixNano(startTime)
                        .addAllAttributes(attributes)
                        .setFlags(flags)
                        .setCount(Rows.int64(row.get("count")))
                        .setSum(doubleOrZero(row.get("sum")));
                Object quantiles = row.get("quantile_values");
                if (quantiles != null) {
                    for (Object o : (List<?>) quantiles) {
                        GenericRecord q = (GenericRecord) o;
                        p.addQuantileValues(SummaryDataPoint.ValueAtQuantile.newBuilder()
                                .setQuantile(doubleOrZero(q.get("quantile")))
                                .setValue(doubleOrZero(q.get("value"))));
                    }
                }
                metric.getSummaryBuilder().addDataPoints(p);
            }
            case DATA_NOT_SET -> throw new IllegalStateException("metric without data");
        }
    }

    private static NumberDataPoint number(
            GenericRecord row, long time, long startTime, List<KeyValue> attributes, int flags) {
        NumberDataPoint.Builder p = NumberDataPoint.newBuilder()
                .setTimeUnixNano(time)
                .setStartTimeUnixNano(startTime)
                .addAllAttributes(attributes)
                .setFlags(flags)
                .addAllExemplars(exemplars(row));
        if (row.get("value_double") != null) {
            p.setAsDouble(((Number) row.get("value_double")).doubleValue());
        } else if (row.get("value_int") != null) {
            p.setAsInt(Rows.int64(row.get("value_int")));
        }
        return p.build();
    }

    private static List<Exemplar> exemplars(GenericRecord row) {
        Object exemplars = row.get("exemplars");
        if (exemplars == null) {
            return List.of();
        }
        List<Exemplar> out = new ArrayList<>();
        for (Object o : (List<?>) exemplars) {
            GenericRecord e = (GenericRecord) o;
            Exemplar.Builder exemplar = Exemplar.newBuilder()
                    .setTimeUnixNano(Rows.int64(e.get("timestamp")))
                    .setTraceId(Ids.fromHex(Rows.nullToEmpty(e.get("trace_id"))))
                    .setSpanId(Ids.fromHex(Rows.nullToEmpty(e.get("span_id"))))
                    .addAllFilteredAttributes(Rows.getAttributes(e, "filtered_"));
            if (e.get("value_double") != null) {
                exemplar.setAsDouble(((Number) e.get("value_double")).doubleValue());
            } else if (e.get("value_int") != null) {
                exemplar.setAsInt(Rows.int64(e.get("value_int")));
            }
            out.add(exemplar.build());
        }
        return out;
    }

    private static List<Long> longs(@Nullable Object list) {
        if (list == null) {
            return List.of();
        }
        List<Long> out = new ArrayList<>();
        for (Object o : (List<?>) list) {
            out.add(((Number) o).longValue());
        }
        return out;
    }

    private static List<Double> doubles(@Nullable Object list) {
        if (list == null) {
            return List.of();
        }
        List<Double> out = new ArrayList<>();
        for (Object o : (List<?>) list) {
            out.add(((Number) o).doubleValue());
        }
        return out;
    }

    private static double doubleOrZero(@Nullable Object value) {
        return value == null ? 0 : ((Number) value).doubleValue();
    }

    // Group keys compare attributes in key order, whatever order a row's maps hand them back in.
    private static List<KeyValue> sorted(List<KeyValue> attributes) {
        List<KeyValue> copy = new ArrayList<>(attributes);
        copy.sort(Comparator.comparing(KeyValue::getKey));
        return copy;
    }

    private static Resource sortedResource(Resource r) {
        return r.toBuilder()
                .clearAttributes()
                .addAllAttributes(sorted(r.getAttributesList()))
                .build();
    }

    private static InstrumentationScope sortedScope(InstrumentationScope s) {
        return s.toBuilder()
                .clearAttributes()
                .addAllAttributes(sorted(s.getAttributesList()))
                .build();
    }

    private static Schema nonNull(Schema union) {
        for (Schema s : union.getTypes()) {
            if (s.getType() != Schema.Type.NULL) {
                return s;
            }
        }
        throw new IllegalStateException("union without a non-null branch: " + union);
    }
}
