package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;

import io.otellake.infra.KafkaBroker;
import io.otellake.infra.S3Server;
import io.otellake.schemas.OtlpTopics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The archiver against a broker that takes SASL/PLAIN only, as a managed Kafka does: the OTEL_LAKE_KAFKA_CLIENT_*
 * settings reach its consumer, so it archives and commits as usual.
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
    void withTheBrokersSecuritySettingsTheArchiverArchivesAndCommits() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        S3Server s3server = LakeServers.s3();
        String traces = "traces-" + run;
        String bucket = "bucket-" + run;
        Map<String, String> env = new HashMap<>(kafka.clientEnvironment());
        env.put("OTEL_LAKE_ARCHIVER_GROUP_ID", "group-" + run);
        env.put("OTEL_LAKE_TRACES_TOPIC", traces);
        env.put("OTEL_LAKE_LOGS_TOPIC", "logs-" + run);
        env.put("OTEL_LAKE_METRICS_TOPIC", "metrics-" + run);
        env.put("OTEL_LAKE_S3_ENDPOINT", s3server.endpoint().toString());
        env.put("OTEL_LAKE_S3_BUCKET", bucket);
        env.put("OTEL_LAKE_S3_ACCESS_KEY", s3server.accessKey());
        env.put("OTEL_LAKE_S3_SECRET_KEY", s3server.secretKey());
        env.put("OTEL_LAKE_ARCHIVER_MAX_FILE_AGE", "PT0.5S");
        env.put(
                "OTEL_LAKE_ARCHIVER_SPOOL_DIR",
                Files.createTempDirectory("archiver-sasl-spool").toString());
        ArchiverConfig config = ArchiverConfig.fromEnvironment(env);
        Map<String, Object> client = new HashMap<>(config.kafkaClient().asMap());
        client.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        assertThat(config.toString())
                .contains("kafkaClient=KafkaClientProperties[sasl.jaas.config, sasl.mechanism, security.protocol]")
                .doesNotContain(PASSWORD);
        Set<String> spanIds = new HashSet<>();
        try (Admin admin = Admin.create(client);
                S3Client s3 = TestLake.client(s3server)) {
            admin.createTopics(List.of(
                            new NewTopic(traces, 1, (short) 1),
                            new NewTopic("logs-" + run, 1, (short) 1),
                            new NewTopic("metrics-" + run, 1, (short) 1)))
                    .all()
                    .get();
            s3.createBucket(b -> b.bucket(bucket));
            Map<String, Object> producerConfig = new HashMap<>(client);
            producerConfig.put(ProducerConfig.ACKS_CONFIG, "all");
            try (KafkaProducer<byte[], byte[]> producer =
                    new KafkaProducer<>(producerConfig, new ByteArraySerializer(), new ByteArraySerializer())) {
                ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(
                        traces,
                        null,
                        null,
                        ArchiverIT.traceRequest("checkout", System.currentTimeMillis() * 1_000_000L, 3, spanIds)
                                .toByteArray());
                record.headers().add(OtlpTopics.TENANT_HEADER, "acme".getBytes(StandardCharsets.UTF_8));
                producer.send(record).get();
            }

            Archiver archiver = new Archiver(config, RetentionPolicy.DEFAULT);
            Thread loop = new Thread(archiver, "archiver-sasl");
            try {
                archiver.prepare();
                loop.start();
                TopicPartition tp = new TopicPartition(traces, 0);
                TestLake.await("the record's offset is committed", Duration.ofSeconds(60), () -> {
                    try {
                        OffsetAndMetadata committed = admin.listConsumerGroupOffsets("group-" + run)
                                .partitionsToOffsetAndMetadata()
                                .get()
                                .get(tp);
                        return committed != null && committed.offset() == 1;
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
            } finally {
                archiver.close();
                loop.join(30_000);
            }
            List<String> keys = s3
                    .listObjectsV2Paginator(b -> b.bucket(bucket).prefix("lake/traces/tenant=acme/"))
                    .contents()
                    .stream()
                    .map(S3Object::key)
                    .filter(k -> k.endsWith(".parquet"))
                    .toList();
            assertThat(keys).as("the span file").hasSize(1);
        }
        assertThat(spanIds).hasSize(3);
    }
}
