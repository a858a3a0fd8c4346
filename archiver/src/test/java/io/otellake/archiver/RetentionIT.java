package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.otellake.infra.S3Server;
import io.otellake.schemas.LakeLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** Retention against a real S3 server, with a fixed clock: exactly which objects go, which stay, and the audit lines. */
class RetentionIT {
    /** 90 days before is 2026-03-12T12:00Z, 30 days 2026-05-11T12:00Z, 36 hours 2026-06-09T00:00Z. */
    private static final Clock NOW = Clock.fixed(Instant.parse("2026-06-10T12:00:00Z"), ZoneOffset.UTC);

    private final S3Server s3server = LakeServers.s3();
    private final String bucket = "retention-" + UUID.randomUUID().toString().substring(0, 8);
    private final ListAppender<ILoggingEvent> auditLines = new ListAppender<>();
    private S3Store store;

    @BeforeEach
    void setUp() {
        store = new S3Store(ArchiverConfig.fromEnvironment(Map.of(
                "OTEL_LAKE_S3_ENDPOINT", s3server.endpoint().toString(),
                "OTEL_LAKE_S3_BUCKET", bucket,
                "OTEL_LAKE_S3_ACCESS_KEY", s3server.accessKey(),
                "OTEL_LAKE_S3_SECRET_KEY", s3server.secretKey())));
        store.ensureBucket();
        auditLines.start();
        ((Logger) LoggerFactory.getLogger(Retention.AUDIT_LOGGER)).addAppender(auditLines);
    }

    @AfterEach
    void tearDown() {
        ((Logger) LoggerFactory.getLogger(Retention.AUDIT_LOGGER)).detachAppender(auditLines);
        store.close();
    }

