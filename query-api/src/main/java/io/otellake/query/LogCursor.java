package io.otellake.query;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;

/**
 * A position in a log search's order: event time, then a hash of the record's content, then how many records of that
 * same time and content the pages so far returned. The order depends only on what the records hold, not on the file
 * that holds them, so it survives compaction, which moves records into new files: paging never repeats nor skips a
 * record, whatever the archiver does between two pages. Records of one time and content are the same to a reader, so
 * it does not matter which copy a page returns, only how many. Opaque to clients: base64url of
 * {@code v2:<nanos>:<content hash>:<seen>}.
 *
 * @param eventNanos the event time of the last record returned
 * @param content the hash of its content, as {@link LogSearch} computes it
 * @param seen how many records of that time and content the pages so far returned (at least 1)
 */
record LogCursor(long eventNanos, long content, long seen) {
    String encode() {
        String raw = "v2:" + eventNanos + ":" + content + ":" + seen;
        return Base64.getUrlEncoder().withoutPadding().encodeToString(raw.getBytes(StandardCharsets.UTF_8));
    }

    static LogCursor decode(String cursor) {
        try {
            String raw = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
            String[] parts = raw.split(":", -1);
            if (parts.length != 4 || !parts[0].equals("v2")) {
                throw new IllegalArgumentException("bad shape");
            }
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
            throw new BadRequestException("cursor is not one this API returned; start again without it");
        }
    }
}
