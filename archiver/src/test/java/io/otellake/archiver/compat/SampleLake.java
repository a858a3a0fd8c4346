package io.otellake.archiver.compat;

import com.google.protobuf.ByteString;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.ArrayValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.common.v1.KeyValueList;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
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
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import io.otellake.archiver.ParquetFiles;
import io.otellake.archiver.TraceIndex;
import io.otellake.schemas.FlatRow;
import io.otellake.schemas.LogFlattener;
import io.otellake.schemas.MetricFlattener;
import io.otellake.schemas.Signal;
import io.otellake.schemas.SpanFlattener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.avro.generic.GenericRecord;

/**
 * Writes one small lake file per kind (spans, logs, metrics, trace index) with the archiver's own writer, for the
 * reader compatibility check in {@code tools/compat} (polars, arrow-rs, hyparquet). The values here are the ones
 * {@code tools/compat/read.mjs} expects: change both together.
 *
 * <p>Usage: {@code SampleLake <out dir>}; writes {@code spans.parquet}, {@code logs.parquet}, {@code
 * metrics.parquet} and {@code trace_index.parquet} there.
 */
public final class SampleLake {
    static final String TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
    static final String OTHER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
    static final String SPAN_ID = "b7ad6b7169203331";
    static final String PARENT_SPAN_ID = "00f067aa0ba902b7";
    static final String CHILD_SPAN_ID = "53995c3f42cd8ad8";
    static final String LINKED_SPAN_ID = "e457b5a2e4d86bd1";
    static final String ROOT_SPAN_ID = "a3ce929d0e0e4736";

    /** A time with every nanosecond digit set, beyond what a double or a microsecond timestamp keeps. */
    static final long START = 1_700_000_000_123_456_789L;

