package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;

import io.otellake.infra.KafkaBroker;
import io.otellake.infra.S3Server;
import io.otellake.schemas.OtlpTopics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.jspecify.annotations.Nullable;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * One test's own corner of the shared Kafka broker and S3 server: its topics (two partitions each), consumer group and
 * bucket, a producer and an S3 client, and the waits tests need.
 */
final class TestLake implements AutoCloseable {
    final KafkaBroker kafka = LakeServers.kafka();
    final S3Server s3server = LakeServers.s3();
    final String run = UUID.randomUUID().toString().substring(0, 8);
    final String traces = "traces-" + run;
    final String logs = "logs-" + run;
    final String metrics = "metrics-" + run;
    final String bucket = "bucket-" + run;
    final String group = "group-" + run;
    final KafkaProducer<byte[], byte[]> producer;
    final S3Client s3;

    TestLake() throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.createTopics(List.of(
                            new NewTopic(traces, 2, (short) 1),
                            new NewTopic(logs, 2, (short) 1),
                            new NewTopic(metrics, 2, (short) 1)))
                    .all()
                    .get();
        }
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
        s3 = client(s3server);
    }

    /** The archiver's settings for this corner, lake prefix {@code lake}, files cut after {@code maxFileAge}. */
    ArchiverConfig config(Path spool, Duration maxFileAge) {
        return config(spool, maxFileAge, "");
    }

    /** The same, for a consumer with a static group membership ({@code instanceId}, or none when empty). */
    ArchiverConfig config(Path spool, Duration maxFileAge, String instanceId) {
        return new ArchiverConfig(
                kafka.bootstrapServers(),
                group,
                instanceId,
                traces,
                logs,
                metrics,
                s3server.endpoint(),
                "us-east-1",
                bucket,
                "lake",
                s3server.accessKey(),
                s3server.secretKey(),
                io.otellake.schemas.S3Credentials.KEYS,
                ArchiverConfig.DEFAULT_MAX_FILE_BYTES,
                maxFileAge,
                ArchiverConfig.DEFAULT_MAX_FUTURE,
                0,
                spool,
                ArchiverConfig.DEFAULT_S3_STARTUP_TIMEOUT,
                ArchiverConfig.DEFAULT_ROW_GROUP_BYTES,
                io.otellake.schemas.KafkaClientProperties.none());
    }

    /** A compactor for this corner: every closed hour (no grace) of the last 3 days, 1 MiB files, passes by hand. */
    Compactor compactor(Path spool) {
        return compactor(spool, null);
    }

    /** The same, in a lake with this retention. */
    Compactor compactor(Path spool, @Nullable RetentionPolicy retention) {
        return compactor(spool, retention, java.time.Clock.systemUTC(), new ArchiverMetrics());
    }

    /** The same, reading the time of day from {@code clock} and counting into {@code metrics}. */
    Compactor compactor(
            Path spool, @Nullable RetentionPolicy retention, java.time.Clock clock, ArchiverMetrics metrics) {
        return new Compactor(
                config(spool, Duration.ofMillis(300)),
                new CompactionConfig(
                        true,
                        Duration.ofMinutes(1),
                        Duration.ZERO,
                        Duration.ofDays(3),
                        1 << 20,
                        CompactionConfig.DEFAULT_ZSTD_LEVEL),
                clock,
                metrics,
                retention);
    }

    void send(String topic, String tenant, byte[] value) throws Exception {
        ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, null, null, value);
        r.headers().add(OtlpTopics.TENANT_HEADER, tenant.getBytes(StandardCharsets.UTF_8));
        producer.send(r).get();
    }

    /** Sends a record of the tenant to the partition. */
    void send(TopicPartition tp, String tenant, byte[] value) throws Exception {
        ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(tp.topic(), tp.partition(), null, value);
        r.headers().add(OtlpTopics.TENANT_HEADER, tenant.getBytes(StandardCharsets.UTF_8));
        producer.send(r).get();
    }

    /** Sets the group's committed offset of the partition, as after a crash before the commit. */
    void rewind(TopicPartition tp, long offset) throws Exception {
        try (Admin admin = admin()) {
            admin.alterConsumerGroupOffsets(group, Map.of(tp, new OffsetAndMetadata(offset)))
                    .all()
                    .get();
        }
    }

    /** Drops the partition's records before the offset, as the topic's retention does. */
    void deleteRecords(TopicPartition tp, long before) throws Exception {
        try (Admin admin = admin()) {
            admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(before)))
                    .all()
                    .get();
        }
    }

    /** The span ids of every row in the lake's span files, as often as they occur; downloads them below {@code work}. */
    List<String> archivedSpanIds(Path work) throws Exception {
        Path local = download(listKeys("lake/traces/"), work);
        List<String> archived = new ArrayList<>();
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
                Statement st = c.createStatement();
                ResultSet rs =
                        st.executeQuery("SELECT span_id FROM read_parquet('" + local + "/lake/traces/**/*.parquet')")) {
            while (rs.next()) {
                archived.add(rs.getString(1));
            }
        }
        return archived;
    }

    private Admin admin() {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
    }

    /** The sum of the group's committed offsets over the topic's partitions. */
    long committed(String topic) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata()
                    .get();
            return offsets.entrySet().stream()
                    .filter(e -> e.getKey().topic().equals(topic) && e.getValue() != null)
                    .mapToLong(e -> e.getValue().offset())
                    .sum();
        }
    }

    void awaitCommitted(String topic, long records) throws Exception {
        await("offsets of " + topic + " committed up to " + records, Duration.ofSeconds(60), () -> {
            try {
                return committed(topic) >= records;
            } catch (Exception e) {
                return false;
            }
        });
        assertThat(committed(topic)).isEqualTo(records);
    }

    /** A client of the S3 server, path-style, with its credentials. */
    static S3Client client(S3Server s3server) {
        return S3Client.builder()
                .endpointOverride(s3server.endpoint())
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(s3server.accessKey(), s3server.secretKey())))
                .forcePathStyle(true)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .httpClient(UrlConnectionHttpClient.create())
                .build();
    }

    static void await(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(200);
        }
    }

    List<String> listKeys(String prefix) {
        return s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix)).contents().stream()
                .map(S3Object::key)
                .toList();
    }

    /** Downloads the objects into {@code root}, at their keys. */
    Path download(List<String> keys, Path root) throws Exception {
        for (String key : keys) {
            Path target = root.resolve(key);
            Files.createDirectories(target.getParent());
            Files.deleteIfExists(target);
            s3.getObject(b -> b.bucket(bucket).key(key), target);
        }
        return root;
    }

    @Override
    public void close() {
        producer.close();
        s3.close();
    }
}
