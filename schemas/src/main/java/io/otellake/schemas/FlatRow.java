package io.otellake.schemas;

import java.util.Objects;
import org.apache.avro.generic.GenericRecord;

/**
 * One flattened row and the event time that places it in an hour partition (epoch nanoseconds, UTC).
 *
 * @param eventTimeNanos a span's start time; a log record's time, or its observed time when time is 0; a metric data
 *     point's time, or its start time when time is 0
 */
public record FlatRow(GenericRecord record, long eventTimeNanos) {
    public FlatRow {
        Objects.requireNonNull(record, "record");
    }
}
