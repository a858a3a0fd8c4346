package io.otellake.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.context.Context;
import io.opentelemetry.exporter.internal.otlp.metrics.MetricsRequestMarshaler;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.ArrayValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.common.v1.KeyValueList;
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
import io.opentelemetry.sdk.metrics.Aggregation;
import io.opentelemetry.sdk.metrics.ExemplarFilter;
import io.opentelemetry.sdk.metrics.InstrumentSelector;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.View;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.testing.exporter.InMemoryMetricReader;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.Test;

class MetricFlattenerTest {
    static final long T = 1_700_000_000_123_456_789L;
    static final long START = 1_699_999_940_000_000_000L;
    static final String TRACE = "0af7651916cd43dd8448eb211c80319c";
    static final String SPAN = "b7ad6b7169203331";

    static KeyValue kv(String key, AnyValue value) {
        return KeyValue.newBuilder().setKey(key).setValue(value).build();
    }

    static AnyValue str(String s) {
        return AnyValue.newBuilder().setStringValue(s).build();
    }

    static AnyValue integer(long i) {
        return AnyValue.newBuilder().setIntValue(i).build();
    }

    static Metric.Builder metric(String name, String unit) {
        return Metric.newBuilder().setName(name).setUnit(unit);
    }

    static ExportMetricsServiceRequest edgeCases() {
        Metric threads = metric("process.threads", "{thread}")
                .setDescription("Live threads.")
                .setGauge(Gauge.newBuilder()
                        .addDataPoints(NumberDataPoint.newBuilder()
                                .setTimeUnixNano(T)
                                .setAsInt(42)
                                .addAttributes(kv("state", str("runnable")))))
                .build();
        Metric cpu = metric("system.cpu.utilization", "1")
                .setGauge(Gauge.newBuilder()
                        .addDataPoints(NumberDataPoint.newBuilder()
                                .setStartTimeUnixNano(START)
                                .setTimeUnixNano(T)
                                .setAsDouble(0.25))
                        .addDataPoints(NumberDataPoint.newBuilder() // no recorded value
                                .setTimeUnixNano(T + 1)
                                .setFlags(1)))
                .build();
        Metric requests = metric("http.server.requests", "{request}")
                .addMetadata(kv(
                        "source",
                        AnyValue.newBuilder()
                                .setKvlistValue(KeyValueList.newBuilder().addValues(kv("sdk", str("java"))))
                                .build()))
                .addMetadata(kv("owner", str("team-a")))
                .setSum(Sum.newBuilder()
                        .setAggregationTemporality(AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA)
                        .setIsMonotonic(true)
                        .addDataPoints(NumberDataPoint.newBuilder()
                                .setStartTimeUnixNano(START)
                                .setTimeUnixNano(T)
                                .setAsInt(7)
                                .addAttributes(kv("http.route", str("/checkout")))
                                .addAttributes(kv("http.response.status_code", integer(200)))
                                .addExemplars(Exemplar.newBuilder()
                                        .setTimeUnixNano(T - 5)
                                        .setAsInt(1)
                                        .setTraceId(ByteString.fromHex(TRACE))
                                        .setSpanId(ByteString.fromHex(SPAN))
                                        .addFilteredAttributes(kv("user.id", str("ada"))))))
                .build();
        Metric queue = metric("queue.depth", "")
                .setSum(Sum.newBuilder()
                        .setAggregationTemporality(AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE)
                        .addDataPoints(NumberDataPoint.newBuilder()
                                .setStartTimeUnixNano(START)
                                .setTimeUnixNano(T)
                                .setAsDouble(-3.5)))
                .build();
        Metric latency = metric("http.server.duration", "ms")
                .setHistogram(Histogram.newBuilder()
                        .setAggregationTemporality(AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA)
                        .addDataPoints(HistogramDataPoint.newBuilder()
                                .setStartTimeUnixNano(START)
                                .setTimeUnixNano(T)
                                .setCount(3)
                                .setSum(250.5)
                                .setMin(0.5)
                                .setMax(200)
                                .addAllBucketCounts(List.of(1L, 2L, 0L))
                                .addAllExplicitBounds(List.of(10.0, 100.0))
                                .addAttributes(kv(
                                        "tags",
                                        AnyValue.newBuilder()
                                                .setArrayValue(ArrayValue.newBuilder()
                                                        .addValues(str("a"))
                                                        .addValues(integer(7)))
                                                .build()))
                                .addAttributes(kv(
                                        "peer",
                                        AnyValue.newBuilder()
                                                .setKvlistValue(KeyValueList.newBuilder()
                                                        .addValues(kv(
                                                                "ok",
                                                                AnyValue.newBuilder()
                                                                        .setBoolValue(true)
                                                                        .build())))
                                                .build()))
                                .addExemplars(Exemplar.newBuilder()
                                        .setTimeUnixNano(T - 9)
                                        .setAsDouble(200)
                                        .setTraceId(ByteString.fromHex(TRACE))
                                        .setSpanId(ByteString.fromHex(SPAN))))
                        .addDataPoints(HistogramDataPoint.newBuilder() // count only: no sum, min, max, buckets
                                .setStartTimeUnixNano(START)
                                .setTimeUnixNano(T)
                                .setCount(5)))
                .build();
        Metric sizes = metric("payload.size", "By")
                .setExponentialHistogram(ExponentialHistogram.newBuilder()
                        .setAggregationTemporality(AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE)
                        .addDataPoints(ExponentialHistogramDataPoint.newBuilder()
                                .setStartTimeUnixNano(START)
                                .setTimeUnixNano(T)
                                .setCount(8)
                                .setSum(-20)
                                .setMin(-30)
                                .setMax(12)
                                .setScale(3)
                                .setZeroCount(1)
                                .setZeroThreshold(1e-9)
                                .setPositive(ExponentialHistogramDataPoint.Buckets.newBuilder()
                                        .setOffset(-2)
                                        .addAllBucketCounts(List.of(1L, 0L, 4L)))
                                .setNegative(ExponentialHistogramDataPoint.Buckets.newBuilder()
                                        .setOffset(5)
                                        .addBucketCounts(2)))
                        .addDataPoints(ExponentialHistogramDataPoint.newBuilder() // no buckets messages at all
                                .setTimeUnixNano(T)
                                .setScale(-1)))
                .build();
        Metric gc = metric("jvm.gc.pause", "s")
                .setSummary(Summary.newBuilder()
                        .addDataPoints(SummaryDataPoint.newBuilder()
                                .setStartTimeUnixNano(START) // time unknown (0)
                                .setCount(4)
                                .setSum(12.5)
                                .addQuantileValues(q(0.0, 0.5))
                                .addQuantileValues(q(0.5, 2.0))
                                .addQuantileValues(q(0.99, 6.0))
                                .addQuantileValues(q(1.0, 7.5))))
                .build();
        Metric odd = metric("odd.temporality", "")
                .setHistogram(Histogram.newBuilder()
                        .setAggregationTemporalityValue(7) // a number no enum knows
                        .addDataPoints(HistogramDataPoint.newBuilder()
                                .setTimeUnixNano(T)
                                .setCount(0)))
                .build();
        Metric bare = metric("bare", "")
                .setGauge(Gauge.newBuilder().addDataPoints(NumberDataPoint.newBuilder()))
                .build();
        return ExportMetricsServiceRequest.newBuilder()
                .addResourceMetrics(ResourceMetrics.newBuilder()
                        .setResource(Resource.newBuilder()
                                .addAttributes(kv("service.name", str("checkout")))
                                .addAttributes(kv("host.cpus", integer(8)))
                                .setDroppedAttributesCount(2))
                        .setSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
                        .addScopeMetrics(ScopeMetrics.newBuilder()
                                .setScope(InstrumentationScope.newBuilder()
                                        .setName("io.otellake.test")
                                        .setVersion("1.0")
                                        .addAttributes(kv("lib", str("x"))))
                                .setSchemaUrl("https://opentelemetry.io/schemas/1.27.0")
                                .addMetrics(threads)
                                .addMetrics(cpu)
                                .addMetrics(requests)
                                .addMetrics(queue)
                                .addMetrics(latency)
                                .addMetrics(sizes)
                                .addMetrics(gc)
                                .addMetrics(odd)))
                .addResourceMetrics(ResourceMetrics.newBuilder()
                        .addScopeMetrics(ScopeMetrics.newBuilder().addMetrics(bare)))
                .build();
    }