    private SampleLake() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: SampleLake <output directory>");
        }
        Path dir = Files.createDirectories(Path.of(args[0]));
        List<GenericRecord> spans = records(SpanFlattener.flatten(spans()));
        ParquetFiles.write(Signal.TRACES, spans, dir.resolve("spans.parquet"));
        ParquetFiles.write(Signal.LOGS, records(LogFlattener.flatten(logs())), dir.resolve("logs.parquet"));
        ParquetFiles.write(Signal.METRICS, records(MetricFlattener.flatten(metrics())), dir.resolve("metrics.parquet"));
        TraceIndex.write(TraceIndex.entries(spans), dir.resolve("trace_index.parquet"));
        System.out.println("sample lake files written to " + dir.toAbsolutePath());
    }

    private static List<GenericRecord> records(List<FlatRow> rows) {
        return rows.stream().map(FlatRow::record).toList();
    }

    static ExportTraceServiceRequest spans() {
        Span server = Span.newBuilder()
                .setTraceId(id(TRACE_ID))
                .setSpanId(id(SPAN_ID))
                .setParentSpanId(id(PARENT_SPAN_ID))
                .setTraceState("congo=t61rcWkgMzE")
                .setFlags(0x301)
                .setName("POST /checkout")
                .setKind(Span.SpanKind.SPAN_KIND_SERVER)
                .setStartTimeUnixNano(START)
                .setEndTimeUnixNano(START + 100_000_001L)
                .addAllAttributes(everyType())
                .setDroppedAttributesCount(3)
                .addEvents(Span.Event.newBuilder()
                        .setName("cache miss")
                        .setTimeUnixNano(START + 1)
                        .addAttributes(kv("cache.key", string("user:42"))))
                .addEvents(Span.Event.newBuilder()
                        .setName("exception")
                        .setTimeUnixNano(START + 99_999_999L)
                        .addAttributes(kv("exception.type", string("CardDeclined")))
                        .addAttributes(kv(
                                "exception.escaped",
                                AnyValue.newBuilder().setBoolValue(true).build())))
                .addLinks(Span.Link.newBuilder()
                        .setTraceId(id(OTHER_TRACE_ID))
                        .setSpanId(id(LINKED_SPAN_ID))
                        .setTraceState("rojo=00f067aa0ba902b7")
                        .setFlags(1)
                        .addAttributes(kv("link.reason", string("retry of"))))
                .setStatus(Status.newBuilder()
                        .setCode(Status.StatusCode.STATUS_CODE_ERROR)
                        .setMessage("card declined"))
                .build();
        Span child = Span.newBuilder()
                .setTraceId(id(TRACE_ID))
                .setSpanId(id(CHILD_SPAN_ID))
                .setParentSpanId(id(SPAN_ID))
                .setName("charge card")
                .setKind(Span.SpanKind.SPAN_KIND_CLIENT)
                .setStartTimeUnixNano(START + 10)
                .setEndTimeUnixNano(START + 200_000_000L)
                .build();
        Span root = Span.newBuilder()
                .setTraceId(id(OTHER_TRACE_ID))
                .setSpanId(id(ROOT_SPAN_ID))
                .setName("GET /health")
                .setKind(Span.SpanKind.SPAN_KIND_INTERNAL)
                .setStartTimeUnixNano(START + 5)
                .setEndTimeUnixNano(START + 6)
                .setStatus(Status.newBuilder().setCode(Status.StatusCode.STATUS_CODE_OK))
                .build();
        return ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .setResource(resource("checkout"))
                        .setSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
                        .addScopeSpans(ScopeSpans.newBuilder()
                                .setScope(scope())
                                .addSpans(server)
                                .addSpans(child)
                                .addSpans(root)))
                .build();
    }

    static ExportLogsServiceRequest logs() {
        LogRecord declined = LogRecord.newBuilder()
                .setTimeUnixNano(START)
                .setObservedTimeUnixNano(START + 1_000)
                .setTraceId(id(TRACE_ID))
                .setSpanId(id(SPAN_ID))
                .setFlags(1)
                .setSeverityText("ERROR")
                .setSeverityNumberValue(17)
                .setBody(string("card declined"))
                .addAttributes(
                        kv("retry", AnyValue.newBuilder().setBoolValue(true).build()))
                .addAttributes(
                        kv("attempt", AnyValue.newBuilder().setIntValue(2).build()))
                .build();
        LogRecord structured = LogRecord.newBuilder()
                .setObservedTimeUnixNano(START + 2_000)
                .setSeverityText("INFO")
                .setSeverityNumberValue(9)
                .setEventName("order.placed")
                .setBody(AnyValue.newBuilder()
                        .setKvlistValue(KeyValueList.newBuilder()
                                .addValues(kv("order", string("o-1")))
                                .addValues(kv(
                                        "items",
                                        AnyValue.newBuilder().setIntValue(3).build()))))
                .build();
        return ExportLogsServiceRequest.newBuilder()
                .addResourceLogs(ResourceLogs.newBuilder()
                        .setResource(resource("payments"))
                        .addScopeLogs(ScopeLogs.newBuilder()
                                .setScope(scope())
                                .addLogRecords(declined)
                                .addLogRecords(structured)))
                .build();
    }

    static ExportMetricsServiceRequest metrics() {
        Metric gauge = Metric.newBuilder()
                .setName("jvm.thread.count")
                .setUnit("{thread}")
                .addMetadata(kv("source", string("jmx")))
                .setGauge(Gauge.newBuilder()
                        .addDataPoints(NumberDataPoint.newBuilder()
                                .setTimeUnixNano(START)
                                .addAttributes(kv("state", string("runnable")))
                                .setAsDouble(42.5)
                                .addExemplars(Exemplar.newBuilder()
                                        .setTimeUnixNano(START - 7)
                                        .setAsDouble(41.25)
                                        .setTraceId(id(TRACE_ID))
                                        .setSpanId(id(SPAN_ID))
                                        .addFilteredAttributes(kv(
                                                "thread.id",
                                                AnyValue.newBuilder()
                                                        .setIntValue(7)
                                                        .build())))))
                .build();
        Metric sum = Metric.newBuilder()
                .setName("http.server.requests")
                .setUnit("{request}")
                .setSum(Sum.newBuilder()
                        .setAggregationTemporality(AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE)
                        .setIsMonotonic(true)
                        .addDataPoints(NumberDataPoint.newBuilder()
                                .setStartTimeUnixNano(START - 60_000_000_000L)
                                .setTimeUnixNano(START)
                                .setAsInt(9_007_199_254_740_993L) // 2^53 + 1: not exact as a double
                                .addExemplars(Exemplar.newBuilder()
                                        .setTimeUnixNano(START - 3)
                                        .setAsInt(1))))
                .build();
        Metric histogram = Metric.newBuilder()
                .setName("http.server.request.duration")
                .setUnit("s")
                .setDescription("Duration of HTTP server requests.")
                .setHistogram(Histogram.newBuilder()
                        .setAggregationTemporality(AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA)
                        .addDataPoints(HistogramDataPoint.newBuilder()
                                .setStartTimeUnixNano(START - 10_000_000_000L)
                                .setTimeUnixNano(START)
                                .addAttributes(kv("http.route", string("/checkout")))
                                .setCount(6)
                                .setSum(7.25)
                                .setMin(0.125)
                                .setMax(3.5)
                                .addAllBucketCounts(List.of(1L, 2L, 3L))
                                .addAllExplicitBounds(List.of(0.5, 2.5))
                                .addExemplars(Exemplar.newBuilder()
                                        .setTimeUnixNano(START - 1)
                                        .setAsDouble(3.5)
                                        .setTraceId(id(OTHER_TRACE_ID))
                                        .setSpanId(id(ROOT_SPAN_ID)))))
                .build();
        Metric exponential = Metric.newBuilder()
                .setName("rpc.server.duration")
                .setUnit("ms")
                .setExponentialHistogram(ExponentialHistogram.newBuilder()
                        .setAggregationTemporality(AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA)
                        .addDataPoints(ExponentialHistogramDataPoint.newBuilder()
                                .setStartTimeUnixNano(START - 10_000_000_000L)
                                .setTimeUnixNano(START)
                                .setCount(7)
                                .setSum(12.0)
                                .setScale(2)
                                .setZeroCount(1)
                                .setZeroThreshold(0.001)
                                .setPositive(ExponentialHistogramDataPoint.Buckets.newBuilder()
                                        .setOffset(-1)
                                        .addAllBucketCounts(List.of(1L, 0L, 3L)))
                                .setNegative(ExponentialHistogramDataPoint.Buckets.newBuilder()
                                        .setOffset(0)
                                        .addBucketCounts(2L))
                                .addExemplars(Exemplar.newBuilder()
                                        .setTimeUnixNano(START - 2)
                                        .setAsDouble(2.0)
                                        .setTraceId(id(TRACE_ID))
                                        .setSpanId(id(CHILD_SPAN_ID)))))
                .build();
        Metric summary = Metric.newBuilder()
                .setName("gc.pause")
                .setUnit("ms")
                .setSummary(Summary.newBuilder()
                        .addDataPoints(SummaryDataPoint.newBuilder()
                                .setStartTimeUnixNano(START - 10_000_000_000L)
                                .setTimeUnixNano(START)
                                .setCount(4)
                                .setSum(20.5)
                                .addQuantileValues(SummaryDataPoint.ValueAtQuantile.newBuilder()
                                        .setQuantile(0.5)
                                        .setValue(1.5))
                                .addQuantileValues(SummaryDataPoint.ValueAtQuantile.newBuilder()
                                        .setQuantile(0.99)
                                        .setValue(9.75))))
                .build();
        return ExportMetricsServiceRequest.newBuilder()
                .addResourceMetrics(ResourceMetrics.newBuilder()
                        .setResource(resource("checkout"))
                        .addScopeMetrics(ScopeMetrics.newBuilder()
                                .setScope(scope())
                                .addMetrics(gauge)
                                .addMetrics(sum)
                                .addMetrics(histogram)
                                .addMetrics(exponential)
                                .addMetrics(summary)))
                .build();
    }

    /** One attribute of every OTLP type. */
    private static List<KeyValue> everyType() {
        return List.of(
                kv("http.route", string("/checkout")),
                kv(
                        "http.response.status_code",
                        AnyValue.newBuilder().setIntValue(502).build()),
                kv("sample.ratio", AnyValue.newBuilder().setDoubleValue(0.25).build()),
                kv("retry", AnyValue.newBuilder().setBoolValue(false).build()),
                kv(
                        "payload",
                        AnyValue.newBuilder()
                                .setBytesValue(ByteString.copyFrom(new byte[] {1, 2, (byte) 0xff}))
                                .build()),
                kv(
                        "tags",
                        AnyValue.newBuilder()
                                .setArrayValue(ArrayValue.newBuilder()
                                        .addValues(string("a"))
                                        .addValues(AnyValue.newBuilder().setIntValue(7)))
                                .build()),
                kv(
                        "user",
                        AnyValue.newBuilder()
                                .setKvlistValue(KeyValueList.newBuilder()
                                        .addValues(kv(
                                                "id",
                                                AnyValue.newBuilder()
                                                        .setIntValue(42)
                                                        .build())))
                                .build()),
                kv("nothing", AnyValue.getDefaultInstance()));
    }

    private static Resource resource(String service) {
        return Resource.newBuilder()
                .addAttributes(kv("service.name", string(service)))
                .addAttributes(kv("host.name", string("web-1")))
                .addAttributes(kv(
                        "process.pid", AnyValue.newBuilder().setIntValue(4242).build()))
                .build();
    }

    private static InstrumentationScope scope() {
        return InstrumentationScope.newBuilder()
                .setName("io.otellake.sample")
                .setVersion("1.0.0")
                .addAttributes(
                        kv("sample", AnyValue.newBuilder().setBoolValue(true).build()))
                .build();
    }

    private static ByteString id(String hex) {
        return ByteString.fromHex(hex);
    }

    private static AnyValue string(String s) {
        return AnyValue.newBuilder().setStringValue(s).build();
    }

    private static KeyValue kv(String key, AnyValue value) {
        return KeyValue.newBuilder().setKey(key).setValue(value).build();
    }
}
