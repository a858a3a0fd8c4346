package io.otellake.archiver;

import io.otellake.schemas.Signal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericRecord;
import org.jspecify.annotations.Nullable;

/**
 * The rows of one file, each with its sort keys, taken when the row is added, and handed out in the reading order of
 * its signal, the order of {@link HourFile#order(Signal)}: spans by trace id, then start; log records by service, then
 * time; metric points by name, then service, then time. Stable: rows with equal keys keep the order they came in.
 *
 * <p>Why the keys are taken early: a row's key strings are in the processor's cache just after the row was made, and
 * scattered over the heap by the time the file is written, so reading them then cost a cache miss per row (a sixth of
 * the sort once). A trace id of 32 lowercase hex digits, as every span row has, is kept as its 128 bits, so two spans
 * compare without reading their ids again; other first keys keep their first eight characters as a long when those are
 * Latin-1. Both orders agree exactly with {@link String#compareTo}, which decides everything else. The keys are kept in
 * arrays (the numbers of a row side by side in one of longs) and sorted through an array of row numbers: nothing per
 * row for the garbage collector to copy while the rows wait for their file.
 *
 * <p>Public for the archiver benchmark, which buffers and sorts rows as the archiver does.
 */
public final class SortedRows {
    /** What a row's key says of its first key: see {@link #keys}. */
    private static final byte TEXT = 0;

    private static final byte PREFIX = 1;
    private static final byte HEX = 2;

    private final Signal signal;
    private Schema schema;
    private int[] at;

    // the rows and their keys, in the order added: arrays, not an object per row, since the rows wait here until their
    // file is written and every object they keep is one more for the garbage collector to copy
    private GenericRecord[] rows = new GenericRecord[64];
    private String[] first = new String[64];
    private String[] second = new String[64];
    /** Per row, side by side so that a comparison reads one cache line a row: hi, lo, time, kind. */
    private long[] key = new long[4 * 64];
    /** Spans only (null for other rows): each one's end time, for the trace index. */
    private long @Nullable [] end;

    /** The reading order of the first {@code sortedSize} rows, as the last sort left it; null before one. */
    private int @Nullable [] sorted;

    private int sortedSize;

    /** The first key of the row added last, or null before the first. */
    private @Nullable String lastFirst;

    /** Whether every row's first key is {@link #HEX}, as in a span file: then {@link #order} can bucket them first. */
    private boolean allHex = true;

    private int size;

    public SortedRows(Signal signal) {
        this.signal = signal;
        this.end = signal == Signal.TRACES ? new long[64] : null;
    }

    public void add(GenericRecord r) {
        if (r.getSchema() != schema) {
            schema = r.getSchema();
            at = positions(signal, schema);
        }
        if (size == rows.length) {
            grow();
        }
        int i = size++;
        rows[i] = r;
        switch (signal) {
            case TRACES -> {
                keys(i, r.get(at[0]).toString(), "", (Long) r.get(at[1]));
                end[i] = time(r.get(at[2]), null);
            }
            case LOGS -> keys(i, text(r.get(at[0])), "", time(r.get(at[1]), r.get(at[2])));
            case METRICS -> keys(i, text(r.get(at[0])), text(r.get(at[1])), time(r.get(at[2]), null));
        }
    }

    /**
     * With kind {@link #HEX}, hi and lo are the 128 bits of {@code first}, 32 lowercase hex
     * digits; with {@link #PREFIX}, hi holds its first eight characters, all below U+0100, as the bytes of a
     * big-endian long (0 past the end). Either orders exactly as {@link String#compareTo} does, which decides when they
     * cannot.
     */
    private void keys(int i, String f, String s, long t) {
        first[i] = f;
        second[i] = s;
        int k = 4 * i;
        key[k + 2] = t;
        if (f == lastFirst) {
            // the same text as the row before (the wire reader hands the spans of a trace one id): the same key
            int p = 4 * (i - 1);
            key[k] = key[p];
            key[k + 1] = key[p + 1];
            key[k + 3] = key[p + 3];
            return;
        }
        lastFirst = f;
        if (f.length() == 32) {
            long h = hex(f, 0);
            long l = hex(f, 16);
            if (h != NOT_HEX && l != NOT_HEX) {
                key[k] = h;
                key[k + 1] = l;
                key[k + 3] = HEX;
                return;
            }
        }
        allHex = false;
        if (latin1Prefix(f)) {
            key[k] = prefixOf(f);
            key[k + 3] = PREFIX;
        } else {
            key[k + 3] = TEXT;
        }
    }

