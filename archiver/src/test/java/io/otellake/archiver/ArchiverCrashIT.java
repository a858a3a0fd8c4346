package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.otellake.infra.ChildJvm;
import io.otellake.infra.KafkaBroker;
import io.otellake.infra.S3Server;
import io.otellake.schemas.OtlpTopics;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Real archiver processes (child JVMs) while records are produced: one killed with SIGKILL five times, at random
 * moments and between uploading a batch and committing it; and two in one consumer group, one leaving and another
 * joining. Afterwards every span id and every log record is in the lake exactly once.
 */
class ArchiverCrashIT {
    private static final int MAX_TRACE_REQUESTS = 5000;
    private static final int SPANS_PER_REQUEST = 8;
    private static final int KILLS = 5;
    private static final long HOUR_NANOS = 3_600_000_000_000L;
    private static final List<String> TENANTS = List.of("acme", "globex", "initech");

    @TempDir
    Path work;

    private final KafkaBroker kafka = LakeServers.kafka();
    private final S3Server s3server = LakeServers.s3();
    private final String run = UUID.randomUUID().toString().substring(0, 8);
    private final String traces = "crash-traces-" + run;
    private final String logs = "crash-logs-" + run;
    private final String bucket = "crash-" + run;
    private final String group = "crash-group-" + run;
    private S3Client s3;
    private Admin admin;
    private ChildJvm archiver;
    private final List<ChildJvm> children = new ArrayList<>();
    private int starts;

    @BeforeEach
    void setUp() throws Exception {
        admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
        admin.createTopics(List.of(new NewTopic(traces, 2, (short) 1), new NewTopic(logs, 2, (short) 1)))
                .all()
                .get();
        s3 = TestLake.client(s3server);
    }

    @AfterEach
    void tearDown() {
        children.forEach(ChildJvm::close);
        admin.close();
        s3.close();
    }

