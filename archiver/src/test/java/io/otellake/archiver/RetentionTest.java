package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The retention settings an operator writes, and the sentences that tell them what is wrong. */
class RetentionTest {
    @Test
    void parsesDaysAndHoursPerTenantInOrder() {
        assertThat(Retention.parseOverrides(" acme=30d , globex=365d,hooli=36h"))
                .containsExactly(
                        Map.entry("acme", Duration.ofDays(30)),
                        Map.entry("globex", Duration.ofDays(365)),
                        Map.entry("hooli", Duration.ofHours(36)));
        assertThat(Retention.parseOverrides("")).isEmpty();
        assertThat(Retention.parseOverrides("  ")).isEmpty();
        assertThat(Retention.parseOverrides(null)).isEmpty();
    }

    @Test
    void theDefaultIsNinetyDaysUnlessSet() {
        assertThat(Retention.parseDefault(null)).isEqualTo(Duration.ofDays(90));
        assertThat(Retention.parseDefault("")).isEqualTo(Duration.ofDays(90));
        assertThat(Retention.parseDefault("400d")).isEqualTo(Duration.ofDays(400));
        assertThatThrownBy(() -> Retention.parseDefault("P90D"))
                .hasMessage("OTEL_LAKE_RETENTION_DEFAULT: the retention 'P90D' must be a whole number of days or"
                        + " hours (at most 6 digits), such as 90d or 36h");
    }

    @Test
    void badEntriesFailWithASentenceNamingTheVariableAndTheEntry() {
        assertThatThrownBy(() -> Retention.parseOverrides("acme"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("OTEL_LAKE_RETENTION_TENANTS entry 'acme' must be <tenant>=<days>d or"
                        + " <tenant>=<hours>h, e.g. acme=30d");
        assertThatThrownBy(() -> Retention.parseOverrides("acme=30"))
                .hasMessage("OTEL_LAKE_RETENTION_TENANTS entry 'acme=30': the retention '30' must be a whole number"
                        + " of days or hours (at most 6 digits), such as 90d or 36h");
        assertThatThrownBy(() -> Retention.parseOverrides("acme=2w"))
                .hasMessageStartingWith("OTEL_LAKE_RETENTION_TENANTS entry 'acme=2w': the retention '2w' must be");
        assertThatThrownBy(() -> Retention.parseOverrides("acme=0h"))
                .hasMessage("OTEL_LAKE_RETENTION_TENANTS entry 'acme=0h' must be at least 1h, so that the hour being"
                        + " written is never deleted; got 0");
        assertThatThrownBy(() -> Retention.parseOverrides("acme=30d,,globex=1d"))
                .hasMessage("OTEL_LAKE_RETENTION_TENANTS has an empty entry in 'acme=30d,,globex=1d'; separate entries"
                        + " with single commas, e.g. acme=30d,globex=365d");
        assertThatThrownBy(() -> Retention.parseOverrides("acme=30d,acme=60d"))
                .hasMessage("OTEL_LAKE_RETENTION_TENANTS names tenant 'acme' twice; keep one entry per tenant");
        assertThatThrownBy(() -> Retention.parseOverrides("a/b=30d"))
                .hasMessage("OTEL_LAKE_RETENTION_TENANTS entry 'a/b=30d': tenant id must be 1 to 64 characters of"
                        + " A-Z, a-z, 0-9, '_' or '-'; got 'a/b'");
    }

    @Test
    void anIntervalTheSchedulerCannotUseIsRefusedWithASentence() {
        // ArchiverMain schedules runs in whole milliseconds: PT0.0001S became a period of 0, which the executor
        // refused with a bare IllegalArgumentException after start-up had already reached S3
        assertThatThrownBy(() -> Retention.parseInterval("PT0.0001S"))
                .hasMessage("OTEL_LAKE_RETENTION_INTERVAL must be from PT0.001S to P36500D, got 'PT0.0001S'");
        assertThatThrownBy(() -> Retention.parseInterval("PT9223372036854775807S"))
                .hasMessage(
                        "OTEL_LAKE_RETENTION_INTERVAL must be from PT0.001S to P36500D, got 'PT9223372036854775807S'");
        assertThat(Retention.parseInterval("PT0.001S")).isEqualTo(Duration.ofMillis(1));
        assertThat(Retention.parseInterval(null)).isEqualTo(Duration.ofHours(1));
    }
}