    private void grow() {
        int n = rows.length * 2;
        rows = Arrays.copyOf(rows, n);
        first = Arrays.copyOf(first, n);
        second = Arrays.copyOf(second, n);
        key = Arrays.copyOf(key, 4 * n);
        if (end != null) {
            end = Arrays.copyOf(end, n);
        }
    }

    public Signal signal() {
        return signal;
    }

    public int size() {
        return size;
    }

    /** The rows in reading order. May be asked again, after more rows or none. */
    public List<GenericRecord> list() {
        int[] order = order();
        List<GenericRecord> out = new ArrayList<>(size);
        for (int i : order) {
            out.add(rows[i]);
        }
        return out;
    }

    /**
     * The trace index entries of the spans ({@link TraceIndex#entries} of {@link #list()}), from the keys: a span's
     * trace id is compared with the one before it as 128 bits, and its row is not read again.
     */
    public List<GenericRecord> traceIndexEntries() {
        if (signal != Signal.TRACES) {
            throw new IllegalStateException("only spans have a trace index, not " + signal);
        }
        TraceIndex.EntryList entries = new TraceIndex.EntryList(size);
        int previous = -1;
        for (int i : order()) {
            entries.add(first[i], previous >= 0 && sameFirst(previous, i), key[4 * i + 2], end[i]);
            previous = i;
        }
        return entries.records();
    }

    /**
     * How many distinct trace ids the spans hold, from the keys (what {@code ParquetFiles} sizes the file's bloom filter
     * by): the rows are not read again.
     */
    public long distinctTraceIds() {
        if (signal != Signal.TRACES) {
            throw new IllegalStateException("only spans have trace ids, not " + signal);
        }
        long distinct = 0;
        int previous = -1;
        for (int i : order()) {
            if (previous < 0 || !sameFirst(previous, i)) {
                distinct++;
            }
            previous = i;
        }
        return distinct;
    }

    private int[] order() {
        if (sorted == null || sortedSize != size) {
            int[] order = new int[size];
            if (allHex && size >= RADIX_MIN_ROWS) {
                bucketSort(order);
            } else {
                for (int i = 0; i < size; i++) {
                    order[i] = i;
                }
                sort(order, new int[size], 0, size);
            }
            sorted = order;
            sortedSize = size;
        }
        return sorted;
    }

    /** Whether rows {@code a} and {@code b} have the same first key. */
    private boolean sameFirst(int a, int b) {
        long kindA = key[4 * a + 3];
        if (kindA != key[4 * b + 3]) {
            return false; // whether a text is a hex id depends on the text alone
        }
        if (kindA == HEX) {
            return key[4 * a] == key[4 * b] && key[4 * a + 1] == key[4 * b + 1];
        }
        return first[a].equals(first[b]);
    }

    /** The order of rows {@code a} and {@code b}: first key, second key, time. */
    private int compare(int a, int b) {
        int c;
        int ka = 4 * a;
        int kb = 4 * b;
        long kindA = key[ka + 3];
        long kindB = key[kb + 3];
        if (kindA == HEX && kindB == HEX) {
            c = Long.compareUnsigned(key[ka], key[kb]);
            if (c == 0) {
                c = Long.compareUnsigned(key[ka + 1], key[kb + 1]);
            }
            if (c != 0) {
                return c;
            }
        } else {
            if (kindA != TEXT && kindB != TEXT) {
                // a hex id's first eight digits, as a prefix, are the top 32 of its bits spread out: compare the
                // characters themselves
                c = Long.compareUnsigned(prefix(a), prefix(b));
                if (c != 0) {
                    return c;
                }
            }
            c = first[a].compareTo(first[b]);
            if (c != 0) {
                return c;
            }
        }
        c = signal == Signal.METRICS ? second[a].compareTo(second[b]) : 0; // the others have none
        return c != 0 ? c : Long.compare(key[ka + 2], key[kb + 2]);
    }

    /** The first eight characters of row {@code i}'s first key as a {@link #PREFIX} holds them. */
    private long prefix(int i) {
        return key[4 * i + 3] == HEX ? prefixOf(first[i]) : key[4 * i];
    }