    static SummaryDataPoint.ValueAtQuantile q(double quantile, double value) {
        return SummaryDataPoint.ValueAtQuantile.newBuilder()
                .setQuantile(quantile)
                .setValue(value)
                .build();
    }

    @Test
    void handWrittenEdgeCasesSurviveTheRoundTrip() {
        assertRoundTrip(edgeCases());
    }

    @Test
    void thePointsOfOneScopeShareTheirResourceAndScopeColumnsInsteadOfACopyEach() {
        // A record of a large resource and many points must not hold a copy of the resource per point: the archiver
        // bounds a batch by the records' bytes, and copies multiplied that by the points.
        List<FlatRow> firstScope = MetricFlattener.flatten(edgeCases()).stream()
                .filter(r -> "io.otellake.test".equals(String.valueOf(r.record().get("scope_name"))))
                .toList();
        assertThat(firstScope).hasSize(11);
        assertThat(String.valueOf(firstScope.get(0).record().get("resource_attributes")))
                .contains("service.name=checkout");
        for (FlatRow row : firstScope) {
            assertThat(row.record().get("resource_attributes"))
                    .isSameAs(firstScope.get(0).record().get("resource_attributes"));
            assertThat(row.record().get("scope_attributes"))
                    .isSameAs(firstScope.get(0).record().get("scope_attributes"));
        }
    }

