package io.otellake.query;

import io.otellake.schemas.TenantId;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.TreeMap;
import org.springframework.util.MultiValueMap;

/**
 * A position in a log search's order: event time, then a hash of the record's content, then how many records of that
 * same time and content the pages so far returned. The order depends only on what the records hold, not on the file
 * that holds them, so it survives compaction, which moves records into new files: paging never repeats nor skips a
 * record, whatever the archiver does between two pages. Records of one time and content are the same to a reader, so
 * it does not matter which copy a page returns, only how many. Opaque to clients: base64url of
 * {@code v4:<nanos>:<content hash>:<seen>:<range start>:<range end>:<query>}, where {@code query} fingerprints the
 * tenant, direction, range and filters of the search that returned it ({@link #query}): a cursor given with other ones
 * would continue a different order or set of records, so it is refused (400) rather than silently repeating or
 * skipping records. The range, in nanoseconds, is the one the first page searched: a search without {@code start} and
 * {@code end} covers the hour before the moment it was asked, and its later pages must search that same hour, not the
 * hour before their own moment, which would drop the records the window slid past. Cursors of earlier formats
 * ({@code v2} and {@code v3}, without the fingerprint or the range) are refused like any cursor this API did not return:
 * they could continue another search unchecked.
 *
 * @param eventNanos the event time of the last record returned
 * @param content the hash of its content, as {@link LogSearch} computes it
 * @param seen how many records of that time and content the pages so far returned (at least 1)
 * @param rangeStartNanos the start of the first page's range, {@link #NO_RANGE} in a cursor from before the range
 * @param rangeEndNanos its end, {@link #NO_RANGE} likewise
 */
record LogCursor(long eventNanos, long content, long seen, long rangeStartNanos, long rangeEndNanos) {
    static final long NO_RANGE = Long.MIN_VALUE;

    /** A position, without the range it belongs to yet. */
    LogCursor(long eventNanos, long content, long seen) {
        this(eventNanos, content, seen, NO_RANGE, NO_RANGE);
    }

    /** This position in a search of {@code [start, end)}. */
    LogCursor inRange(Instant start, Instant end) {
        return new LogCursor(eventNanos, content, seen, TimeParam.toNanos(start), TimeParam.toNanos(end));
    }

    /** Whether this position names the range of its search, as every decoded cursor does. */
    boolean hasRange() {
        return rangeStartNanos != NO_RANGE;
    }

    /** The cursor of a search whose {@link #query} fingerprint is {@code query}. */
    String encode(String query) {
        if (!hasRange()) {
            throw new IllegalStateException("a cursor is encoded with the range of its search");
        }
        String raw = "v4:" + eventNanos + ":" + content + ":" + seen + ":" + rangeStartNanos + ":" + rangeEndNanos + ":"
                + query;
        return Base64.getUrlEncoder().withoutPadding().encodeToString(raw.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The fingerprint of a search: its tenant, its direction (given or the default) and every other parameter but
     * {@code cursor} and {@code limit} (a page may be of another size than the one before), in a canonical order. 16
     * hex digits of SHA-256.
     */
    static String query(TenantId tenant, LogSearch.Direction direction, MultiValueMap<String, String> params) {
        StringBuilder canonical = new StringBuilder(tenant.value()).append('\n').append(direction.name());
        new TreeMap<>(params).forEach((name, values) -> {
            if (!name.equals("cursor") && !name.equals("limit") && !name.equals("direction")) {
                for (String value : values.stream().sorted().toList()) {
                    // lengths first, so that no two different parameter lists run together into one text
                    canonical.append('\n').append(name.length()).append(':').append(name);
                    canonical.append(value.length()).append(':').append(value);
                }
            }
        });
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256")
                    .digest(canonical.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(hash, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    /** The cursor {@code cursor}, which a search of fingerprint {@code query} must have returned; else a 400. */
    static LogCursor decode(String cursor, String query) {
        String[] parts;
        try {
            String raw = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
            parts = raw.split(":", -1);
        } catch (IllegalArgumentException e) {
            throw notOurs();
        }
        if (parts.length != 7 || !parts[0].equals("v4")) {
            throw notOurs();
        }
        if (!parts[6].equals(query)) {
            throw new BadRequestException("cursor belongs to a search with other parameters (direction, start, end or"
                    + " filters); repeat those of the first page, or start again without a cursor");
        }
        LogCursor position = decode(parts);
        try {
            // checked like any range when it is searched (TimeRange): here only that it is a range at all
            Instant start = TimeParam.fromNanos(RequestParams.parseAsciiLong(parts[4]));
            Instant end = TimeParam.fromNanos(RequestParams.parseAsciiLong(parts[5]));
            if (start.isBefore(TimeParam.EARLIEST) || end.isAfter(TimeParam.LATEST) || !end.isAfter(start)) {
                throw new IllegalArgumentException("range out of bounds");
            }
            return position.inRange(start, end);
        } catch (IllegalArgumentException e) {
            throw notOurs();
        }
    }

    /** The range of the search this cursor continues; only for a cursor that {@link #hasRange}. */
    Instant rangeStart() {
        return TimeParam.fromNanos(rangeStartNanos);
    }

    Instant rangeEnd() {
        return TimeParam.fromNanos(rangeEndNanos);
    }

    private static LogCursor decode(String[] parts) {
        try {
            long eventNanos = RequestParams.parseAsciiLong(parts[1]);
            Instant at = TimeParam.fromNanos(eventNanos);
            // every record a page returns is inside a request's range, so inside TimeParam's bounds; a time outside
            // them was not written by this API (and DuckDB cannot hold the extremes of a long)
            if (at.isBefore(TimeParam.EARLIEST) || at.isAfter(TimeParam.LATEST)) {
                throw new IllegalArgumentException("time out of range");
            }
            long content = RequestParams.parseAsciiLong(parts[2]);
            long seen = RequestParams.parseAsciiLong(parts[3]);
            if (content < 0 || seen < 1 || seen > LogSearch.MAX_SEEN) {
                throw new IllegalArgumentException("out of range");
            }
            return new LogCursor(eventNanos, content, seen);
        } catch (IllegalArgumentException e) {
            throw notOurs();
        }
    }

    private static BadRequestException notOurs() {
        return new BadRequestException("cursor is not one this API returned; start again without it");
    }
}
