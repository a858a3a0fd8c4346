package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.otellake.infra.Ports;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Start-up without a Kafka: no server needed, since the point is that there is none. */
class IngestStartupTest {
    @Test
    void failsWithinTheStartupTimeoutWhenKafkaDoesNotAnswer() {
        int closedPort = Ports.freePort(); // nothing listens there
        IngestConfig config = IngestConfig.builder()
                .kafkaBootstrap("127.0.0.1:" + closedPort)
                .httpHost("127.0.0.1")
                .httpPort(0)
                .grpcPort(0)
                .kafkaStartupTimeout(Duration.ofSeconds(2))
                .build();

        long start = System.nanoTime();
        assertThatThrownBy(() -> Ingest.start(config))
                .isInstanceOf(IngestStartException.class)
                .hasMessage("Kafka at 127.0.0.1:" + closedPort + " did not answer within 2000 ms (trying to list the"
                        + " topics). Start Kafka, or point OTEL_LAKE_KAFKA_BOOTSTRAP at it;"
                        + " OTEL_LAKE_KAFKA_STARTUP_TIMEOUT_MS sets how long to wait.");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(8));
    }
}