    @Test
    void deletesExactlyTheHoursAndIndexDaysPastEachTenantsRetentionAndAuditsEachOne() {
        List<String> expired = List.of(
                // acme keeps 30 days: an hour 70 days old, and the hour ending exactly at the cut-off
                "lake/traces/tenant=acme/dt=2026-04-01/hour=00/a.parquet",
                "lake/traces/tenant=acme/dt=2026-04-01/hour=00/b.parquet",
                "lake/traces/tenant=acme/dt=2026-05-11/hour=11/a.parquet",
                // globex keeps 365 days
                "lake/traces/tenant=globex/dt=2025-06-10/hour=11/a.parquet",
                // initech has the default, 90 days
                "lake/traces/tenant=initech/dt=2026-03-12/hour=11/a.parquet",
                "lake/logs/tenant=acme/dt=2020-01-01/hour=00/a.parquet",
                // hooli keeps 36 hours: its cut-off is midnight, so a whole index day ends exactly there
                "lake/logs/tenant=hooli/dt=2026-06-08/hour=23/a.parquet",
                "lake/metrics/tenant=initech/dt=2025-12-31/hour=23/a.parquet",
                "lake/_index/traces/tenant=acme/dt=2026-05-10/hour=05/a.parquet",
                "lake/_index/traces/tenant=hooli/dt=2026-06-08/hour=23/a.parquet",
                "lake/_index/traces/tenant=hooli/dt=2026-06-08/rollup.parquet",
                "lake/_index/traces/tenant=initech/dt=2026-03-11/hour=05/a.parquet",
                // the index files of an expired hour go with it, before their day is over
                "lake/_index/traces/tenant=acme/dt=2026-05-11/hour=11/a.parquet",
                "lake/_index/traces/tenant=initech/dt=2026-03-12/hour=11/a.parquet");
        List<String> kept = List.of(
                "lake/traces/tenant=acme/dt=2020-01-01/notes.txt", // not in an hour folder
                "lake/traces/tenant=acme/dt=2026-05-11/hour=12/a.parquet", // ends an hour after the cut-off
                "lake/traces/tenant=bad.name/dt=2020-01-01/hour=00/a.parquet", // not a tenant id
                "lake/traces/tenant=globex/dt=2026-01-05/hour=03/a.parquet", // 90 days would delete it
                "lake/traces/tenant=initech/dt=2026-03-12/hour=12/a.parquet",
                "lake/traces/tenant=initech/dt=2026-06-10/hour=11/a.parquet",
                "lake/logs/tenant=acme/dt=2020-01-01/hour=24/a.parquet", // malformed hours and day
                "lake/logs/tenant=acme/dt=2020-01-01/hour=7/a.parquet",
                "lake/logs/tenant=acme/dt=2020-13-01/hour=00/a.parquet",
                "lake/logs/tenant=hooli/dt=2026-06-09/hour=00/a.parquet",
                "lake/metrics/tenant=initech/dt=2026-03-13/hour=00/a.parquet",
                "lake/_index/traces/tenant=acme/dt=2026-05-11/hour=12/a.parquet", // its hour is not over
                "lake/_index/traces/tenant=acme/dt=2026-05-11/rollup.parquet", // names every hour: goes with the day
                "lake/_index/traces/tenant=hooli/dt=2026-06-09/hour=00/a.parquet",
                "lake/_index/traces/tenant=initech/dt=2026-03-12/hour=12/a.parquet",
                // outside the signal and trace index folders, however old
                "lake/_manifests/traces-x/0.json",
                "lake/_deadletter/topic=otlp-traces/partition=0/0.json",
                "lake/_quarantine/traces/tenant=acme/q.parquet",
                "lake/_index/logs/tenant=acme/dt=2020-01-01/hour=00/a.parquet",
                "lake/traces/readme.txt",
                "other/traces/tenant=acme/dt=2020-01-01/hour=00/a.parquet");
        for (String key : expired) {
            put(key, 10);
        }
        for (String key : kept) {
            put(key, 10);
        }
        put("lake/traces/tenant=acme/dt=2026-04-01/hour=00/a.parquet", 3);
        put("lake/traces/tenant=acme/dt=2026-04-01/hour=00/b.parquet", 5);

        Retention retention = new Retention(
                store,
                new LakeLayout("lake"),
                Retention.DEFAULT_RETENTION,
                Retention.parseOverrides("acme=30d, globex=365d, hooli=36h"),
                NOW);
        Retention.RunResult result = retention.run();

        assertThat(keys()).containsExactlyInAnyOrderElementsOf(kept);
        assertThat(auditLines.list)
                .extracting(ILoggingEvent::getFormattedMessage)
                .containsExactly(
                        line("acme", "traces", "dt=2026-04-01/hour=00", 2, 8),
                        line("acme", "traces", "dt=2026-05-11/hour=11", 1, 10),
                        line("globex", "traces", "dt=2025-06-10/hour=11", 1, 10),
                        line("initech", "traces", "dt=2026-03-12/hour=11", 1, 10),
                        line("acme", "logs", "dt=2020-01-01/hour=00", 1, 10),
                        line("hooli", "logs", "dt=2026-06-08/hour=23", 1, 10),
                        line("initech", "metrics", "dt=2025-12-31/hour=23", 1, 10),
                        line("acme", "_index/traces", "dt=2026-05-10", 1, 10),
                        line("acme", "_index/traces", "dt=2026-05-11/hour=11", 1, 10),
                        line("hooli", "_index/traces", "dt=2026-06-08", 2, 20),
                        line("initech", "_index/traces", "dt=2026-03-11", 1, 10),
                        line("initech", "_index/traces", "dt=2026-03-12/hour=11", 1, 10));
        assertThat(result).isEqualTo(new Retention.RunResult(7, 5, 14, 128, 4));

        auditLines.list.clear();
        assertThat(retention.run())
                .as("a second run finds nothing more to delete")
                .isEqualTo(new Retention.RunResult(0, 0, 0, 0, 4));
        assertThat(auditLines.list).isEmpty();
        assertThat(keys()).containsExactlyInAnyOrderElementsOf(kept);
    }

