package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;

import io.otellake.schemas.LakeSchema;
import io.otellake.schemas.Signal;
import io.otellake.schemas.TenantId;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * {@link HourFile#sortedRows} ({@link SortedRows}) sorts exactly as {@link HourFile#order}, which the compactor merges
 * by: stable, so that rows with equal keys keep their order, which the element comparator below checks as well.
 */
class HourFileTest {
    /** Characters that make the long prefix tricky: NUL, the top of Latin-1, beyond Latin-1, surrogates. */
    private static final char[] ALPHABET = {
        '\0', '0', '9', 'a', 'f', 'z', '\u00e9', '\u00ff', '\u0100', '\u2603', '\ud83d'
    };

    static String text(SplittableRandom r) {
        StringBuilder s = new StringBuilder();
        String stem = r.nextInt(3) == 0 ? "0af76519" : "";
        s.append(stem);
        for (int i = r.nextInt(12); i > 0; i--) {
            s.append(ALPHABET[r.nextInt(ALPHABET.length)]);
        }
        return s.toString();
    }

    /**
     * 32 lowercase hex digits, as span rows carry (kept as their 128 bits while sorting), from few stems so that ids
     * share their first 16 digits or are equal; some all {@code f}, some with an upper-case or other stray character.
     */
    static String traceId(SplittableRandom r) {
        String[] stems = {"0000000000000000", "0af7651916cd43dd", "ffffffffffffffff", "fffffffffffffffe"};
        StringBuilder s = new StringBuilder(stems[r.nextInt(stems.length)]);
        if (r.nextInt(4) == 0) {
            s.append(stems[r.nextInt(stems.length)]);
        } else {
            for (int i = 0; i < 16; i++) {
                s.append("0123456789abcdef".charAt(r.nextInt(r.nextBoolean() ? 2 : 16)));
            }
        }
        if (r.nextInt(20) == 0) {
            s.setCharAt(r.nextInt(32), "Ag/:`\u00e9".charAt(r.nextInt(6)));
        }
        return s.toString();
    }

    static HourFile file(Signal signal) {
        return new HourFile(new TopicPartition("t", 0), signal, TenantId.of("acme"), "x/", 0, "b", 0);
    }

    static GenericRecord span(String traceId, long startTime) {
        GenericRecord row = new GenericData.Record(LakeSchema.SPAN);
        row.put("trace_id", traceId);
        row.put("start_time", startTime);
        return row;
    }

    /** The file hands out the rows added to it in the comparator's order, equal keys in the order they came. */
    static void assertSortedAsTheComparatorSays(HourFile file, List<GenericRecord> added) {
        List<GenericRecord> expected = new ArrayList<>(added);
        expected.sort(HourFile.order(file.signal));
        assertThat(file.sortedRows())
                .usingElementComparator((a, b) -> a == b ? 0 : 1)
                .containsExactlyElementsOf(expected);
    }

    @Test
    void spansWithHexTraceIdsSortAsTheComparatorSays() {
        SplittableRandom r = new SplittableRandom(13);
        HourFile file = file(Signal.TRACES);
        List<GenericRecord> rows = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            int kind = r.nextInt(10);
            GenericRecord row = span(kind == 0 ? text(r) : kind == 1 ? "" : traceId(r), (long) r.nextInt(5) - 2);
            rows.add(row);
            file.add(row, i);
        }
        assertSortedAsTheComparatorSays(file, rows);
        SortedRows sorted = new SortedRows(Signal.TRACES);
        rows.forEach(sorted::add);
        assertThat(sorted.distinctTraceIds())
                .isEqualTo(
                        rows.stream().map(row -> row.get("trace_id")).distinct().count());
        // asked again, as a retried upload does, and after more rows
        assertSortedAsTheComparatorSays(file, rows);
        GenericRecord late = span("0af7651916cd43dd8448eb211c80319c", 0L);
        file.add(late, 20_000);
        rows.add(late);
        assertSortedAsTheComparatorSays(file, rows);
        assertThat(file.rowCount()).isEqualTo(20_001);
    }

    /**
     * Only hex trace ids, as the wire reader gives every span: the rows are sorted by buckets of the ids' top bits, then
     * within each. Ids at random, ids that differ only past their top bits, and a few ids that many spans share (a
     * bucket of hundreds of rows, sorted by time within it).
     */
    @Test
    void spansWithOnlyHexTraceIdsSortAsTheComparatorSays() {
        SplittableRandom r = new SplittableRandom(14);
        List<String> shared = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            shared.add(String.format("%016x%016x", r.nextLong(), r.nextLong()));
        }
        HourFile file = file(Signal.TRACES);
        SortedRows sorted = new SortedRows(Signal.TRACES);
        List<GenericRecord> rows = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            String id =
                    switch (r.nextInt(4)) {
                        case 0 -> String.format("%016x%016x", r.nextLong(), r.nextLong());
                        case 1 -> String.format("0af76519%08x%016x", r.nextInt(4), r.nextLong(4));
                        case 2 -> shared.get(r.nextInt(shared.size()));
                        // not 16 f's in a row: those take the slower way, and the rows would not be bucketed
                        default ->
                            r.nextBoolean() ? "fffffffffffffffeffffffffffffffef" : "00000000000000000000000000000000";
                    };
            GenericRecord row = span(id, (long) r.nextInt(7) - 3);
            rows.add(row);
            file.add(row, i);
            sorted.add(row);
        }
        assertSortedAsTheComparatorSays(file, rows);
        assertThat(sorted.distinctTraceIds())
                .isEqualTo(
                        rows.stream().map(row -> row.get("trace_id")).distinct().count());
        GenericRecord late = span(shared.get(0), -3L);
        file.add(late, 20_000);
        rows.add(late);
        assertSortedAsTheComparatorSays(file, rows);
    }

    @Test
    void spansSortAsTheComparatorSaysForAnyTraceIdText() {
        SplittableRandom r = new SplittableRandom(11);
        HourFile file = file(Signal.TRACES);
        List<GenericRecord> rows = new ArrayList<>();
        for (int i = 0; i < 5_000; i++) {
            GenericRecord row = span(text(r), (long) r.nextInt(5));
            rows.add(row);
            file.add(row, i);
        }
        assertSortedAsTheComparatorSays(file, rows);
    }

    @Test
    void logsSortAsTheComparatorSaysWithMissingServicesAndTimes() {
        SplittableRandom r = new SplittableRandom(12);
        HourFile file = file(Signal.LOGS);
        List<GenericRecord> rows = new ArrayList<>();
        for (int i = 0; i < 5_000; i++) {
            GenericRecord row = new GenericData.Record(LakeSchema.LOG);
            row.put("service_name", r.nextInt(10) == 0 ? null : text(r));
            row.put("timestamp", r.nextInt(4) == 0 ? null : (long) r.nextInt(5));
            row.put("observed_timestamp", r.nextInt(2) == 0 ? null : (long) r.nextInt(5));
            rows.add(row);
            file.add(row, i);
        }
        assertSortedAsTheComparatorSays(file, rows);
    }
}
