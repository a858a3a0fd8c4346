package io.otellake.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RequestParamsTest {
    @Test
    void anAbsentLimitIsTheFallbackButNeverAboveTheMaximum() {
        assertThat(RequestParams.limit(null, 20, 5000)).isEqualTo(20);
        assertThat(RequestParams.limit(" ", 20, 5000)).isEqualTo(20);
        // trace search's own fallback of 20, under an OTEL_LAKE_MAX_LIMIT of 10
        assertThat(RequestParams.limit(null, 20, 10)).isEqualTo(10);
        assertThat(RequestParams.limit("7", 20, 10)).isEqualTo(7);
        assertThatThrownBy(() -> RequestParams.limit("11", 20, 10))
                .isInstanceOf(BadRequestException.class)
                .hasMessage("limit must be between 1 and 10, got 11");
    }

    @Test
    void theLongestRangeIsNamedInTheLargestUnitThatSaysItExactly() {
        assertThat(LogController.TimeRange.describe(Duration.ofDays(31))).isEqualTo("31 days");
        assertThat(LogController.TimeRange.describe(Duration.ofDays(1))).isEqualTo("1 day");
        assertThat(LogController.TimeRange.describe(Duration.ofHours(12))).isEqualTo("12 hours");
        assertThat(LogController.TimeRange.describe(Duration.ofHours(36))).isEqualTo("36 hours");
        assertThat(LogController.TimeRange.describe(Duration.ofMinutes(90))).isEqualTo("90 minutes");
        assertThat(LogController.TimeRange.describe(Duration.ofSeconds(45))).isEqualTo("45 seconds");
        assertThatThrownBy(() -> LogController.TimeRange.of(
                        "2024-05-01T00:00:00Z", "2024-05-01T13:00:00Z", Duration.ofHours(1), Duration.ofHours(12)))
                .isInstanceOf(BadRequestException.class)
                .hasMessage("the time range is longer than the allowed 12 hours; narrow start and end");
    }
}
