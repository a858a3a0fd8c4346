package io.otellake.archiver;

import io.otellake.schemas.Signal;
import io.otellake.schemas.TenantId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.avro.Schema;
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
    private final List<GenericRecord> rows = new ArrayList<>();

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
        return sort(signal, rows);
    }

    /**
     * Sorts rows of the signal in place into reading order, the order of {@link #order(Signal)}, and returns them. Public
     * for the archiver benchmark, which sorts as the archiver does.
     */
    public static List<GenericRecord> sort(Signal signal, List<GenericRecord> rows) {
        // Each row's keys are looked up once, not at each of the n log n comparisons (the lookups by field name were
        // most of the sort's cost), and by position. Stable, like List.sort.
        List<Keyed> keyed = new ArrayList<>(rows.size());
        Schema schema = null;
        int[] at = null;
        for (GenericRecord r : rows) {
            if (r.getSchema() != schema) {
                schema = r.getSchema();
                at = positions(signal, schema);
            }
            keyed.add(
                    switch (signal) {
                        case TRACES -> new Keyed(r.get(at[0]).toString(), "", (Long) r.get(at[1]), r);
                        case LOGS -> new Keyed(text(r.get(at[0])), "", time(r.get(at[1]), r.get(at[2])), r);
                        case METRICS -> new Keyed(text(r.get(at[0])), text(r.get(at[1])), time(r.get(at[2]), null), r);
                    });
        }
        keyed.sort(Keyed.ORDER);
        for (int i = 0; i < keyed.size(); i++) {
            rows.set(i, keyed.get(i).row());
        }
        return rows;
    }

    /** The positions of the sort keys in a row schema of the signal, in the order sortedRows reads them. */
    private static int[] positions(Signal signal, Schema schema) {
        String[] names =
                switch (signal) {
                    case TRACES -> new String[] {"trace_id", "start_time"};
                    case LOGS -> new String[] {"service_name", "timestamp", "observed_timestamp"};
                    case METRICS -> new String[] {"metric_name", "service_name", "timestamp"};
                };
        int[] at = new int[names.length];
        for (int i = 0; i < names.length; i++) {
            at[i] = schema.getField(names[i]).pos();
        }
        return at;
    }

    /** The first of the two times that is there, else 0. */
    private static long time(Object t, Object orElse) {
        Object v = t != null ? t : orElse;
        return v == null ? 0 : (Long) v;
    }

    /**
     * A row with its sort keys. {@code prefix} holds the first eight characters of {@code first} when they are all
     * below U+0100 (trace ids, service and metric names), so most comparisons are one of two longs rather than of two
     * strings; it orders exactly as {@link String#compareTo} does, which decides when the prefixes are equal.
     */
    private record Keyed(String first, String second, long time, GenericRecord row, long prefix, boolean hasPrefix) {
        Keyed(String first, String second, long time, GenericRecord row) {
            this(first, second, time, row, prefixOf(first), latin1Prefix(first));
        }

        static final Comparator<Keyed> ORDER = (a, b) -> {
            int c;
            if (a.hasPrefix && b.hasPrefix) {
                c = Long.compareUnsigned(a.prefix, b.prefix);
                if (c != 0) {
                    return c;
                }
            }
            c = a.first.compareTo(b.first);
            if (c != 0) {
                return c;
            }
            c = a.second.compareTo(b.second);
            return c != 0 ? c : Long.compare(a.time, b.time);
        };
    }

    /** The first eight characters as the bytes of a big-endian long (0 past the end), if all are below U+0100. */
    static long prefixOf(String s) {
        long p = 0;
        for (int i = 0; i < 8; i++) {
            int c = i < s.length() ? s.charAt(i) : 0;
            p = (p << 8) | (c & 0xff);
        }
        return p;
    }

    static boolean latin1Prefix(String s) {
        for (int i = 0, n = Math.min(8, s.length()); i < n; i++) {
            if (s.charAt(i) > 0xff) {
                return false;
            }
        }
        return true;
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
