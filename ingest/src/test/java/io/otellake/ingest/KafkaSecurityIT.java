package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.otellake.infra.KafkaBroker;
import io.otellake.schemas.KafkaClientProperties;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Ingest against a broker that takes SASL/PLAIN only, as a managed Kafka does: the OTEL_LAKE_KAFKA_CLIENT_* settings
 * reach every client ingest makes (the start-up check, topic creation, the producer).
 */
class KafkaSecurityIT {
    static final String USER = "otel-lake";
    static final String PASSWORD = "s3cret-for-tests";
    static KafkaBroker kafka;

    @BeforeAll
    static void start() throws Exception {
        Path target = Files.createDirectories(Path.of("target"));
        kafka = KafkaBroker.startOnFreePortsWithSaslPlain(
                Files.createTempDirectory(target, "kafka-sasl-it-"), USER, PASSWORD);
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    @Test
    void withTheBrokersSecuritySettingsIngestCreatesItsTopicsAndWritesAcknowledgedRecords() throws Exception {
        Map<String, String> env = kafka.clientEnvironment();
        IngestConfig config = IngestConfig.fromEnvironment(env).toBuilder()
                .httpHost("127.0.0.1")
                .httpPort(0)
                .grpcPort(0)
                .build();
        assertThat(config.toString())
                .contains("kafkaClient=KafkaClientProperties[sasl.jaas.config, sasl.mechanism, security.protocol]")
                .doesNotContain(PASSWORD);
        ExportTraceServiceRequest request = IngestIT.traces("secured", 2);

        try (Ingest ingest = Ingest.start(config);
                TopicReader traces = new TopicReader(
                        kafka.bootstrapServers(),
                        "otlp-traces",
                        config.kafkaClient().asMap())) {
            var mark = traces.mark();
            HttpResponse<byte[]> answer = new OtlpHttp(ingest.uri())
                    .post("/v1/traces", OtlpHttp.PROTOBUF, request.toByteArray(), "X-Scope-OrgID", "acme");

            assertThat(answer.statusCode()).isEqualTo(200);
            List<ConsumerRecord<byte[], byte[]>> written = traces.since(mark);
            assertThat(written).hasSize(1);
            assertThat(ExportTraceServiceRequest.parseFrom(written.get(0).value()))
                    .isEqualTo(request);
        }
    }

    @Test
    void withoutThemIngestRefusesToStartWithinItsStartUpTimeout() {
        IngestConfig config = IngestConfig.builder()
                .kafkaBootstrap(kafka.bootstrapServers())
                .httpHost("127.0.0.1")
                .httpPort(0)
                .grpcPort(0)
                .kafkaStartupTimeout(Duration.ofSeconds(3))
                .kafkaClient(KafkaClientProperties.none())
                .build();

        assertThatThrownBy(() -> Ingest.start(config).close()).isInstanceOf(IngestStartException.class);
    }
}
