package io.otellake.query;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.regex.Pattern;

/**
 * A position in a log search's total order: event time, then the archive file, then the row in that file. Pages
 * continue strictly after (or, going forward, before) this position, so paging never repeats nor skips a record of
 * files that do not change meanwhile. Opaque to clients: base64url of {@code v1:<nanos>:<file>:<row>}.
 */
record LogCursor(long eventNanos, String file, long row) {
    private static final Pattern FILE = Pattern.compile("[0-9a-f]{64}\\.parquet");

    String encode() {
        String raw = "v1:" + eventNanos + ":" + file + ":" + row;
        return Base64.getUrlEncoder().withoutPadding().encodeToString(raw.getBytes(StandardCharsets.UTF_8));
    }

    static LogCursor decode(String cursor) {
        try {
            String raw = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
            String[] parts = raw.split(":");
            if (parts.length != 4
                    || !parts[0].equals("v1")
                    || !FILE.matcher(parts[2]).matches()) {
                throw new IllegalArgumentException("bad shape");
            }
            long eventNanos = Long.parseLong(parts[1]);
            Instant at = TimeParam.fromNanos(eventNanos);
            // every record a page returns is inside a request's range, so inside TimeParam's bounds; a time outside
            // them was not written by this API (and DuckDB cannot hold the extremes of a long)
            if (at.isBefore(TimeParam.EARLIEST) || at.isAfter(TimeParam.LATEST)) {
                throw new IllegalArgumentException("time out of range");
            }
            return new LogCursor(eventNanos, parts[2], Long.parseLong(parts[3]));
        } catch (IllegalArgumentException e) {
            throw new BadRequestException("cursor is not one this API returned; start again without it");
        }
    }
}
