package io.otellake.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class LogControllerTest {
    @Test
    void aRangeOverTheLimitIsRefusedNamingTheLimitAsConfigured() {
        String start = "2024-05-01T00:00:00Z";
        assertThatThrownBy(() -> LogController.TimeRange.of(
                        start, "2024-06-02T00:00:00Z", Duration.ofHours(1), Duration.ofDays(31)))
                .isInstanceOf(BadRequestException.class)
                .hasMessage("the time range is longer than the allowed 31 days; narrow start and end");
        // a limit of less than a day, or not of whole days, was named as 0 days or rounded down to its days
        assertThatThrownBy(() -> LogController.TimeRange.of(
                        start, "2024-05-01T13:00:00Z", Duration.ofHours(1), Duration.ofHours(12)))
                .isInstanceOf(BadRequestException.class)
                .hasMessage("the time range is longer than the allowed 12 hours; narrow start and end");
        assertThatThrownBy(() -> LogController.TimeRange.of(
                        start, "2024-05-03T00:00:00Z", Duration.ofHours(1), Duration.ofHours(36)))
                .isInstanceOf(BadRequestException.class)
                .hasMessage("the time range is longer than the allowed 36 hours; narrow start and end");
        assertThatThrownBy(() -> LogController.TimeRange.of(
                        start, "2024-05-01T01:00:00Z", Duration.ofHours(1), Duration.ofMinutes(30)))
                .isInstanceOf(BadRequestException.class)
                .hasMessage("the time range is longer than the allowed 30 minutes; narrow start and end");
        assertThatThrownBy(() -> LogController.TimeRange.of(
                        start, "2024-05-01T00:01:00Z", Duration.ofHours(1), Duration.ofMillis(1500)))
                .isInstanceOf(BadRequestException.class)
                .hasMessage("the time range is longer than the allowed PT1.5S; narrow start and end");
    }

    @Test
    void aDefaultRangeIsNeverLongerThanTheLimit() {
        // with OTEL_LAKE_MAX_RANGE=30m, a search without start and end covers the last 30 minutes instead of a 400
        LogController.TimeRange last =
                LogController.TimeRange.of(null, null, Duration.ofHours(1), Duration.ofMinutes(30));
        assertThat(Duration.between(last.start(), last.end())).isEqualTo(Duration.ofMinutes(30));
        LogController.TimeRange after =
                LogController.TimeRange.of("2024-05-01T00:00:00Z", null, Duration.ofHours(24), Duration.ofHours(6));
        assertThat(after.end()).isEqualTo(Instant.parse("2024-05-01T06:00:00Z"));
        LogController.TimeRange before =
                LogController.TimeRange.of(null, "2024-05-01T00:00:00Z", Duration.ofHours(1), Duration.ofDays(31));
        assertThat(before.start()).isEqualTo(Instant.parse("2024-04-30T23:00:00Z"));
    }
}
