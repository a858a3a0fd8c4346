package io.otellake.query;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import org.jspecify.annotations.Nullable;

/**
 * Parses {@code start} and {@code end}: RFC 3339 (any offset) or Unix epoch nanoseconds, from {@link #EARLIEST} to
 * {@link #LATEST}.
 */
final class TimeParam {
    /**
     * The bounds of a time in a request: within what a signed 64-bit count of epoch nanoseconds holds (1677-09-21 to
     * 2262-04-11), which is how the lake and DuckDB's {@code TIMESTAMP_NS} store times, with room to spare.
     */
    static final Instant EARLIEST = Instant.parse("1678-01-01T00:00:00Z");

    static final Instant LATEST = Instant.parse("2262-01-01T00:00:00Z");

    private TimeParam() {}

    @Nullable
    static Instant parse(String name, @Nullable String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        String t = text.trim();
        if (t.matches("-?[0-9]+")) {
            try {
                long nanos = RequestParams.parseAsciiLong(t);
                return requireInBounds(
                        name,
                        Instant.ofEpochSecond(
                                Math.floorDiv(nanos, 1_000_000_000L), Math.floorMod(nanos, 1_000_000_000L)));
            } catch (NumberFormatException e) {
                throw new BadRequestException(name + " is too large for epoch nanoseconds: " + t);
            }
        }
        if (t.length() > 10 && t.charAt(10) == ' ') {
            t = t.substring(0, 10) + 'T' + t.substring(11); // RFC 3339, section 5.6, allows a space for readability
        }
        Instant parsed;
        try {
            parsed = OffsetDateTime.parse(t).toInstant();
        } catch (DateTimeParseException e) {
            throw new BadRequestException(
                    name + " must be RFC 3339 (2024-05-01T12:00:00Z) or Unix epoch nanoseconds, got '" + t + "'");
        }
        return requireInBounds(name, parsed);
    }

    /** {@code t} when it lies in [{@link #EARLIEST}, {@link #LATEST}]; else a 400 naming {@code name}. */
    static Instant requireInBounds(String name, Instant t) {
        if (t.isBefore(EARLIEST) || t.isAfter(LATEST)) {
            throw new BadRequestException(name + " must be between " + EARLIEST + " and " + LATEST + ", got " + t);
        }
        return t;
    }

    static Instant fromNanos(long epochNanos) {
        return Instant.ofEpochSecond(
                Math.floorDiv(epochNanos, 1_000_000_000L), Math.floorMod(epochNanos, 1_000_000_000L));
    }

    static long toNanos(Instant t) {
        return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000_000L), t.getNano());
    }

    /** RFC 3339 in UTC with all nine fraction digits, as every time in the API's responses. */
    @Nullable
    static String format(@Nullable Long epochNanos) {
        if (epochNanos == null) {
            return null;
        }
        Instant t = Instant.ofEpochSecond(
                Math.floorDiv(epochNanos, 1_000_000_000L), Math.floorMod(epochNanos, 1_000_000_000L));
        String s = t.toString(); // ISO with the shortest fraction
        int dot = s.indexOf('.');
        String seconds = dot < 0 ? s.substring(0, s.length() - 1) : s.substring(0, dot);
        return seconds + "." + String.format("%09d", t.getNano()) + "Z";
    }
}
