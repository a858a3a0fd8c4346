package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ArchiverConfigTest {
    @Test
    void aFutureBoundBeyondOneHundredYearsIsRefusedAtStartUpNotOnTheFirstRecord() {
        // P106752D is more nanoseconds than a long holds: accepted, it threw ArithmeticException on every record
        assertThatThrownBy(() -> ArchiverConfig.fromEnvironment(Map.of("OTEL_LAKE_ARCHIVER_MAX_FUTURE", "P106752D")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("OTEL_LAKE_ARCHIVER_MAX_FUTURE must be at most P36500D (100 years), e.g. PT1H; got"
                        + " PT2562048H");
        assertThatThrownBy(() -> ArchiverConfig.fromEnvironment(Map.of("OTEL_LAKE_ARCHIVER_MAX_FUTURE", "P36501D")))
                .isInstanceOf(IllegalArgumentException.class);

        ArchiverConfig widest = ArchiverConfig.fromEnvironment(Map.of("OTEL_LAKE_ARCHIVER_MAX_FUTURE", "P36500D"));
        assertThat(widest.maxFuture()).isEqualTo(Duration.ofDays(36_500));
        assertThat(widest.maxFuture().toNanos()).isEqualTo(36_500L * 86_400 * 1_000_000_000L);
    }

    @Test
    void aSecretKeyWithoutAnAccessKeyIsRefusedInsteadOfQuietlyConnectingAnonymously() {
        assertThatThrownBy(() -> ArchiverConfig.fromEnvironment(Map.of("OTEL_LAKE_S3_SECRET_KEY", "s3cr3t")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("OTEL_LAKE_S3_ACCESS_KEY and OTEL_LAKE_S3_SECRET_KEY must be set together;"
                        + " only the secret key is set");
        assertThatThrownBy(() -> ArchiverConfig.fromEnvironment(Map.of(
                        "OTEL_LAKE_S3_CREDENTIALS", "aws",
                        "OTEL_LAKE_S3_ACCESS_KEY", "AKIA",
                        "OTEL_LAKE_S3_SECRET_KEY", "s3cr3t")))
                .hasMessageStartingWith("OTEL_LAKE_S3_CREDENTIALS=aws does not use OTEL_LAKE_S3_ACCESS_KEY");
        ArchiverConfig keys = ArchiverConfig.fromEnvironment(
                Map.of("OTEL_LAKE_S3_ACCESS_KEY", "AKIA", "OTEL_LAKE_S3_SECRET_KEY", "s3cr3t"));
        assertThat(keys.s3Credentials()).isEqualTo(io.otellake.schemas.S3Credentials.KEYS);
        assertThat(keys.toString()).contains("s3Credentials=keys").doesNotContain("s3cr3t");
        assertThat(ArchiverConfig.fromEnvironment(Map.of("OTEL_LAKE_S3_CREDENTIALS", "aws"))
                        .s3Credentials())
                .isEqualTo(io.otellake.schemas.S3Credentials.AWS);
    }

    @Test
    void kafkaSettingsTheArchiverSetsItselfAreRefusedInsteadOfSilentlyReplaced() {
        assertThatThrownBy(() ->
                        ArchiverConfig.fromEnvironment(Map.of("OTEL_LAKE_KAFKA_CLIENT_MAX_POLL_INTERVAL_MS", "60000")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("OTEL_LAKE_KAFKA_CLIENT_MAX_POLL_INTERVAL_MS sets max.poll.interval.ms, which would be"
                        + " replaced: the archiver allows 15 minutes between polls, for uploads to a slow S3; remove"
                        + " the variable");
        assertThatThrownBy(() -> ArchiverConfig.fromEnvironment(Map.of("OTEL_LAKE_KAFKA_CLIENT_CLIENT_ID", "mine")))
                .hasMessageStartingWith("OTEL_LAKE_KAFKA_CLIENT_CLIENT_ID sets client.id, which would be replaced");
        assertThat(ArchiverConfig.fromEnvironment(Map.of("OTEL_LAKE_KAFKA_CLIENT_FETCH_MAX_BYTES", "1048576"))
                        .kafkaClient()
                        .asMap())
                .containsExactlyEntriesOf(Map.of("fetch.max.bytes", "1048576"));
    }

    @Test
    void aFileAgeOrStartupTimeoutBeyondOneHundredYearsIsRefusedAtStartUpNotWhenFirstUsed() {
        // P106752D is more nanoseconds than a long holds: a file age that long was accepted, and the consumer loop's
        // first check of whether a file is due threw ArithmeticException, which stopped the archiver on every start
        assertThatThrownBy(() -> Duration.ofDays(106_752).toNanos()).isInstanceOf(ArithmeticException.class);
        assertThatThrownBy(() -> ArchiverConfig.fromEnvironment(Map.of("OTEL_LAKE_ARCHIVER_MAX_FILE_AGE", "P106752D")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("OTEL_LAKE_ARCHIVER_MAX_FILE_AGE must be at most P36500D (100 years), e.g. PT5S; got"
                        + " PT2562048H");
        assertThatThrownBy(() -> ArchiverConfig.fromEnvironment(Map.of("OTEL_LAKE_S3_STARTUP_TIMEOUT", "P106752D")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("OTEL_LAKE_S3_STARTUP_TIMEOUT must be at most P36500D (100 years), e.g. PT2M; got"
                        + " PT2562048H");

        ArchiverConfig widest = ArchiverConfig.fromEnvironment(
                Map.of("OTEL_LAKE_ARCHIVER_MAX_FILE_AGE", "P36500D", "OTEL_LAKE_S3_STARTUP_TIMEOUT", "P36500D"));
        assertThat(widest.maxFileAge().toNanos()).isEqualTo(36_500L * 86_400 * 1_000_000_000L);
        assertThat(widest.s3StartupTimeout().toNanos()).isEqualTo(36_500L * 86_400 * 1_000_000_000L);
    }

    @Test
    void topicNamesFollowKafkasRuleAsIngestDoes() {
        ArchiverConfig dotted = ArchiverConfig.fromEnvironment(
                Map.of("OTEL_LAKE_TRACES_TOPIC", "otlp.traces", "OTEL_LAKE_LOGS_TOPIC", "t".repeat(249)));
        assertThat(dotted.tracesTopic()).isEqualTo("otlp.traces");
        assertThat(dotted.logsTopic()).hasSize(249);
        for (String bad : new String[] {"..", ".", "t".repeat(250), "otlp traces", "otlp/traces"}) {
            assertThatThrownBy(() -> ArchiverConfig.fromEnvironment(Map.of("OTEL_LAKE_TRACES_TOPIC", bad)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("OTEL_LAKE_TRACES_TOPIC must be a Kafka topic name: 1 to 249 characters");
        }
    }
}
