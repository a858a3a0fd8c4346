package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.otellake.schemas.FlatRow;
import io.otellake.schemas.LogFlattener;
import io.otellake.schemas.Signal;
import io.otellake.schemas.SpanFlattener;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.parquet.avro.AvroParquetReader;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.io.LocalInputFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The files the archiver writes, read back by parquet-mr (as Spark does) and by DuckDB itself. */
class ParquetFilesTest {
    @TempDir
    Path dir;

    static KeyValue kv(String k, AnyValue v) {
        return KeyValue.newBuilder().setKey(k).setValue(v).build();
    }

    static ExportTraceServiceRequest spans() {
        return ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .setResource(Resource.newBuilder()
                                .addAttributes(kv(
                                        "service.name",
                                        AnyValue.newBuilder()
                                                .setStringValue("checkout")
                                                .build())))
                        .addScopeSpans(ScopeSpans.newBuilder()
                                .addSpans(Span.newBuilder()
                                        .setTraceId(ByteString.fromHex("0af7651916cd43dd8448eb211c80319c"))
                                        .setSpanId(ByteString.fromHex("b7ad6b7169203331"))
                                        .setName("GET /users/{id}")
                                        .setKind(Span.SpanKind.SPAN_KIND_SERVER)
                                        .setStartTimeUnixNano(1_700_000_000_123_456_789L)
                                        .setEndTimeUnixNano(1_700_000_000_223_456_789L)
                                        .addAttributes(kv(
                                                "http.route",
                                                AnyValue.newBuilder()
                                                        .setStringValue("/users/{id}")
                                                        .build()))
                                        .addAttributes(kv(
                                                "http.response.status_code",
                                                AnyValue.newBuilder()
                                                        .setIntValue(200)
                                                        .build()))
                                        .addEvents(Span.Event.newBuilder()
                                                .setName("cache miss")
                                                .setTimeUnixNano(1_700_000_000_150_000_000L)))))
                .build();
    }

    static ExportLogsServiceRequest logs() {
        return ExportLogsServiceRequest.newBuilder()
                .addResourceLogs(ResourceLogs.newBuilder()
                        .setResource(Resource.newBuilder()
                                .addAttributes(kv(
                                        "service.name",
                                        AnyValue.newBuilder()
                                                .setStringValue("payments")
                                                .build())))
                        .addScopeLogs(ScopeLogs.newBuilder()
                                .addLogRecords(LogRecord.newBuilder()
                                        .setTimeUnixNano(1_700_000_000_123_456_789L)
                                        .setSeverityText("ERROR")
                                        .setSeverityNumberValue(17)
                                        .setBody(AnyValue.newBuilder().setStringValue("card declined"))
                                        .addAttributes(kv(
                                                "retry",
                                                AnyValue.newBuilder()
                                                        .setBoolValue(true)
                                                        .build())))))
                .build();
    }

    static List<GenericRecord> records(List<FlatRow> rows) {
        return rows.stream().map(FlatRow::record).toList();
    }

    @Test
    void parquetMrReadsBackExactlyWhatWasWritten() throws Exception {
        Path file = dir.resolve("spans.parquet");
        List<FlatRow> rows = SpanFlattener.flatten(spans());
        ParquetFiles.write(Signal.TRACES, records(rows), file);

        List<GenericRecord> read = new ArrayList<>();
        try (ParquetReader<GenericRecord> reader = AvroParquetReader.<GenericRecord>builder(new LocalInputFile(file))
                .withDataModel(org.apache.avro.generic.GenericData.get())
                .withConf(new PlainParquetConfiguration())
                .build()) {
            for (GenericRecord r = reader.read(); r != null; r = reader.read()) {
                read.add(r);
            }
        }
        assertThat(read).hasSize(1);
        assertThat(SpanFlattener.restore(read.get(0)))
                .isEqualTo(SpanFlattener.restore(rows.get(0).record()));

        try (ParquetFileReader footer = ParquetFileReader.open(new LocalInputFile(file))) {
            Map<String, String> meta = footer.getFileMetaData().getKeyValueMetaData();
            assertThat(meta).containsEntry("otel_lake.schema_version", "1").containsEntry("otel_lake.signal", "traces");
            // the build's version, also for classes run from target/classes (no jar manifest there)
            assertThat(meta.get("otel_lake.writer")).matches("otel-lake-archiver \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?");
            assertThat(footer.getFooter()
                            .getBlocks()
                            .get(0)
                            .getColumns()
                            .get(0)
                            .getCodec()
                            .name())
                    .isEqualTo("ZSTD");
        }
    }

    @Test
    void theCompactorsReaderReturnsExactlyTheRowsWritten() throws Exception {
        Path file = dir.resolve("read-back.parquet");
        List<FlatRow> rows = SpanFlattener.flatten(spans());
        ParquetFiles.write(Signal.TRACES, records(rows), file);

        List<GenericRecord> read = new ArrayList<>();
        try (ParquetFiles.RowReader reader = ParquetFiles.read(file, io.otellake.schemas.LakeSchema.SPAN)) {
            reader.forEachRemaining(read::add);
        }
        assertThat(read).hasSize(rows.size());
        for (int i = 0; i < rows.size(); i++) {
            assertThat(SpanFlattener.restore(read.get(i)))
                    .isEqualTo(SpanFlattener.restore(rows.get(i).record()));
        }
    }

    @Test
    void floatingPointColumnsUseTheClassicColumnOrderThatEveryReaderKnows() throws Exception {
        io.opentelemetry.proto.metrics.v1.Metric gauge = io.opentelemetry.proto.metrics.v1.Metric.newBuilder()
                .setName("cpu.utilization")
                .setGauge(io.opentelemetry.proto.metrics.v1.Gauge.newBuilder()
                        .addDataPoints(io.opentelemetry.proto.metrics.v1.NumberDataPoint.newBuilder()
                                .setTimeUnixNano(1_700_000_000_000_000_000L)
                                .setAsDouble(0.5)))
                .build();
        List<FlatRow> rows = io.otellake.schemas.MetricFlattener.flatten(
                io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest.newBuilder()
                        .addResourceMetrics(io.opentelemetry.proto.metrics.v1.ResourceMetrics.newBuilder()
                                .addScopeMetrics(io.opentelemetry.proto.metrics.v1.ScopeMetrics.newBuilder()
                                        .addMetrics(gauge)))
                        .build());
        Path file = dir.resolve("metrics.parquet");
        ParquetFiles.write(Signal.METRICS, records(rows), file);

        try (ParquetFileReader footer = ParquetFileReader.open(new LocalInputFile(file))) {
            List<org.apache.parquet.column.ColumnDescriptor> columns =
                    footer.getFileMetaData().getSchema().getColumns();
            // IEEE_754_TOTAL_ORDER (parquet-mr 1.18's default for FLOAT/DOUBLE) makes older polars reject the footer
            assertThat(columns)
                    .filteredOn(c -> c.getPrimitiveType().getPrimitiveTypeName()
                            == org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName.DOUBLE)
                    .hasSizeGreaterThan(5)
                    .allSatisfy(c -> assertThat(c.getPrimitiveType().columnOrder())
                            .isEqualTo(org.apache.parquet.schema.ColumnOrder.typeDefined()));
        }
    }

    @Test
    void theConfiguredRowGroupSizeCutsTheFileIntoRowGroups() throws Exception {
        GenericRecord template = records(SpanFlattener.flatten(spans())).get(0);
        java.util.Random random = new java.util.Random(7);
        List<GenericRecord> rows = new java.util.ArrayList<>();
        for (int i = 0; i < 120_000; i++) {
            GenericData.Record row = new GenericData.Record((GenericData.Record) template, false);
            row.put("trace_id", String.format("%016x%016x", random.nextLong(), random.nextLong()));
            row.put("span_id", String.format("%016x", random.nextLong()));
            rows.add(row);
        }
        Path small = dir.resolve("small-row-groups.parquet");
        Path large = dir.resolve("default-row-groups.parquet");
        ParquetFiles.write(Signal.TRACES, rows, small, 1024 * 1024, ParquetFiles.ZSTD_LEVEL);
        ParquetFiles.write(Signal.TRACES, rows, large, ArchiverConfig.DEFAULT_ROW_GROUP_BYTES, ParquetFiles.ZSTD_LEVEL);

        try (ParquetFileReader a = ParquetFileReader.open(new LocalInputFile(small));
                ParquetFileReader b = ParquetFileReader.open(new LocalInputFile(large))) {
            assertThat(a.getFooter().getBlocks()).hasSizeGreaterThan(2);
            assertThat(a.getRecordCount()).isEqualTo(120_000);
            assertThat(b.getFooter().getBlocks()).hasSize(1);
            assertThat(b.getRecordCount()).isEqualTo(120_000);
        }
        assertThat(ArchiverConfig.fromEnvironment(Map.of("OTEL_LAKE_PARQUET_ROW_GROUP_BYTES", "134217728"))
                        .rowGroupBytes())
                .isEqualTo(134_217_728L);
        assertThat(org.assertj.core.api.Assertions.catchThrowable(
                        () -> ArchiverConfig.fromEnvironment(Map.of("OTEL_LAKE_PARQUET_ROW_GROUP_BYTES", "1000"))))
                .hasMessage("OTEL_LAKE_PARQUET_ROW_GROUP_BYTES must be between 1 MiB (1048576) and 1 GiB"
                        + " (1073741824), got 1000");
    }

    @Test
    void theCompactorsZstdLevelMakesSmallerFilesWithTheSameRows() throws Exception {
        java.util.SplittableRandom random = new java.util.SplittableRandom(3);
        List<GenericRecord> rows = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            rows.addAll(records(LogFlattener.flatten(io.otellake.schemas.bench.BenchData.logRequest(random))));
        }
        Path fast = dir.resolve("level-3.parquet");
        Path kept = dir.resolve("level-10.parquet");
        for (Path file : List.of(fast, kept)) {
            ParquetFiles.write(
                    io.otellake.schemas.LakeSchema.LOG,
                    io.otellake.schemas.LakeSchema.fileMetadata(Signal.LOGS, "test"),
                    0,
                    rows.iterator(),
                    file,
                    ParquetFiles.WritePath.LAKE,
                    ArchiverConfig.DEFAULT_ROW_GROUP_BYTES,
                    file == fast ? ParquetFiles.ZSTD_LEVEL : CompactionConfig.DEFAULT_ZSTD_LEVEL);
        }

        assertThat(java.nio.file.Files.size(kept)).isLessThan(java.nio.file.Files.size(fast) * 98 / 100);
        for (Path file : List.of(fast, kept)) {
            List<GenericRecord> read = new ArrayList<>();
            try (ParquetFiles.RowReader reader = ParquetFiles.read(file, io.otellake.schemas.LakeSchema.LOG)) {
                reader.forEachRemaining(read::add);
            }
            assertThat(read).hasSize(rows.size());
            for (int i = 0; i < rows.size(); i++) {
                assertThat(LogFlattener.restore(read.get(i))).isEqualTo(LogFlattener.restore(rows.get(i)));
            }
        }
    }

    @Test
    void spanFilesCarryABloomFilterOnTraceIdSizedForTheFile() throws Exception {
        Path file = dir.resolve("spans.parquet");
        ParquetFiles.write(Signal.TRACES, records(SpanFlattener.flatten(spans())), file);

        assertThat(java.nio.file.Files.size(file))
                .as("no 1 MiB default bloom filter")
                .isLessThan(32 * 1024);
        try (ParquetFileReader reader = ParquetFileReader.open(new LocalInputFile(file))) {
            var block = reader.getFooter().getBlocks().get(0);
            var traceId = block.getColumns().stream()
                    .filter(c -> c.getPath().toDotString().equals("trace_id"))
                    .findFirst()
                    .orElseThrow();
            var bloom = reader.getBloomFilterDataReader(block).readBloomFilter(traceId);
            assertThat(bloom).isNotNull();
            assertThat(bloom.findHash(bloom.hash(
                            org.apache.parquet.io.api.Binary.fromString("0af7651916cd43dd8448eb211c80319c"))))
                    .isTrue();
            assertThat(bloom.findHash(bloom.hash(
                            org.apache.parquet.io.api.Binary.fromString("ffffffffffffffffffffffffffffffff"))))
                    .isFalse();
        }
    }

    @Test
    void duckDbReadsTimesAsNanosecondTimestampsAndAttributesAsMaps() throws Exception {
        Path spans = dir.resolve("spans.parquet");
        Path logs = dir.resolve("logs.parquet");
        ParquetFiles.write(Signal.TRACES, records(SpanFlattener.flatten(spans())), spans);
        ParquetFiles.write(Signal.LOGS, records(LogFlattener.flatten(logs())), logs);

        try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
                Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery(
                    "SELECT typeof(start_time), epoch_ns(start_time), strftime(start_time, '%Y-%m-%dT%H:%M:%S.%n'),"
                            + " attributes['http.route'], attribute_types['http.response.status_code'], events[1].name,"
                            + " typeof(attributes) FROM read_parquet('" + spans + "')")) {
                assertThat(rs.next()).isTrue();
                System.out.println("DuckDB start_time type: " + rs.getString(1));
                assertThat(rs.getLong(2)).isEqualTo(1_700_000_000_123_456_789L);
                assertThat(rs.getString(3)).isEqualTo("2023-11-14T22:13:20.123456789");
                assertThat(rs.getString(4)).isEqualTo("/users/{id}");
                assertThat(rs.getString(5)).isEqualTo("int");
                assertThat(rs.getString(6)).isEqualTo("cache miss");
                assertThat(rs.getString(7)).isEqualTo("MAP(VARCHAR, VARCHAR)");
            }
            try (ResultSet rs = s.executeQuery(
                    "SELECT epoch_ns(timestamp), body, severity_number, service_name, attributes['retry'] FROM read_parquet('"
                            + logs + "')")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getLong(1)).isEqualTo(1_700_000_000_123_456_789L);
                assertThat(rs.getString(2)).isEqualTo("card declined");
                assertThat(rs.getInt(3)).isEqualTo(17);
                assertThat(rs.getString(4)).isEqualTo("payments");
                assertThat(rs.getString(5)).isEqualTo("true");
            }
        }
    }
}
