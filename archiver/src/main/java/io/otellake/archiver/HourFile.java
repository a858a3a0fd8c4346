package io.otellake.archiver;

import io.otellake.schemas.Signal;
import io.otellake.schemas.TenantId;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * The rows of one Kafka partition bound for one folder of the lake (a tenant-hour partition, or a tenant's quarantine),
 * waiting to become one Parquet file.
 *
 * <p>The file is named {@code <topic>+<kafka partition>+<first offset>+<batch id>.parquet}, the batch id being random
 * per batch. Two batches of one Kafka partition never share a name: a batch starts after the offset the previous one
 * committed, and a replay of an uncommitted batch from the same offset has another batch id. So an archiver that still
 * holds an old batch's list of keys (a "zombie" that lost the partition, see {@link PartitionRecovery}) can never
 * delete or overwrite the replay's files.
 */
public final class HourFile {
    private static final Comparator<GenericRecord> SPAN_ORDER = Comparator.comparing(
                    (GenericRecord r) -> r.get("trace_id").toString())
            .thenComparingLong(r -> (Long) r.get("start_time"));
    private static final Comparator<GenericRecord> LOG_ORDER = Comparator.comparing(
                    (GenericRecord r) -> text(r.get("service_name")))
            .thenComparingLong(HourFile::logTime);

    /** Metric points by metric name, then service, then time: one series' points lie together. */
    private static final Comparator<GenericRecord> METRIC_ORDER = Comparator.comparing(
                    (GenericRecord r) -> text(r.get("metric_name")))
            .thenComparing(r -> text(r.get("service_name")))
            .thenComparingLong(HourFile::metricTime);

    final TopicPartition source;
    final Signal signal;
    final TenantId tenant;
    final String directory;
    final long firstOffset;
    final String batchId;
    final long createdNanos;
    long lastOffset;
    private final SortedRows rows;

    /** @param directory the key prefix of the folder, ending in {@code /} */
    HourFile(
            TopicPartition source,
            Signal signal,
            TenantId tenant,
            String directory,
            long firstOffset,
            String batchId,
            long createdNanos) {
        this.source = source;
        this.signal = signal;
        this.tenant = tenant;
        this.directory = directory;
        this.firstOffset = firstOffset;
        this.batchId = batchId;
        this.lastOffset = firstOffset;
        this.createdNanos = createdNanos;
        this.rows = new SortedRows(signal);
    }

    void add(GenericRecord row, long offset) {
        rows.add(row);
        lastOffset = offset;
    }

    int rowCount() {
        return rows.size();
    }

    String fileName() {
        return source.topic() + "+" + source.partition() + "+" + firstOffset + "+" + batchId + ".parquet";
    }

    String objectKey() {
        return directory + fileName();
    }

    /** The rows in reading order: spans by trace id, then start; logs by service, then time; metric points by name. */
    List<GenericRecord> sortedRows() {
        return rows.list();
    }

    /**
     * Writes the rows, in reading order, to a Parquet file at {@code path}: {@link ParquetFiles#write(SortedRows, Path,
     * long, int)} at the write path's zstd level.
     */
    void write(Path path, long rowGroupBytes) throws IOException {
        ParquetFiles.write(rows, path, rowGroupBytes, ParquetFiles.ZSTD_LEVEL);
    }

    /** For a span file: its trace index entries, as {@link TraceIndex#entries} of {@link #sortedRows()} gives them. */
    List<GenericRecord> traceIndexEntries() {
        return rows.traceIndexEntries();
    }

    /**
     * Sorts rows of the signal in place into reading order, the order of {@link #order(Signal)}, and returns them (for
     * tests that write files as the archiver does).
     */
    static List<GenericRecord> sort(Signal signal, List<GenericRecord> rows) {
        SortedRows sorted = new SortedRows(signal);
        rows.forEach(sorted::add);
        List<GenericRecord> inOrder = sorted.list();
        for (int i = 0; i < inOrder.size(); i++) {
            rows.set(i, inOrder.get(i));
        }
        return rows;
    }

    /** The order of the rows in every file of a signal; the compactor merges files in the same order. */
    static Comparator<GenericRecord> order(Signal signal) {
        return switch (signal) {
            case TRACES -> SPAN_ORDER;
            case LOGS -> LOG_ORDER;
            case METRICS -> METRIC_ORDER;
        };
    }

    private static String text(Object o) {
        return o == null ? "" : o.toString();
    }

    private static long metricTime(GenericRecord r) {
        Object t = r.get("timestamp");
        return t == null ? 0 : (Long) t;
    }

    private static long logTime(GenericRecord r) {
        Object t = r.get("timestamp");
        if (t == null) {
            t = r.get("observed_timestamp");
        }
        return t == null ? 0 : (Long) t;
    }
}
