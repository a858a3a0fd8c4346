package io.otellake.schemas;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.Objects;

/**
 * One hour partition of one tenant's signal: {@code <signal>/tenant=<tenant>/dt=<yyyy-MM-dd>/hour=<HH>/}.
 *
 * <p>The hour is the record's own event time in UTC, never the time it was received: a span's start time, a log
 * record's time (its observed time when time is 0).
 */
public record Partition(Signal signal, TenantId tenant, LocalDate date, int hour) {
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    public Partition {
        Objects.requireNonNull(signal, "signal");
        Objects.requireNonNull(tenant, "tenant");
        Objects.requireNonNull(date, "date");
        if (hour < 0 || hour > 23) {
            throw new IllegalArgumentException("hour must be 0..23, got " + hour);
        }
    }

    /** The partition holding an event that happened at {@code epochNanos} (UTC). */
    public static Partition of(Signal signal, TenantId tenant, long epochNanos) {
        ZonedDateTime t = Instant.ofEpochSecond(
                        Math.floorDiv(epochNanos, NANOS_PER_SECOND), Math.floorMod(epochNanos, NANOS_PER_SECOND))
                .atZone(ZoneOffset.UTC);
        return new Partition(signal, tenant, t.toLocalDate(), t.getHour());
    }

    /** The partition of the hour that contains {@code instant}. */
    public static Partition of(Signal signal, TenantId tenant, Instant instant) {
        ZonedDateTime t = instant.atZone(ZoneOffset.UTC);
        return new Partition(signal, tenant, t.toLocalDate(), t.getHour());
    }

    /** First instant of this hour. */
    public Instant start() {
        return date.atTime(hour, 0).toInstant(ZoneOffset.UTC);
    }

    /** The next hour's partition of the same signal and tenant. */
    public Partition next() {
        return of(signal, tenant, start().plusSeconds(3600));
    }

    /** The key prefix of this partition below the lake prefix, ending in {@code /}. */
    public String path() {
        return signal.pathSegment() + "/tenant=" + tenant.value() + "/dt=" + date + "/hour=" + pad(hour) + "/";
    }

    private static String pad(int hour) {
        return hour < 10 ? "0" + hour : Integer.toString(hour);
    }
}
