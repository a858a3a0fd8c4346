package io.otellake.archiver;

import static io.otellake.archiver.ArchiverIT.traceRequest;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerInterceptor;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The consumer loop stopped by an error it does not expect (an {@link OutOfMemoryError} while it turns a large record
 * into rows, say): what it held of the batch must not be uploaded and committed on its way out.
 */
class ArchiverUnexpectedErrorIT {
    /** Records carrying this header fail in the archiver, as if flattening them had run out of memory. */
    static final String FAIL = "test-fail";

    @TempDir
    Path spool;

    private TestLake lake;
    private Archiver archiver;

    @BeforeEach
    void setUp() throws Exception {
        lake = new TestLake();
    }

    @AfterEach
    void tearDown() {
        if (archiver != null) {
            archiver.close();
        }
        lake.close();
    }

    @Test
    void aRecordTheLoopDiesOnIsNotCommittedOnTheWayOut() throws Exception {
        Map<String, String> env = new HashMap<>(Map.of(
                "OTEL_LAKE_KAFKA_BOOTSTRAP",
                lake.kafka.bootstrapServers(),
                "OTEL_LAKE_ARCHIVER_GROUP_ID",
                lake.group,
                "OTEL_LAKE_TRACES_TOPIC",
                lake.traces,
                "OTEL_LAKE_LOGS_TOPIC",
                lake.logs,
                "OTEL_LAKE_METRICS_TOPIC",
                lake.metrics,
                "OTEL_LAKE_S3_ENDPOINT",
                lake.s3server.endpoint().toString(),
                "OTEL_LAKE_S3_BUCKET",
                lake.bucket,
                "OTEL_LAKE_S3_ACCESS_KEY",
                lake.s3server.accessKey(),
                "OTEL_LAKE_S3_SECRET_KEY",
                lake.s3server.secretKey(),
                "OTEL_LAKE_ARCHIVER_MAX_FILE_AGE",
                "PT0.3S"));
        env.put("OTEL_LAKE_ARCHIVER_SPOOL_DIR", spool.toString());
        env.put("OTEL_LAKE_KAFKA_CLIENT_INTERCEPTOR_CLASSES", FailingRecords.class.getName());
        archiver = new Archiver(ArchiverConfig.fromEnvironment(env));
        archiver.prepare();
        Thread loop = new Thread(archiver, "archiver-under-test");
        loop.setUncaughtExceptionHandler((t, e) -> {}); // ArchiverMain halts the process here
        loop.start();

        TopicPartition tp = new TopicPartition(lake.traces, 0);
        lake.send(
                tp,
                "acme",
                traceRequest("svc", System.currentTimeMillis() * 1_000_000L, 2, new HashSet<>())
                        .toByteArray());
        lake.awaitCommitted(lake.traces, 1);

        ProducerRecord<byte[], byte[]> failing = new ProducerRecord<>(
                tp.topic(),
                tp.partition(),
                null,
                traceRequest("svc", System.currentTimeMillis() * 1_000_000L, 2, new HashSet<>())
                        .toByteArray());
        failing.headers().add("otel-lake-tenant", "acme".getBytes(StandardCharsets.UTF_8));
        failing.headers().add(FAIL, new byte[0]);
        lake.producer.send(failing).get();
        loop.join(TimeUnit.SECONDS.toMillis(60));
        assertThat(loop.isAlive()).as("the loop stopped").isFalse();

        try (Admin admin =
                Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, lake.kafka.bootstrapServers()))) {
            OffsetAndMetadata committed = admin.listConsumerGroupOffsets(lake.group)
                    .partitionsToOffsetAndMetadata()
                    .get()
                    .get(tp);
            assertThat(committed.offset())
                    .as("the record the loop died on is consumed again by the next archiver, not skipped")
                    .isEqualTo(1);
        }
    }

    /** Gives records with the {@link #FAIL} header headers that throw, as an out-of-memory error would. */
    public static final class FailingRecords implements ConsumerInterceptor<byte[], byte[]> {
        @Override
        public ConsumerRecords<byte[], byte[]> onConsume(ConsumerRecords<byte[], byte[]> records) {
            Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> out = new HashMap<>();
            for (TopicPartition tp : records.partitions()) {
                List<ConsumerRecord<byte[], byte[]>> list = new ArrayList<>();
                for (ConsumerRecord<byte[], byte[]> r : records.records(tp)) {
                    list.add(r.headers().lastHeader(FAIL) == null ? r : failing(r));
                }
                out.put(tp, list);
            }
            return new ConsumerRecords<>(out, records.nextOffsets());
        }

        private static ConsumerRecord<byte[], byte[]> failing(ConsumerRecord<byte[], byte[]> r) {
            RecordHeaders headers = new RecordHeaders() {
                @Override
                public Iterable<Header> headers(String key) {
                    throw new OutOfMemoryError("Java heap space (simulated)");
                }
            };
            return new ConsumerRecord<>(
                    r.topic(),
                    r.partition(),
                    r.offset(),
                    r.timestamp(),
                    r.timestampType(),
                    r.serializedKeySize(),
                    r.serializedValueSize(),
                    r.key(),
                    r.value(),
                    headers,
                    r.leaderEpoch());
        }

        @Override
        public void onCommit(Map<TopicPartition, OffsetAndMetadata> offsets) {}

        @Override
        public void close() {}

        @Override
        public void configure(Map<String, ?> configs) {}
    }
}
