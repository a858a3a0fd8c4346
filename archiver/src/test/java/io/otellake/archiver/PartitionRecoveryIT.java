package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.MemberToRemove;
import org.apache.kafka.clients.admin.RemoveMembersFromConsumerGroupOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;

/**
 * Two archivers that both believe they own a partition: the one the consumer group moved on from (a "zombie", here a
 * consumer removed from the group that has not polled since) deletes nothing of the new owner's, writes nothing once
 * refused, removes its own files when its commit is refused, and the keys it may still hold from an old batch never
 * name the new owner's files.
 */
class PartitionRecoveryIT {
    @TempDir
    Path spool;

    private TestLake lake;
    private final List<AutoCloseable> closing = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        lake = new TestLake();
    }

    @AfterEach
    void tearDown() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
        lake.close();
    }

    @Test
    void aConsumerThatLostThePartitionDeletesNothingOfTheNewOwnersBatch() throws Exception {
        TopicPartition tp = new TopicPartition(lake.traces, 0);
        KafkaConsumer<byte[], byte[]> zombie = consumer("zombie");
        awaitAssigned(zombie, tp);
        removeFromGroup("zombie");
        KafkaConsumer<byte[], byte[]> owner = consumer(null);
        awaitAssigned(owner, tp);
        assertThat(zombie.assignment())
                .as("the zombie has not polled, so it still believes")
                .contains(tp);

        // The new owner is mid-flush: its manifest and one of its files are on S3, its commit is still to come.
        S3Store store = new S3Store(lake.config(spool, Duration.ofSeconds(1)));
        closing.add(store);
        store.ensureBucket();
        String ownersFile = "lake/traces/tenant=acme/dt=2026-12-02/hour=10/" + lake.traces + "+0+0+0badcafe.parquet";
        PartitionRecovery zombieRecovery = new PartitionRecovery(zombie, store, "lake/");
        store.putJson(
                PartitionRecovery.manifestKey("lake/", tp),
                new IntentManifest(lake.traces, 0, 0, 3, List.of(ownersFile)).toJson());
        store.putJson(ownersFile, "rows".getBytes(StandardCharsets.UTF_8));

        assertThatThrownBy(() -> zombieRecovery.recover(tp)).isInstanceOf(PartitionRecovery.NotOwnerException.class);
        assertThat(store.get(ownersFile)).as("the new owner's uncommitted file").isPresent();

        // The owner itself, recovering after a failed flush, does clean up its batch.
        PartitionRecovery.Outcome recovered = new PartitionRecovery(owner, store, "lake/").recover(tp);
        assertThat(recovered.fate()).isEqualTo(PartitionRecovery.Fate.DELETED);
        assertThat(recovered.deleted()).containsExactly(ownersFile);
        assertThat(store.get(ownersFile)).isEmpty();
    }

    @Test
    void aReplayWritesNewKeysSoAStaleListOfTheOldOnesDeletesNothingOfIt() throws Exception {
        Set<String> spanIds = new HashSet<>();
        long now = System.currentTimeMillis() * 1_000_000L;
        for (int i = 0; i < 6; i++) {
            lake.send(
                    lake.traces,
                    "acme",
                    ArchiverIT.traceRequest("cart", now, 2, spanIds).toByteArray());
        }
        runArchiverUntilCommitted(6);
        List<String> firstRun = new ArrayList<>(lake.listKeys("lake/traces/"));
        firstRun.addAll(lake.listKeys("lake/_index/"));
        assertThat(firstRun).isNotEmpty();

        // Make the first run's batches look uncommitted, as after a kill -9 between the uploads and the commit: the
        // committed offsets go back to 0, and each partition's manifest lists the files it wrote.
        Map<TopicPartition, OffsetAndMetadata> rewound = new HashMap<>();
        try (Admin admin = admin();
                S3Store store = new S3Store(lake.config(spool, Duration.ofSeconds(1)))) {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(lake.group)
                    .partitionsToOffsetAndMetadata()
                    .get();
            for (Map.Entry<TopicPartition, OffsetAndMetadata> e : committed.entrySet()) {
                TopicPartition tp = e.getKey();
                if (!tp.topic().equals(lake.traces) || e.getValue().offset() == 0) {
                    continue;
                }
                String prefix = lake.traces + "+" + tp.partition() + "+";
                List<String> keys = firstRun.stream()
                        .filter(k -> k.substring(k.lastIndexOf('/') + 1).startsWith(prefix))
                        .toList();
                store.putJson(
                        PartitionRecovery.manifestKey("lake/", tp),
                        new IntentManifest(
                                        lake.traces,
                                        tp.partition(),
                                        0,
                                        e.getValue().offset(),
                                        keys)
                                .toJson());
                rewound.put(tp, new OffsetAndMetadata(0));
            }
            admin.alterConsumerGroupOffsets(lake.group, rewound).all().get();
        }
        assertThat(lake.committed(lake.traces)).isZero();

        runArchiverUntilCommitted(6);
        // A zombie that read the old manifests before the recovery now deletes what they list.
        for (String key : firstRun) {
            lake.s3.deleteObject(b -> b.bucket(lake.bucket).key(key));
        }

        assertThat(lake.listKeys("lake/traces/"))
                .as("the replay's files, after the stale deletes")
                .isNotEmpty();
        assertThat(archivedSpanIds())
                .as("every span once, in the replay's files")
                .containsExactlyInAnyOrderElementsOf(spanIds);
    }

    @Test
    void anArchiverRefusedAtTheOwnerCheckWritesNothing() throws Exception {
        Set<String> spanIds = sendTraces(4);
        String ownersFile = "lake/traces/tenant=acme/dt=2026-12-02/hour=10/" + lake.traces + "+0+0+0badcafe.parquet";
        Map<String, String> ownersManifests = new HashMap<>();
        AtomicBoolean paused = new AtomicBoolean();
        try (Archiver zombie = new Archiver(lake.config(spool.resolve("zombie"), Duration.ofSeconds(2), "zombie"))) {
            // The first flush stops before anything reaches S3, as a long pause would; meanwhile the group gives the
            // partitions to another consumer, which is mid-flush: its manifests and a file are on S3, uncommitted.
            zombie.onFlushStep(step -> {
                if (step != Archiver.FlushStep.CHECKING_OWNER || !paused.compareAndSet(false, true)) {
                    return;
                }
                try {
                    removeFromGroup("zombie");
                    KafkaConsumer<byte[], byte[]> owner = consumer(null);
                    awaitAssigned(owner, new TopicPartition(lake.traces, 0));
                    awaitAssigned(owner, new TopicPartition(lake.traces, 1));
                    for (int partition = 0; partition < 2; partition++) {
                        String key = PartitionRecovery.manifestKey("lake/", new TopicPartition(lake.traces, partition));
                        byte[] json = new IntentManifest(lake.traces, partition, 0, 1000, List.of(ownersFile)).toJson();
                        lake.s3.putObject(b -> b.bucket(lake.bucket).key(key), RequestBody.fromBytes(json));
                        ownersManifests.put(key, new String(json, StandardCharsets.UTF_8));
                    }
                    lake.s3.putObject(b -> b.bucket(lake.bucket).key(ownersFile), RequestBody.fromString("rows"));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            zombie.prepare();
            new Thread(zombie, "zombie-archiver").start();
            TestLake.await("the zombie to drop its batch", Duration.ofSeconds(60), () -> zombie.lostBatches() == 1);

            for (Map.Entry<String, String> manifest : ownersManifests.entrySet()) {
                assertThat(lake.s3
                                .getObjectAsBytes(b -> b.bucket(lake.bucket).key(manifest.getKey()))
                                .asUtf8String())
                        .as("the owner's manifest, not replaced")
                        .isEqualTo(manifest.getValue());
            }
            assertThat(lake.listKeys("lake/traces/"))
                    .as("nothing uploaded by the zombie")
                    .containsExactly(ownersFile);
            assertThat(lake.listKeys("lake/_index/")).isEmpty();

            // The owner goes away without committing; the zombie rejoins, recovers (deleting the owner's file) and
            // archives every span once.
            closeConsumers();
            lake.awaitCommitted(lake.traces, 4);
        }
        assertThat(lake.listKeys("lake/traces/")).doesNotContain(ownersFile);
        assertThat(archivedSpanIds()).containsExactlyInAnyOrderElementsOf(spanIds);
    }

    @Test
    void anArchiverThatLosesThePartitionsAfterTheCheckDeletesItsOwnFiles() throws Exception {
        Set<String> spanIds = sendTraces(4);
        AtomicBoolean paused = new AtomicBoolean();
        try (Archiver zombie = new Archiver(lake.config(spool.resolve("zombie"), Duration.ofSeconds(2), "zombie"));
                Archiver owner = new Archiver(lake.config(spool.resolve("owner"), Duration.ofSeconds(1), "owner"))) {
            // The first flush passes the owner check, then stops as a long pause would; meanwhile another archiver
            // gets the partitions and archives and commits every record. Then the zombie goes on: it uploads its
            // files, the group refuses its commit, and it must delete them.
            zombie.onFlushStep(step -> {
                if (step != Archiver.FlushStep.WRITING_MANIFESTS || !paused.compareAndSet(false, true)) {
                    return;
                }
                try {
                    removeFromGroup("zombie");
                    owner.prepare();
                    new Thread(owner, "owner-archiver").start();
                    lake.awaitCommitted(lake.traces, 4);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            zombie.prepare();
            new Thread(zombie, "zombie-archiver").start();
            TestLake.await("the zombie to drop its batch", Duration.ofSeconds(90), () -> zombie.lostBatches() == 1);

            assertThat(owner.rowsArchived()).isEqualTo(spanIds.size());
            assertThat(archivedSpanIds()).as("every span once").containsExactlyInAnyOrderElementsOf(spanIds);
        }
    }

    @Test
    void aBatchWhoseRecordsKafkaNoLongerHasIsKeptAndCommittedNotDeleted() throws Exception {
        TopicPartition tp = new TopicPartition(lake.traces, 0);
        Set<String> spanIds = new HashSet<>();
        long now = System.currentTimeMillis() * 1_000_000L;
        for (int i = 0; i < 3; i++) {
            lake.send(
                    tp, "acme", ArchiverIT.traceRequest("cart", now, 2, spanIds).toByteArray());
        }
        runArchiverUntilCommitted(3);
        assertThat(manifest(tp))
                .as("the premise: one batch")
                .extracting("firstOffset", "nextOffset")
                .containsExactly(0L, 3L);
        List<String> archived = lakeKeys();

        // As after a kill -9 between the uploads and the commit, followed by an outage longer than the topic's
        // retention: the batch is not committed, and Kafka has dropped its records.
        lake.rewind(tp, 0);
        lake.deleteRecords(tp, 3);

        try (Archiver archiver = new Archiver(lake.config(spool, Duration.ofMillis(500)))) {
            archiver.prepare();
            new Thread(archiver, "archiver-under-test").start();
            TestLake.await("the recovery", Duration.ofSeconds(60), () -> archiver.recoveredBatches() == 1);
            lake.awaitCommitted(lake.traces, 3);
            assertThat(archiver.rowsArchived()).as("nothing archived again").isZero();
            assertThat(archiver.expiredRecords()).as("nothing lost").isZero();
        }
        assertThat(lakeKeys()).as("the batch's objects, kept").isEqualTo(archived);
        assertThat(archivedSpanIds()).containsExactlyInAnyOrderElementsOf(spanIds);
    }

    @Test
    void anIncompleteBatchWhoseRecordsKafkaPartlyDroppedKeepsWhatIsOnS3AndReplaysWhatKafkaStillHas() throws Exception {
        TopicPartition tp = new TopicPartition(lake.traces, 0);
        long now = System.currentTimeMillis() * 1_000_000L;
        Map<String, Set<String>> spansOf = new HashMap<>();
        for (String tenant : List.of("a", "b", "c")) { // offsets 0, 1 and 2, each tenant its own files
            spansOf.put(tenant, new HashSet<>());
            lake.send(
                    tp,
                    tenant,
                    ArchiverIT.traceRequest("cart", now, 2, spansOf.get(tenant)).toByteArray());
        }
        runArchiverUntilCommitted(3);
        assertThat(manifest(tp).keys())
                .as("the premise: one batch of three span and three index files")
                .hasSize(6);
        List<String> fileOfA = lake.listKeys("lake/traces/tenant=a/");
        List<String> filesOfB = tenantKeys("b");
        List<String> indexOfA = lake.listKeys("lake/_index/traces/tenant=a/");
        List<String> filesOfC = tenantKeys("c");
        assertThat(fileOfA).hasSize(1);
        assertThat(filesOfC).hasSize(2);

        // Killed amid the uploads (a's span file never made it), then down while Kafka dropped offsets 0 and 1.
        lake.rewind(tp, 0);
        lake.s3.deleteObject(b -> b.bucket(lake.bucket).key(fileOfA.get(0)));
        lake.deleteRecords(tp, 2);

        try (Archiver archiver = new Archiver(lake.config(spool, Duration.ofMillis(500)))) {
            archiver.prepare();
            new Thread(archiver, "archiver-under-test").start();
            TestLake.await("the recovery", Duration.ofSeconds(60), () -> archiver.recoveredBatches() == 1);
            lake.awaitCommitted(lake.traces, 3);
            assertThat(archiver.rowsArchived())
                    .as("c's spans, archived again from Kafka")
                    .isEqualTo(2);
            assertThat(archiver.expiredRecords())
                    .as("offsets 0 and 1, whose rows were in the missing file or in b's")
                    .isEqualTo(2);
        }
        assertThat(lake.listKeys("lake/traces/tenant=a/"))
                .as("a's rows: lost with the file")
                .isEmpty();
        assertThat(lake.listKeys("lake/_index/traces/tenant=a/")).isEqualTo(indexOfA);
        assertThat(tenantKeys("b"))
                .as("b's files: the only copy of offset 1, kept")
                .isEqualTo(filesOfB);
        assertThat(tenantKeys("c"))
                .as("c's files: offset 2 is still in Kafka, so they were deleted and written again")
                .hasSize(2)
                .doesNotContainAnyElementsOf(filesOfC);
        Set<String> expected = new HashSet<>(spansOf.get("b"));
        expected.addAll(spansOf.get("c"));
        assertThat(archivedSpanIds()).containsExactlyInAnyOrderElementsOf(expected);
    }

    private IntentManifest manifest(TopicPartition tp) {
        String key = PartitionRecovery.manifestKey("lake/", tp);
        return IntentManifest.fromJson(
                lake.s3.getObjectAsBytes(b -> b.bucket(lake.bucket).key(key)).asByteArray(), key);
    }

    /** Every span and index file of the lake, in key order. */
    private List<String> lakeKeys() {
        List<String> keys = new ArrayList<>(lake.listKeys("lake/traces/"));
        keys.addAll(lake.listKeys("lake/_index/"));
        return keys;
    }

    /** A tenant's span and index files. */
    private List<String> tenantKeys(String tenant) {
        List<String> keys = new ArrayList<>(lake.listKeys("lake/traces/tenant=" + tenant + "/"));
        keys.addAll(lake.listKeys("lake/_index/traces/tenant=" + tenant + "/"));
        return keys;
    }

    private Set<String> sendTraces(int requests) throws Exception {
        Set<String> spanIds = new HashSet<>();
        long now = System.currentTimeMillis() * 1_000_000L;
        for (int i = 0; i < requests; i++) {
            lake.send(
                    lake.traces,
                    "acme",
                    ArchiverIT.traceRequest("cart", now, 2, spanIds).toByteArray());
        }
        return spanIds;
    }

    private void removeFromGroup(String instanceId) throws Exception {
        try (Admin admin = admin()) {
            admin.removeMembersFromConsumerGroup(
                            lake.group,
                            new RemoveMembersFromConsumerGroupOptions(List.of(new MemberToRemove(instanceId))))
                    .all()
                    .get();
        }
    }

    private void closeConsumers() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.remove(i).close();
        }
    }

    /** The span ids of every row in the lake's span files, as often as they occur. */
    private List<String> archivedSpanIds() throws Exception {
        return lake.archivedSpanIds(spool.resolve("download-" + System.nanoTime()));
    }

    private void runArchiverUntilCommitted(long records) throws Exception {
        try (Archiver archiver = new Archiver(lake.config(spool, Duration.ofMillis(500)))) {
            archiver.prepare();
            Thread loop = new Thread(archiver, "archiver-under-test");
            loop.start();
            lake.awaitCommitted(lake.traces, records);
        }
    }

    private KafkaConsumer<byte[], byte[]> consumer(String instanceId) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, lake.kafka.bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, lake.group);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        if (instanceId != null) {
            p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, instanceId);
        }
        KafkaConsumer<byte[], byte[]> c =
                new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        closing.add(() -> c.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(5))));
        c.subscribe(List.of(lake.traces));
        return c;
    }

    private static void awaitAssigned(KafkaConsumer<byte[], byte[]> consumer, TopicPartition tp) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!consumer.assignment().contains(tp)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + tp + " to be assigned");
            }
            consumer.poll(Duration.ofMillis(100));
        }
    }

    private Admin admin() {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, lake.kafka.bootstrapServers()));
    }
}