    @Test
    void sigkillAtAnyMomentLeavesEverySpanAndLogRecordExactlyOnce() throws Exception {
        Set<String> spanIds = ConcurrentHashMap.newKeySet();
        AtomicInteger traceRequests = new AtomicInteger();
        AtomicInteger logRequests = new AtomicInteger();
        AtomicBoolean keepProducing = new AtomicBoolean(true);
        AtomicReference<Throwable> producerFailure = new AtomicReference<>();
        Thread producing = new Thread(
                () -> produce(spanIds, traceRequests, logRequests, keepProducing, producerFailure), "crash-producer");
        producing.start();

        archiver = startArchiver();
        for (int kill = 0; kill < KILLS; kill++) {
            archiver.waitForLogLine("assigned", Duration.ofSeconds(60));
            if (kill % 2 == 0) {
                // between uploading and committing: a new batch's quarantine file is on S3, its offsets not committed
                awaitUploadOfNewBatch(Duration.ofSeconds(20));
            } else {
                Thread.sleep(ThreadLocalRandom.current().nextLong(1000, 5000)); // often after some commits
            }
            ProcessHandle.of(archiver.pid()).ifPresent(ProcessHandle::destroyForcibly);
            archiver.waitForExit(Duration.ofSeconds(30));
            archiver.close();
            archiver = startArchiver();
        }
        Thread.sleep(1000);
        keepProducing.set(false);
        producing.join(60_000);
        assertThat(producerFailure.get()).isNull();
        assertThat(producing.isAlive()).isFalse();

        awaitCommitted(traces, traceRequests.get());
        awaitCommitted(logs, logRequests.get());
        // On a loaded machine the kills can come faster than the first compaction pass that finds a committed hour;
        // the last archiver, which is never killed, then compacts those hours: wait for it, so that the lake checked
        // below has always been through compaction (between the kills, or after the last one).
        TestLake.await("a compaction that merged files", Duration.ofSeconds(60), () -> {
            try {
                return Files.readString(logFile("archiver")).contains("compacted ");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        archiver.close();
        assertThat(Files.readString(logFile("archiver")))
                .as("at least one kill left an uncommitted batch that the next start cleaned up")
                .contains("was not committed");
        try (java.util.stream.Stream<Path> left = Files.walk(work.resolve("spool"))) {
            assertThat(left.filter(Files::isRegularFile))
                    .as(
                            "files left in the spool folder by the killed archivers, or by the last one, stopped gracefully")
                    .isEmpty();
        }

        assertEverySpanAndLogRecordOnce(spanIds, traceRequests.get(), logRequests.get());
    }

    @Test
    void twoArchiversShareThePartitionsAndRebalancesLoseAndDuplicateNothing() throws Exception {
        Set<String> spanIds = ConcurrentHashMap.newKeySet();
        AtomicInteger traceRequests = new AtomicInteger();
        AtomicInteger logRequests = new AtomicInteger();
        AtomicBoolean keepProducing = new AtomicBoolean(true);
        AtomicReference<Throwable> producerFailure = new AtomicReference<>();
        Thread producing = new Thread(
                () -> produce(spanIds, traceRequests, logRequests, keepProducing, producerFailure), "group-producer");
        producing.start();

        ChildJvm first = startArchiver("first", "", "PT1H");
        ChildJvm second = startArchiver("second", "", "PT1H");
        first.waitForLogLine("archived", Duration.ofSeconds(60));
        second.waitForLogLine("archived", Duration.ofSeconds(60));
        second.close(); // SIGTERM: it uploads, commits and leaves; the first one takes over its partitions
        Thread.sleep(1500);
        ChildJvm third = startArchiver("third", "", "PT1H"); // and a rebalance while both are busy
        third.waitForLogLine("archived", Duration.ofSeconds(60));
        Thread.sleep(1500);
        keepProducing.set(false);
        producing.join(60_000);
        assertThat(producerFailure.get()).isNull();

        awaitCommitted(traces, traceRequests.get());
        awaitCommitted(logs, logRequests.get());
        first.close();
        third.close();
        assertEverySpanAndLogRecordOnce(spanIds, traceRequests.get(), logRequests.get());
    }

    /** Downloads the lake and counts: every produced span id and log record in exactly one file. */
    private void assertEverySpanAndLogRecordOnce(Set<String> spanIds, int traceRequests, int logRequests)
            throws Exception {
        Path local = download();
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
                Statement st = c.createStatement()) {
            // Without the clean-up of uncommitted batches, spans ahead of the clock would be in both places.
            List<String> archived = new ArrayList<>(spanIds(st, local.resolve("lake/traces")));
            List<String> quarantined = spanIds(st, local.resolve("lake/_quarantine/traces"));
            archived.addAll(quarantined);
            Map<String, Long> copies = new HashMap<>();
            archived.forEach(id -> copies.merge(id, 1L, Long::sum));
            copies.values().removeIf(n -> n == 1);
            System.out.printf("%d spans archived, %d of them quarantined%n", archived.size(), quarantined.size());
            assertThat(copies).as("span ids archived more than once").isEmpty();
            assertThat(archived).hasSize(traceRequests * SPANS_PER_REQUEST);
            assertThat(archived).containsExactlyInAnyOrderElementsOf(spanIds);
            assertThat(indexMismatches(st, local.resolve("lake")))
                    .as("(trace id, hour) pairs whose span count differs between the spans and the trace index")
                    .isZero();
            String logFiles = "read_parquet('" + local + "/lake/logs/**/*.parquet', hive_partitioning=true)";
            try (ResultSet rs = st.executeQuery("SELECT count(*), count(DISTINCT body) FROM " + logFiles)) {
                rs.next();
                assertThat(rs.getLong(1)).as("log records").isEqualTo(logRequests);
                assertThat(rs.getLong(2)).as("distinct log bodies").isEqualTo(logRequests);
            }
        }
    }

    /**
     * Compares the trace index with the spans: per trace id and hour, the index's span count must equal the spans
     * archived. An index file left behind by a rolled-back batch, or missing for an archived one, makes a difference.
     */
    static long indexMismatches(Statement st, Path lake) throws Exception {
        String sql = "SELECT count(*) FROM (SELECT trace_id, epoch_ns(start_time) // 3600000000000 AS h, count(*) AS n"
                + " FROM read_parquet('" + lake + "/traces/**/*.parquet') GROUP BY ALL) d"
                + " FULL OUTER JOIN (SELECT trace_id, epoch_ns(start_time) // 3600000000000 AS h, sum(span_count) AS n"
                + " FROM read_parquet('" + lake + "/_index/traces/**/*.parquet') GROUP BY ALL) i"
                + " USING (trace_id, h) WHERE d.n IS DISTINCT FROM i.n";
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static List<String> spanIds(Statement st, Path folder) throws Exception {
        List<String> ids = new ArrayList<>();
        if (!Files.isDirectory(folder)) {
            return ids;
        }
        try (ResultSet rs = st.executeQuery("SELECT span_id FROM read_parquet('" + folder + "/**/*.parquet')")) {
            while (rs.next()) {
                ids.add(rs.getString(1));
            }
        }
        return ids;
    }

    private Path logFile(String name) {
        return Path.of("target").toAbsolutePath().resolve("crash-it").resolve(name + "-" + run + ".log");
    }

    /** The crash test's archiver: one static member whose future bound alternates between PT1H and PT2H. */
    private ChildJvm startArchiver() throws Exception {
        // The bound moves between restarts, as in a rolling change of the setting: spans 90 min ahead of the clock are
        // quarantined by one run and go to their hour in the next. Both are right; what matters is that a replay never
        // leaves the copy of the run it replaces.
        return startArchiver("archiver", "archiver-0", starts++ % 2 == 0 ? "PT1H" : "PT2H");
    }

    private ChildJvm startArchiver(String name, String instanceId, String maxFuture) throws Exception {
        Path target = Path.of("target").toAbsolutePath();
        List<Path> classpath = new ArrayList<>();
        classpath.add(target.resolve("classes"));
        for (String entry :
                Files.readString(target.resolve("runtime.classpath")).strip().split(File.pathSeparator)) {
            if (!entry.isBlank()) {
                classpath.add(Path.of(entry.strip()));
            }
        }
        Map<String, String> env = new HashMap<>();
        env.put("OTEL_LAKE_KAFKA_BOOTSTRAP", kafka.bootstrapServers());
        env.put("OTEL_LAKE_ARCHIVER_GROUP_ID", group);
        env.put("OTEL_LAKE_ARCHIVER_INSTANCE_ID", instanceId);
        env.put("OTEL_LAKE_TRACES_TOPIC", traces);
        env.put("OTEL_LAKE_LOGS_TOPIC", logs);
        env.put("OTEL_LAKE_METRICS_TOPIC", "crash-metrics-" + run);
        env.put("OTEL_LAKE_S3_ENDPOINT", s3server.endpoint().toString());
        env.put("OTEL_LAKE_S3_BUCKET", bucket);
        env.put("OTEL_LAKE_S3_PREFIX", "lake");
        env.put("OTEL_LAKE_S3_ACCESS_KEY", s3server.accessKey());
        env.put("OTEL_LAKE_S3_SECRET_KEY", s3server.secretKey());
        // Small, fast batches, so that kills land in every phase and a replay cuts its files differently.
        env.put("OTEL_LAKE_ARCHIVER_MAX_FILE_AGE", "PT0.3S");
        env.put("OTEL_LAKE_ARCHIVER_MAX_FILE_BYTES", "20000");
        env.put("OTEL_LAKE_ARCHIVER_MAX_FUTURE", maxFuture);
        env.put("OTEL_LAKE_ARCHIVER_SPOOL_DIR", work.resolve("spool").toString());
        // Every archiver compacts closed hours every second (compaction is on by default), so kills land
        // mid-compaction too, and in the group test several archivers with compaction on share one lake: the
        // compaction lease lets one of them compact at a time.
        env.put("OTEL_LAKE_COMPACTION_ENABLED", "true");
        env.put("OTEL_LAKE_COMPACTION_INTERVAL", "PT1S");
        env.put("OTEL_LAKE_COMPACTION_GRACE", "PT0S");
        ChildJvm child = ChildJvm.builder(name, "io.otellake.archiver.ArchiverMain")
                .classpath(classpath)
                .jvmOptions("-Xmx256m", "-XX:TieredStopAtLevel=1")
                .env(env)
                .logFile(logFile(name)) // kept in target/ for diagnosis
                .stopTimeout(Duration.ofSeconds(20))
                .start();
        children.add(child);
        return child;
    }

    /** Produces until told to stop: trace requests of 8 spans, some late, and every other time a log record. */
    private void produce(
            Set<String> spanIds,
            AtomicInteger traceRequests,
            AtomicInteger logRequests,
            AtomicBoolean keepProducing,
            AtomicReference<Throwable> failure) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            long now = System.currentTimeMillis() * 1_000_000L;
            for (int i = 0; keepProducing.get() && i < MAX_TRACE_REQUESTS; i++) {
                String tenant = TENANTS.get(i % TENANTS.size());
                long start = i % 5 == 0
                        ? now - (i % 3 + 1) * 24 * HOUR_NANOS // late data
                        : i % 7 == 3 ? now + 90 * 60_000_000_000L : now; // ahead of the clock: see startArchiver
                send(
                        producer,
                        traces,
                        tenant,
                        ArchiverIT.traceRequest("svc-" + i % 4, start, SPANS_PER_REQUEST, spanIds)
                                .toByteArray());
                traceRequests.incrementAndGet();
                if (i % 2 == 0) {
                    send(
                            producer,
                            logs,
                            tenant,
                            ArchiverIT.logRequest("svc-" + i % 4, now, "log " + i / 2)
                                    .toByteArray());
                    logRequests.incrementAndGet();
                }
                Thread.sleep(10);
            }
        } catch (Throwable t) {
            failure.set(t);
        }
    }

    private static void send(KafkaProducer<byte[], byte[]> producer, String topic, String tenant, byte[] value)
            throws Exception {
        ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, null, null, value);
        r.headers().add(OtlpTopics.TENANT_HEADER, tenant.getBytes(StandardCharsets.UTF_8));
        producer.send(r).get();
    }

