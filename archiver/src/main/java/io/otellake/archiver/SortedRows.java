package io.otellake.archiver;

import io.otellake.schemas.Signal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericRecord;

/**
 * The rows of one file, each with its sort keys, taken when the row is added, and handed out in the reading order of
 * its signal, the order of {@link HourFile#order(Signal)}: spans by trace id, then start; log records by service, then
 * time; metric points by name, then service, then time. Stable: rows with equal keys keep the order they came in.
 *
 * <p>Why the keys are taken early: a row's key strings are in the processor's cache just after the row was made, and
 * scattered over the heap by the time the file is written, so reading them then cost a cache miss per row (a sixth of
 * the sort once). A trace id of 32 lowercase hex digits, as every span row has, is kept as its 128 bits, so two spans
 * compare without reading their ids again; other first keys keep their first eight characters as a long when those are
 * Latin-1. Both orders agree exactly with {@link String#compareTo}, which decides everything else.
 *
 * <p>Public for the archiver benchmark, which buffers and sorts rows as the archiver does.
 */
public final class SortedRows {
    private final Signal signal;
    private final List<Keyed> rows = new ArrayList<>();
    private Schema schema;
    private int[] at;

    public SortedRows(Signal signal) {
        this.signal = signal;
    }

    public void add(GenericRecord r) {
        if (r.getSchema() != schema) {
            schema = r.getSchema();
            at = positions(signal, schema);
        }
        rows.add(
                switch (signal) {
                    case TRACES -> Keyed.of(r.get(at[0]).toString(), "", (Long) r.get(at[1]), r);
                    case LOGS -> Keyed.of(text(r.get(at[0])), "", time(r.get(at[1]), r.get(at[2])), r);
                    case METRICS -> Keyed.of(text(r.get(at[0])), text(r.get(at[1])), time(r.get(at[2]), null), r);
                });
    }

    public int size() {
        return rows.size();
    }

    /** The rows in reading order. May be asked again, after more rows or none. */
    public List<GenericRecord> list() {
        rows.sort(Keyed.ORDER);
        List<GenericRecord> out = new ArrayList<>(rows.size());
        for (Keyed k : rows) {
            out.add(k.row);
        }
        return out;
    }

    /** The positions of the sort keys in a row schema of the signal, in the order {@link #add} reads them. */
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

    private static String text(Object o) {
        return o == null ? "" : o.toString();
    }

    /**
     * A row with its sort keys. With {@code kind} {@link #HEX}, {@code hi} and {@code lo} are the 128 bits of {@code
     * first}, 32 lowercase hex digits; with {@link #PREFIX}, {@code hi} holds its first eight characters, all below
     * U+0100, as the bytes of a big-endian long (0 past the end). Either orders exactly as {@link String#compareTo}
     * does, which decides when they cannot.
     */
    private record Keyed(String first, String second, long time, GenericRecord row, long hi, long lo, byte kind) {
        static final byte TEXT = 0;
        static final byte PREFIX = 1;
        static final byte HEX = 2;

        static Keyed of(String first, String second, long time, GenericRecord row) {
            if (first.length() == 32) {
                long hi = hex(first, 0);
                long lo = hex(first, 16);
                if (hi != NOT_HEX && lo != NOT_HEX) {
                    return new Keyed(first, second, time, row, hi, lo, HEX);
                }
            }
            return latin1Prefix(first)
                    ? new Keyed(first, second, time, row, prefixOf(first), 0, PREFIX)
                    : new Keyed(first, second, time, row, 0, 0, TEXT);
        }

        static final Comparator<Keyed> ORDER = (a, b) -> {
            int c;
            if (a.kind == HEX && b.kind == HEX) {
                c = Long.compareUnsigned(a.hi, b.hi);
                if (c == 0) {
                    c = Long.compareUnsigned(a.lo, b.lo);
                }
                if (c != 0) {
                    return c;
                }
            } else {
                if (a.kind != TEXT && b.kind != TEXT) {
                    // a hex id's first eight digits, as a prefix, are the top 32 of its bits spread out: compare the
                    // characters themselves
                    c = Long.compareUnsigned(a.prefix(), b.prefix());
                    if (c != 0) {
                        return c;
                    }
                }
                c = a.first.compareTo(b.first);
                if (c != 0) {
                    return c;
                }
            }
            c = a.second.compareTo(b.second);
            return c != 0 ? c : Long.compare(a.time, b.time);
        };

        /** The first eight characters as a {@link #PREFIX} holds them. */
        long prefix() {
            return kind == HEX ? prefixOf(first) : hi;
        }
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
