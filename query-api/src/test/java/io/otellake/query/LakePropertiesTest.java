package io.otellake.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class LakePropertiesTest {
    private static final LakeProperties.S3 S3 =
            new LakeProperties.S3(URI.create("http://127.0.0.1:9000"), "us-east-1", "otel-lake", "lake", "", "");

    @Test
    void anEmptyPrefixIsTheArchiversDefaultAsForTheArchiver() {
        assertThat(new LakeProperties.S3(URI.create("http://s3"), "us-east-1", "b", "", "", "").prefix())
                .isEqualTo("lake");
        assertThat(new LakeProperties.S3(URI.create("http://s3"), "us-east-1", "b", "archive/v1", "", "").prefix())
                .isEqualTo("archive/v1");
    }

    @Test
    void durationsMustBeLongerThanZeroAndTheDefaultLimitWithinTheMaximum() {
        LakeProperties defaults = LakeProperties.defaults(S3, Path.of("cache"));
        assertThat(defaults.queryTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThatThrownBy(() -> defaults.withLimits(4, Duration.ZERO, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("OTEL_LAKE_QUEUE_TIMEOUT must be longer than zero, got PT0S");
        assertThatThrownBy(() -> limits(200, 100, Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("OTEL_LAKE_QUERY_TIMEOUT must be longer than zero, got PT-1S");
        assertThatThrownBy(() -> limits(200, 100, Duration.ofSeconds(30)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("OTEL_LAKE_DEFAULT_LIMIT (200) must not be above OTEL_LAKE_MAX_LIMIT (100)");
    }

    /** Settings with these limits and query timeout, the rest valid. */
    private static LakeProperties limits(int defaultLimit, int maxLimit, Duration queryTimeout) {
        return new LakeProperties(
                S3,
                Path.of("cache"),
                1 << 20,
                Duration.ofDays(31),
                Duration.ofDays(90),
                defaultLimit,
                maxLimit,
                "1GB",
                2,
                queryTimeout,
                4,
                Duration.ofSeconds(2),
                1,
                1,
                false,
                "",
                Duration.ZERO);
    }
}
