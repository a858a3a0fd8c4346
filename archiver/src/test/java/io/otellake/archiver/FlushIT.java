package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * When a batch is flushed, and failures that repeat while S3 still answers. A flush that fails while reads work (its writes refused: a missing
 * permission, a quota), so that each recovery succeeds: the archiver must back off between attempts rather than re-read
 * and re-upload in a tight loop, stay not ready until a batch is on S3, and then land every record once. A partition
 * whose recovery keeps failing: the others must go on.
 */
class FlushIT {
    @TempDir
    Path spool;

    private TestLake lake;

    @BeforeEach
    void setUp() throws Exception {
        lake = new TestLake();
    }

    @AfterEach
    void tearDown() {
        lake.close();
    }

    @Test
    void aFlushThatKeepsFailingIsRetriedAtGrowingIntervalsAndNotReadyUntilOneSucceeds() throws Exception {
        List<Long> attempts = Collections.synchronizedList(new ArrayList<>());
        List<Boolean> readyAtAttempt = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger refusals = new AtomicInteger(3);
        Set<String> spanIds = new HashSet<>();
        long now = System.currentTimeMillis() * 1_000_000L;
        for (int i = 0; i < 3; i++) {
            lake.send(
                    new TopicPartition(lake.traces, 0),
                    "acme",
                    ArchiverIT.traceRequest("cart", now, 2, spanIds).toByteArray());
        }

        try (Archiver archiver = new Archiver(lake.config(spool, Duration.ofMillis(300)))) {
            archiver.onFlushStep(step -> {
                if (step != Archiver.FlushStep.WRITING_MANIFESTS) {
                    return;
                }
                attempts.add(System.nanoTime());
                readyAtAttempt.add(archiver.ready());
                if (refusals.getAndDecrement() > 0) {
                    throw new IllegalStateException("S3 refused the upload (test)");
                }
            });
            archiver.prepare();
            new Thread(archiver, "archiver-under-test").start();
            lake.awaitCommitted(lake.traces, 3);

            assertThat(attempts).hasSize(4);
            // paused 1 s, 2 s and 4 s after the three failures; the recovery and the replay in between add to it
            List<Long> gapsMs = new ArrayList<>();
            for (int i = 1; i < attempts.size(); i++) {
                gapsMs.add((attempts.get(i) - attempts.get(i - 1)) / 1_000_000);
            }
            assertThat(gapsMs.get(0)).isGreaterThanOrEqualTo(1000);
            assertThat(gapsMs.get(1)).isGreaterThanOrEqualTo(2000);
            assertThat(gapsMs.get(2)).isGreaterThanOrEqualTo(4000);
            assertThat(readyAtAttempt.subList(1, 4))
                    .as("not ready after a failed flush, though each recovery in between succeeded")
                    .containsOnly(false);
            TestLake.await("ready once a batch is on S3", Duration.ofSeconds(10), archiver::ready);
        }
        assertThat(lake.archivedSpanIds(spool.resolve("download"))).containsExactlyInAnyOrderElementsOf(spanIds);
    }

    @Test
    void aPartitionWhoseRecoveryKeepsFailingHoldsUpNoOtherAndIsArchivedOnceItCanBe() throws Exception {
        TopicPartition healthy = new TopicPartition(lake.traces, 0);
        TopicPartition stuck = new TopicPartition(lake.traces, 1);
        // a manifest cut short (or edited by hand) does not parse: recovering its partition fails until it is fixed
        String manifest = PartitionRecovery.manifestKey("lake/", stuck);
        Set<String> healthyIds = new HashSet<>();
        Set<String> stuckIds = new HashSet<>();
        long now = System.currentTimeMillis() * 1_000_000L;
        for (int i = 0; i < 3; i++) {
            lake.send(
                    healthy,
                    "acme",
                    ArchiverIT.traceRequest("cart", now, 2, healthyIds).toByteArray());
            lake.send(
                    stuck,
                    "acme",
                    ArchiverIT.traceRequest("cart", now, 2, stuckIds).toByteArray());
        }

        try (Archiver archiver = new Archiver(lake.config(spool, Duration.ofMillis(300)))) {
            archiver.prepare(); // creates the bucket
            lake.s3.putObject(
                    b -> b.bucket(lake.bucket).key(manifest),
                    software.amazon.awssdk.core.sync.RequestBody.fromString("{\"topic\":"));
            new Thread(archiver, "archiver-under-test").start();
            // whichever partition the archiver tries first, the healthy one is consumed
            lake.awaitCommitted(lake.traces, 3);
            for (int i = 0; i < 3; i++) {
                lake.send(
                        healthy,
                        "acme",
                        ArchiverIT.traceRequest("cart", now, 2, healthyIds).toByteArray());
            }
            lake.awaitCommitted(lake.traces, 6);
            assertThat(lake.archivedSpanIds(spool.resolve("download-1")))
                    .containsExactlyInAnyOrderElementsOf(healthyIds);
            assertThat(archiver.ready())
                    .as("not ready while a partition cannot be recovered")
                    .isFalse();

            lake.s3.deleteObject(b -> b.bucket(lake.bucket).key(manifest)); // fixed by hand

            lake.awaitCommitted(lake.traces, 9);
            TestLake.await("ready once every partition is recovered", Duration.ofSeconds(40), archiver::ready);
        }
        Set<String> all = new HashSet<>(healthyIds);
        all.addAll(stuckIds);
        assertThat(lake.archivedSpanIds(spool.resolve("download-2"))).containsExactlyInAnyOrderElementsOf(all);
    }

    @Test
    void aBatchIsFlushedOnceItHasItsMostFilesWhateverItsAgeAndBytes() throws Exception {
        TopicPartition tp = new TopicPartition(lake.traces, 0);
        Set<String> spanIds = new HashSet<>();
        long now = System.currentTimeMillis() * 1_000_000L;
        int hours = Archiver.MAX_FILES_PER_BATCH + 1;
        for (int i = 1; i <= hours; i++) { // late data, one file per hour of the last days
            lake.send(
                    tp,
                    "acme",
                    ArchiverIT.traceRequest("cart", now - i * 3_600_000_000_000L, 1, spanIds)
                            .toByteArray());
        }

        // files are cut after an hour, and the records are far below the size limit
        try (Archiver archiver = new Archiver(lake.config(spool, Duration.ofHours(1)))) {
            archiver.prepare();
            new Thread(archiver, "archiver-under-test").start();
            lake.awaitCommitted(lake.traces, hours);
        }
        assertThat(lake.archivedSpanIds(spool.resolve("download"))).containsExactlyInAnyOrderElementsOf(spanIds);
    }
}