    @Test
    void onePointPerRowAndEachRowRestoresAlone() {
        List<FlatRow> rows = MetricFlattener.flatten(edgeCases());
        assertThat(rows).hasSize(12);
        ResourceMetrics one =
                MetricFlattener.restore(AvroRoundTrip.through(rows.get(1).record()));
        Metric cpu = one.getScopeMetrics(0).getMetrics(0);
        assertThat(cpu.getName()).isEqualTo("system.cpu.utilization");
        assertThat(cpu.getGauge().getDataPointsList())
                .containsExactly(edgeCases()
                        .getResourceMetrics(0)
                        .getScopeMetrics(0)
                        .getMetrics(1)
                        .getGauge()
                        .getDataPoints(0));
    }

    @Test
    void restoreRegroupsPointsOfOneMetricWhereverTheirRowsAre() {
        List<GenericRecord> rows = new ArrayList<>(MetricFlattener.flatten(edgeCases()).stream()
                .map(r -> AvroRoundTrip.through(r.record()))
                .toList());
        // rows 1 and 2 are the two cpu points; move the second behind the points of other metrics
        rows.add(6, rows.remove(2));

        assertThat(OtlpNormalizer.normalize(MetricFlattener.restore(rows)))
                .isEqualTo(OtlpNormalizer.normalize(edgeCases()));
    }

    @Test
    void metricsWithoutPointsLeaveNoRow() {
        ExportMetricsServiceRequest empty = ExportMetricsServiceRequest.newBuilder()
                .addResourceMetrics(ResourceMetrics.newBuilder()
                        .addScopeMetrics(ScopeMetrics.newBuilder()
                                .addMetrics(metric("no.data", ""))
                                .addMetrics(metric("no.points", "").setGauge(Gauge.getDefaultInstance()))))
                .build();
        assertThat(MetricFlattener.flatten(empty)).isEmpty();
        assertThat(MetricFlattener.restore(List.of())).isEqualTo(ExportMetricsServiceRequest.getDefaultInstance());
    }

