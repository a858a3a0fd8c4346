package io.otellake.archiver;

import static io.otellake.archiver.ArchiverIT.logRequest;
import static io.otellake.archiver.ArchiverIT.traceRequest;
import static org.assertj.core.api.Assertions.assertThat;

import io.otellake.schemas.Signal;
import io.otellake.schemas.SpanFlattener;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;

/** The compactor against a live archiver, a real Kafka broker and a real S3 server, with a reader running alongside. */
class CompactionIT {
    private static final long HOUR_NANOS = 3_600_000_000_000L;

    @TempDir
    Path spool;

    private TestLake lake;
    private Archiver archiver;

    @BeforeEach
    void setUp() throws Exception {
        lake = new TestLake();
        // files cut every 300 ms: each round of records below becomes files of its own
        archiver = new Archiver(lake.config(spool.resolve("archiver"), Duration.ofMillis(300)));
        archiver.prepare();
        new Thread(archiver, "archiver-under-test").start();
    }

    @AfterEach
    void tearDown() {
        archiver.close();
        lake.close();
    }

    @Test
    void closedHoursBecomeOneSortedFileWhileAReaderSeesEveryRowExactlyOnce() throws Exception {
        Instant now = Instant.now();
        long closedHour = hourStart(now.minus(Duration.ofHours(3)));
        long closedDay = hourStart(now.minus(Duration.ofHours(50)));
        long openHour = hourStart(now);
        Set<String> closedHourSpans = new HashSet<>();
        Set<String> others = new HashSet<>();
        long tracesSent = 0;
        for (int round = 0; round < 5; round++) {
            for (int i = 0; i < 4; i++) {
                lake.send(
                        lake.traces,
                        "acme",
                        traceRequest("checkout", closedHour + round * 1_000_000L + i, 5, closedHourSpans)
                                .toByteArray());
            }
            lake.send(
                    lake.traces,
                    "acme",
                    traceRequest("late", closedDay + round, 3, others).toByteArray());
            if (round < 2) {
                lake.send(
                        lake.traces,
                        "acme",
                        traceRequest("now", openHour + round, 2, others).toByteArray());
            }
            for (int i = 0; i < 2; i++) {
                lake.send(
                        lake.logs,
                        "acme",
                        logRequest("svc-" + i, closedHour + round, "line " + round + "-" + i)
                                .toByteArray());
            }
            // each round committed before the next: every round is a batch of files of its own
            tracesSent += round < 2 ? 6 : 5;
            lake.awaitCommitted(lake.traces, tracesSent);
            lake.awaitCommitted(lake.logs, 2L * (round + 1));
        }
        assertThat(tracesSent).isEqualTo(27);

        String spanHour = "lake/" + folder(Signal.TRACES, closedHour);
        String logHour = "lake/" + folder(Signal.LOGS, closedHour);
        String openSpanHour = "lake/" + folder(Signal.TRACES, openHour);
        assertThat(lake.listKeys(spanHour)).hasSizeGreaterThanOrEqualTo(5);
        List<String> openHourFiles = lake.listKeys(openSpanHour);
        assertThat(openHourFiles).hasSizeGreaterThanOrEqualTo(2);

        // A file of a batch that is not committed yet (offsets beyond the group's): compaction must leave it alone.
        Set<String> uncommittedSpan = new HashSet<>();
        List<GenericRecord> rows =
                SpanFlattener.flatten(traceRequest("pending", closedHour, 1, uncommittedSpan)).stream()
                        .map(r -> r.record())
                        .toList();
        Path pending = spool.resolve("pending.parquet");
        ParquetFiles.write(Signal.TRACES, rows, pending);
        String pendingKey = spanHour + lake.traces + "+0+999.parquet";
        Map<String, String> batch = Map.of("otel-lake-source", lake.traces + "-0", "otel-lake-offsets", "999-1000");
        lake.s3.putObject(b -> b.bucket(lake.bucket).key(pendingKey).metadata(batch), RequestBody.fromFile(pending));
        TraceIndex.write(TraceIndex.entries(rows), pending);
        lake.s3.putObject(
                b -> b.bucket(lake.bucket).key(TraceIndex.indexKey("lake/", pendingKey)),
                RequestBody.fromFile(pending));
        closedHourSpans.addAll(uncommittedSpan);

        // A compactor that crashed after uploading a compacted copy of one log file, before deleting that file.
        String crashedInput = lake.listKeys(logHour).get(0);
        Path copy = lake.download(List.of(crashedInput), spool.resolve("copy")).resolve(crashedInput);
        String inputName = crashedInput.substring(logHour.length());
        lake.s3.putObject(
                b -> b.bucket(lake.bucket)
                        .key(logHour + Compactor.COMPACTED_PREFIX + "1-abcdef.parquet")
                        .metadata(Map.of(Compactor.S3_COMPACTED_FROM, inputName)),
                RequestBody.fromFile(copy));

        Reader reader = new Reader(spanHour);
        Thread readerThread = new Thread(reader, "reader");
        readerThread.start();
        reader.awaitSnapshots(2);
        Compactor.Pass pass;
        ArchiverMetrics compactorMetrics = new ArchiverMetrics();
        ArchiverMetrics rivalMetrics = new ArchiverMetrics();
        try (Compactor compactor =
                        lake.compactor(spool.resolve("compactor"), null, Clock.systemUTC(), compactorMetrics);
                Compactor rival = lake.compactor(spool.resolve("rival"), null, Clock.systemUTC(), rivalMetrics)) {
            // Two archivers with compaction on, passing at the same moment: one holds the lease and compacts, the
            // other does nothing (without the lease both would merge the hour, and readers would see it twice).
            CompletableFuture<Compactor.Pass> rivalPass = CompletableFuture.supplyAsync(rival::runOnce);
            Compactor.Pass ownPass = compactor.runOnce();
            Compactor.Pass otherPass = rivalPass.get(5, TimeUnit.MINUTES);
            Compactor.Pass nothing = new Compactor.Pass(0, 0, 0, 0);
            assertThat(List.of(ownPass, otherPass))
                    .as("exactly one of the two passes did the work")
                    .containsOnlyOnce(nothing);
            pass = ownPass.equals(nothing) ? otherPass : ownPass;
            Compactor holder = ownPass.equals(nothing) ? rival : compactor;
            String skipped = "otel_lake_archiver_maintenance_runs_total{task=\"compaction\",outcome=\"skipped\"} 1";
            String done = "otel_lake_archiver_maintenance_runs_total{task=\"compaction\",outcome=\"ok\"} 1";
            assertThat(List.of(compactorMetrics.scrape(), rivalMetrics.scrape()))
                    .as("the one without the lease counts its pass as skipped, the other as done")
                    .satisfiesExactlyInAnyOrder(
                            m -> assertThat(m).contains(skipped).doesNotContain("outcome=\"ok\""),
                            m -> assertThat(m).contains(done).doesNotContain("outcome=\"skipped\""));
            reader.awaitSnapshots(reader.snapshots.get() + 2);
            reader.stop.set(true);
            readerThread.join();

            assertThat(reader.wrong)
                    .as("reader snapshots that missed or repeated a span")
                    .isEmpty();
            assertThat(reader.expected).containsExactlyInAnyOrderElementsOf(closedHourSpans);
            List<String> spanFiles = lake.listKeys(spanHour);
            assertThat(spanFiles).hasSize(2).contains(pendingKey);
            String compacted = spanFiles.stream()
                    .filter(k -> !k.equals(pendingKey))
                    .findFirst()
                    .orElseThrow();
            assertThat(compacted).startsWith(spanHour + Compactor.COMPACTED_PREFIX);
            assertThat(lake.listKeys(logHour)).singleElement().satisfies(k -> assertThat(k)
                    .startsWith(logHour + Compactor.COMPACTED_PREFIX));
            assertThat(lake.listKeys("lake/" + folder(Signal.TRACES, closedDay)))
                    .singleElement()
                    .satisfies(k -> assertThat(k).contains(Compactor.COMPACTED_PREFIX));
            assertThat(lake.listKeys(openSpanHour)).as("the open hour").isEqualTo(openHourFiles);
            String indexDay = "lake/" + TraceIndex.FOLDER + "tenant=acme/dt=" + day(closedDay) + "/";
            assertThat(lake.listKeys(indexDay)).singleElement().satisfies(k -> assertThat(k)
                    .startsWith(indexDay + Compactor.COMPACTED_PREFIX));

            Path local = lake.download(lake.listKeys("lake/"), spool.resolve("after"));
            try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
                    Statement st = c.createStatement()) {
                String file = "read_parquet('" + local.resolve(compacted) + "')";
                try (ResultSet rs = st.executeQuery("SELECT count(*), count(DISTINCT span_id) FROM " + file)) {
                    rs.next();
                    assertThat(rs.getLong(1)).isEqualTo(100);
                    assertThat(rs.getLong(2)).isEqualTo(100);
                }
                try (ResultSet rs = st.executeQuery("SELECT count(*) FROM (SELECT trace_id, lag(trace_id) OVER ()"
                        + " AS previous FROM " + file + ") WHERE previous > trace_id")) {
                    rs.next();
                    assertThat(rs.getLong(1)).as("rows out of trace id order").isZero();
                }
                try (ResultSet rs = st.executeQuery("SELECT value FROM parquet_kv_metadata('" + local.resolve(compacted)
                        + "') WHERE key = '" + Compactor.COMPACTED_FROM_KEY + "'")) {
                    assertThat(rs.next())
                            .as("compacted files name their inputs")
                            .isTrue();
                }
                String logs = "read_parquet('" + local.resolve("lake/logs") + "/**/*.parquet')";
                try (ResultSet rs = st.executeQuery("SELECT count(*), count(DISTINCT body) FROM " + logs)) {
                    rs.next();
                    assertThat(rs.getLong(1))
                            .as("log records, the crashed copy's input deleted")
                            .isEqualTo(10);
                    assertThat(rs.getLong(2)).isEqualTo(10);
                }
                assertThat(ArchiverCrashIT.indexMismatches(st, local.resolve("lake")))
                        .isZero();
            }
            assertThat(pass.filesMerged()).isGreaterThanOrEqualTo(5 + 5 + 5);
            assertThat(pass.indexDaysRolledUp()).isGreaterThanOrEqualTo(1);
            assertThat(holder.runOnce())
                    .as("a second pass finds nothing to do")
                    .isEqualTo(new Compactor.Pass(0, 0, 0, 0));
        }
    }

    private Compactor compactor(String name) {
        return lake.compactor(spool.resolve(name));
    }

    /**
     * Reads the hour as a reader of the lake should: list it, ignore the files that a listed compacted file names as
     * its inputs, read the rest. Every snapshot must hold each span exactly once.
     */
    private final class Reader implements Runnable {
        final String folder;
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicInteger snapshots = new AtomicInteger();
        final List<String> wrong = new CopyOnWriteArrayList<>();
        volatile List<String> expected = List.of();

        Reader(String folder) {
            this.folder = folder;
        }

        @Override
        public void run() {
            try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
                    Statement st = c.createStatement()) {
                int n = 0;
                while (!stop.get()) {
                    List<String> spans = snapshot(st, spool.resolve("reader-" + n++));
                    if (spans == null) {
                        continue; // a listed file was deleted before it was read: list again
                    }
                    if (expected.isEmpty()) {
                        expected = spans;
                    }
                    if (spans.size() != expected.size() || !new HashSet<>(spans).equals(new HashSet<>(expected))) {
                        wrong.add(spans.size() + " spans, " + new HashSet<>(spans).size() + " distinct");
                    }
                    snapshots.incrementAndGet();
                }
            } catch (Exception e) {
                wrong.add("reader failed: " + e);
            }
        }

        private List<String> snapshot(Statement st, Path dir) throws Exception {
            // Only *.parquet, as the query API reads: a listing may show an upload still in progress under a
            // temporary name (S3Proxy's filesystem backend writes "<key>-<uuid>" and renames it when complete).
            List<String> keys = new ArrayList<>(lake.listKeys(folder).stream()
                    .filter(k -> k.endsWith(".parquet"))
                    .toList());
            Set<String> replaced = new HashSet<>();
            for (String key : keys) {
                if (key.substring(folder.length()).startsWith(Compactor.COMPACTED_PREFIX)) {
                    try {
                        String from = lake.s3
                                .headObject(b -> b.bucket(lake.bucket).key(key))
                                .metadata()
                                .get(Compactor.S3_COMPACTED_FROM);
                        for (String name : from.split(",")) {
                            replaced.add(folder + name);
                        }
                    } catch (NoSuchKeyException e) {
                        return null;
                    }
                }
            }
            keys.removeAll(replaced);
            List<String> spans = new ArrayList<>();
            for (String key : keys) {
                Path file;
                try {
                    file = lake.download(List.of(key), dir).resolve(key);
                } catch (NoSuchKeyException e) {
                    return null;
                }
                try (ResultSet rs = st.executeQuery("SELECT span_id FROM read_parquet('" + file + "')")) {
                    while (rs.next()) {
                        spans.add(rs.getString(1));
                    }
                }
            }
            return spans;
        }

        void awaitSnapshots(int count) throws InterruptedException {
            TestLake.await(
                    count + " reader snapshots",
                    Duration.ofSeconds(60),
                    () -> snapshots.get() >= count || !wrong.isEmpty());
        }
    }

    private static long hourStart(Instant t) {
        return t.getEpochSecond() / 3600 * 3600 * 1_000_000_000L + 600_000_000_000L; // ten past the hour
    }

    private static String day(long nanos) {
        return ZonedDateTime.ofInstant(Instant.ofEpochSecond(nanos / 1_000_000_000L), ZoneOffset.UTC)
                .toLocalDate()
                .toString();
    }

    private static String folder(Signal signal, long nanos) {
        ZonedDateTime t = ZonedDateTime.ofInstant(Instant.ofEpochSecond(nanos / 1_000_000_000L), ZoneOffset.UTC);
        return signal.pathSegment() + "/tenant=acme/dt=" + t.toLocalDate() + "/hour="
                + String.format("%02d", t.getHour()) + "/";
    }

    static {
        // keeps HOUR_NANOS meaningful for readers of this class: hours are what compaction is about
        assert HOUR_NANOS == 3_600_000_000_000L;
    }
}
