package io.otellake.archiver;

import io.otellake.schemas.LakeSchema;
import java.util.Objects;
import java.util.Set;
import org.apache.avro.Schema;
import org.apache.parquet.bytes.ByteBufferAllocator;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.column.ParquetProperties;
import org.apache.parquet.column.values.ValuesWriter;
import org.apache.parquet.column.values.delta.DeltaBinaryPackingValuesWriterForLong;
import org.apache.parquet.column.values.deltalengthbytearray.DeltaLengthByteArrayValuesWriter;
import org.apache.parquet.column.values.factory.ValuesWriterFactory;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;

/**
 * Picks the encoding of the lake's columns where parquet-mr's default (a dictionary of up to 1 MiB per column chunk,
 * then plain) is a poor fit, and leaves every other column to the default.
 *
 * <ul>
 *   <li>Hex ids ({@code trace_id}, {@code span_id}, {@code parent_span_id}, wherever they occur: spans, links, logs,
 *       exemplars, the trace index): {@code DELTA_LENGTH_BYTE_ARRAY}. Random ids never fit a dictionary, and plain
 *       puts a 4-byte length before every 16 or 32 characters, which zstd must then model; with the lengths packed
 *       apart (all equal, so about nothing) zstd sees only hex text.
 *   <li>A log record's {@code body}: {@code DELTA_LENGTH_BYTE_ARRAY} too. Bodies are free text that rarely repeats:
 *       parquet-mr's writer would try a dictionary on the first page, give it up and write plain, with a length before
 *       every body; packed apart, the lengths cost less and zstd sees the text end to end.
 *   <li>{@code start_time}, {@code end_time} and {@code duration_ns} of spans, {@code timestamp} and {@code
 *       observed_timestamp} of log records and metric data points: {@code DELTA_BINARY_PACKED}. Spans sorted by trace
 *       id put the spans of one trace, which start and end close together, next to each other, and log records are
 *       sorted by service and time; the differences pack tighter than 8-byte plain values compress. (The trace index
 *       has one row per trace, so its {@code start_time} has no such neighbours and keeps parquet-mr's choice.)
 *   <li>Attribute values (the {@code value} of every {@code ...attributes} map): a dictionary of up to 8 MiB. Their
 *       values repeat across a file (routes, methods, status codes, ports), but the distinct ones of a 256,000-row file
 *       outgrow 1 MiB, and the fallback to plain for the rest of the chunk costs more than the bigger dictionary.
 * </ul>
 *
 * <p>Guarantee: every choice is a Parquet encoding in data pages of version 1, which every reader we support decodes
 * (DuckDB, Spark 3.3 and later, parquet-mr, Arrow C++ and arrow-rs, hyparquet; docs/schema.md lists what was
 * checked). Column statistics and bloom filters do not depend on the encoding and stay as they were. What each choice
 * saves is measured in docs/benchmarks.md ("Archiver write path").
 */
final class ColumnEncodings implements ValuesWriterFactory {
    static final int ATTRIBUTE_DICTIONARY_BYTES = 8 * 1024 * 1024;

    private static final Set<String> HEX_IDS = Set.of("trace_id", "span_id", "parent_span_id");
    private static final String LOG_BODY = "body";
    private static final Set<String> DELTA_TIMES = Set.of("end_time", "duration_ns", "timestamp", "observed_timestamp");
    private static final Set<String> SPAN_DELTA_TIMES = Set.of("start_time", "end_time", "duration_ns");

    private final ValuesWriterFactory fallback;
    private final Set<String> deltaTimes;
    private ParquetProperties props;

    /** For files of the {@code avro} schema; {@code fallback} writes every column this class does not choose for. */
    ColumnEncodings(Schema avro, ValuesWriterFactory fallback) {
        this.fallback = Objects.requireNonNull(fallback, "fallback");
        this.deltaTimes = avro.getFullName().equals(LakeSchema.SPAN.getFullName()) ? SPAN_DELTA_TIMES : DELTA_TIMES;
    }

    @Override
    public void initialize(ParquetProperties properties) {
        this.props = properties;
        fallback.initialize(properties);
    }

    @Override
    public ValuesWriter newValuesWriter(ColumnDescriptor column) {
        String[] path = column.getPath();
        String leaf = path[path.length - 1];
        PrimitiveTypeName type = column.getPrimitiveType().getPrimitiveTypeName();
        ByteBufferAllocator allocator = props.getAllocator();
        int initial = props.getInitialSlabSize();
        int page = props.getPageSizeThreshold();
        if (type == PrimitiveTypeName.BINARY
                && (HEX_IDS.contains(leaf) || (path.length == 1 && leaf.equals(LOG_BODY)))) {
            return new DeltaLengthByteArrayValuesWriter(initial, page, allocator);
        }
        if (type == PrimitiveTypeName.INT64 && path.length == 1 && deltaTimes.contains(leaf)) {
            return new DeltaBinaryPackingValuesWriterForLong(initial, page, allocator);
        }
        if (type == PrimitiveTypeName.BINARY && isAttributeValue(path) && props.isDictionaryEnabled(column)) {
            return RememberingBinaryDictionaryWriter.withPlainFallback(props, ATTRIBUTE_DICTIONARY_BYTES);
        }
        return fallback.newValuesWriter(column);
    }

    /** The largest dictionary of a dictionary-encoded string column, as {@link #newValuesWriter} sets it. */
    static int dictionaryBytes(ColumnDescriptor column, ParquetProperties props) {
        return isAttributeValue(column.getPath()) ? ATTRIBUTE_DICTIONARY_BYTES : props.getDictionaryPageSizeThreshold();
    }

    /** {@code attributes.key_value.value}, {@code events.list.element.attributes.key_value.value} and the like. */
    private static boolean isAttributeValue(String[] path) {
        int n = path.length;
        return n >= 3
                && path[n - 1].equals("value")
                && path[n - 2].equals("key_value")
                && path[n - 3].endsWith("attributes");
    }
}