    @Test
    void realSdkOutputSurvivesTheRoundTrip() throws Exception {
        InMemoryMetricReader reader = InMemoryMetricReader.create();
        Collection<MetricData> metrics;
        try (SdkMeterProvider provider = SdkMeterProvider.builder()
                .setResource(io.opentelemetry.sdk.resources.Resource.getDefault().toBuilder()
                        .put("service.name", "cart")
                        .build())
                .setExemplarFilter(ExemplarFilter.alwaysOn())
                .registerView(
                        InstrumentSelector.builder().setName("payload.size").build(),
                        View.builder()
                                .setAggregation(Aggregation.base2ExponentialBucketHistogram())
                                .build())
                .registerMetricReader(reader)
                .build()) {
            Meter meter = provider.get("io.otellake.test");
            Context traced = Context.root()
                    .with(Span.wrap(SpanContext.create(TRACE, SPAN, TraceFlags.getSampled(), TraceState.getDefault())));
            Attributes checkout = Attributes.of(
                    AttributeKey.stringKey("http.route"),
                    "/checkout",
                    AttributeKey.stringArrayKey("tags"),
                    List.of("x", "y"));
            meter.counterBuilder("requests").build().add(3, checkout, traced);
            meter.upDownCounterBuilder("queue.depth").ofDoubles().build().add(-1.5);
            meter.gaugeBuilder("temperature").build().set(21.5, Attributes.empty());
            meter.gaugeBuilder("threads").ofLongs().build().set(12);
            var latency = meter.histogramBuilder("latency").setUnit("ms").build();
            latency.record(4, checkout, traced);
            latency.record(250);
            var sizes = meter.histogramBuilder("payload.size").ofLongs().build();
            sizes.record(3);
            sizes.record(1_000_000);
            metrics = reader.collectAllMetrics();
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        MetricsRequestMarshaler.create(metrics).writeBinaryTo(out);
        ExportMetricsServiceRequest request = ExportMetricsServiceRequest.parseFrom(out.toByteArray());

        assertThat(request.getResourceMetrics(0).getScopeMetrics(0).getMetricsCount())
                .isEqualTo(6);
        List<FlatRow> rows = MetricFlattener.flatten(request);
        assertThat(rows.stream().map(r -> r.record().get("metric_type")).distinct())
                .containsExactlyInAnyOrder("sum", "gauge", "histogram", "exponential_histogram");
        assertThat(rows.stream()
                        .mapToInt(r -> ((List<?>) r.record().get("exemplars")).size())
                        .sum())
                .as("exemplars were recorded")
                .isPositive();
        assertRoundTrip(request);
    }

    @Test
    void columnsHoldWhatDocsSchemaMdPromises() {
        List<FlatRow> rows = MetricFlattener.flatten(edgeCases());
        GenericRecord threads = rows.get(0).record();
        GenericRecord cpu = rows.get(1).record();
        GenericRecord noValue = rows.get(2).record();
        GenericRecord requests = rows.get(3).record();
        GenericRecord queue = rows.get(4).record();
        GenericRecord latency = rows.get(5).record();
        GenericRecord countOnly = rows.get(6).record();
        GenericRecord sizes = rows.get(7).record();
        GenericRecord noBuckets = rows.get(8).record();
        GenericRecord gc = rows.get(9).record();
        GenericRecord odd = rows.get(10).record();
        GenericRecord bare = rows.get(11).record();

        // gauge, int
        assertThat(threads.get("metric_name")).isEqualTo("process.threads");
        assertThat(threads.get("metric_description")).isEqualTo("Live threads.");
        assertThat(threads.get("metric_unit")).isEqualTo("{thread}");
        assertThat(threads.get("metric_type")).isEqualTo("gauge");
        assertThat(threads.get("aggregation_temporality")).isNull();
        assertThat(threads.get("is_monotonic")).isNull();
        assertThat(threads.get("timestamp")).isEqualTo(T);
        assertThat(threads.get("start_timestamp")).isNull();
        assertThat(threads.get("value_int")).isEqualTo(42L);
        assertThat(threads.get("value_double")).isNull();
        assertThat(threads.get("count")).isNull();
        assertThat(threads.get("bucket_counts")).isNull();
        assertThat(threads.get("quantile_values")).isNull();
        assertThat(threads.get("attributes")).isEqualTo(Map.of("state", "runnable"));
        assertThat(threads.get("attribute_types")).isEqualTo(Map.of());
        assertThat(threads.get("exemplars")).isEqualTo(List.of());
        assertThat(threads.get("service_name")).isEqualTo("checkout");
        assertThat(threads.get("resource_attributes")).isEqualTo(Map.of("service.name", "checkout", "host.cpus", "8"));
        assertThat(threads.get("resource_attribute_types")).isEqualTo(Map.of("host.cpus", "int"));
        assertThat(threads.get("resource_dropped_attributes_count")).isEqualTo(2L);
        assertThat(threads.get("resource_schema_url")).isEqualTo("https://opentelemetry.io/schemas/1.26.0");
        assertThat(threads.get("scope_name")).isEqualTo("io.otellake.test");
        assertThat(threads.get("scope_version")).isEqualTo("1.0");
        assertThat(threads.get("scope_attributes")).isEqualTo(Map.of("lib", "x"));
        assertThat(threads.get("scope_schema_url")).isEqualTo("https://opentelemetry.io/schemas/1.27.0");
        assertThat(threads.get("metric_metadata")).isEqualTo(Map.of());
        assertThat(rows.get(0).eventTimeNanos()).isEqualTo(T);

        // gauge, double; and a point flagged as having no recorded value
        assertThat(cpu.get("value_double")).isEqualTo(0.25);
        assertThat(cpu.get("value_int")).isNull();
        assertThat(cpu.get("start_timestamp")).isEqualTo(START);
        assertThat(cpu.get("metric_description")).isNull();
        assertThat(cpu.get("attributes")).isEqualTo(Map.of());
        assertThat(noValue.get("flags")).isEqualTo(1L);
        assertThat(noValue.get("value_double")).isNull();
        assertThat(noValue.get("value_int")).isNull();

        // sum, delta, monotonic, with metadata and an exemplar
        assertThat(requests.get("metric_type")).isEqualTo("sum");
        assertThat(requests.get("aggregation_temporality")).isEqualTo("delta");
        assertThat(requests.get("is_monotonic")).isEqualTo(true);
        assertThat(requests.get("value_int")).isEqualTo(7L);
        assertThat(requests.get("attributes"))
                .isEqualTo(Map.of("http.route", "/checkout", "http.response.status_code", "200"));
        assertThat(requests.get("attribute_types")).isEqualTo(Map.of("http.response.status_code", "int"));
        assertThat(requests.get("metric_metadata"))
                .isEqualTo(Map.of(
                        "source",
                        "{\"values\":[{\"key\":\"sdk\",\"value\":{\"stringValue\":\"java\"}}]}",
                        "owner",
                        "team-a"));
        assertThat(requests.get("metric_metadata_types")).isEqualTo(Map.of("source", "kvlist"));
        GenericRecord exemplar = (GenericRecord) ((List<?>) requests.get("exemplars")).get(0);
        assertThat(exemplar.get("timestamp")).isEqualTo(T - 5);
        assertThat(exemplar.get("value_int")).isEqualTo(1L);
        assertThat(exemplar.get("value_double")).isNull();
        assertThat(exemplar.get("trace_id")).isEqualTo(TRACE);
        assertThat(exemplar.get("span_id")).isEqualTo(SPAN);
        assertThat(exemplar.get("filtered_attributes")).isEqualTo(Map.of("user.id", "ada"));
        assertThat(exemplar.get("filtered_attribute_types")).isEqualTo(Map.of());

        // sum, cumulative, not monotonic
        assertThat(queue.get("aggregation_temporality")).isEqualTo("cumulative");
        assertThat(queue.get("is_monotonic")).isEqualTo(false);
        assertThat(queue.get("value_double")).isEqualTo(-3.5);
        assertThat(queue.get("metric_unit")).isNull();

        // histogram with everything
        assertThat(latency.get("metric_type")).isEqualTo("histogram");
        assertThat(latency.get("aggregation_temporality")).isEqualTo("delta");
        assertThat(latency.get("is_monotonic")).isNull();
        assertThat(latency.get("count")).isEqualTo(3L);
        assertThat(latency.get("sum")).isEqualTo(250.5);
        assertThat(latency.get("min")).isEqualTo(0.5);
        assertThat(latency.get("max")).isEqualTo(200.0);
        assertThat(latency.get("bucket_counts")).isEqualTo(List.of(1L, 2L, 0L));
        assertThat(latency.get("explicit_bounds")).isEqualTo(List.of(10.0, 100.0));
        assertThat(latency.get("value_double")).isNull();
        assertThat(latency.get("scale")).isNull();
        assertThat(latency.get("attributes"))
                .isEqualTo(Map.of(
                        "tags",
                        "{\"values\":[{\"stringValue\":\"a\"},{\"intValue\":\"7\"}]}",
                        "peer",
                        "{\"values\":[{\"key\":\"ok\",\"value\":{\"boolValue\":true}}]}"));
        assertThat(latency.get("attribute_types")).isEqualTo(Map.of("tags", "array", "peer", "kvlist"));
        GenericRecord histogramExemplar = (GenericRecord) ((List<?>) latency.get("exemplars")).get(0);
        assertThat(histogramExemplar.get("value_double")).isEqualTo(200.0);
        assertThat(histogramExemplar.get("value_int")).isNull();

        // histogram with a count only
        assertThat(countOnly.get("count")).isEqualTo(5L);
        assertThat(countOnly.get("sum")).isNull();
        assertThat(countOnly.get("min")).isNull();
        assertThat(countOnly.get("max")).isNull();
        assertThat(countOnly.get("bucket_counts")).isEqualTo(List.of());
        assertThat(countOnly.get("explicit_bounds")).isEqualTo(List.of());

        // exponential histogram with negative buckets
        assertThat(sizes.get("metric_type")).isEqualTo("exponential_histogram");
        assertThat(sizes.get("aggregation_temporality")).isEqualTo("cumulative");
        assertThat(sizes.get("count")).isEqualTo(8L);
        assertThat(sizes.get("sum")).isEqualTo(-20.0);
        assertThat(sizes.get("min")).isEqualTo(-30.0);
        assertThat(sizes.get("max")).isEqualTo(12.0);
        assertThat(sizes.get("scale")).isEqualTo(3);
        assertThat(sizes.get("zero_count")).isEqualTo(1L);
        assertThat(sizes.get("zero_threshold")).isEqualTo(1e-9);
        assertThat(sizes.get("positive_offset")).isEqualTo(-2);
        assertThat(sizes.get("positive_bucket_counts")).isEqualTo(List.of(1L, 0L, 4L));
        assertThat(sizes.get("negative_offset")).isEqualTo(5);
        assertThat(sizes.get("negative_bucket_counts")).isEqualTo(List.of(2L));
        assertThat(sizes.get("bucket_counts")).isNull();
        assertThat(noBuckets.get("scale")).isEqualTo(-1);
        assertThat(noBuckets.get("positive_offset")).isNull();
        assertThat(noBuckets.get("positive_bucket_counts")).isNull();
        assertThat(noBuckets.get("negative_offset")).isNull();
        assertThat(noBuckets.get("negative_bucket_counts")).isNull();
        assertThat(noBuckets.get("sum")).isNull();

        // summary, and the start time standing in for a missing time
        assertThat(gc.get("metric_type")).isEqualTo("summary");
        assertThat(gc.get("aggregation_temporality")).isNull();
        assertThat(gc.get("count")).isEqualTo(4L);
        assertThat(gc.get("sum")).isEqualTo(12.5);
        assertThat(gc.get("timestamp")).isNull();
        assertThat(rows.get(9).eventTimeNanos())
                .as("start time stands in for a missing time")
                .isEqualTo(START);
        assertThat(((List<?>) gc.get("quantile_values"))
                        .stream()
                                .map(o -> (GenericRecord) o)
                                .map(r -> List.of(r.get("quantile"), r.get("value")))
                                .toList())
                .containsExactly(List.of(0.0, 0.5), List.of(0.5, 2.0), List.of(0.99, 6.0), List.of(1.0, 7.5));
        assertThat(gc.get("exemplars")).isEqualTo(List.of());

        assertThat(odd.get("aggregation_temporality")).isEqualTo("7");

        // a resource and scope with nothing in them, a point with nothing in it
        assertThat(bare.get("service_name")).isNull();
        assertThat(bare.get("resource_attributes")).isEqualTo(Map.of());
        assertThat(bare.get("scope_name")).isNull();
        assertThat(bare.get("timestamp")).isNull();
        assertThat(bare.get("value_int")).isNull();
        assertThat(bare.get("value_double")).isNull();
        assertThat(rows.get(11).eventTimeNanos()).isZero();
    }

    @Test
    void aHistogramPointThatBreaksOtlpsBucketRulesIsArchivedAsSent() {
        // OTLP asks for one more bucket count than bounds (or none) and ascending bounds; the lake does not check
        // either, and keeps what the producer sent so that the row still turns back into the same point
        Metric broken = metric("broken.histogram", "ms")
                .setHistogram(Histogram.newBuilder()
                        .setAggregationTemporality(AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA)
                        .addDataPoints(HistogramDataPoint.newBuilder()
                                .setTimeUnixNano(T)
                                .setCount(3)
                                .addAllBucketCounts(List.of(1L, 2L))
                                .addAllExplicitBounds(List.of(100.0, 10.0, Double.NaN))))
                .build();
        ExportMetricsServiceRequest request = ExportMetricsServiceRequest.newBuilder()
                .addResourceMetrics(ResourceMetrics.newBuilder()
                        .addScopeMetrics(ScopeMetrics.newBuilder().addMetrics(broken)))
                .build();

        GenericRecord row = MetricFlattener.flatten(request).get(0).record();
        assertThat(row.get("bucket_counts")).isEqualTo(List.of(1L, 2L));
        assertThat(row.get("explicit_bounds")).isEqualTo(List.of(100.0, 10.0, Double.NaN));
        assertRoundTrip(request);
    }

    @Test
    void anExemplarWithoutAValueHasNeitherValueColumn() {
        Metric requests = metric("requests", "")
                .setSum(Sum.newBuilder()
                        .setAggregationTemporality(AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE)
                        .setIsMonotonic(true)
                        .addDataPoints(NumberDataPoint.newBuilder()
                                .setTimeUnixNano(T)
                                .setAsInt(1)
                                .addExemplars(Exemplar.newBuilder()
                                        .setTimeUnixNano(T - 1)
                                        .setTraceId(ByteString.fromHex(TRACE)))))
                .build();
        ExportMetricsServiceRequest request = ExportMetricsServiceRequest.newBuilder()
                .addResourceMetrics(ResourceMetrics.newBuilder()
                        .addScopeMetrics(ScopeMetrics.newBuilder().addMetrics(requests)))
                .build();

        GenericRecord exemplar = (GenericRecord)
                ((List<?>) MetricFlattener.flatten(request).get(0).record().get("exemplars")).get(0);
        assertThat(exemplar.get("value_double")).isNull();
        assertThat(exemplar.get("value_int")).isNull();
        assertThat(exemplar.get("trace_id")).isEqualTo(TRACE);
        assertThat(exemplar.get("span_id")).isNull();
        assertRoundTrip(request);
    }

    static void assertRoundTrip(ExportMetricsServiceRequest request) {
        List<GenericRecord> rows = MetricFlattener.flatten(request).stream()
                .map(row -> AvroRoundTrip.through(row.record()))
                .toList();

        assertThat(OtlpNormalizer.normalize(MetricFlattener.restore(rows)))
                .isEqualTo(OtlpNormalizer.normalize(request));
    }
}