    /** Below this many rows a sort by buckets gains nothing. */
    private static final int RADIX_MIN_ROWS = 256;

    /**
     * Puts the row numbers into {@code order} in the order of {@link #compare} when every first key is a hex id: a
     * stable counting sort by the id's top bits (about four rows a bucket, as random ids spread), then {@link #sort}
     * within each bucket. The same order the merge sort gives, since both are stable; without it, a file of 256,000
     * spans cost some 18 comparisons a row, each reading two rows' keys at random from a key array larger than the
     * processor's cache, the tenth of a span's CPU. Here each row's key is read twice in sequence, then compared a few
     * times within its bucket. Many spans of one trace share a bucket, which the merge sort then orders.
     */
    private void bucketSort(int[] order) {
        int bits = Math.min(16, 31 - Integer.numberOfLeadingZeros(size) - 2);
        int shift = 64 - bits;
        int[] start = new int[(1 << bits) + 1];
        for (int i = 0; i < size; i++) {
            start[(int) (key[4 * i] >>> shift) + 1]++;
        }
        for (int b = 0; b < 1 << bits; b++) {
            start[b + 1] += start[b];
        }
        int[] next = Arrays.copyOf(start, 1 << bits);
        for (int i = 0; i < size; i++) {
            order[next[(int) (key[4 * i] >>> shift)]++] = i;
        }
        int[] scratch = new int[size];
        for (int b = 0; b < 1 << bits; b++) {
            if (start[b + 1] - start[b] > 1) {
                sort(order, scratch, start[b], start[b + 1]);
            }
        }
    }

    /**
     * Sorts {@code order[from, to)} by {@link #compare}, stable: a merge sort, with runs of up to 16 sorted by
     * insertion first. {@code scratch} is as long as {@code order}.
     */
    private void sort(int[] order, int[] scratch, int from, int to) {
        for (int run = from; run < to; run += 16) {
            int end = Math.min(run + 16, to);
            for (int i = run + 1; i < end; i++) {
                int x = order[i];
                int j = i - 1;
                while (j >= run && compare(order[j], x) > 0) {
                    order[j + 1] = order[j];
                    j--;
                }
                order[j + 1] = x;
            }
        }
        int[] src = order;
        int[] dst = scratch;
        for (int width = 16; width < to - from; width *= 2) {
            for (int left = from; left < to; left += 2 * width) {
                int mid = Math.min(left + width, to);
                int right = Math.min(left + 2 * width, to);
                if (mid < right && compare(src[mid - 1], src[mid]) <= 0) {
                    System.arraycopy(src, left, dst, left, right - left); // already in order
                    continue;
                }
                int i = left;
                int j = mid;
                int k = left;
                while (i < mid && j < right) {
                    dst[k++] = compare(src[j], src[i]) < 0 ? src[j++] : src[i++];
                }
                while (i < mid) {
                    dst[k++] = src[i++];
                }
                while (j < right) {
                    dst[k++] = src[j++];
                }
            }
            int[] t = src;
            src = dst;
            dst = t;
        }
        if (src != order) {
            System.arraycopy(src, from, order, from, to - from);
        }
    }

    /** The positions of the sort keys in a row schema of the signal, in the order {@link #add} reads them. */
    private static int[] positions(Signal signal, Schema schema) {
        String[] names =
                switch (signal) {
                    case TRACES -> new String[] {"trace_id", "start_time", "end_time"};
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

    private static String text(Object o) {
        return o == null ? "" : o.toString();
    }

    /** What {@link #hex} returns for text that is not hex; also for 16 {@code f}s, which then take the slower way. */
    private static final long NOT_HEX = -1L;

    /**
     * The 16 characters of {@code s} from {@code from} as the 64 bits they spell in lowercase hex, or {@link #NOT_HEX}.
     */
    static long hex(String s, int from) {
        long v = 0;
        for (int i = from; i < from + 16; i++) {
            char c = s.charAt(i);
            int d;
            if (c >= '0' && c <= '9') {
                d = c - '0';
            } else if (c >= 'a' && c <= 'f') {
                d = c - 'a' + 10;
            } else {
                return NOT_HEX;
            }
            v = (v << 4) | d;
        }
        return v;
    }

    /** The first eight characters as the bytes of a big-endian long (0 past the end); meaningful if all are Latin-1. */
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
}
