package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which event hours a tenant's retention has already expired: exactly those that {@link Retention} deletes. */
class RetentionPolicyTest {
    private static final RetentionPolicy POLICY = new RetentionPolicy(
            Duration.ofDays(90), Map.of("brief", Duration.ofHours(2), "forever", Duration.ofDays(999_999)));

    @Test
    void anHourHasExpiredOnceItsEndIsAtOrBeforeNowMinusTheRetention() {
        long now = nanos("2026-06-10T12:30:00Z");
        // brief's cut-off is 10:30: the hour 09:00-10:00 has ended before it, the hour 10:00-11:00 has not
        assertThat(POLICY.hourExpired("brief", nanos("2026-06-10T09:59:59.999999999Z"), now))
                .isTrue();
        assertThat(POLICY.hourExpired("brief", nanos("2026-06-10T10:00:00Z"), now))
                .isFalse();
        assertThat(POLICY.hourExpired("brief", nanos("2026-06-10T10:59:59Z"), now))
                .isFalse();
        // at 13:00 the cut-off is 11:00, the very end of the hour 10:00-11:00, which has then expired too
        assertThat(POLICY.hourExpired("brief", nanos("2026-06-10T10:00:00Z"), nanos("2026-06-10T13:00:00Z")))
                .isTrue();
        // everyone else keeps 90 days: cut-off 2026-03-12T12:30
        assertThat(POLICY.hourExpired("acme", nanos("2026-03-12T11:59:59Z"), now))
                .isTrue();
        assertThat(POLICY.hourExpired("acme", nanos("2026-03-12T12:00:00Z"), now))
                .isFalse();
        // milliseconds sent as nanoseconds
        assertThat(POLICY.hourExpired("acme", 1_781_094_600_000L, now)).isTrue();
        // a retention of centuries reaches before 1970: nothing has expired, and nothing overflows
        assertThat(POLICY.hourExpired("forever", 1, now)).isFalse();
    }

    @Test
    void aRetentionShorterThanAnHourIsRefused() {
        assertThatThrownBy(() -> new RetentionPolicy(Duration.ofMinutes(30), Map.of()))
                .hasMessage("the default retention (OTEL_LAKE_RETENTION_DEFAULT) must be at least 1h, so that the hour"
                        + " being written is never deleted; got PT30M");
    }

    private static long nanos(String instant) {
        Instant i = Instant.parse(instant);
        return i.getEpochSecond() * 1_000_000_000L + i.getNano();
    }
}
