package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.otellake.infra.Ports;
import io.otellake.schemas.TenantId;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Publishing while Kafka cannot be reached: no server needed, since the point is that there is none. */
class KafkaPublisherTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(2);

    /**
     * Without the topic's metadata (Kafka unreachable, or the producer dropped the metadata of an idle topic), each
     * send blocks until it gives up: a request of five traces, one record each, once waited five times the timeout.
     */
    @Test
    void aRequestOfSeveralRecordsFailsWithinTheTimeoutWhenKafkaCannotBeReached() {
        int closedPort = Ports.freePort(); // nothing listens there
        IngestConfig config = IngestConfig.builder()
                .kafkaBootstrap("127.0.0.1:" + closedPort)
                .kafkaTimeout(TIMEOUT)
                .build();
        ExportTraceServiceRequest.Builder fiveTraces = ExportTraceServiceRequest.newBuilder();
        for (int i = 0; i < 5; i++) {
            fiveTraces.addAllResourceSpans(IngestIT.traces("trace-" + i, 2).getResourceSpansList());
        }
        List<KafkaPublisher.Payload> records = TraceRecords.split(fiveTraces.build());
        assertThat(records).hasSize(5);

        try (KafkaPublisher publisher = new KafkaPublisher(config)) {
            long start = System.nanoTime();

            assertThatThrownBy(() -> publisher.publish("unreachable-traces", TenantId.of("acme"), records))
                    .isInstanceOfSatisfying(PublishException.class, e -> assertThat(e.kind())
                            .isEqualTo(PublishException.Kind.UNAVAILABLE))
                    .hasMessageStartingWith("Kafka did not acknowledge 5 records of ")
                    .hasMessageEndingWith(" bytes for tenant 'acme' to topic unreachable-traces:"
                            + " org.apache.kafka.common.errors.TimeoutException: Topic unreachable-traces not present"
                            + " in metadata after 1000 ms.");

            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertThat(took).isBetween(KafkaPublisher.maxBlock(TIMEOUT), TIMEOUT.plusMillis(500));
        }
    }

    /**
     * A shutdown whose drain timed out closes the producer under a request still being written: that request gets a
     * retryable refusal, not the producer's IllegalStateException turned into a 500.
     */
    @Test
    void publishingAfterCloseIsRetryableNotAnError() {
        IngestConfig config = IngestConfig.builder()
                .kafkaBootstrap("127.0.0.1:" + Ports.freePort())
                .kafkaTimeout(TIMEOUT)
                .build();
        List<KafkaPublisher.Payload> records = TraceRecords.split(IngestIT.traces("closed", 1));
        KafkaPublisher publisher = new KafkaPublisher(config);
        publisher.close();

        assertThatThrownBy(() -> publisher.publish("closed-traces", TenantId.of("acme"), records))
                .isInstanceOfSatisfying(
                        PublishException.class, e -> assertThat(e.kind()).isEqualTo(PublishException.Kind.UNAVAILABLE))
                .hasMessageContaining("after producer has been closed");
    }
}
