package io.otellake.archiver;

import static io.otellake.archiver.ArchiverIT.logRequest;
import static io.otellake.archiver.ArchiverIT.traceRequest;
import static org.assertj.core.api.Assertions.assertThat;

import io.otellake.schemas.FlatRow;
import io.otellake.schemas.LogFlattener;
import io.otellake.schemas.Signal;
import io.otellake.schemas.SpanFlattener;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.io.LocalInputFile;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;

/**
 * Objects the archiver did not write, in folders the compactor reads: each must be left alone, and must not keep the
 * compactor from compacting every other hour, pass after pass.
 */
class CompactorStrayObjectsIT {
    @TempDir
    Path spool;

    private TestLake lake;
    private String day;
    private String logHour;

    @BeforeEach
    void setUp() throws Exception {
        lake = new TestLake();
        lake.s3.createBucket(b -> b.bucket(lake.bucket));
        LocalDate yesterday = Instant.now().atZone(ZoneOffset.UTC).toLocalDate().minusDays(1);
        day = yesterday.toString();
        logHour = "lake/logs/tenant=acme/dt=" + day + "/hour=05/";
        // two committed batches of the logs topic's partition 0, one file each
        try (Admin admin =
                Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, lake.kafka.bootstrapServers()))) {
            admin.alterConsumerGroupOffsets(
                            lake.group, Map.of(new TopicPartition(lake.logs, 0), new OffsetAndMetadata(2)))
                    .all()
                    .get();
        }
        long hourNanos = yesterday.atTime(5, 10).toInstant(ZoneOffset.UTC).toEpochMilli() * 1_000_000L;
        for (int offset = 0; offset < 2; offset++) {
            List<org.apache.avro.generic.GenericRecord> rows =
                    LogFlattener.flatten(logRequest("svc", hourNanos + offset, "line " + offset)).stream()
                            .map(FlatRow::record)
                            .toList();
            Path file = spool.resolve("log-" + offset + ".parquet");
            ParquetFiles.write(Signal.LOGS, rows, file);
            String key = logHour + lake.logs + "+0+" + offset + "+0000000" + offset + ".parquet";
            Map<String, String> batch =
                    Map.of("otel-lake-source", lake.logs + "-0", "otel-lake-offsets", offset + "-" + offset);
            lake.s3.putObject(b -> b.bucket(lake.bucket).key(key).metadata(batch), RequestBody.fromFile(file));
        }
    }

    @AfterEach
    void tearDown() {
        lake.close();
    }

    @Test
    void aFolderNamedLikeAnHourThatNoDayHasIsLeftAloneAndTheOtherHoursAreCompacted() {
        // hour=24 and hour=99 match hour=<two digits> but are no hour of a day; traces are compacted before logs
        String hour24 = "lake/traces/tenant=acme/dt=" + day + "/hour=24/x.parquet";
        String hour99 = "lake/metrics/tenant=acme/dt=" + day + "/hour=99/x.parquet";
        // folders inside an hour folder that end like one: a day that does not exist stopped every pass, and a real
        // one was taken for an hour of its own
        String noSuchDay = "lake/metrics/tenant=acme/dt=" + day + "/hour=05/x/dt=2026-02-30/hour=05/x.parquet";
        String nested = "lake/metrics/tenant=acme/dt=" + day + "/hour=05/copy/dt=" + day + "/hour=05/x.parquet";
        put(hour24, "not an hour");
        put(hour99, "not an hour");
        put(noSuchDay, "not an hour");
        put(nested, "not an hour");

        try (Compactor compactor = compactor()) {
            Compactor.Pass pass = compactor.runOnce();

            assertThat(pass).isEqualTo(new Compactor.Pass(1, 2, 1, 0));
        }
        assertThat(lake.listKeys(logHour)).singleElement().satisfies(k -> assertThat(k)
                .startsWith(logHour + Compactor.COMPACTED_PREFIX));
        assertThat(lake.listKeys("lake/traces/")).containsExactly(hour24);
        assertThat(lake.listKeys("lake/metrics/")).containsExactlyInAnyOrder(hour99, noSuchDay, nested);
    }

    @Test
    void aParquetNamedObjectThatIsNoFileOfTheHoursSchemaIsLeftOutAndTheRestIsMerged() throws Exception {
        // no batch metadata, so it counts as committed: an object someone copied in, or a truncated download
        String notParquet = logHour + "upload.parquet";
        put(notParquet, "PAR1 but not Parquet");
        // a real Parquet file, of the trace index's schema instead of the logs'
        Path index = spool.resolve("index.parquet");
        TraceIndex.write(List.of(), index);
        String otherSchema = logHour + "v.parquet";
        lake.s3.putObject(b -> b.bucket(lake.bucket).key(otherSchema), RequestBody.fromFile(index));

        try (Compactor compactor = compactor()) {
            assertThat(compactor.runOnce()).isEqualTo(new Compactor.Pass(1, 2, 1, 0));
            assertThat(compactor.runOnce())
                    .as("a second pass leaves the strays alone again")
                    .isEqualTo(new Compactor.Pass(0, 0, 0, 0));
        }
        List<String> keys = lake.listKeys(logHour);
        assertThat(keys).hasSize(3).contains(notParquet, otherSchema);
        assertThat(keys)
                .filteredOn(k -> k.startsWith(logHour + Compactor.COMPACTED_PREFIX))
                .hasSize(1);
    }

    @Test
    void aFileThatFailsToReadHalfwayThroughTheMergeIsLeftOutAndLaterHoursAreStillCompacted() throws Exception {
        // A span file whose first row groups read well and a later one does not (bytes damaged on the way, say): the
        // merge fails only after it began. Traces are compacted before logs.
        String spanHour = "lake/traces/tenant=acme/dt=" + day + "/hour=05/";
        long hourNanos =
                LocalDate.parse(day).atTime(5, 10).toInstant(ZoneOffset.UTC).toEpochMilli() * 1_000_000L;
        List<org.apache.avro.generic.GenericRecord> rows = new java.util.ArrayList<>(
                SpanFlattener.flatten(traceRequest("svc", hourNanos, 2000, new java.util.HashSet<>())).stream()
                        .map(FlatRow::record)
                        .toList());
        HourFile.sort(Signal.TRACES, rows);
        Path damaged = spool.resolve("damaged.parquet");
        ParquetFiles.write(Signal.TRACES, rows, damaged, 1024, ParquetFiles.ZSTD_LEVEL);
        long thirdRowGroup;
        try (ParquetFileReader reader = ParquetFileReader.open(new LocalInputFile(damaged))) {
            assertThat(reader.getFooter().getBlocks()).hasSizeGreaterThan(3);
            thirdRowGroup = reader.getFooter().getBlocks().get(3).getStartingPos();
        }
        try (java.nio.channels.FileChannel f =
                java.nio.channels.FileChannel.open(damaged, java.nio.file.StandardOpenOption.WRITE)) {
            f.write(java.nio.ByteBuffer.wrap(new byte[64]), thirdRowGroup);
        }
        Path good = spool.resolve("good.parquet");
        ParquetFiles.write(Signal.TRACES, rows.subList(0, 10), good);
        lake.s3.putObject(b -> b.bucket(lake.bucket).key(spanHour + "a.parquet"), RequestBody.fromFile(damaged));
        lake.s3.putObject(b -> b.bucket(lake.bucket).key(spanHour + "b.parquet"), RequestBody.fromFile(good));

        try (Compactor compactor = compactor()) {
            assertThat(compactor.runOnce()).isEqualTo(new Compactor.Pass(1, 2, 1, 0));
        }
        assertThat(lake.listKeys(spanHour)).containsExactly(spanHour + "a.parquet", spanHour + "b.parquet");
        assertThat(lake.listKeys(logHour)).singleElement().satisfies(k -> assertThat(k)
                .startsWith(logHour + Compactor.COMPACTED_PREFIX));
    }

    @Test
    void anHourThatTheTenantsRetentionDeletesIsNotCompacted() {
        // yesterday's 05:00-06:00 is past a retention of 12 hours at any time of today; another tenant keeps 90 days.
        // Only the policy: retention itself may run in another archiver, deleting the hour while this one compacts.
        RetentionPolicy retention = new RetentionPolicy(Duration.ofDays(90), Map.of("acme", Duration.ofHours(12)));
        String otherHour = logHour.replace("tenant=acme", "tenant=globex");
        List<String> acmeKeys = lake.listKeys(logHour);
        for (String key : acmeKeys) {
            lake.s3.copyObject(b -> b.sourceBucket(lake.bucket)
                    .sourceKey(key)
                    .destinationBucket(lake.bucket)
                    .destinationKey(key.replace("tenant=acme", "tenant=globex")));
        }

        try (Compactor compactor = lake.compactor(spool.resolve("compactor"), retention)) {
            assertThat(compactor.runOnce())
                    .as("only globex's hour, which it keeps for 90 days")
                    .isEqualTo(new Compactor.Pass(1, 2, 1, 0));
        }
        assertThat(lake.listKeys(logHour)).isEqualTo(acmeKeys);
        assertThat(lake.listKeys(otherHour)).singleElement().satisfies(k -> assertThat(k)
                .startsWith(otherHour + Compactor.COMPACTED_PREFIX));
    }

    @Test
    void anHourThatExpiresWhileAPassRunsIsNotCompacted() {
        // A pass over many tenants and hours can run for longer than the margin. Here each look at the clock is 90
        // minutes after the one before: the lease's, the pass's start, then whatever the pass reads before it merges.
        Instant start = Instant.now();
        AtomicLong reads = new AtomicLong();
        Clock slowPass = new Clock() {
            @Override
            public Instant instant() {
                return start.plus(Duration.ofMinutes(90).multipliedBy(reads.getAndIncrement()));
            }

            @Override
            public ZoneOffset getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                throw new UnsupportedOperationException();
            }
        };
        // acme's retention makes yesterday's 05:00-06:00 expire 3 h 15 min after the pass's first look at the clock:
        // 1 h 45 min after the pass started, more than the margin of an hour, and 15 min before it reaches the hour
        Instant hourEnd = LocalDate.parse(day).atTime(6, 0).toInstant(ZoneOffset.UTC);
        Duration acme = Duration.between(hourEnd, start).plus(Duration.ofMinutes(195));
        RetentionPolicy retention = new RetentionPolicy(Duration.ofDays(90), Map.of("acme", acme));
        List<String> acmeKeys = lake.listKeys(logHour);

        try (Compactor compactor =
                lake.compactor(spool.resolve("compactor"), retention, slowPass, new ArchiverMetrics())) {
            compactor.runOnce();
        }
        assertThat(lake.listKeys(logHour))
                .as("an hour that retention deletes by the time the pass merges it")
                .isEqualTo(acmeKeys);
    }

    private void put(String key, String text) {
        lake.s3.putObject(b -> b.bucket(lake.bucket).key(key), RequestBody.fromString(text, StandardCharsets.UTF_8));
    }

    private Compactor compactor() {
        return lake.compactor(spool.resolve("compactor"));
    }
}
