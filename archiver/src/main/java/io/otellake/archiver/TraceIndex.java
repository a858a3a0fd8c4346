package io.otellake.archiver;

import io.otellake.schemas.LakeSchema;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
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

    /** One entry per trace id of the span rows, sorted by trace id. */
    public static List<GenericRecord> entries(List<GenericRecord> spans) {
        Map<String, GenericRecord> byTrace = new TreeMap<>();
        for (GenericRecord span : spans) {
            String id = span.get("trace_id").toString();
            long start = (Long) span.get("start_time");
            // a span that ends before it starts (end 0, say) still reaches its start: readers that ask which traces
            // have a span starting in [a, b) look for start_time < b and end_time >= a
            long end = Math.max(start, (Long) span.get("end_time"));
            GenericRecord entry = byTrace.get(id);
            if (entry == null) {
                entry = new GenericData.Record(SCHEMA);
                entry.put("trace_id", id);
                entry.put("start_time", start);
                entry.put("end_time", end);
                entry.put("span_count", 1);
                byTrace.put(id, entry);
            } else {
                entry.put("start_time", Math.min((Long) entry.get("start_time"), start));
                entry.put("end_time", Math.max((Long) entry.get("end_time"), end));
                entry.put("span_count", (Integer) entry.get("span_count") + 1);
            }
        }
        return new ArrayList<>(byTrace.values());
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
