package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.otellake.infra.KafkaBroker;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Ingest acknowledges only what Kafka acknowledged: with the broker down it answers 503, never 200. */
class KafkaOutageIT {
    private static final Duration KAFKA_TIMEOUT = Duration.ofSeconds(3);

    private static KafkaBroker kafka;
    private static Ingest ingest;
    private static OtlpHttp http;
    private static TopicReader traces;

    @BeforeAll
    static void start() {
        kafka = TestKafka.broker();
        ingest = Ingest.start(TestKafka.ingestConfig()
                .tracesTopic("outage-traces")
                .logsTopic("outage-logs")
                .kafkaTimeout(KAFKA_TIMEOUT)
                .build());
        http = new OtlpHttp(ingest.uri());
        traces = new TopicReader(kafka.bootstrapServers(), "outage-traces");
    }

    @AfterAll
    static void stop() {
        kafka.start(); // for the test classes after this one, should an assertion have failed mid-outage
        traces.close();
        ingest.close();
    }

    @Test
    void acknowledgesOnlyWhatKafkaAcknowledged() throws Exception {
        ExportTraceServiceRequest before = IngestIT.traces("before", 1);
        ExportTraceServiceRequest during = IngestIT.traces("during", 1);
        ExportTraceServiceRequest after = IngestIT.traces("after", 1);
        assertThat(post(before).statusCode()).isEqualTo(200);
        assertThat(http.get("/ready").statusCode()).isEqualTo(200);
        var mark = traces.mark();

        kafka.stop();
        long start = System.nanoTime();
        HttpResponse<byte[]> refused = post(during);
        Duration waited = Duration.ofNanos(System.nanoTime() - start);
        HttpResponse<byte[]> notReady = awaitReadiness(503);
        assertThat(http.get("/health").statusCode())
                .as("alive, though not ready")
                .isEqualTo(200);
        kafka.start();
        awaitReadiness(200);
        assertThat(OtlpHttp.message(notReady)).isEqualTo("Kafka does not answer");

        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.headers().firstValue("Retry-After")).contains("5");
        assertThat(OtlpHttp.message(refused)).isEqualTo("Kafka did not acknowledge the request in time; retry later");
        assertThat(OtlpHttp.protobufStatusCode(refused)).isEqualTo(14); // UNAVAILABLE
        assertThat(waited).isLessThan(KAFKA_TIMEOUT.plusSeconds(2));

        // The producer reconnects on its own; until it has, a request may still time out.
        HttpResponse<byte[]> accepted = post(after);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (accepted.statusCode() == 503 && System.nanoTime() < deadline) {
            accepted = post(after);
        }
        assertThat(accepted.statusCode()).isEqualTo(200);
        List<ConsumerRecord<byte[], byte[]>> written = traces.since(mark);
        assertThat(written)
                .extracting(r -> ExportTraceServiceRequest.parseFrom(r.value()))
                .contains(after)
                .doesNotContain(during);
    }

    /** Readiness follows Kafka within a few probe intervals. */
    private static HttpResponse<byte[]> awaitReadiness(int status) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        HttpResponse<byte[]> ready = http.get("/ready");
        while (ready.statusCode() != status) {
            assertThat(System.nanoTime()).as("/ready answers %d", status).isLessThan(deadline);
            Thread.sleep(100);
            ready = http.get("/ready");
        }
        return ready;
    }

    private static HttpResponse<byte[]> post(ExportTraceServiceRequest request) {
        return http.post("/v1/traces", "application/x-protobuf", request.toByteArray());
    }
}
