package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CompactionConfigTest {
    @Test
    void defaultsWhenNothingIsSet() {
        assertThat(CompactionConfig.fromEnvironment(Map.of()))
                .isEqualTo(new CompactionConfig(
                        true, Duration.ofMinutes(5), Duration.ofMinutes(30), Duration.ofDays(3), 128L << 20, 10));
    }

    @Test
    void anEmptyVariableIsUnsetAsForEveryOtherSetting() {
        Map<String, String> empty = new java.util.HashMap<>();
        for (String key : List.of(
                "OTEL_LAKE_COMPACTION_ENABLED",
                "OTEL_LAKE_COMPACTION_INTERVAL",
                "OTEL_LAKE_COMPACTION_GRACE",
                "OTEL_LAKE_COMPACTION_LOOKBACK",
                "OTEL_LAKE_COMPACTION_TARGET_BYTES",
                "OTEL_LAKE_COMPACTION_ZSTD_LEVEL")) {
            empty.put(key, " ");
        }
        assertThat(CompactionConfig.fromEnvironment(empty)).isEqualTo(CompactionConfig.fromEnvironment(Map.of()));
    }

    @Test
    void everySettingComesFromItsVariable() {
        assertThat(CompactionConfig.fromEnvironment(Map.of(
                        "OTEL_LAKE_COMPACTION_ENABLED", "false",
                        "OTEL_LAKE_COMPACTION_INTERVAL", "PT1M",
                        "OTEL_LAKE_COMPACTION_GRACE", "PT2H",
                        "OTEL_LAKE_COMPACTION_LOOKBACK", "P7D",
                        "OTEL_LAKE_COMPACTION_TARGET_BYTES", "268435456",
                        "OTEL_LAKE_COMPACTION_ZSTD_LEVEL", " 3 ")))
                .isEqualTo(new CompactionConfig(
                        false, Duration.ofMinutes(1), Duration.ofHours(2), Duration.ofDays(7), 256L << 20, 3));
    }

    @Test
    void aZstdLevelOutsideZstdsRangeIsRefusedWithASentence() {
        assertThatThrownBy(() -> CompactionConfig.fromEnvironment(Map.of("OTEL_LAKE_COMPACTION_ZSTD_LEVEL", "0")))
                .hasMessage("OTEL_LAKE_COMPACTION_ZSTD_LEVEL must be between 1 and 19, got 0");
        assertThatThrownBy(() -> CompactionConfig.fromEnvironment(Map.of("OTEL_LAKE_COMPACTION_ZSTD_LEVEL", "22")))
                .hasMessage("OTEL_LAKE_COMPACTION_ZSTD_LEVEL must be between 1 and 19, got 22");
        assertThatThrownBy(() -> CompactionConfig.fromEnvironment(Map.of("OTEL_LAKE_COMPACTION_ZSTD_LEVEL", "max")))
                .hasMessage("OTEL_LAKE_COMPACTION_ZSTD_LEVEL must be a whole number from 1 to 19, got 'max'");
    }

    @Test
    void anIntervalTheSchedulerCannotUseIsRefusedWithASentence() {
        // ArchiverMain schedules passes in whole milliseconds: PT0.0001S became a delay of 0, which the executor
        // refused with a bare IllegalArgumentException after start-up had already reached S3
        assertThatThrownBy(() -> CompactionConfig.fromEnvironment(Map.of("OTEL_LAKE_COMPACTION_INTERVAL", "PT0.0001S")))
                .hasMessage("OTEL_LAKE_COMPACTION_INTERVAL must be from PT0.001S to P36500D, got PT0.0001S");
        assertThatThrownBy(() -> CompactionConfig.fromEnvironment(
                        Map.of("OTEL_LAKE_COMPACTION_INTERVAL", "PT9223372036854775807S")))
                .hasMessage("OTEL_LAKE_COMPACTION_INTERVAL must be from PT0.001S to P36500D, got"
                        + " PT2562047788015215H30M7S");
        assertThat(CompactionConfig.fromEnvironment(Map.of("OTEL_LAKE_COMPACTION_INTERVAL", "PT0.001S"))
                        .interval())
                .isEqualTo(Duration.ofMillis(1));
    }

    @Test
    void aGraceAndLookbackThatCompactNothingOrCannotBeReckonedAreRefusedWithASentence() {
        // no hour ends a week ago and lies in the last three days: the compactor would run and never compact
        assertThatThrownBy(() -> CompactionConfig.fromEnvironment(Map.of("OTEL_LAKE_COMPACTION_GRACE", "P7D")))
                .hasMessage("OTEL_LAKE_COMPACTION_GRACE (PT168H) must be shorter than OTEL_LAKE_COMPACTION_LOOKBACK"
                        + " (PT72H), or no hour is ever closed long enough and recent enough to be compacted");
        // now minus this is before Instant.MIN: every pass threw a DateTimeException
        assertThatThrownBy(() -> CompactionConfig.fromEnvironment(
                        Map.of("OTEL_LAKE_COMPACTION_GRACE", "P1D", "OTEL_LAKE_COMPACTION_LOOKBACK", "P999999999999D")))
                .hasMessage("OTEL_LAKE_COMPACTION_LOOKBACK must be from PT1H to P36500D, got PT23999999999976H");
        assertThat(CompactionConfig.fromEnvironment(
                                Map.of("OTEL_LAKE_COMPACTION_GRACE", "P3D", "OTEL_LAKE_COMPACTION_LOOKBACK", "P36500D"))
                        .lookback())
                .isEqualTo(Duration.ofDays(36_500));
    }
}
