package io.otellake.archiver;

import io.otellake.schemas.LakeSchema;
import io.otellake.schemas.Signal;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.jspecify.annotations.Nullable;

/**
 * The trace index: where a trace id's spans are, without reading the spans.
 *
 * <p>For every span file {@code <prefix>/traces/tenant=<t>/dt=<day>/hour=<HH>/<file>.parquet} the archiver writes, in
 * the same batch and under the same intent manifest, an index file at the mirrored key {@code
 * <prefix>/_index/traces/tenant=<t>/dt=<day>/hour=<HH>/<file>.parquet}: one row per trace id of the span file, with
 * the earliest start and latest end of that trace's spans in the file and their count, sorted by trace id, with a
 * bloom filter on it. Once a day has closed, compaction rolls the day's index files up into a few {@code
 * <prefix>/_index/traces/tenant=<t>/dt=<day>/compacted-<millis>-<random>.parquet} (see {@link Compactor}), so a lookup
 * over 90 days reads a few small sorted files per day, not 2,160 hour partitions of spans.
 *
 * <p>Guarantee: every archived span's trace id has an index row in the span file's tenant and day whose {@code
 * start_time} lies in the span's hour (index and data files are written and recovered together). Rows point at an
 * hour, not a file, so they stay true when compaction replaces the hour's files. Index and spans are kept exactly in
 * step (the crash test compares them), but readers should still treat the index as the set of hours worth reading,
 * never as the answer: a row read mid-rollup by a reader that ignores the compaction protocol may be repeated.
 */
public final class TraceIndex {
    /** Folder of the index below the lake prefix. */
    public static final String FOLDER = "_index/traces/";

    static final Schema SCHEMA = SchemaBuilder.record("TraceIndexEntry")
            .namespace("io.otellake.schemas.v1")
            .doc("Where a trace's spans are: one row per trace id and span file (or day rollup).")
            .fields()
            .requiredString("trace_id")
            .name("start_time")
            .doc("Earliest span start of this trace in the indexed file; its hour is the partition to read.")
            .type(nanos())
            .noDefault()
            .name("end_time")
            .doc("Latest span end of this trace in the indexed file (or start, for a span that ends before it starts).")
            .type(nanos())
            .noDefault()
            .requiredInt("span_count")
            .endRecord();

    private TraceIndex() {}

    private static Schema nanos() {
        return LogicalTypes.timestampNanos().addToSchema(Schema.create(Schema.Type.LONG));
    }

    /** The index key of a span file's key, or null when the key is not a span partition's file (quarantine). */
    public static @Nullable String indexKey(String root, String spanFileKey) {
        String spans = root + "traces/tenant=";
        if (!spanFileKey.startsWith(spans)) {
            return null;
        }
        return root + FOLDER + spanFileKey.substring((root + "traces/").length());
    }

    /**
     * One entry per trace id of the span rows, sorted by trace id. Rows sorted by trace id, as the archiver writes
     * them, take one pass that compares each id with the one before; rows in any other order are sorted first.
     */
    public static List<GenericRecord> entries(List<GenericRecord> spans) {
        Schema schema = spans.isEmpty() ? SCHEMA : spans.get(0).getSchema();
        int traceId = schema.getField("trace_id").pos();
        int startTime = schema.getField("start_time").pos();
        int endTime = schema.getField("end_time").pos();
        EntryList entries = new EntryList(spans.size());
        String last = null;
        for (GenericRecord span : spans) {
            String id = span.get(traceId).toString();
            int order = last == null ? 1 : id.compareTo(last);
            if (order < 0) {
                List<GenericRecord> sorted = new ArrayList<>(spans);
                sorted.sort(HourFile.order(Signal.TRACES));
                return entries(sorted);
            }
            entries.add(id, order == 0, (Long) span.get(startTime), (Long) span.get(endTime));
            last = id;
        }
        return entries.records();
    }

    /** The entries of span rows taken in reading order (by trace id), one trace after the other. */
    static final class EntryList {
        private final List<Entry> entries;
        private @Nullable Entry last;

        /** @param spans how many spans will be added, at most one entry each */
        EntryList(int spans) {
            entries = new ArrayList<>(spans);
        }

        /** A span: {@code sameTrace} when its trace id is the one of the span added before. */
        void add(String traceId, boolean sameTrace, long start, long end) {
            // a span that ends before it starts (end 0, say) still reaches its start: readers that ask which traces
            // have a span starting in [a, b) look for start_time < b and end_time >= a
            long reach = Math.max(start, end);
            if (sameTrace && last != null) {
                last.add(start, reach);
            } else {
                last = new Entry(traceId, start, reach);
                entries.add(last);
            }
        }

        List<GenericRecord> records() {
            List<GenericRecord> records = new ArrayList<>(entries.size());
            for (Entry entry : entries) {
                records.add(entry.record());
            }
            return records;
        }
    }

    /** One trace's entry while its spans are counted. */
    private static final class Entry {
        final String traceId;
        long start;
        long end;
        int spans = 1;

        Entry(String traceId, long start, long end) {
            this.traceId = traceId;
            this.start = start;
            this.end = end;
        }

        void add(long spanStart, long spanEnd) {
            start = Math.min(start, spanStart);
            end = Math.max(end, spanEnd);
            spans++;
        }

        GenericRecord record() {
            GenericRecord record = new GenericData.Record(SCHEMA);
            record.put(0, traceId);
            record.put(1, start);
            record.put(2, end);
            record.put(3, spans);
            return record;
        }
    }

    /** The order of entries in every index file: trace id, then start. */
    static final Comparator<GenericRecord> ORDER = Comparator.comparing(
                    (GenericRecord r) -> r.get("trace_id").toString())
            .thenComparingLong(r -> (Long) r.get("start_time"));

    /** Writes index entries (sorted by trace id) as a Parquet file. */
    public static void write(List<GenericRecord> entries, Path path) throws IOException {
        ParquetFiles.write(
                SCHEMA,
                Map.of(
                        LakeSchema.SCHEMA_VERSION_KEY, "1",
                        LakeSchema.SIGNAL_KEY, "trace_index",
                        LakeSchema.WRITER_KEY, ParquetFiles.WRITER),
                true,
                entries,
                path);
    }
}
