package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.otellake.schemas.KafkaClientProperties;
import io.otellake.schemas.TenantTokens;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;

class IngestConfigTest {
    private static final String ACME_HASH = TenantTokens.hashOf("acme-secret");

    @Test
    void defaults() {
        IngestConfig config = IngestConfig.fromEnvironment(Map.of());

        assertThat(config).isEqualTo(IngestConfig.defaults());
        assertThat(config.kafkaBootstrap()).isEqualTo("127.0.0.1:9092");
        assertThat(config.httpHost()).isEqualTo("0.0.0.0");
        assertThat(config.httpPort()).isEqualTo(4318);
        assertThat(config.tracesTopic()).isEqualTo("otlp-traces");
        assertThat(config.logsTopic()).isEqualTo("otlp-logs");
        assertThat(config.topicPartitions()).isEqualTo(3);
        assertThat(config.topicReplication()).isEqualTo((short) 1);
        assertThat(config.topicRetentionMs()).isEqualTo(86_400_000L);
        assertThat(config.maxBodyBytes()).isEqualTo(8 * 1024 * 1024);
        assertThat(config.maxInFlightBytes()).isEqualTo(256L * 1024 * 1024);
        assertThat(config.maxRecordBytes()).isEqualTo(8 * 1024 * 1024 + 64 * 1024);
        assertThat(config.kafkaTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(config.kafkaStartupTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(config.httpRequestTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(config.authEnabled()).isFalse();
        assertThat(config.authTokens()).isEmpty();
    }

    @Test
    void everyVariableOverridesItsDefault() {
        IngestConfig config = IngestConfig.fromEnvironment(Map.ofEntries(
                Map.entry("OTEL_LAKE_KAFKA_BOOTSTRAP", "kafka-1:9093,kafka-2:9093"),
                Map.entry("OTEL_LAKE_INGEST_HTTP_HOST", "127.0.0.1"),
                Map.entry("OTEL_LAKE_INGEST_HTTP_PORT", " 14318 "),
                Map.entry("OTEL_LAKE_INGEST_GRPC_PORT", "14317"),
                Map.entry("OTEL_LAKE_INGEST_HTTP_THREADS", "4"),
                Map.entry("OTEL_LAKE_TRACES_TOPIC", "t"),
                Map.entry("OTEL_LAKE_LOGS_TOPIC", "l"),
                Map.entry("OTEL_LAKE_METRICS_TOPIC", "m"),
                Map.entry("OTEL_LAKE_TOPIC_PARTITIONS", "12"),
                Map.entry("OTEL_LAKE_TOPIC_REPLICATION", "3"),
                Map.entry("OTEL_LAKE_TOPIC_RETENTION_MS", "-1"),
                Map.entry("OTEL_LAKE_INGEST_MAX_BODY_BYTES", "1048576"),
                Map.entry("OTEL_LAKE_INGEST_MAX_IN_FLIGHT_BYTES", "16777216"),
                Map.entry("OTEL_LAKE_KAFKA_TIMEOUT_MS", "2500"),
                Map.entry("OTEL_LAKE_KAFKA_STARTUP_TIMEOUT_MS", "60000"),
                Map.entry("OTEL_LAKE_INGEST_HTTP_REQUEST_TIMEOUT_MS", "5000"),
                Map.entry("OTEL_LAKE_AUTH_ENABLED", "TRUE"),
                Map.entry("OTEL_LAKE_AUTH_TOKENS", " acme=" + ACME_HASH + " "),
                Map.entry("OTEL_LAKE_KAFKA_CLIENT_SECURITY_PROTOCOL", "SSL"),
                Map.entry("OTEL_LAKE_INGEST_HTTP_MAX_CONNECTIONS", "20000"),
                Map.entry("OTEL_LAKE_INGEST_GRPC_MAX_CONNECTIONS", "30000"),
                Map.entry("UNRELATED", "x")));

        assertThat(config)
                .isEqualTo(new IngestConfig(
                        "kafka-1:9093,kafka-2:9093",
                        "127.0.0.1",
                        14318,
                        14317,
                        4,
                        "t",
                        "l",
                        "m",
                        12,
                        (short) 3,
                        -1,
                        1_048_576,
                        16_777_216L,
                        Duration.ofMillis(2500),
                        Duration.ofSeconds(60),
                        Duration.ofSeconds(5),
                        true,
                        "acme=" + ACME_HASH,
                        RedactionConfig.OFF,
                        KafkaClientProperties.fromEnv(Map.of("OTEL_LAKE_KAFKA_CLIENT_SECURITY_PROTOCOL", "SSL")),
                        20_000,
                        30_000));
        assertThat(config.kafkaClient().asMap()).containsExactlyEntriesOf(Map.of("security.protocol", "SSL"));
    }

    @Test
    void kafkaSettingsIngestSetsItselfAreRefusedInsteadOfSilentlyReplaced() {
        assertThatThrownBy(() -> IngestConfig.fromEnvironment(Map.of("OTEL_LAKE_KAFKA_CLIENT_COMPRESSION_TYPE", "lz4")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("OTEL_LAKE_KAFKA_CLIENT_COMPRESSION_TYPE sets compression.type, which would be replaced:"
                        + " ingest compresses its records with zstd; remove the variable");
        assertThatThrownBy(() -> IngestConfig.fromEnvironment(Map.of("OTEL_LAKE_KAFKA_CLIENT_LINGER_MS", "100")))
                .hasMessage("OTEL_LAKE_KAFKA_CLIENT_LINGER_MS sets linger.ms, which would be replaced: ingest batches"
                        + " records for 5 ms; remove the variable");
        // every property of the producer is refused: owned for the guarantees, or set by ingest from its own settings
        for (String property :
                KafkaPublisher.producerProperties(IngestConfig.defaults()).stringPropertyNames()) {
            String variable = "OTEL_LAKE_KAFKA_CLIENT_"
                    + property.toUpperCase(Locale.ROOT).replace('.', '_');
            assertThatThrownBy(() -> IngestConfig.fromEnvironment(Map.of(variable, "1")))
                    .as(variable)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith(variable + " sets " + property + ", which ");
        }
    }

    @Test
    void blankVariablesKeepTheDefault() {
        assertThat(IngestConfig.fromEnvironment(Map.of("OTEL_LAKE_INGEST_HTTP_PORT", " ")))
                .isEqualTo(IngestConfig.defaults());
    }

    @Test
    void invalidValuesAreRefusedWithTheVariableToSet() {
        assertThatThrownBy(() -> IngestConfig.fromEnvironment(Map.of("OTEL_LAKE_INGEST_HTTP_PORT", "http")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("OTEL_LAKE_INGEST_HTTP_PORT must be a whole number (and not a huge one); got 'http'");
        assertThatThrownBy(() -> IngestConfig.fromEnvironment(Map.of("OTEL_LAKE_INGEST_HTTP_PORT", "70000")))
                .hasMessage("httpPort must be from 0 to 65535 (set OTEL_LAKE_INGEST_HTTP_PORT); got '70000'");
        assertThatThrownBy(() -> IngestConfig.fromEnvironment(Map.of("OTEL_LAKE_INGEST_HTTP_REQUEST_TIMEOUT_MS", "0")))
                .hasMessage("httpRequestTimeout must be from 1000 to 600000 ms (set"
                        + " OTEL_LAKE_INGEST_HTTP_REQUEST_TIMEOUT_MS); got '0 ms'");
        assertThatThrownBy(() -> IngestConfig.fromEnvironment(Map.of("OTEL_LAKE_INGEST_HTTP_MAX_CONNECTIONS", "0")))
                .hasMessage("httpMaxConnections must be from 1 to 1000000 (set OTEL_LAKE_INGEST_HTTP_MAX_CONNECTIONS);"
                        + " got '0'");
        assertThatThrownBy(() -> IngestConfig.fromEnvironment(Map.of("OTEL_LAKE_INGEST_GRPC_MAX_CONNECTIONS", "0")))
                .hasMessage("grpcMaxConnections must be from 1 to 1000000 (set OTEL_LAKE_INGEST_GRPC_MAX_CONNECTIONS);"
                        + " got '0'");
        assertThatThrownBy(() -> IngestConfig.fromEnvironment(Map.of("OTEL_LAKE_KAFKA_BOOTSTRAP", "kafka")))
                .hasMessage("kafkaBootstrap must be a comma-separated list of host:port, such as 127.0.0.1:9092 (set"
                        + " OTEL_LAKE_KAFKA_BOOTSTRAP); got 'kafka'");
        assertThatThrownBy(() -> IngestConfig.fromEnvironment(Map.of("OTEL_LAKE_TRACES_TOPIC", "otlp/traces")))
                .hasMessage("tracesTopic must be a Kafka topic name: 1 to 249 characters of a-z, A-Z, 0-9, '.', '_'"
                        + " or '-' (set OTEL_LAKE_TRACES_TOPIC); got 'otlp/traces'");
        assertThatThrownBy(() -> IngestConfig.fromEnvironment(Map.of("OTEL_LAKE_LOGS_TOPIC", "otlp-traces")))
                .hasMessageStartingWith("logsTopic must differ from the traces topic");
        assertThatThrownBy(() -> IngestConfig.fromEnvironment(Map.of("OTEL_LAKE_TOPIC_REPLICATION", "0")))
                .hasMessageStartingWith("topicReplication must be at least 1");
        assertThatThrownBy(() -> IngestConfig.fromEnvironment(Map.of("OTEL_LAKE_TOPIC_RETENTION_MS", "0")))
                .hasMessageStartingWith("topicRetentionMs must be a positive number of milliseconds, or -1");
        assertThatThrownBy(() -> IngestConfig.fromEnvironment(Map.of("OTEL_LAKE_INGEST_MAX_BODY_BYTES", "100")))
                .hasMessage("maxBodyBytes must be from 1024 to 67108864 (64 MiB) (set"
                        + " OTEL_LAKE_INGEST_MAX_BODY_BYTES); got '100'");
        assertThatThrownBy(() -> IngestConfig.fromEnvironment(Map.of("OTEL_LAKE_INGEST_GRPC_PORT", "4318")))
                .hasMessage(
                        "grpcPort must differ from the HTTP port (4318) (set OTEL_LAKE_INGEST_GRPC_PORT); got '4318'");
        assertThatThrownBy(() -> IngestConfig.fromEnvironment(Map.of("OTEL_LAKE_METRICS_TOPIC", "otlp-logs")))
                .hasMessageStartingWith("metricsTopic must differ from the traces and logs topics");
        assertThatThrownBy(() -> IngestConfig.fromEnvironment(Map.of("OTEL_LAKE_KAFKA_TIMEOUT_MS", "10")))
                .hasMessage("kafkaTimeout must be from 1000 to 600000 ms (set OTEL_LAKE_KAFKA_TIMEOUT_MS); got '10"
                        + " ms'");
    }

    @Test
    void builderStartsFromDefaultsAndValidates() {
        IngestConfig config = IngestConfig.builder()
                .kafkaBootstrap("127.0.0.1:19092")
                .httpPort(0)
                .build();

        assertThat(config.toBuilder().build()).isEqualTo(config);
        assertThat(config.httpPort()).isZero();
        assertThat(config.tracesTopic()).isEqualTo("otlp-traces");
        assertThatThrownBy(() -> config.toBuilder().topicPartitions(0).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("topicPartitions must be at least 1 (set OTEL_LAKE_TOPIC_PARTITIONS); got '0'");
    }

    @Test
    void toStringShowsEverySetting() {
        assertThat(IngestConfig.defaults().toString())
                .contains(
                        "kafkaBootstrap=127.0.0.1:9092",
                        "httpPort=4318",
                        "tracesTopic=otlp-traces",
                        "PT10S",
                        "authEnabled=false",
                        "authTokens=(none)",
                        "grpcMaxConnections=10000");
    }

    @Test
    void toStringNeverShowsTheTokenSetting() {
        IngestConfig config = IngestConfig.builder()
                .authEnabled(true)
                .authTokens("acme=" + ACME_HASH)
                .build();

        assertThat(config.toString())
                .contains("authEnabled=true", "authTokens=(set, not shown)")
                .doesNotContain("acme", ACME_HASH.substring("sha256:".length(), "sha256:".length() + 8));
    }

    @Test
    void authenticationWithoutATokenRefusesToStart() {
        assertThatThrownBy(() -> IngestConfig.fromEnvironment(Map.of("OTEL_LAKE_AUTH_ENABLED", "true")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("OTEL_LAKE_AUTH_ENABLED is true but OTEL_LAKE_AUTH_TOKENS holds no token, so no client"
                        + " could send telemetry: configure <tenant>=sha256:<hex> entries (printf %s \"$TOKEN\" |"
                        + " sha256sum), or turn authentication off");
        assertThatThrownBy(() -> IngestConfig.fromEnvironment(Map.of("OTEL_LAKE_AUTH_ENABLED", "yes")))
                .hasMessage("OTEL_LAKE_AUTH_ENABLED must be true or false; got 'yes'");
        assertThatThrownBy(() -> IngestConfig.fromEnvironment(Map.of("OTEL_LAKE_AUTH_TOKENS", "acme=plain-secret")))
                .hasMessage("OTEL_LAKE_AUTH_TOKENS: token entry 1 must look like <tenant>=sha256:<64 hex> or"
                        + " *=sha256:<64 hex> (an admin token)")
                .message()
                .doesNotContain("plain-secret");
    }
}
