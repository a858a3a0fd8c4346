package io.otellake.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class LakePropertiesTest {
    private static final LakeProperties.S3 S3 =
            new LakeProperties.S3(URI.create("http://127.0.0.1:9000"), "us-east-1", "otel-lake", "lake", "", "", "");

    @Test
    void anEmptyPrefixIsTheArchiversDefaultAsForTheArchiver() {
        assertThat(new LakeProperties.S3(URI.create("http://s3"), "us-east-1", "b", "", "", "", "").prefix())
                .isEqualTo("lake");
        assertThat(new LakeProperties.S3(URI.create("http://s3"), "us-east-1", "b", "archive/v1", "", "", "").prefix())
                .isEqualTo("archive/v1");
    }

    @Test
    void theCredentialsAreCheckedAsTheArchiverChecksThem() {
        URI s3 = URI.create("http://s3");
        assertThat(new LakeProperties.S3(s3, "us-east-1", "b", "lake", "", "", "").signing())
                .isEqualTo(io.otellake.schemas.S3Credentials.ANONYMOUS);
        assertThat(new LakeProperties.S3(s3, "us-east-1", "b", "lake", "AKIA", "s3cr3t", "").signing())
                .isEqualTo(io.otellake.schemas.S3Credentials.KEYS);
        LakeProperties.S3 aws = new LakeProperties.S3(s3, "us-east-1", "b", "lake", "", "", "aws");
        assertThat(aws.signing()).isEqualTo(io.otellake.schemas.S3Credentials.AWS);
        assertThat(aws.toString()).endsWith(", credentials=aws]");
        LakeProperties.S3 fromSecretFiles =
                new LakeProperties.S3(s3, "us-east-1", "b", "lake", "AKIA\n", " s3cr3t\n", " keys ");
        assertThat(fromSecretFiles.accessKey())
                .as("stripped, as the archiver reads it")
                .isEqualTo("AKIA");
        assertThat(fromSecretFiles.secretKey()).isEqualTo("s3cr3t");
        assertThat(fromSecretFiles.signing()).isEqualTo(io.otellake.schemas.S3Credentials.KEYS);
        assertThatThrownBy(() -> new LakeProperties.S3(s3, "us-east-1", "b", "lake", "", "s3cr3t", ""))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("only the secret key is set");
        assertThatThrownBy(() -> new LakeProperties.S3(s3, "us-east-1", "b", "lake", "", "", "iam"))
                .hasMessage("OTEL_LAKE_S3_CREDENTIALS must be keys, aws or anonymous (or unset), got 'iam'");
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
