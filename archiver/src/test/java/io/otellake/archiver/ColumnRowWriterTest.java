package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.ArrayValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
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
import io.otellake.schemas.FlatRow;
import io.otellake.schemas.LakeSchema;
import io.otellake.schemas.LogFlattener;
import io.otellake.schemas.MetricFlattener;
import io.otellake.schemas.Signal;
import io.otellake.schemas.SpanFlattener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.util.Utf8;
import org.apache.parquet.column.Encoding;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.io.LocalInputFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ColumnRowWriter}, which writes rows straight into parquet-mr's column writers, against the writer it
 * replaces ({@code ParquetWriter} with {@link ParquetFiles.RowWriteSupport}): the same file, byte for byte, with
 * parquet-mr's default encodings; and every column of every row read back exactly, by parquet-mr and by DuckDB, from
 * those files and from the lake's own (with {@link ColumnEncodings}), including nulls, empty maps and lists, events
 * and links with attributes, and metric points with lists of numbers and of records.
 */
class ColumnRowWriterTest {
    private static final long T = 1_700_000_000_123_456_789L;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    static KeyValue kv(String k, String v) {
        return KeyValue.newBuilder()
                .setKey(k)
                .setValue(AnyValue.newBuilder().setStringValue(v))
                .build();
    }

    static KeyValue kv(String k, long v) {
        return KeyValue.newBuilder()
                .setKey(k)
                .setValue(AnyValue.newBuilder().setIntValue(v))
                .build();
    }

    static ByteString id(SplittableRandom r, int bytes) {
        byte[] b = new byte[bytes];
        for (int i = 0; i < bytes; i++) {
            b[i] = (byte) r.nextInt(256);
        }
        return ByteString.copyFrom(b);
    }