    /**
     * Quarantine and dead letters have no event hour in their keys: they go by the time they were written, quarantine
     * by its tenant's retention, dead letters by the longest any tenant has.
     */
    @Test
    void quarantineAndDeadLettersGoByTheirAgeAndTheirTenantsRetention() {
        List<String> quarantine = List.of(
                "lake/_quarantine/traces/tenant=acme/q1.parquet", // 30 days
                "lake/_quarantine/logs/tenant=acme/q2.parquet",
                "lake/_quarantine/metrics/tenant=initech/q3.parquet", // the default, 90 days
                "lake/_quarantine/traces/tenant=globex/q4.parquet"); // 365 days
        quarantine.forEach(key -> put(key, 10));
        put("lake/_deadletter/topic=otlp-traces/partition=0/7.json", 20);
        put("lake/_manifests/traces-x/0.json", 10);
        Instant written = Instant.now();
        Map<String, Duration> overrides = Retention.parseOverrides("acme=30d, globex=365d");

        Instant later = written.plus(Duration.ofDays(100));
        Retention.RunResult first = new Retention(
                        store,
                        new LakeLayout("lake"),
                        Retention.DEFAULT_RETENTION,
                        overrides,
                        Clock.fixed(later, ZoneOffset.UTC))
                .run();

        assertThat(keys())
                .containsExactlyInAnyOrder(
                        "lake/_quarantine/traces/tenant=globex/q4.parquet",
                        "lake/_deadletter/topic=otlp-traces/partition=0/7.json",
                        "lake/_manifests/traces-x/0.json");
        assertThat(auditLines.list)
                .extracting(ILoggingEvent::getFormattedMessage)
                .containsExactly(
                        line("acme", "_quarantine/traces", "written-before=" + later.minus(Duration.ofDays(30)), 1, 10),
                        line("acme", "_quarantine/logs", "written-before=" + later.minus(Duration.ofDays(30)), 1, 10),
                        line(
                                "initech",
                                "_quarantine/metrics",
                                "written-before=" + later.minus(Duration.ofDays(90)),
                                1,
                                10));
        assertThat(first).isEqualTo(new Retention.RunResult(0, 0, 3, 30, 0));

        auditLines.list.clear();
        Instant muchLater = written.plus(Duration.ofDays(400));
        new Retention(
                        store,
                        new LakeLayout("lake"),
                        Retention.DEFAULT_RETENTION,
                        overrides,
                        Clock.fixed(muchLater, ZoneOffset.UTC))
                .run();

        assertThat(keys()).containsExactly("lake/_manifests/traces-x/0.json");
        assertThat(auditLines.list)
                .extracting(ILoggingEvent::getFormattedMessage)
                .containsExactly(
                        line(
                                "globex",
                                "_quarantine/traces",
                                "written-before=" + muchLater.minus(Duration.ofDays(365)),
                                1,
                                10),
                        line("-", "_deadletter", "written-before=" + muchLater.minus(Duration.ofDays(365)), 1, 20));
    }

    @Test
    void anEmptyPrefixLakeIsHandledTheSameWay() {
        put("traces/tenant=acme/dt=2026-01-01/hour=00/a.parquet", 10);
        put("traces/tenant=acme/dt=2026-06-10/hour=11/a.parquet", 10);
        put("_index/traces/tenant=acme/dt=2026-01-01/hour=00/a.parquet", 10);
        put("_manifests/traces/0.json", 10);

        Retention.RunResult result = new Retention(store, new LakeLayout(""), Duration.ofDays(90), Map.of(), NOW).run();

        assertThat(keys())
                .containsExactlyInAnyOrder(
                        "traces/tenant=acme/dt=2026-06-10/hour=11/a.parquet", "_manifests/traces/0.json");
        assertThat(result).isEqualTo(new Retention.RunResult(1, 1, 2, 20, 0));
    }

    @Test
    void twoArchiversTakeTurnsSoEachPartitionIsDeletedAndAuditedOnce() throws Exception {
        AtomicLong nanoTime = new AtomicLong();
        Retention a = withLease("archiver-a", nanoTime);
        Retention b = withLease("archiver-b", nanoTime);
        put("lake/traces/tenant=acme/dt=2026-01-01/hour=00/a.parquet", 10);

        // Both start a run at the same moment: S3 lets one of them create the retention lease.
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        Future<Retention.RunResult> ranA = pool.submit(() -> {
            start.await();
            return a.run();
        });
        Future<Retention.RunResult> ranB = pool.submit(() -> {
            start.await();
            return b.run();
        });
        start.countDown();
        List<Retention.RunResult> results = List.of(ranA.get(), ranB.get());
        pool.shutdown();
        assertThat(results)
                .containsExactlyInAnyOrder(new Retention.RunResult(1, 0, 1, 10, 0), Retention.RunResult.SKIPPED);
        assertThat(auditLines.list)
                .extracting(ILoggingEvent::getFormattedMessage)
                .containsExactly(line("acme", "traces", "dt=2026-01-01/hour=00", 1, 10));
        Retention holder = results.get(0).skipped() ? b : a;
        Retention other = holder == a ? b : a;

        // While the holder's lease lasts, the other archiver's runs are skipped: the next expired hour is the holder's.
        auditLines.list.clear();
        put("lake/logs/tenant=acme/dt=2026-01-02/hour=00/a.parquet", 10);
        nanoTime.addAndGet(Lease.TTL.minus(Lease.RENEW_BELOW).toNanos() - 1);
        assertThat(other.run()).isEqualTo(Retention.RunResult.SKIPPED);
        assertThat(store.list("lake/logs/"))
                .extracting(S3Store.Listed::key)
                .containsExactly("lake/logs/tenant=acme/dt=2026-01-02/hour=00/a.parquet");
        assertThat(auditLines.list).isEmpty();
        assertThat(holder.run()).isEqualTo(new Retention.RunResult(1, 0, 1, 10, 0));
        assertThat(auditLines.list)
                .extracting(ILoggingEvent::getFormattedMessage)
                .containsExactly(line("acme", "logs", "dt=2026-01-02/hour=00", 1, 10));

        // The holder stops (killed, say): a lease left unrenewed for its whole term is the other archiver's.
        auditLines.list.clear();
        put("lake/metrics/tenant=acme/dt=2026-01-03/hour=00/a.parquet", 10);
        assertThat(other.run()).as("the holder renewed the lease just now").isEqualTo(Retention.RunResult.SKIPPED);
        nanoTime.addAndGet(Lease.TTL.toNanos());
        assertThat(other.run()).isEqualTo(new Retention.RunResult(1, 0, 1, 10, 0));
        assertThat(auditLines.list)
                .extracting(ILoggingEvent::getFormattedMessage)
                .containsExactly(line("acme", "metrics", "dt=2026-01-03/hour=00", 1, 10));
        assertThat(holder.run()).as("taken over").isEqualTo(Retention.RunResult.SKIPPED);
    }

