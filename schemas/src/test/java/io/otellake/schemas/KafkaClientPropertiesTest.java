package io.otellake.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class KafkaClientPropertiesTest {
    @Test
    void variablesNameTheirPropertyInCapitalsWithUnderscoresForDots() {
        KafkaClientProperties p = KafkaClientProperties.fromEnv(Map.of(
                "OTEL_LAKE_KAFKA_CLIENT_SECURITY_PROTOCOL", "SASL_SSL",
                "OTEL_LAKE_KAFKA_CLIENT_SASL_MECHANISM", "PLAIN",
                "OTEL_LAKE_KAFKA_CLIENT_SASL_JAAS_CONFIG", "PlainLoginModule required password=\"hunter2\";",
                "OTEL_LAKE_KAFKA_BOOTSTRAP", "b:9092",
                "PATH", "/usr/bin"));

        assertThat(p.asMap())
                .containsExactlyInAnyOrderEntriesOf(Map.of(
                        "security.protocol", "SASL_SSL",
                        "sasl.mechanism", "PLAIN",
                        "sasl.jaas.config", "PlainLoginModule required password=\"hunter2\";"));
        assertThat(p.toString())
                .isEqualTo("KafkaClientProperties[sasl.jaas.config, sasl.mechanism, security.protocol]")
                .doesNotContain("hunter2");
        assertThat(KafkaClientProperties.fromEnv(Map.of()).asMap()).isEmpty();
    }

    @Test
    void propertiesTheServicesOwnAndMalformedNamesAreRefused() {
        for (String owned : new String[] {"ACKS", "ENABLE_IDEMPOTENCE", "ENABLE_AUTO_COMMIT", "BOOTSTRAP_SERVERS"}) {
            assertThatThrownBy(() -> KafkaClientProperties.fromEnv(Map.of("OTEL_LAKE_KAFKA_CLIENT_" + owned, "x")))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("OTEL_LAKE_KAFKA_CLIENT_" + owned + " sets ")
                    .hasMessageContaining("which otel-lake sets itself");
        }
        for (String bad : new String[] {"", "security.protocol", "SECURITY__PROTOCOL", "_SASL"}) {
            assertThatThrownBy(() -> KafkaClientProperties.fromEnv(Map.of("OTEL_LAKE_KAFKA_CLIENT_" + bad, "x")))
                    .as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("does not name a Kafka client property");
        }
    }

    @Test
    void propertiesAServiceSetsItselfAreRefusedWithWhatSetsThem() {
        Map<String, String> setByService = Map.of("linger.ms", "ingest batches for 5 ms");

        assertThatThrownBy(() ->
                        KafkaClientProperties.fromEnv(Map.of("OTEL_LAKE_KAFKA_CLIENT_LINGER_MS", "50"), setByService))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("OTEL_LAKE_KAFKA_CLIENT_LINGER_MS sets linger.ms, which would be replaced: ingest batches"
                        + " for 5 ms; remove the variable");
        assertThat(KafkaClientProperties.fromEnv(
                                Map.of("OTEL_LAKE_KAFKA_CLIENT_SECURITY_PROTOCOL", "SSL"), setByService)
                        .asMap())
                .containsExactlyEntriesOf(Map.of("security.protocol", "SSL"));
        // without the service's list, the same variable passes through, as before
        assertThat(KafkaClientProperties.fromEnv(Map.of("OTEL_LAKE_KAFKA_CLIENT_LINGER_MS", "50"))
                        .asMap())
                .containsExactlyEntriesOf(Map.of("linger.ms", "50"));
    }
}
