package io.otellake.archiver;

import io.otellake.schemas.Signal;
import io.otellake.schemas.TenantId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * The rows of one Kafka partition bound for one folder of the lake (a tenant-hour partition, or a tenant's quarantine),
 * waiting to become one Parquet file.
 *
 * <p>The file is named {@code <topic>+<kafka partition>+<first offset>.parquet}. Two batches of one Kafka partition
 * never share a name, because a batch starts after the offset the previous one committed; a replay of the same batch
 * from the same offset writes the same name for its first file per folder.
 */
final class HourFile {
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
    final long createdNanos;
    long lastOffset;
    private final List<GenericRecord> rows = new ArrayList<>();

    /** @param directory the key prefix of the folder, ending in {@code /} */
    HourFile(
            TopicPartition source,
            Signal signal,
            TenantId tenant,
            String directory,
            long firstOffset,
            long createdNanos) {
        this.source = source;
        this.signal = signal;
        this.tenant = tenant;
        this.directory = directory;
        this.firstOffset = firstOffset;
        this.lastOffset = firstOffset;
        this.createdNanos = createdNanos;
    }

    void add(GenericRecord row, long offset) {
        rows.add(row);
        lastOffset = offset;
    }

    int rowCount() {
        return rows.size();
    }

    String fileName() {
        return source.topic() + "+" + source.partition() + "+" + firstOffset + ".parquet";
    }

    String objectKey() {
        return directory + fileName();
    }

    /** The rows in reading order: spans by trace id, then start; logs by service, then time; metric points by name. */
    List<GenericRecord> sortedRows() {
        // In the order of order(signal), but each row's keys are looked up once, not at each of the n log n
        // comparisons (the lookups by field name were most of the sort's cost). Stable, like List.sort.
        List<Keyed> keyed = new ArrayList<>(rows.size());
        for (GenericRecord r : rows) {
            keyed.add(
                    switch (signal) {
                        case TRACES -> new Keyed(r.get("trace_id").toString(), "", (Long) r.get("start_time"), r);
                        case LOGS -> new Keyed(text(r.get("service_name")), "", logTime(r), r);
                        case METRICS ->
                            new Keyed(text(r.get("metric_name")), text(r.get("service_name")), metricTime(r), r);
                    });
        }
        keyed.sort(Keyed.ORDER);
        for (int i = 0; i < keyed.size(); i++) {
            rows.set(i, keyed.get(i).row());
        }
        return rows;
    }

    /** A row with its sort keys. */
    private record Keyed(String first, String second, long time, GenericRecord row) {
        static final Comparator<Keyed> ORDER =
                Comparator.comparing(Keyed::first).thenComparing(Keyed::second).thenComparingLong(Keyed::time);
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