    @Test
    void objectsDeletedByARunThatFailsHalfwayAreCountedInTheMetrics(@TempDir Path dir) {
        // an S3 server of this test's own, which stops right after the first partition is deleted
        S3Server own = S3Server.startOnFreePorts(dir.resolve("data"));
        ListAppender<ILoggingEvent> stopper = new ListAppender<>() {
            @Override
            protected void append(ILoggingEvent event) {
                super.append(event);
                own.stop();
            }
        };
        try (S3Store ownStore = new S3Store(ArchiverConfig.fromEnvironment(Map.of(
                "OTEL_LAKE_S3_ENDPOINT", own.endpoint().toString(),
                "OTEL_LAKE_S3_BUCKET", bucket,
                "OTEL_LAKE_S3_ACCESS_KEY", own.accessKey(),
                "OTEL_LAKE_S3_SECRET_KEY", own.secretKey())))) {
            ownStore.ensureBucket();
            ownStore.putJson("lake/traces/tenant=acme/dt=2026-01-01/hour=00/a.parquet", new byte[10]);
            ownStore.putJson("lake/traces/tenant=acme/dt=2026-01-01/hour=00/b.parquet", new byte[5]);
            ownStore.putJson("lake/traces/tenant=acme/dt=2026-01-01/hour=01/a.parquet", new byte[10]);
            ArchiverMetrics metrics = new ArchiverMetrics();
            Retention retention = new Retention(
                    ownStore, new LakeLayout("lake"), Retention.DEFAULT_RETENTION, Map.of(), NOW, null, metrics);
            stopper.start();
            ((Logger) LoggerFactory.getLogger(Retention.AUDIT_LOGGER)).addAppender(stopper);

            assertThatThrownBy(retention::run).isInstanceOf(S3Store.ArchiveUploadException.class);

            assertThat(stopper.list)
                    .extracting(ILoggingEvent::getFormattedMessage)
                    .hasSize(2)
                    .first()
                    .isEqualTo(line("acme", "traces", "dt=2026-01-01/hour=00", 2, 15));
            assertThat(stopper.list.get(1).getFormattedMessage())
                    .startsWith(line("acme", "traces", "dt=2026-01-01/hour=01", 0, 0) + " error=listing");
            assertThat(metrics.scrape())
                    .as("the two objects deleted before S3 stopped, as the audit line says")
                    .contains("otel_lake_archiver_retention_deleted_objects_total{kind=\"traces\"} 2\n")
                    .contains("otel_lake_archiver_retention_deleted_bytes_total{kind=\"traces\"} 15\n");
        } finally {
            ((Logger) LoggerFactory.getLogger(Retention.AUDIT_LOGGER)).detachAppender(stopper);
            own.close();
        }
    }

    private Retention withLease(String owner, AtomicLong nanoTime) {
        Lease lease = new Lease(Lease.Kind.RETENTION, store, "lake/", owner, NOW, nanoTime::get);
        return new Retention(store, new LakeLayout("lake"), Retention.DEFAULT_RETENTION, Map.of(), NOW, lease);
    }

    private static String line(String tenant, String signal, String partition, int objects, long bytes) {
        return "action=retention-delete tenant=" + tenant + " signal=" + signal + " partition=" + partition
                + " objects=" + objects + " bytes=" + bytes;
    }

    private void put(String key, int bytes) {
        store.putJson(key, "x".repeat(bytes).getBytes(StandardCharsets.US_ASCII));
    }

    private List<String> keys() {
        return store.list("").stream().map(S3Store.Listed::key).toList();
    }
}