    /**
     * Waits until a traces manifest other than the one there at the start lists a quarantine file that is already on
     * S3: the archiver is between uploading that batch and committing it (it commits only after the last upload).
     * Gives up quietly after the timeout, and the kill then happens at that moment instead.
     */
    private void awaitUploadOfNewBatch(Duration timeout) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<String> manifests =
                List.of("lake/_manifests/" + traces + "/0.json", "lake/_manifests/" + traces + "/1.json");
        Map<String, String> initial = new HashMap<>();
        for (String key : manifests) {
            initial.put(key, read(key));
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            for (String key : manifests) {
                String manifest = read(key);
                if (manifest.isEmpty() || manifest.equals(initial.get(key))) {
                    continue;
                }
                for (JsonNode object : json.readTree(manifest).get("keys")) {
                    if (object.asText().contains("/_quarantine/") && exists(object.asText())) {
                        return;
                    }
                }
            }
        }
    }

    /** The object's text, or empty when there is none. */
    private String read(String key) {
        try {
            return s3.getObjectAsBytes(b -> b.bucket(bucket).key(key)).asUtf8String();
        } catch (S3Exception e) {
            if (e.statusCode() != 404) {
                throw e;
            }
            return "";
        }
    }

    private boolean exists(String key) {
        try {
            s3.headObject(b -> b.bucket(bucket).key(key));
            return true;
        } catch (S3Exception e) {
            if (e.statusCode() != 404) {
                throw e;
            }
            return false;
        }
    }

    private Map<TopicPartition, Long> committedOffsets() throws Exception {
        Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata()
                .get();
        Map<TopicPartition, Long> out = new HashMap<>();
        offsets.forEach((tp, o) -> {
            if (o != null) {
                out.put(tp, o.offset());
            }
        });
        return out;
    }

    private void awaitCommitted(String topic, long records) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        long committed = 0;
        while (System.nanoTime() < deadline) {
            committed = committedOffsets().entrySet().stream()
                    .filter(e -> e.getKey().topic().equals(topic))
                    .mapToLong(Map.Entry::getValue)
                    .sum();
            if (committed >= records) {
                break;
            }
            Thread.sleep(200);
        }
        assertThat(committed).as("committed offsets of " + topic).isEqualTo(records);
    }

    /**
     * Downloads the lake as a reader should see it: every Parquet file, less those that a listed compacted file names
     * as its inputs (a kill between a compaction's upload and its deletes leaves both).
     */
    private Path download() throws Exception {
        Path root = work.resolve("download");
        List<S3Object> objects = s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix("lake/")).contents().stream()
                .filter(o -> o.key().endsWith(".parquet"))
                .toList();
        Set<String> replaced = new HashSet<>();
        int compacted = 0;
        for (S3Object o : objects) {
            int slash = o.key().lastIndexOf('/');
            if (o.key().startsWith(Compactor.COMPACTED_PREFIX, slash + 1)) {
                compacted++;
                String from = s3.headObject(b -> b.bucket(bucket).key(o.key()))
                        .metadata()
                        .get(Compactor.S3_COMPACTED_FROM);
                String folder =
                        o.key().substring(0, o.key().startsWith("lake/_index/") ? dayFolderEnd(o.key()) : slash + 1);
                for (String name : from.split(",")) {
                    replaced.add(folder + name);
                }
            }
        }
        System.out.printf(
                "%d compacted files, %d files they replace still listed%n",
                compacted,
                objects.stream().filter(o -> replaced.contains(o.key())).count());
        for (S3Object o : objects) {
            if (replaced.contains(o.key())) {
                continue;
            }
            Path target = root.resolve(o.key());
            Files.createDirectories(target.getParent());
            s3.getObject(b -> b.bucket(bucket).key(o.key()), target);
        }
        return root;
    }

    /** The end of {@code .../dt=<day>/} in a trace index key. */
    private static int dayFolderEnd(String key) {
        int dt = key.indexOf("/dt=");
        return key.indexOf('/', dt + 1) + 1;
    }
}
