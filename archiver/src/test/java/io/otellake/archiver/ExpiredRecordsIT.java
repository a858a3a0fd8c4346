package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Records that Kafka's retention removes before any archiver uploaded them are lost; the archiver cannot prevent that,
 * but it must say so (an error naming the partition and offsets, and a counter) instead of skipping them silently, both
 * when it finds the committed offset below the log start on assignment and when its fetch position falls below it
 * while it consumes.
 */
class ExpiredRecordsIT {
    @TempDir
    Path spool;

    private TestLake lake;
    private TopicPartition tp;
    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();

    @BeforeEach
    void setUp() throws Exception {
        lake = new TestLake();
        tp = new TopicPartition(lake.traces, 0);
        logged.start();
        ((Logger) LoggerFactory.getLogger(Archiver.class)).addAppender(logged);
    }

    @AfterEach
    void tearDown() {
        ((Logger) LoggerFactory.getLogger(Archiver.class)).detachAppender(logged);
        lake.close();
    }

    @Test
    void recordsThatExpiredWhileNoArchiverRanAreReportedOnAssignment() throws Exception {
        Set<String> archived = send(3);
        Archiver first = start();
        lake.awaitCommitted(lake.traces, 3);
        first.close();
        send(2); // offsets 3 and 4: retention drops them before any archiver runs again
        Set<String> later = send(2);
        lake.deleteRecords(tp, 5);

        try (Archiver archiver = start()) {
            lake.awaitCommitted(lake.traces, 7);
            assertThat(archiver.expiredRecords()).isEqualTo(2);
            assertThat(archiver.rowsArchived()).isEqualTo(later.size());
            assertThat(archiver.metrics().scrape())
                    .contains("otel_lake_archiver_records_expired_total{topic=\"" + lake.traces
                            + "\",partition=\"0\"} 2\n");
        }
        assertThat(errors())
                .containsExactly(tp + ": offsets 3..4 (2 records) expired from Kafka before they were archived; they"
                        + " are lost. Consuming from offset 5");
        archived.addAll(later);
        assertThat(lake.archivedSpanIds(spool.resolve("download"))).containsExactlyInAnyOrderElementsOf(archived);
    }

    @Test
    void recordsThatExpireWhileTheArchiverIsBehindAreReportedNotSkipped() throws Exception {
        Set<String> archived = send(1);
        Set<String> later = new HashSet<>();
        AtomicBoolean behind = new AtomicBoolean();
        try (Archiver archiver = new Archiver(lake.config(spool, Duration.ofMillis(500)))) {
            // The first flush stalls, as a slow upload would; meanwhile offsets 1 to 4 arrive and retention drops 1
            // and 2, below the position the consumer fetches from next.
            archiver.onFlushStep(step -> {
                if (step != Archiver.FlushStep.CHECKING_OWNER || !behind.compareAndSet(false, true)) {
                    return;
                }
                try {
                    Thread.sleep(1500); // the fetch in flight comes back empty first, so that nothing is prefetched
                    send(2);
                    later.addAll(send(2));
                    lake.deleteRecords(tp, 3);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            archiver.prepare();
            new Thread(archiver, "archiver-under-test").start();
            lake.awaitCommitted(lake.traces, 5);
            assertThat(archiver.expiredRecords()).isEqualTo(2);
            assertThat(archiver.metrics().scrape())
                    .contains("otel_lake_archiver_records_expired_total{topic=\"" + lake.traces
                            + "\",partition=\"0\"} 2\n");
        }
        assertThat(errors())
                .containsExactly(tp + ": offsets 1..2 (2 records) expired from Kafka before they were archived; they"
                        + " are lost. Consuming from offset 3");
        archived.addAll(later);
        assertThat(lake.archivedSpanIds(spool.resolve("download"))).containsExactlyInAnyOrderElementsOf(archived);
    }

    private Archiver start() {
        Archiver archiver = new Archiver(lake.config(spool, Duration.ofMillis(500)));
        archiver.prepare();
        new Thread(archiver, "archiver-under-test").start();
        return archiver;
    }

    /** Sends one trace request of two spans per record to partition 0, and returns their span ids. */
    private Set<String> send(int records) throws Exception {
        Set<String> spanIds = new HashSet<>();
        long now = System.currentTimeMillis() * 1_000_000L;
        for (int i = 0; i < records; i++) {
            lake.send(
                    tp, "acme", ArchiverIT.traceRequest("cart", now, 2, spanIds).toByteArray());
        }
        return spanIds;
    }

    private java.util.List<String> errors() {
        return logged.list.stream()
                .filter(e -> e.getLevel() == Level.ERROR)
                .map(ILoggingEvent::getFormattedMessage)
                .toList();
    }
}