    /** Spans with every shape a column can take: nulls, empty and full maps and lists, events and links. */
    static ExportTraceServiceRequest spans(int count, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        ScopeSpans.Builder plain = ScopeSpans.newBuilder(); // no scope name, version or attributes
        ScopeSpans.Builder http = ScopeSpans.newBuilder()
                .setScope(InstrumentationScope.newBuilder()
                        .setName("io.opentelemetry.http")
                        .setVersion("2.3.0")
                        .addAttributes(kv("scope.kind", "http"))
                        .addAttributes(kv("scope.level", 3)))
                .setSchemaUrl("https://opentelemetry.io/schemas/1.26.0");
        ByteString trace = id(r, 16);
        ByteString root = id(r, 8);
        for (int i = 0; i < count; i++) {
            if (i % 4 == 0) {
                trace = id(r, 16);
                root = id(r, 8);
            }
            Span.Builder span = Span.newBuilder()
                    .setTraceId(trace)
                    .setSpanId(i % 4 == 0 ? root : id(r, 8))
                    .setParentSpanId(i % 4 == 0 ? ByteString.EMPTY : root)
                    .setName("op-" + r.nextInt(5))
                    .setKind(Span.SpanKind.forNumber(r.nextInt(6)))
                    .setStartTimeUnixNano(T + i * 1_000L)
                    .setEndTimeUnixNano(T + i * 1_000L + r.nextInt(1_000_000))
                    .setFlags(r.nextInt(3) == 0 ? 0x301 : 0)
                    .setDroppedAttributesCount(i % 7 == 0 ? 2 : 0);
            if (i % 3 == 0) {
                span.setTraceState("vendor=" + r.nextInt(9));
            }
            if (i % 5 != 1) { // some spans without any attribute
                span.addAttributes(kv("http.route", "/api/" + r.nextInt(4)));
                span.addAttributes(kv("url.path", "/api/" + r.nextInt(1_000_000)));
                span.addAttributes(kv("http.response.status_code", r.nextInt(2) == 0 ? 200 : 503));
                if (i % 2 == 0) {
                    span.addAttributes(KeyValue.newBuilder()
                            .setKey("tags")
                            .setValue(AnyValue.newBuilder()
                                    .setArrayValue(ArrayValue.newBuilder()
                                            .addValues(AnyValue.newBuilder().setStringValue("a"))
                                            .addValues(AnyValue.newBuilder().setBoolValue(true)))));
                }
                span.addAttributes(kv("ünïcödé.kéy", "välue-" + r.nextInt(3) + " ☃"));
            }
            if (i % 6 == 0) {
                span.setStatus(Status.newBuilder()
                        .setCode(Status.StatusCode.STATUS_CODE_ERROR)
                        .setMessage("failed " + i));
                span.addEvents(Span.Event.newBuilder()
                        .setName("exception")
                        .setTimeUnixNano(T + i)
                        .addAttributes(kv("exception.type", "java.io.IOException"))
                        .addAttributes(kv("exception.escaped", 1)));
                span.addEvents(Span.Event.newBuilder().setName("bare").setTimeUnixNano(T + i + 1));
                span.setDroppedEventsCount(1);
            }
            if (i % 8 == 3) {
                span.addLinks(Span.Link.newBuilder()
                        .setTraceId(id(r, 16))
                        .setSpanId(id(r, 8))
                        .setTraceState("x=1")
                        .setFlags(1)
                        .addAttributes(kv("link.kind", "follows")));
                span.addLinks(Span.Link.newBuilder().setTraceId(id(r, 16)).setSpanId(id(r, 8)));
                span.setDroppedLinksCount(3);
            }
            (i % 10 == 9 ? plain : http).addSpans(span);
        }
        return ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .setResource(Resource.newBuilder()
                                .addAttributes(kv("service.name", "checkout"))
                                .addAttributes(kv("host.name", "node-1"))
                                .addAttributes(kv("process.pid", 4242))
                                .setDroppedAttributesCount(1))
                        .setSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
                        .addScopeSpans(http)
                        .addScopeSpans(plain))
                .addResourceSpans(ResourceSpans.newBuilder() // a resource without attributes: no service name
                        .addScopeSpans(ScopeSpans.newBuilder()
                                .addSpans(Span.newBuilder()
                                        .setTraceId(id(r, 16))
                                        .setSpanId(id(r, 8))
                                        .setName("")
                                        .setStartTimeUnixNano(T)
                                        .setEndTimeUnixNano(T))))
                .build();
    }

    static ExportLogsServiceRequest logs() {
        ScopeLogs.Builder scope = ScopeLogs.newBuilder()
                .setScope(InstrumentationScope.newBuilder().setName("io.example"));
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < 300; i++) {
            LogRecord.Builder log = LogRecord.newBuilder()
                    .setObservedTimeUnixNano(T + i)
                    .setSeverityNumberValue(i % 24)
                    .addAttributes(kv("thread.id", i % 5));
            if (i % 3 != 0) {
                log.setTimeUnixNano(T + i - 5); // else no time: null timestamp
                log.setSeverityText(i % 2 == 0 ? "INFO" : "WARN");
            }
            if (i % 4 == 0) {
                log.setBody(AnyValue.newBuilder().setStringValue("order=" + r.nextInt(1000) + " done"));
            } else if (i % 4 == 1) {
                log.setBody(AnyValue.newBuilder().setIntValue(i));
            } // else no body: null body and body_type
            if (i % 2 == 0) {
                log.setTraceId(id(r, 16)).setSpanId(id(r, 8)).setFlags(1);
            }
            if (i % 7 == 0) {
                log.setEventName("app.event");
            }
            scope.addLogRecords(log);
        }
        return ExportLogsServiceRequest.newBuilder()
                .addResourceLogs(ResourceLogs.newBuilder()
                        .setResource(Resource.newBuilder().addAttributes(kv("service.name", "payments")))
                        .addScopeLogs(scope))
                .build();
    }

    static ExportMetricsServiceRequest metrics() {
        Metric gauge = Metric.newBuilder()
                .setName("cpu.utilization")
                .setUnit("1")
                .setGauge(Gauge.newBuilder()
                        .addDataPoints(NumberDataPoint.newBuilder()
                                .setTimeUnixNano(T)
                                .setAsDouble(0.25)
                                .addAttributes(kv("cpu", 0)))
                        .addDataPoints(NumberDataPoint.newBuilder().setTimeUnixNano(T + 1)))
                .build();
        Metric sum = Metric.newBuilder()
                .setName("http.server.requests")
                .addMetadata(kv("owner", "team-a"))
                .setSum(Sum.newBuilder()
                        .setAggregationTemporality(AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA)
                        .setIsMonotonic(true)
                        .addDataPoints(NumberDataPoint.newBuilder()
                                .setStartTimeUnixNano(T - 10)
                                .setTimeUnixNano(T)
                                .setAsInt(7)
                                .addExemplars(Exemplar.newBuilder()
                                        .setTimeUnixNano(T - 5)
                                        .setAsInt(1)
                                        .setTraceId(ByteString.fromHex("0af7651916cd43dd8448eb211c80319c"))
                                        .setSpanId(ByteString.fromHex("b7ad6b7169203331"))
                                        .addFilteredAttributes(kv("user.id", "ada")))
                                .addExemplars(Exemplar.newBuilder().setAsDouble(2.5))))
                .build();
        Metric histogram = Metric.newBuilder()
                .setName("http.server.duration")
                .setUnit("ms")
                .setHistogram(Histogram.newBuilder()
                        .setAggregationTemporality(AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE)
                        .addDataPoints(HistogramDataPoint.newBuilder()
                                .setTimeUnixNano(T)
                                .setCount(3)
                                .setSum(250.5)
                                .setMin(0.5)
                                .setMax(200)
                                .addAllBucketCounts(List.of(1L, 2L, 0L))
                                .addAllExplicitBounds(List.of(10.0, 100.0)))
                        .addDataPoints(HistogramDataPoint.newBuilder().setTimeUnixNano(T + 1)))
                .build();
        Metric exponential = Metric.newBuilder()
                .setName("rpc.duration")
                .setExponentialHistogram(ExponentialHistogram.newBuilder()
                        .addDataPoints(ExponentialHistogramDataPoint.newBuilder()
                                .setTimeUnixNano(T)
                                .setCount(4)
                                .setScale(3)
                                .setZeroCount(1)
                                .setZeroThreshold(0.001)
                                .setPositive(ExponentialHistogramDataPoint.Buckets.newBuilder()
                                        .setOffset(-2)
                                        .addAllBucketCounts(List.of(1L, 2L)))
                                .setNegative(ExponentialHistogramDataPoint.Buckets.newBuilder()
                                        .setOffset(1))))
                .build();
        Metric summary = Metric.newBuilder()
                .setName("gc.pause")
                .setSummary(Summary.newBuilder()
                        .addDataPoints(SummaryDataPoint.newBuilder()
                                .setTimeUnixNano(T)
                                .setCount(10)
                                .setSum(12.5)
                                .addQuantileValues(SummaryDataPoint.ValueAtQuantile.newBuilder()
                                        .setQuantile(0.5)
                                        .setValue(1.0))
                                .addQuantileValues(SummaryDataPoint.ValueAtQuantile.newBuilder()
                                        .setQuantile(0.99)
                                        .setValue(9.0))))
                .build();
        return ExportMetricsServiceRequest.newBuilder()
                .addResourceMetrics(ResourceMetrics.newBuilder()
                        .setResource(Resource.newBuilder().addAttributes(kv("service.name", "api")))
                        .addScopeMetrics(ScopeMetrics.newBuilder()
                                .addMetrics(gauge)
                                .addMetrics(sum)
                                .addMetrics(histogram)
                                .addMetrics(exponential)
                                .addMetrics(summary)))
                .build();
    }

    static List<GenericRecord> records(List<FlatRow> rows) {
        return rows.stream().map(FlatRow::record).toList();
    }

    /**
     * Writes the rows with both writers and parquet-mr's default encodings, and as the lake writes them; returns
     * {direct, fallback, lake}.
     */
    Path[] writeBoth(Signal signal, List<GenericRecord> rows, long bloomNdv, long rowGroupBytes) throws Exception {
        Schema schema = LakeSchema.of(signal);
        Map<String, String> meta = LakeSchema.fileMetadata(signal, "test");
        ParquetFiles.WritePath[] ways = {
            ParquetFiles.WritePath.COLUMNS_DEFAULT_ENCODINGS,
            ParquetFiles.WritePath.PARQUET_WRITER,
            ParquetFiles.WritePath.LAKE
        };
        Path[] files = new Path[ways.length];
        for (int i = 0; i < ways.length; i++) {
            files[i] = dir.resolve(signal + "-" + ways[i] + ".parquet");
            ParquetFiles.write(
                    schema, meta, bloomNdv, rows.iterator(), files[i], ways[i], rowGroupBytes, ParquetFiles.ZSTD_LEVEL);
        }
        return files;
    }

    @Test
    void spanFilesAreTheFallbacksByteForByteAndReadBackExactly() throws Exception {
        List<GenericRecord> rows = records(SpanFlattener.flatten(spans(400, 1)));
        Path[] files = writeBoth(Signal.TRACES, rows, 101, 64 << 20);

        assertThat(Files.mismatch(files[0], files[1])).isEqualTo(-1L);
        assertReadByParquetMr(files[0], LakeSchema.SPAN, rows);
        assertReadByParquetMr(files[2], LakeSchema.SPAN, rows);
        assertReadByDuckDb(files, LakeSchema.SPAN, rows);
        try (ParquetFileReader reader = ParquetFileReader.open(new LocalInputFile(files[0]))) {
            Map<String, String> meta = reader.getFileMetaData().getKeyValueMetaData();
            assertThat(meta)
                    .containsEntry("writer.model.name", "avro")
                    .containsEntry("parquet.avro.schema", LakeSchema.SPAN.toString())
                    .containsEntry("otel_lake.schema_version", "1")
                    .containsEntry("otel_lake.signal", "traces");
        }
    }

    @Test
    void manyRowGroupsEndAtTheSameRowsAsWithParquetWriter() throws Exception {
        List<GenericRecord> rows = records(SpanFlattener.flatten(spans(30_000, 2)));
        Path[] files = writeBoth(Signal.TRACES, rows, 7_500, 1 << 20);

        assertThat(Files.mismatch(files[0], files[1])).isEqualTo(-1L);
        try (ParquetFileReader reader = ParquetFileReader.open(new LocalInputFile(files[0]))) {
            assertThat(reader.getFooter().getBlocks()).hasSizeGreaterThan(2);
        }
        assertReadByParquetMr(files[0], LakeSchema.SPAN, rows);
        assertReadByParquetMr(files[2], LakeSchema.SPAN, rows);
    }

    /**
     * The string dictionaries of the direct path remember the ids of recent binaries by identity
     * ({@link RememberingBinaryDictionaryWriter}); the fallback path uses parquet-mr's own. Their files must be equal
     * for runs of one object, alternation between objects (also of equal values, and of values that share a slot),
     * binaries that reuse their bytes, a dictionary that grows too big and falls back to plain in the middle of a row
     * group, and dictionaries that start again in every row group.
     */
    @Test
    void stringDictionariesThatRememberRecentValuesWriteParquetMrsBytes() throws Exception {
        List<GenericRecord> rows = new ArrayList<>(records(SpanFlattener.flatten(spans(30_000, 4))));
        SplittableRandom r = new SplittableRandom(5);
        String[] shared = {"GET /a", "GET /b", "a1", "b1", "c1", "ünï ☃"}; // a1, b1, c1: one slot in both tables
        Utf8 reused = new Utf8("vendor=reused");
        String run = shared[0];
        for (int i = 0; i < rows.size(); i++) {
            GenericRecord row = rows.get(i);
            String name;
            if (i < 6_000) { // runs of one object, of 1 to 7 rows
                if (r.nextInt(4) == 0) {
                    run = shared[r.nextInt(shared.length)];
                }
                name = run;
            } else if (i < 12_000) { // alternation, between the same objects and between new copies
                String s = shared[i % 3 + (i / 1_000) % 4];
                name = (i / 500) % 2 == 0 ? s : new String(s);
            } else if (i < 24_000) { // mostly distinct and long: the dictionary passes 1 MiB and falls back
                name = r.nextInt(5) == 0 ? shared[r.nextInt(shared.length)] : "op-" + i + "-" + "x".repeat(300);
            } else {
                name = shared[(i / 3) % shared.length];
            }
            row.put("name", name);
            row.put("service_name", i % 11 == 0 ? null : shared[(i / 7) % 2]);
            if (i % 5 == 0) {
                row.put("trace_state", reused); // a binary over reused bytes, equal every time
            } else if (i % 5 == 1) {
                row.put("trace_state", new Utf8("vendor=" + (i % 3)));
            }
        }
        Path[] files = writeBoth(Signal.TRACES, rows, 7_500, 4 << 20);

        assertThat(Files.mismatch(files[0], files[1])).isEqualTo(-1L);
        try (ParquetFileReader reader = ParquetFileReader.open(new LocalInputFile(files[0]))) {
            List<Set<Encoding>> nameEncodings = reader.getFooter().getBlocks().stream()
                    .map(block -> block.getColumns().stream()
                            .filter(c -> c.getPath().toDotString().equals("name"))
                            .findFirst()
                            .orElseThrow()
                            .getEncodings())
                    .toList();
            assertThat(nameEncodings).hasSizeGreaterThan(2);
            assertThat(nameEncodings).anyMatch(e -> e.contains(Encoding.PLAIN)); // fell back
            assertThat(nameEncodings).anyMatch(e -> !e.contains(Encoding.PLAIN)); // kept the dictionary
        }
        assertReadByParquetMr(files[0], LakeSchema.SPAN, rows);
    }

    @Test
    void logFilesAreTheFallbacksByteForByteAndReadBackExactly() throws Exception {
        List<GenericRecord> rows = records(LogFlattener.flatten(logs()));
        Path[] files = writeBoth(Signal.LOGS, rows, 0, 64 << 20);

        assertThat(Files.mismatch(files[0], files[1])).isEqualTo(-1L);
        assertReadByParquetMr(files[0], LakeSchema.LOG, rows);
        assertReadByParquetMr(files[2], LakeSchema.LOG, rows);
        assertReadByDuckDb(files, LakeSchema.LOG, rows);
    }

    @Test
    void metricFilesAreTheFallbacksByteForByteAndReadBackExactly() throws Exception {
        List<GenericRecord> rows = records(MetricFlattener.flatten(metrics()));
        assertThat(rows).hasSizeGreaterThan(6);
        Path[] files = writeBoth(Signal.METRICS, rows, 0, 64 << 20);

        assertThat(Files.mismatch(files[0], files[1])).isEqualTo(-1L);
        assertReadByParquetMr(files[0], LakeSchema.METRIC, rows);
        assertReadByParquetMr(files[2], LakeSchema.METRIC, rows);
        assertReadByDuckDb(files, LakeSchema.METRIC, rows);
    }

    @Test
    void aNullInARequiredColumnIsRefusedAsBefore() throws Exception {
        GenericRecord row = records(SpanFlattener.flatten(spans(1, 3))).get(0);
        row.put("name", null);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> writeBoth(Signal.TRACES, List.of(row), 1, 64 << 20))
                .hasMessageContaining("Null-value for required field: name");
    }

    // --- parquet-mr

    static void assertReadByParquetMr(Path file, Schema schema, List<GenericRecord> rows) throws Exception {
        List<Object> read = new ArrayList<>();
        try (ParquetFiles.RowReader reader = ParquetFiles.read(file, schema)) {
            reader.forEachRemaining(r -> read.add(plain(r)));
        }
        assertThat(read).hasSize(rows.size());
        for (int i = 0; i < rows.size(); i++) {
            assertThat(read.get(i)).as("row %d", i).isEqualTo(plain(rows.get(i)));
        }
    }

    /** A value as plain Java: records as maps of every field, strings as String, maps and lists recursively. */
    static Object plain(Object value) {
        if (value instanceof IndexedRecord r) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (Schema.Field f : r.getSchema().getFields()) {
                out.put(f.name(), plain(r.get(f.pos())));
            }
            return out;
        }
        if (value instanceof CharSequence s) {
            return s.toString();
        }
        if (value instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, v) -> out.put(k.toString(), plain(v)));
            return out;
        }
        if (value instanceof Collection<?> c) {
            return c.stream().map(ColumnRowWriterTest::plain).toList();
        }
        return value;
    }

    // --- DuckDB

    /**
     * Every row of both files as DuckDB reads it is the same, and equals the row written: each column through
     * DuckDB's JSON, with timestamps as epoch nanoseconds.
     */
    static void assertReadByDuckDb(Path[] files, Schema schema, List<GenericRecord> rows) throws Exception {
        List<JsonNode> direct = duckDbRows(files[0], schema);
        List<JsonNode> fallback = duckDbRows(files[1], schema);
        List<JsonNode> lake = duckDbRows(files[2], schema);
        assertThat(direct).isEqualTo(fallback).isEqualTo(lake).hasSize(rows.size());
        for (int i = 0; i < rows.size(); i++) {
            // through text, so that numbers parse to the same node types as DuckDB's
            JsonNode expected = JSON.readTree(JSON.writeValueAsString(expectedJson(rows.get(i))));
            assertThat(direct.get(i)).as("row %d", i).isEqualTo(expected);
        }
    }

    static List<JsonNode> duckDbRows(Path file, Schema schema) throws Exception {
        List<String> columns = new ArrayList<>();
        for (Schema.Field f : schema.getFields()) {
            columns.add("'" + f.name() + "': " + duckDbValue("\"" + f.name() + "\"", f.schema()));
        }
        String sql = "SELECT to_json({" + String.join(", ", columns) + "}) FROM read_parquet('" + file + "')";
        List<JsonNode> out = new ArrayList<>();
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                out.add(JSON.readTree(rs.getString(1)));
            }
        }
        return out;
    }

    /** A DuckDB expression for the value at {@code expr}: timestamps become epoch nanoseconds, lists go inside. */
    static String duckDbValue(String expr, Schema schema) {
        Schema type = nonNull(schema);
        if (isTimestamp(type)) {
            return "epoch_ns(" + expr + ")";
        }
        if (type.getType() == Schema.Type.ARRAY) {
            return "list_transform(" + expr + ", lambda x: " + duckDbValue("x", type.getElementType()) + ")";
        }
        if (type.getType() == Schema.Type.RECORD) {
            List<String> fields = new ArrayList<>();
            for (Schema.Field f : type.getFields()) {
                fields.add("'" + f.name() + "': " + duckDbValue(expr + ".\"" + f.name() + "\"", f.schema()));
            }
            return "{" + String.join(", ", fields) + "}";
        }
        return expr;
    }

    private static boolean isTimestamp(Schema type) {
        return type.getLogicalType() != null && type.getLogicalType().getName().equals("timestamp-nanos");
    }

    private static Schema nonNull(Schema schema) {
        if (schema.getType() == Schema.Type.UNION) {
            for (Schema branch : schema.getTypes()) {
                if (branch.getType() != Schema.Type.NULL) {
                    return branch;
                }
            }
        }
        return schema;
    }

    /** The row as DuckDB's to_json shows it: maps as objects, lists as arrays, null as null. */
    static JsonNode expectedJson(Object value) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        if (value == null) {
            return f.nullNode();
        }
        if (value instanceof IndexedRecord r) {
            ObjectNode o = f.objectNode();
            for (Schema.Field field : r.getSchema().getFields()) {
                o.set(field.name(), expectedJson(r.get(field.pos())));
            }
            return o;
        }
        if (value instanceof Map<?, ?> m) {
            ObjectNode o = f.objectNode();
            m.forEach((k, v) -> o.set(k.toString(), expectedJson(v)));
            return o;
        }
        if (value instanceof Collection<?> c) {
            ArrayNode a = f.arrayNode();
            c.forEach(v -> a.add(expectedJson(v)));
            return a;
        }
        if (value instanceof CharSequence s) {
            return f.textNode(s.toString());
        }
        if (value instanceof Long l) {
            return f.numberNode(l);
        }
        if (value instanceof Integer i) {
            return f.numberNode(i);
        }
        if (value instanceof Double d) {
            return f.numberNode(d);
        }
        if (value instanceof Boolean b) {
            return f.booleanNode(b);
        }
        throw new IllegalArgumentException("unexpected " + value.getClass());
    }
}
