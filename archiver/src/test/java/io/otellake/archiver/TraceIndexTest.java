package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;

import io.otellake.schemas.LakeSchema;
import io.otellake.schemas.Signal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.Test;

/**
 * {@link TraceIndex#entries}: one row per trace id, sorted, with the trace's span times and count, in any order; and
 * {@link SortedRows#traceIndexEntries}, which the archiver uses, gives the same from its sort keys.
 */
class TraceIndexTest {
    private static GenericRecord span(String traceId, long start, long end) {
        GenericRecord row = new GenericData.Record(LakeSchema.SPAN);
        row.put("trace_id", traceId);
        row.put("start_time", start);
        row.put("end_time", end);
        return row;
    }

    private static List<String> describe(List<GenericRecord> entries) {
        List<String> out = new ArrayList<>();
        for (GenericRecord e : entries) {
            out.add(e.get("trace_id") + " " + e.get("start_time") + ".." + e.get("end_time") + " x"
                    + e.get("span_count"));
        }
        return out;
    }

    @Test
    void eachTraceGetsItsEarliestStartLatestEndAndSpanCountSortedByTraceId() {
        List<GenericRecord> spans = List.of(
                span("0a", 50, 60),
                span("0a", 10, 20),
                span("0a", 30, 90),
                span("1b", 5, 0), // ends before it starts: the entry still reaches its start
                span("ff", 7, 8));
        List<String> expected = List.of("0a 10..90 x3", "1b 5..5 x1", "ff 7..8 x1");

        assertThat(describe(TraceIndex.entries(spans))).containsExactlyElementsOf(expected);
        List<GenericRecord> shuffled = new ArrayList<>(spans);
        Collections.reverse(shuffled);
        assertThat(describe(TraceIndex.entries(shuffled))).containsExactlyElementsOf(expected);
        assertThat(TraceIndex.entries(shuffled).get(0).getSchema()).isEqualTo(TraceIndex.SCHEMA);
    }

    @Test
    void sortedAndShuffledRowsGiveTheSameEntries() {
        SplittableRandom r = new SplittableRandom(3);
        List<GenericRecord> spans = new ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            long start = r.nextLong(1_000_000);
            spans.add(span(String.format("%032x", r.nextInt(300)), start, start + r.nextLong(-10, 5_000)));
        }
        List<GenericRecord> sorted = new ArrayList<>(spans);
        sorted.sort(HourFile.order(Signal.TRACES));
        List<GenericRecord> shuffled = new ArrayList<>(spans);
        Collections.shuffle(shuffled, new Random(5));

        List<String> fromSorted = describe(TraceIndex.entries(sorted));
        long traces = spans.stream().map(s -> s.get("trace_id")).distinct().count();
        assertThat(fromSorted).hasSize((int) traces).isSorted();
        assertThat(TraceIndex.entries(sorted).stream()
                        .mapToInt(e -> (Integer) e.get("span_count"))
                        .sum())
                .isEqualTo(2_000);
        assertThat(describe(TraceIndex.entries(shuffled))).containsExactlyElementsOf(fromSorted);
        assertThat(TraceIndex.entries(List.of())).isEmpty();
    }

    @Test
    void sortedRowsGiveTheSameEntriesFromTheirKeys() {
        SplittableRandom r = new SplittableRandom(4);
        SortedRows rows = new SortedRows(Signal.TRACES);
        List<GenericRecord> spans = new ArrayList<>();
        for (int i = 0; i < 5_000; i++) {
            // hex ids (some sharing their first 16 digits), ids of other lengths or letters, the empty id
            String id =
                    switch (r.nextInt(6)) {
                        case 0 -> String.format("0af7651916cd43dd%016x", r.nextInt(40));
                        case 1 -> String.format("%031x", r.nextInt(40));
                        case 2 -> r.nextInt(3) == 0 ? "" : "0AF7651916CD43DD00000000000000" + r.nextInt(10);
                        default -> String.format("%032x", r.nextInt(400));
                    };
            long start = r.nextLong(1_000_000);
            GenericRecord span = span(id, start, start + r.nextLong(-10, 5_000));
            spans.add(span);
            rows.add(span);
        }
        List<GenericRecord> sorted = rows.list();

        List<String> expected = describe(TraceIndex.entries(sorted));
        assertThat(describe(rows.traceIndexEntries())).containsExactlyElementsOf(expected);
        assertThat(describe(TraceIndex.entries(spans))).containsExactlyElementsOf(expected);
        assertThat(rows.traceIndexEntries().get(0).getSchema()).isEqualTo(TraceIndex.SCHEMA);
        assertThat(new SortedRows(Signal.TRACES).traceIndexEntries()).isEmpty();
    }
}
