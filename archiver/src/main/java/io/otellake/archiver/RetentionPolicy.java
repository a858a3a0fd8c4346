package io.otellake.archiver;

import io.otellake.schemas.TenantId;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * How long each tenant keeps its data: {@code overrides} per tenant id, {@code defaultRetention} for the others. Both
 * {@link Retention}, which deletes expired hours, and the {@link Archiver}, which never files a row into an hour that
 * has already expired, go by it.
 *
 * @param defaultRetention at least one hour
 * @param overrides retention per tenant id, each at least one hour
 */
record RetentionPolicy(Duration defaultRetention, Map<String, Duration> overrides) {
    /** 90 days for every tenant. */
    static final RetentionPolicy DEFAULT = new RetentionPolicy(Retention.DEFAULT_RETENTION, Map.of());

    private static final long HOUR_NANOS = Duration.ofHours(1).toNanos();

    RetentionPolicy {
        Retention.requireRetention(defaultRetention, "the default retention (" + Retention.ENV_DEFAULT + ")");
        for (Map.Entry<String, Duration> e : overrides.entrySet()) {
            TenantId.of(e.getKey());
            Retention.requireRetention(
                    e.getValue(), "the retention of tenant '" + e.getKey() + "' (" + Retention.ENV_TENANTS + ")");
        }
        overrides = Map.copyOf(Objects.requireNonNull(overrides, "overrides"));
    }

    /** How long the tenant keeps its data. */
    Duration of(String tenant) {
        return overrides.getOrDefault(tenant, defaultRetention);
    }

    /** The longest any tenant keeps its data: for what is not filed by tenant (dead letters). */
    Duration longest() {
        Duration longest = defaultRetention;
        for (Duration d : overrides.values()) {
            if (d.compareTo(longest) > 0) {
                longest = d;
            }
        }
        return longest;
    }

    /**
     * Whether the hour partition of an event at {@code eventNanos} (since the epoch, positive) has expired for the
     * tenant at {@code nowNanos}: its end, the start of the next hour, is at or before {@code now - retention}. That is
     * exactly what {@link Retention} deletes, so a row filed there now would be deleted by its next run.
     */
    boolean hourExpired(String tenant, long eventNanos, long nowNanos) {
        Duration retention = of(tenant);
        if (retention.compareTo(Duration.ofNanos(nowNanos)) >= 0) {
            return false; // the cut-off lies before 1970 (a retention of centuries), and no hour ends before it
        }
        long hourEnd = (eventNanos / HOUR_NANOS + 1) * HOUR_NANOS;
        return hourEnd <= nowNanos - retention.toNanos();
    }
}
