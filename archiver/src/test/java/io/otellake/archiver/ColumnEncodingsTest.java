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
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.IntStream;
import org.apache.avro.generic.GenericRecord;
import org.apache.parquet.column.Encoding;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.io.LocalInputFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The encodings the lake's files use ({@link ColumnEncodings}), column by column, and that DuckDB reads such a file
 * back exactly; the values of every column in every encoding are also checked against the rows written by {@link
 * ColumnRowWriterTest}.
 */
class ColumnEncodingsTest {
    private static final long T = 1_700_000_000_000_000_000L;
    /** Distinct attribute values of about 40 bytes: about 1.9 MiB, beyond parquet-mr's 1 MiB dictionary. */
    private static final int PATHS = 48_000;

    @TempDir
    Path dir;

    @Test
    void spanFilesUseDeltaEncodingsForIdsAndTimesAndOneDictionaryForManyAttributeValues() throws Exception {
        Path file = write(Signal.TRACES, SpanFlattener.flatten(spans()));

        Map<String, List<Encoding>> encodings = encodings(file);
        for (String id : List.of("trace_id", "span_id", "parent_span_id", "links.list.element.trace_id")) {
            assertThat(encodings.get(id)).as(id).contains(Encoding.DELTA_LENGTH_BYTE_ARRAY);
        }
        for (String time : List.of("start_time", "end_time", "duration_ns")) {
            assertThat(encodings.get(time)).as(time).contains(Encoding.DELTA_BINARY_PACKED);
        }
        assertThat(encodings.get("attributes.key_value.value"))
                .as("one dictionary for all of them, no fallback to plain")
                .contains(Encoding.PLAIN_DICTIONARY)
                .doesNotContain(Encoding.PLAIN);
        assertThat(encodings.get("name")).contains(Encoding.PLAIN_DICTIONARY);

        try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
                Statement st = duck.createStatement();
                ResultSet rs = st.executeQuery("SELECT count(*), count(DISTINCT attributes['url.path']),"
                        + " count(DISTINCT trace_id), sum(duration_ns), min(epoch_ns(end_time)),"
                        + " max(epoch_ns(end_time)), count(parent_span_id),"
                        + " max(attributes['url.path']) FILTER (WHERE span_id = '" + spanId(PATHS - 1) + "'),"
                        + " sum(epoch_ns(start_time) - " + T + "),"
                        + " max(epoch_ns(start_time)) FILTER (WHERE span_id = '" + spanId(4_321) + "')"
                        + " FROM read_parquet('" + file + "')")) {
            rs.next();
            assertThat(rs.getLong(1)).isEqualTo(PATHS);
            assertThat(rs.getLong(2)).isEqualTo(PATHS);
            assertThat(rs.getLong(3)).isEqualTo(PATHS / 4);
            long durations = 0;
            for (int i = 0; i < PATHS; i++) {
                durations += duration(i);
            }
            assertThat(rs.getLong(4)).isEqualTo(durations);
            assertThat(rs.getLong(5)).isEqualTo(T + duration(0));
            assertThat(rs.getLong(6)).isEqualTo(T + (PATHS - 1) * 1_000L + duration(PATHS - 1));
            assertThat(rs.getLong(7)).isEqualTo(PATHS - PATHS / 4);
            assertThat(rs.getString(8)).isEqualTo(path(PATHS - 1));
            assertThat(rs.getLong(9)).isEqualTo((long) PATHS * (PATHS - 1) / 2 * 1_000L);
            assertThat(rs.getLong(10)).isEqualTo(T + 4_321 * 1_000L);
        }
    }

    @Test
    void theTraceIndexKeepsParquetMrsChoiceForStartTimeHavingOneRowPerTrace() throws Exception {
        Path file = dir.resolve("index.parquet");
        List<GenericRecord> entries = TraceIndex.entries(records(SpanFlattener.flatten(spans())));
        TraceIndex.write(entries, file);

        Map<String, List<Encoding>> encodings = encodings(file);
        assertThat(encodings.get("start_time")).doesNotContain(Encoding.DELTA_BINARY_PACKED);
        assertThat(encodings.get("trace_id")).contains(Encoding.DELTA_LENGTH_BYTE_ARRAY);
        try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
                Statement st = duck.createStatement();
                ResultSet rs = st.executeQuery(
                        "SELECT count(*), sum(span_count), min(epoch_ns(start_time)), max(epoch_ns(start_time))"
                                + " FROM read_parquet('" + file + "')")) {
            rs.next();
            assertThat(rs.getLong(1)).isEqualTo(PATHS / 4);
            assertThat(rs.getLong(2)).isEqualTo(PATHS);
            assertThat(rs.getLong(3)).isEqualTo(T);
            assertThat(rs.getLong(4)).isEqualTo(T + (PATHS - 4) * 1_000L);
        }
    }

    @Test
    void logFilesUseDeltaEncodingsForIdsTimesAndBodies() throws Exception {
        Path file = write(Signal.LOGS, LogFlattener.flatten(logs()));

        Map<String, List<Encoding>> encodings = encodings(file);
        for (String column : List.of("trace_id", "span_id")) {
            assertThat(encodings.get(column)).as(column).contains(Encoding.DELTA_LENGTH_BYTE_ARRAY);
        }
        for (String column : List.of("timestamp", "observed_timestamp")) {
            assertThat(encodings.get(column)).as(column).contains(Encoding.DELTA_BINARY_PACKED);
        }
        assertThat(encodings.get("body")).contains(Encoding.DELTA_LENGTH_BYTE_ARRAY);
        assertThat(encodings.get("severity_text")).contains(Encoding.PLAIN_DICTIONARY);

        try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
                Statement st = duck.createStatement();
                ResultSet rs = st.executeQuery("SELECT count(*), sum(epoch_ns(timestamp) - " + T + "),"
                        + " sum(epoch_ns(observed_timestamp) - " + T + "), count(trace_id), count(DISTINCT span_id),"
                        + " count(body), sum(length(body)), max(body) FILTER (WHERE span_id = '" + spanId(998) + "')"
                        + " FROM read_parquet('" + file + "')")) {
            rs.next();
            assertThat(rs.getLong(1)).isEqualTo(1_000);
            assertThat(rs.getLong(2)).isEqualTo(999L * 1_000 / 2 * 1_000);
            assertThat(rs.getLong(3)).isEqualTo(999L * 1_000 / 2 * 1_000 + 1_000 * 7L);
            assertThat(rs.getLong(4)).isEqualTo(500);
            assertThat(rs.getLong(5)).isEqualTo(500);
            assertThat(rs.getLong(6)).isEqualTo(900);
            assertThat(rs.getLong(7))
                    .isEqualTo(IntStream.range(0, 1_000)
                            .filter(i -> i % 10 != 3)
                            .mapToLong(i -> ("order " + i + " paid").length())
                            .sum());
            assertThat(rs.getString(8)).isEqualTo("order 998 paid");
        }
    }

    /** The rows in the archiver's order, written as the archiver writes them, to {@code <signal>.parquet}. */
    Path write(Signal signal, List<FlatRow> flat) throws Exception {
        List<GenericRecord> rows = records(flat);
        HourFile.sort(signal, rows);
        Path file = dir.resolve(signal.name().toLowerCase(java.util.Locale.ROOT) + ".parquet");
        ParquetFiles.write(signal, rows, file);
        return file;
    }

    /** Each column's encodings over all row groups, by dotted path. */
    static Map<String, List<Encoding>> encodings(Path file) throws Exception {
        Map<String, List<Encoding>> out = new TreeMap<>();
        try (ParquetFileReader reader = ParquetFileReader.open(new LocalInputFile(file))) {
            for (BlockMetaData block : reader.getFooter().getBlocks()) {
                for (ColumnChunkMetaData c : block.getColumns()) {
                    out.computeIfAbsent(c.getPath().toDotString(), k -> new ArrayList<>())
                            .addAll(c.getEncodings());
                }
            }
        }
        return out;
    }

    static List<GenericRecord> records(List<FlatRow> rows) {
        return new ArrayList<>(rows.stream().map(FlatRow::record).toList());
    }

    static long duration(int i) {
        return 1_000_000L + (i * 7_919L) % 900_000_000L;
    }

    static String path(int i) {
        return "/api/orders/" + Long.toHexString(0x1000_0000_0000L + i * 7_919L) + "/items/" + i;
    }

    static String spanId(int i) {
        return String.format("%016x", 0x0100_0000_0000_0000L + i);
    }

    static ByteString bytes(String hex) {
        byte[] out = new byte[hex.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        }
        return ByteString.copyFrom(out);
    }

    /** Traces of four spans (a root and three children), each with a distinct {@code url.path}; one link. */
    static ExportTraceServiceRequest spans() {
        SplittableRandom random = new SplittableRandom(11);
        ScopeSpans.Builder scope = ScopeSpans.newBuilder();
        String traceId = null;
        String rootId = null;
        for (int i = 0; i < PATHS; i++) {
            if (i % 4 == 0) {
                traceId = String.format("%016x%016x", random.nextLong(), random.nextLong());
                rootId = spanId(i);
            }
            Span.Builder span = Span.newBuilder()
                    .setTraceId(bytes(traceId))
                    .setSpanId(bytes(spanId(i)))
                    .setName("GET /api/orders/{id}")
                    .setKind(Span.SpanKind.SPAN_KIND_SERVER)
                    .setStartTimeUnixNano(T + i * 1_000L)
                    .setEndTimeUnixNano(T + i * 1_000L + duration(i))
                    .addAttributes(KeyValue.newBuilder()
                            .setKey("url.path")
                            .setValue(AnyValue.newBuilder().setStringValue(path(i))))
                    .addAttributes(KeyValue.newBuilder()
                            .setKey("http.response.status_code")
                            .setValue(AnyValue.newBuilder().setIntValue(200)));
            if (i % 4 != 0) {
                span.setParentSpanId(bytes(rootId));
            }
            if (i == 5) {
                span.addLinks(Span.Link.newBuilder().setTraceId(bytes(traceId)).setSpanId(bytes(spanId(1))));
            }
            scope.addSpans(span);
        }
        return ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder().addScopeSpans(scope))
                .build();
    }

    /** 1,000 records 1 µs apart, observed 7 ns later; every other one with trace context. */
    static ExportLogsServiceRequest logs() {
        ScopeLogs.Builder scope = ScopeLogs.newBuilder();
        for (int i = 0; i < 1_000; i++) {
            LogRecord.Builder log = LogRecord.newBuilder()
                    .setTimeUnixNano(T + i * 1_000L)
                    .setObservedTimeUnixNano(T + i * 1_000L + 7)
                    .setSeverityText("INFO");
            if (i % 10 != 3) {
                log.setBody(AnyValue.newBuilder().setStringValue("order " + i + " paid"));
            }
            if (i % 2 == 0) {
                log.setTraceId(bytes(String.format("%032x", 0xabcdefL + i))).setSpanId(bytes(spanId(i)));
            }
            scope.addLogRecords(log);
        }
        return ExportLogsServiceRequest.newBuilder()
                .addResourceLogs(ResourceLogs.newBuilder().addScopeLogs(scope))
                .build();
    }
}
