package io.otellake.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
}
