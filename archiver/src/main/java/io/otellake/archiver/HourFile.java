package io.otellake.archiver;

import io.otellake.schemas.Partition;
import io.otellake.schemas.Signal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * The rows of one Kafka partition bound for one tenant-hour partition, waiting to become one Parquet file.
 *
 * <p>The file is named {@code <topic>+<kafka partition>+<first offset>.parquet}: replaying the same Kafka offsets
 * after a crash writes the same name, so the replay overwrites the earlier upload instead of adding a copy.
 */
final class HourFile {
    private static final Comparator<GenericRecord> SPAN_ORDER = Comparator.comparing(
                    (GenericRecord r) -> r.get("trace_id").toString())
            .thenComparingLong(r -> (Long) r.get("start_time"));
    private static final Comparator<GenericRecord> LOG_ORDER = Comparator.comparing(
                    (GenericRecord r) -> text(r.get("service_name")))
            .thenComparingLong(HourFile::logTime);

    final TopicPartition source;
    final Partition partition;
    final long firstOffset;
    final long createdNanos;
    long lastOffset;
    private final List<GenericRecord> rows = new ArrayList<>();

    HourFile(TopicPartition source, Partition partition, long firstOffset, long createdNanos) {
        this.source = source;
        this.partition = partition;
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

    /** The rows in reading order: spans by trace id, then start; logs by service, then time. */
    List<GenericRecord> sortedRows() {
        rows.sort(partition.signal() == Signal.TRACES ? SPAN_ORDER : LOG_ORDER);
        return rows;
    }

    private static String text(Object o) {
        return o == null ? "" : o.toString();
    }

    private static long logTime(GenericRecord r) {
        Object t = r.get("timestamp");
        if (t == null) {
            t = r.get("observed_timestamp");
        }
        return t == null ? 0 : (Long) t;
    }
}
