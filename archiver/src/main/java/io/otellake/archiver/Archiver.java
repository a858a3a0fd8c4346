package io.otellake.archiver;

import com.google.protobuf.InvalidProtocolBufferException;
import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.otellake.schemas.FlatRow;
import io.otellake.schemas.LakeLayout;
import io.otellake.schemas.LogFlattener;
import io.otellake.schemas.MetricFlattener;
import io.otellake.schemas.OtlpTopics;
import io.otellake.schemas.Partition;
import io.otellake.schemas.Signal;
import io.otellake.schemas.SpanFlattener;
import io.otellake.schemas.TenantId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.NoOffsetForPartitionException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * Consumes the OTLP topics and archives every span and log record as a row of a Parquet file on S3, in the hour
 * partition of its tenant and event time.
 *
 * <p><b>Delivery guarantee (exactly once in effect).</b> Once the offsets of a Kafka partition are committed, every
 * record below them is in exactly one object on S3: a row of one Parquet file, or one dead-letter object. The
 * mechanism is an intent manifest per Kafka partition, {@code <prefix>/_manifests/<topic>/<partition>.json}:
 *
 * <ol>
 *   <li>a batch is the records of a partition consumed since its committed offset; the manifest naming the batch's
 *       offsets and every key it is about to write is uploaded before any of those objects;
 *   <li>then the objects are uploaded, then the offsets are committed;
 *   <li>before a partition is consumed (at start-up, on assignment, and after any failed flush), its manifest is
 *       compared with the committed offset: if the committed offset does not cover the manifest's batch, the objects
 *       the manifest lists are deleted, then consumption resumes from the committed offset and rewrites them. When
 *       Kafka no longer has some of the batch's records (its retention passed while the batch stayed uncommitted), no
 *       object holding one of them is deleted: a complete batch is kept and committed, and of an incomplete one the
 *       loss is reported (see {@link PartitionRecovery}).
 * </ol>
 *
 * So a crash at any point (before, during or after the uploads, before or after the commit), a failed upload, a lost
 * partition or a rebalance leaves either a committed batch (done) or an uncommitted one, whose objects are removed
 * before the same records are consumed again. Two batches never share a key: a batch starts where the previous one was
 * committed, and each batch's file names carry a random batch id, so a replay of the same offsets writes new keys. Only
 * the partition's current owner in the consumer group deletes (see {@link PartitionRecovery}). See {@link #flush()} for
 * what readers may see meanwhile and what is not covered.
 *
 * <p><b>Poison records</b> (no, several or an invalid tenant header, undecodable protobuf, a request that cannot be
 * flattened) are written to {@code <prefix>/_deadletter/topic=<topic>/partition=<p>/<offset>.json} with the reason, the
 * tenant when known, the tenant headers as sent and the raw bytes, counted, and committed past; they never stop the
 * archiver nor loop.
 *
 * <p><b>Future rows</b>: a row whose event time is more than {@link ArchiverConfig#maxFuture()} ahead of this
 * archiver's clock goes to {@code <prefix>/_quarantine/<signal>/tenant=<tenant>/}, never to an hour that has not
 * happened yet; so does a row whose unsigned OTLP time is 2^63 ns or more, negative as a Java {@code long}, and a row
 * without any time (a span starting at 0, a log record or data point whose time and fallback time are both 0), which
 * has no hour and, filed under 1970, would be deleted by the next retention run; and so does a row whose hour the
 * tenant's retention has already expired (see {@link RetentionPolicy#hourExpired}), which the next retention run would
 * delete as well: a clock far off, or milliseconds sent as nanoseconds. Other late rows go to their own event hour,
 * however late.
 *
 * <p><b>Records Kafka dropped first</b> (its retention passed before any archiver uploaded them: this one was behind,
 * down or paused by S3 for longer) are lost; that is never silent. The consumer has no automatic offset reset, and when
 * recovery or a fetch finds the offset to consume below the partition's log start, the offsets in between are logged
 * as an error and counted ({@code otel_lake_archiver_records_expired_total}), and consumption goes on at the log start.
 *
 * <p><b>S3 failures</b>: the batch is dropped from memory, the partitions are recovered as above (which waits until
 * S3 answers, retrying after a growing pause of 1 s to 30 s) and consumed again. Memory stays bounded by the file
 * size limit.
 */
public final class Archiver implements Runnable, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Archiver.class);
    private static final Duration POLL = Duration.ofMillis(200);
    private static final long MAX_BACKOFF_MS = 30_000;
    /**
     * Files a batch opens at most before it is flushed, whatever its bytes and age: each is one upload, and one more
     * for a span file's trace index, made one after another between two polls, so a batch of data spread over many
     * tenants and hours (a backfill of late data) on a slow S3 (2 s a PUT) would otherwise outlast {@link
     * #MAX_POLL_INTERVAL}, be refused at its commit, and be replayed for ever. 200 uploads at 2 s take under 7 minutes.
     */
    static final int MAX_FILES_PER_BATCH = 100;
    /** How long to wait for Kafka's answer to where a partition's log starts or ends. */
    private static final Duration OFFSETS_TIMEOUT = Duration.ofSeconds(5);
    /** How often the consumer lag gauges are refreshed, and how long Kafka may take to answer. */
    private static final Duration LAG_REFRESH = Duration.ofSeconds(5);

    private static final Duration LAG_TIMEOUT = Duration.ofSeconds(1);

    private final ArchiverConfig config;
    private final RetentionPolicy retention;
    private final String root;
    private final LakeLayout layout;
    private final S3Store store;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final PartitionRecovery recovery;
    /** Where files are written before upload; what a killed archiver left there is removed by the next one. */
    private final SpoolFolder spool;

    private final Map<String, Signal> signalByTopic;
    private final Map<FileKey, HourFile> files = new LinkedHashMap<>();
    private final List<DeadLetterFor> deadLetters = new ArrayList<>();
    private final Map<TopicPartition, Long> batchStart = new HashMap<>();
    private final Map<TopicPartition, OffsetAndMetadata> pendingOffsets = new HashMap<>();
    /** Assigned partitions, paused until their last uncommitted batch is cleaned up (see the class comment). */
    private final Set<TopicPartition> unrecovered = new LinkedHashSet<>();

    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicLong rowsArchived = new AtomicLong();
    private final AtomicLong filesUploaded = new AtomicLong();
    private final AtomicLong poisonRecords = new AtomicLong();
    private final AtomicLong quarantinedRows = new AtomicLong();
    private final AtomicLong recoveredBatches = new AtomicLong();
    private final AtomicLong lostBatches = new AtomicLong();
    private final AtomicLong expiredRecords = new AtomicLong();
    private final ArchiverMetrics metrics = new ArchiverMetrics();
    private @Nullable HttpServer metricsServer;
    private long bufferedBytes;
    /** When the lag gauges were last refreshed ({@link System#nanoTime()}); far enough back to refresh at once. */
    private long lagRefreshed = System.nanoTime() - LAG_REFRESH.toNanos();
    /** Names this batch's files apart from every other batch's, a replay of the same offsets included. */
    private String batchId = newBatchId();

    private long backoffMs;
    /**
     * The pause after the last failed flush (1 s growing to 30 s), 0 after a successful one. Kept apart from
     * {@link #backoffMs}: when S3 takes reads but refuses writes, recovery succeeds each time and must neither end this
     * pause's growth nor make the archiver ready again.
     */
    private long flushBackoffMs;

    private volatile boolean running = true;
    /** The consumer's Kafka client id. */
    static final String CLIENT_ID = "otel-lake-archiver";
    /** The consumer's {@code max.poll.interval.ms}: room for a batch of several uploads to a slow S3 between polls. */
    static final Duration MAX_POLL_INTERVAL = Duration.ofMinutes(15);

    /** Whether the last flush failed; cleared by the next successful one. */
    private volatile boolean s3Failing;
    /** Whether the last attempt to recover a paused partition failed; cleared once none is left to recover. */
    private volatile boolean recoveryFailing;
    /** When the next attempt to recover paused partitions may start ({@link System#nanoTime()}). */
    private long recoverNotBefore = System.nanoTime();

    private volatile boolean polling;

    /** Steps of {@link #flush()} where a test can stop this archiver, as a long pause of the process would. */
    enum FlushStep {
        CHECKING_OWNER,
        WRITING_MANIFESTS
    }

    private volatile java.util.function.Consumer<FlushStep> flushHook = step -> {};

    private record FileKey(TopicPartition source, String directory) {}

    private record DeadLetterFor(TopicPartition source, DeadLetter letter) {}

    /** An archiver for a lake whose tenants keep their data {@link RetentionPolicy#DEFAULT 90 days}. */
    public Archiver(ArchiverConfig config) {
        this(config, RetentionPolicy.DEFAULT);
    }

    /** @param retention the lake's retention: rows of an hour it has already expired go to quarantine */
    Archiver(ArchiverConfig config, RetentionPolicy retention) {
        this.config = config;
        this.retention = retention;
        this.spool = SpoolFolder.claim(config.spoolDir());
        this.layout = config.layout();
        this.root = config.root();
        this.store = new S3Store(config);
        this.signalByTopic = Map.of(
                config.tracesTopic(), Signal.TRACES,
                config.logsTopic(), Signal.LOGS,
                config.metricsTopic(), Signal.METRICS);
        Properties props = new Properties();
        props.putAll(config.kafkaClient().asMap()); // first: the settings below are the archiver's own
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafkaBootstrap());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, config.groupId());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        // Never let the consumer move its position by itself: a reset to the log start would skip, silently,
        // records that expired from Kafka before they were archived. Recovery seeks every partition before it is
        // consumed, and an offset out of range is handled in expired().
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "200");
        // Uploads run between polls; leave room for a batch of several files on a slow S3 (each call is bounded by
        // the S3 client's timeouts) before the group considers this archiver dead.
        props.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, Long.toString(MAX_POLL_INTERVAL.toMillis()));
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, CLIENT_ID);
        if (!config.instanceId().isEmpty()) {
            props.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, config.instanceId());
        }
        this.consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        this.recovery = new PartitionRecovery(consumer, store, root);
    }

    /**
     * Serves the metrics and probes when configured (live, not ready), then waits for S3 and creates the bucket when
     * missing. An unreachable S3 is retried with backoff (1 s doubling up to 15 s) for up to {@link
     * ArchiverConfig#s3StartupTimeout()}, so that an archiver started before its S3 server, as a supervisor may do,
     * comes up by itself; after that it throws, naming the last failure.
     */
    public void prepare() {
        if (config.metricsPort() > 0 && metricsServer == null) {
            metricsServer = metrics.serve(config.metricsPort(), () -> stopped.getCount() > 0, this::ready);
        }
        long deadline = System.nanoTime() + config.s3StartupTimeout().toNanos();
        long backoffMillis = 1000;
        while (true) {
            try {
                store.ensureBucket();
                return;
            } catch (SdkException e) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new IllegalStateException(
                            "S3 not reachable within " + config.s3StartupTimeout() + " (OTEL_LAKE_S3_STARTUP_TIMEOUT): "
                                    + e.getMessage(),
                            e);
                }
                long sleep = Math.min(backoffMillis, TimeUnit.NANOSECONDS.toMillis(left) + 1);
                log.warn(
                        "S3 bucket {} at {} not reachable, retrying in {} ms: {}",
                        config.s3Bucket(),
                        config.s3Endpoint(),
                        sleep,
                        e.getMessage());
                try {
                    Thread.sleep(sleep);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for S3", interrupted);
                }
                backoffMillis = Math.min(backoffMillis * 2, 15_000);
            }
        }
    }

    @Override
    public void run() {
        try {
            consumer.subscribe(
                    List.of(config.tracesTopic(), config.logsTopic(), config.metricsTopic()), new Rebalance());
            while (running) {
                if (unrecovered.isEmpty()) {
                    recoveryFailing = false; // also when a partition that failed to recover was revoked
                } else if (System.nanoTime() - recoverNotBefore >= 0) {
                    recoverAssigned();
                }
                ConsumerRecords<byte[], byte[]> records;
                try {
                    records = consumer.poll(POLL);
                    polling = true;
                } catch (WakeupException e) {
                    break;
                } catch (OffsetOutOfRangeException e) {
                    expired(e.offsetOutOfRangePartitions());
                    continue;
                } catch (NoOffsetForPartitionException e) {
                    // Partitions just assigned have no position until recovery seeks them: poll asks for one anyway.
                    Set<TopicPartition> unsought = new HashSet<>(e.partitions());
                    unsought.removeAll(unrecovered);
                    markUnrecovered(unsought);
                    continue;
                }
                for (ConsumerRecord<byte[], byte[]> record : records) {
                    accept(record);
                }
                refreshLag();
                if (dueForFlush()) {
                    flushOrRecover();
                }
            }
            flushOrRecover();
        } catch (WakeupException e) {
            // close() during a commit or rebalance: nothing more to do
        } catch (RuntimeException | Error e) {
            // What the batch holds may be half of a record (an OutOfMemoryError while flattening it, say), its offset
            // already pending: closing the consumer below calls onPartitionsRevoked, which would upload and commit it.
            clearBatch();
            log.error("archiver stopped by an unexpected error; uncommitted records will be consumed again", e);
            throw e;
        } finally {
            try {
                consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(10)));
            } finally {
                store.close();
                spool.close();
                if (metricsServer != null) {
                    metricsServer.stop(0);
                }
                stopped.countDown();
            }
        }
    }

    private void accept(ConsumerRecord<byte[], byte[]> record) {
        TopicPartition tp = new TopicPartition(record.topic(), record.partition());
        if (unrecovered.contains(tp)) {
            return; // fetched before the partition was paused; it is consumed again from the committed offset
        }
        batchStart.putIfAbsent(tp, record.offset());
        pendingOffsets.put(tp, new OffsetAndMetadata(record.offset() + 1));
        Signal signal = signalByTopic.get(record.topic());
        List<FlatRow> rows;
        TenantId tenant = null;
        try {
            tenant = tenant(record);
            rows = flatten(signal, record.value());
        } catch (PoisonRecordException e) {
            poisonRecords.incrementAndGet();
            metrics.deadLettered(record.topic());
            log.warn(
                    "dead-lettering poison record {}-{}@{}: {}",
                    record.topic(),
                    record.partition(),
                    record.offset(),
                    e.getMessage());
            DeadLetter letter = DeadLetter.of(root, record, e.getMessage(), tenant == null ? null : tenant.value());
            deadLetters.add(new DeadLetterFor(tp, letter));
            // held in memory until the flush like any row: without this, poison records arriving while rows wait for
            // their file's age would pile up beyond the byte bound
            bufferedBytes += letter.json().length;
            return;
        }
        TenantId owner = tenant;
        long now = System.nanoTime();
        long clockNanos = System.currentTimeMillis() * 1_000_000L;
        long futureLimit = clockNanos + config.maxFuture().toNanos();
        for (FlatRow row : rows) {
            // OTLP times are unsigned: from 2^63 ns on (year 2262) they read as negative longs, and are future too.
            // A row without any time (0) has no hour, and one whose hour the tenant's retention has already expired
            // (milliseconds sent as nanoseconds land in 1970, say): filed there, the next retention run would delete
            // them, unseen.
            String quarantine = null;
            if (row.eventTimeNanos() == 0) {
                quarantine = ArchiverMetrics.NO_TIME;
            } else if (Long.compareUnsigned(row.eventTimeNanos(), futureLimit) > 0) {
                quarantine = ArchiverMetrics.FUTURE;
            } else if (retention.hourExpired(owner.value(), row.eventTimeNanos(), clockNanos)) {
                quarantine = ArchiverMetrics.PAST_RETENTION;
            }
            String directory;
            if (quarantine != null) {
                quarantinedRows.incrementAndGet();
                metrics.quarantined(signal.pathSegment(), quarantine, 1);
                directory = root + "_quarantine/" + signal.pathSegment() + "/tenant=" + owner.value() + "/";
            } else {
                directory = layout.partitionPrefix(Partition.of(signal, owner, row.eventTimeNanos()));
            }
            files.computeIfAbsent(
                            new FileKey(tp, directory),
                            k -> new HourFile(tp, signal, owner, directory, record.offset(), batchId, now))
                    .add(row.record(), record.offset());
        }
        bufferedBytes += record.value() == null ? 0 : record.value().length;
    }

    /**
     * The record's tenant, from its one {@link OtlpTopics#TENANT_HEADER} header. A record with several is refused, as
     * ingest refuses a request that names its tenant more than once: which of them owns the rows is not for the
     * archiver to guess, and taking one would file the rows under a tenant that may not be theirs.
     */
    private static TenantId tenant(ConsumerRecord<byte[], byte[]> record) {
        Header header = null;
        int count = 0;
        for (Header h : record.headers().headers(OtlpTopics.TENANT_HEADER)) {
            header = h;
            count++;
        }
        if (count > 1) {
            throw new PoisonRecordException(
                    OtlpTopics.TENANT_HEADER + " header must be sent once; got " + count + " of them");
        }
        if (header == null) {
            throw new PoisonRecordException("no " + OtlpTopics.TENANT_HEADER + " header");
        }
        if (header.value() == null) {
            throw new PoisonRecordException("the " + OtlpTopics.TENANT_HEADER + " header has no value");
        }
        try {
            return TenantId.of(new String(header.value(), StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw new PoisonRecordException(e.getMessage());
        }
    }

    private static List<FlatRow> flatten(Signal signal, byte[] value) {
        if (value == null) {
            throw new PoisonRecordException("empty record value");
        }
        try {
            return switch (signal) {
                case TRACES -> SpanFlattener.flatten(value); // straight from the wire bytes; the same rows and errors
                case LOGS -> LogFlattener.flatten(ExportLogsServiceRequest.parseFrom(value));
                case METRICS -> MetricFlattener.flatten(ExportMetricsServiceRequest.parseFrom(value));
            };
        } catch (InvalidProtocolBufferException e) {
            throw new PoisonRecordException("not an OTLP " + signal.pathSegment() + " request: " + e.getMessage());
        } catch (RuntimeException e) {
            throw new PoisonRecordException("cannot flatten: " + e);
        }
    }

    private boolean dueForFlush() {
        if (files.isEmpty()) {
            return !pendingOffsets.isEmpty(); // only poison records or empty requests: commit past them
        }
        if (bufferedBytes >= config.maxFileBytes() || files.size() >= MAX_FILES_PER_BATCH) {
            return true;
        }
        long oldest = Long.MAX_VALUE;
        for (HourFile f : files.values()) {
            oldest = Math.min(oldest, f.createdNanos);
        }
        return System.nanoTime() - oldest >= config.maxFileAge().toNanos();
    }

    /** Uploads and commits the batch; on failure forgets it and recovers every assigned partition before going on. */
    private void flushOrRecover() {
        if (files.isEmpty() && pendingOffsets.isEmpty()) {
            return;
        }
        try {
            flush();
            flushBackoffMs = 0;
            s3Failing = false;
        } catch (WakeupException e) {
            throw e;
        } catch (PartitionRecovery.NotOwnerException e) {
            lostBatches.incrementAndGet();
            metrics.lostBatch();
            log.warn("{}; dropped the batch, polling to learn the new assignment", e.getMessage());
            clearBatch();
            markUnrecovered(consumer.assignment());
        } catch (RuntimeException e) {
            s3Failing = true;
            flushBackoffMs = Math.min(MAX_BACKOFF_MS, Math.max(1000, flushBackoffMs * 2));
            log.error(
                    "archiving a batch failed; cleaning it up and consuming it again from the committed offsets in {}"
                            + " ms: {}",
                    flushBackoffMs,
                    e.getMessage());
            clearBatch();
            markUnrecovered(consumer.assignment());
            sleep(flushBackoffMs);
        }
    }

    /**
     * Commit path. Per Kafka partition of the batch: the intent manifest (the batch's offsets and every key it will
     * write) is uploaded first; then all Parquet files and dead letters; then {@code commitSync} of all the batch's
     * offsets. A committed offset therefore never covers a record that is not on S3, and a manifest whose batch is not
     * covered by the committed offset lists every object that batch may have left behind, which {@link #recover}
     * deletes before the records are consumed again.
     *
     * <p>What readers of the lake may see: between the uploads and the commit, and after a crash until the partition is
     * recovered, the objects of an uncommitted batch are visible; each of their rows is in no other file, so no row is
     * seen twice. Recovery deletes them and the replay writes them again, so in that window a row may disappear for a
     * while and come back, in a file with another name. Objects of one batch appear one by one, not atomically.
     *
     * <p><b>An archiver that lost its partitions without noticing</b> (a process paused longer than the consumer session,
     * cut off from the group coordinator, or slower than the poll interval: a "zombie") must neither replace the new
     * owner's manifest nor leave its own rows beside the new owner's. So before anything of the batch reaches S3, the
     * batch's start offsets (the committed ones) are committed once more, which the group accepts only from the
     * partitions' owner in the current generation; a zombie is refused there and writes nothing. One that loses the
     * partitions after that check has its final commit refused, and then deletes the batch's Parquet and trace index
     * files: their keys carry this batch's id, so they are nobody else's, and their records are not committed, so the
     * new owner archives them. Either way it throws {@link PartitionRecovery.NotOwnerException}.
     *
     * <p>Not covered: a zombie that also crashes or loses S3 between the refused commit and those deletes leaves its
     * files, and their rows are archived twice (never lost); so does one paused longer than the consumer session
     * exactly between the check and its manifest, which then also replaces the new owner's manifest. Dead letters are
     * not deleted: their keys are the offset's own, and the new owner writes the same object. Resetting the group's
     * offsets backwards by hand re-archives the records between the new and the old offset a second time.
     */
    private void flush() {
        Map<TopicPartition, List<String>> keys = new HashMap<>();
        List<String> ownFiles = new ArrayList<>();
        for (HourFile file : files.values()) {
            List<String> batchKeys = keys.computeIfAbsent(file.source, k -> new ArrayList<>());
            batchKeys.add(file.objectKey());
            ownFiles.add(file.objectKey());
            String indexKey = indexKey(file);
            if (indexKey != null) {
                batchKeys.add(indexKey);
                ownFiles.add(indexKey);
            }
        }
        for (DeadLetterFor d : deadLetters) {
            keys.computeIfAbsent(d.source(), k -> new ArrayList<>())
                    .add(d.letter().key());
        }
        Map<TopicPartition, OffsetAndMetadata> starts = new HashMap<>();
        batchStart.forEach((tp, offset) -> starts.put(tp, new OffsetAndMetadata(offset)));
        flushHook.accept(FlushStep.CHECKING_OWNER);
        if (!starts.isEmpty()) {
            recovery.commitAsOwner(starts);
        }
        flushHook.accept(FlushStep.WRITING_MANIFESTS);
        for (Map.Entry<TopicPartition, List<String>> e : keys.entrySet()) {
            TopicPartition tp = e.getKey();
            IntentManifest manifest = new IntentManifest(
                    tp.topic(),
                    tp.partition(),
                    batchStart.get(tp),
                    pendingOffsets.get(tp).offset(),
                    e.getValue());
            store.putJson(PartitionRecovery.manifestKey(root, tp), manifest.toJson());
        }
        int fileCount = 0;
        long rowCount = 0;
        for (HourFile file : files.values()) {
            upload(file);
            fileCount++;
            rowCount += file.rowCount();
        }
        for (DeadLetterFor d : deadLetters) {
            store.putJson(d.letter().key(), d.letter().json());
        }
        if (!pendingOffsets.isEmpty()) {
            try {
                recovery.commitAsOwner(new HashMap<>(pendingOffsets));
            } catch (PartitionRecovery.NotOwnerException e) {
                deleteUncommitted(ownFiles);
                throw e;
            }
        }
        if (fileCount > 0 || !deadLetters.isEmpty()) {
            log.info(
                    "archived {} rows in {} files ({} quarantined rows in all so far) and {} dead letters; committed {}",
                    rowCount,
                    fileCount,
                    quarantinedRows.get(),
                    deadLetters.size(),
                    pendingOffsets);
        }
        rowsArchived.addAndGet(rowCount);
        filesUploaded.addAndGet(fileCount);
        clearBatch();
    }

    /** Deletes this batch's own files after the group refused its commit (see {@link #flush()}). */
    private void deleteUncommitted(List<String> ownFiles) {
        int deleted = 0;
        try {
            for (String key : ownFiles) {
                store.delete(key);
                deleted++;
            }
            log.warn("the group refused the commit of {}; deleted the batch's {} files", pendingOffsets, deleted);
        } catch (RuntimeException e) {
            log.error(
                    "the group refused the commit of {}; {} of the batch's files could not be deleted and their rows"
                            + " will be archived twice ({}): {}",
                    pendingOffsets,
                    ownFiles.size() - deleted,
                    ownFiles.subList(deleted, ownFiles.size()),
                    e.getMessage());
        }
    }

    private @Nullable String indexKey(HourFile file) {
        return file.signal == Signal.TRACES ? TraceIndex.indexKey(root, file.objectKey()) : null;
    }

    /**
     * Uploads a file and, for a span partition's file, its trace index file. Each object carries its own row count in
     * its {@code otel-lake-rows} metadata, and the Kafka partition and offsets of the rows it was made of.
     */
    private void upload(HourFile file) {
        String key = file.objectKey();
        String source = file.source.toString();
        String offsets = file.firstOffset + "-" + file.lastOffset;
        Path local = null;
        try {
            // A short name of its own, not one made of the key: a key holds the topic (up to 249 characters) and the
            // tenant (up to 64), more than a file name may have (255 bytes), and a flush that cannot write its file
            // fails again on every replay.
            local = Files.createTempFile(spool.path(), "upload-", ".parquet");
            file.write(local, config.rowGroupBytes());
            long size = Files.size(local);
            // the upload alone: sorting and encoding are the archiver's CPU, not S3's latency
            long started = System.nanoTime();
            store.put(key, local, metadata(file.rowCount(), source, offsets));
            metrics.uploaded(
                    file.signal.pathSegment(), file.tenant.value(), file.rowCount(), size, System.nanoTime() - started);
            String indexKey = indexKey(file);
            if (indexKey != null) {
                List<org.apache.avro.generic.GenericRecord> entries = file.traceIndexEntries();
                TraceIndex.write(entries, local);
                long indexSize = Files.size(local);
                started = System.nanoTime();
                store.put(indexKey, local, metadata(entries.size(), source, offsets));
                metrics.uploadedIndex(file.tenant.value(), indexSize, System.nanoTime() - started);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + local + " for " + key + " failed", e);
        } finally {
            try {
                if (local != null) {
                    Files.deleteIfExists(local);
                }
            } catch (IOException e) {
                log.warn("could not delete spool file {}: {}", local, e.getMessage());
            }
        }
    }

    private static Map<String, String> metadata(int rows, String source, String offsets) {
        return Map.of(
                "otel-lake-rows", Integer.toString(rows),
                "otel-lake-source", source,
                "otel-lake-offsets", offsets);
    }

    private void clearBatch() {
        files.clear();
        deadLetters.clear();
        batchStart.clear();
        pendingOffsets.clear();
        bufferedBytes = 0;
        batchId = newBatchId(); // last: the only step that allocates, which may fail after an OutOfMemoryError
    }

    private static String newBatchId() {
        return java.util.HexFormat.of()
                .toHexDigits(java.util.concurrent.ThreadLocalRandom.current().nextInt());
    }

    /** Pauses partitions until {@link #recoverAssigned()} has cleaned up after their last uncommitted batch. */
    private void markUnrecovered(Collection<TopicPartition> partitions) {
        if (partitions.isEmpty()) {
            return;
        }
        unrecovered.addAll(partitions);
        consumer.pause(partitions);
        recoverNotBefore = System.nanoTime(); // now: not after the backoff of a partition that keeps failing
    }

    /**
     * Recovers the paused partitions, in turn. One that fails stays paused and goes to the back of the line, and the
     * others are tried all the same, so that a partition whose recovery keeps failing (a manifest that does not parse,
     * an object S3 refuses to delete) holds up no other; a second failure in one round ends it, since S3 itself is then
     * likely failing and every partition would fail alike. The next round waits 1 s growing to 30 s: asleep when no
     * partition is being consumed (S3 down: every partition paused), else without holding up the polling of those that
     * are.
     */
    private void recoverAssigned() {
        unrecovered.retainAll(consumer.assignment());
        List<TopicPartition> resumed = new ArrayList<>();
        Map<TopicPartition, String> failed = new LinkedHashMap<>();
        for (java.util.Iterator<TopicPartition> it = unrecovered.iterator(); it.hasNext(); ) {
            TopicPartition tp = it.next();
            try {
                recover(tp);
            } catch (WakeupException e) {
                throw e;
            } catch (PartitionRecovery.NotOwnerException e) {
                // the group moved on without telling this consumer yet: the next poll brings the new assignment
                log.warn("{}; polling before recovering", e.getMessage());
                break;
            } catch (RuntimeException e) {
                failed.put(tp, e.getMessage());
                it.remove();
                if (failed.size() == 2) {
                    break;
                }
                continue;
            }
            consumer.resume(List.of(tp));
            it.remove();
            resumed.add(tp);
        }
        if (!resumed.isEmpty()) {
            log.info("consuming {} from their committed offsets", resumed);
        }
        if (failed.isEmpty()) {
            if (unrecovered.isEmpty()) {
                backoffMs = 0;
                recoveryFailing = false;
            }
            return;
        }
        recoveryFailing = true;
        backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(1000, backoffMs * 2));
        failed.forEach((tp, reason) -> {
            log.error("cannot recover {} yet, retrying in {} ms: {}", tp, backoffMs, reason);
            unrecovered.add(tp); // to the back of the line
            // A partition without a committed offset has no position, and poll() refuses to run while an assigned
            // partition, paused or not, has none (NoOffsetForPartitionException: no reset to guess one with). It
            // stays paused, so nothing is fetched from this position; its recovery seeks it again.
            consumer.seekToBeginning(List.of(tp));
        });
        if (unrecovered.containsAll(consumer.assignment())) {
            sleep(backoffMs);
        } else {
            recoverNotBefore = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(backoffMs);
        }
    }

    /**
     * Publishes each assigned partition's lag, the records in Kafka that are not archived and committed yet: the end of
     * its log minus its committed offset (its log start when it has none), asked of Kafka every {@link #LAG_REFRESH}.
     * Not the consumer's own lag, measured from its position: a partition paused while S3 fails is not fetched, so that
     * lag would stand still however many records arrive. When Kafka does not answer in time the gauges keep their last
     * values.
     */
    private void refreshLag() {
        long now = System.nanoTime();
        Set<TopicPartition> assigned = consumer.assignment();
        if (now - lagRefreshed < LAG_REFRESH.toNanos() || assigned.isEmpty()) {
            return;
        }
        lagRefreshed = now;
        try {
            Map<TopicPartition, Long> ends = consumer.endOffsets(assigned, LAG_TIMEOUT);
            Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(assigned, LAG_TIMEOUT);
            Set<TopicPartition> uncommitted = new HashSet<>(assigned);
            uncommitted.removeIf(tp -> committed.get(tp) != null);
            Map<TopicPartition, Long> starts =
                    uncommitted.isEmpty() ? Map.of() : consumer.beginningOffsets(uncommitted, LAG_TIMEOUT);
            for (TopicPartition tp : assigned) {
                OffsetAndMetadata done = committed.get(tp);
                Long from = done != null ? Long.valueOf(done.offset()) : starts.get(tp);
                Long end = ends.get(tp);
                if (from != null && end != null) {
                    metrics.lag(tp, Math.max(0, end - from));
                }
            }
        } catch (WakeupException e) {
            throw e;
        } catch (RuntimeException e) {
            log.debug("consumer lag not refreshed: {}", e.getMessage());
        }
    }

    /** Recovers a partition (see {@link PartitionRecovery}), counting and logging an uncommitted batch it found. */
    private void recover(TopicPartition tp) {
        PartitionRecovery.Outcome outcome = recovery.recover(tp);
        logBatch(tp, outcome);
        outcome.lostRange().ifPresent(range -> {
            expiredRecords.addAndGet(range.count());
            metrics.expired(tp, range.count());
        });
        outcome.expired().ifPresent(range -> reportExpired(tp, range));
    }

    private void logBatch(TopicPartition tp, PartitionRecovery.Outcome outcome) {
        if (outcome.fate() == PartitionRecovery.Fate.COMMITTED) {
            return;
        }
        IntentManifest m = outcome.batch().orElseThrow();
        recoveredBatches.incrementAndGet();
        metrics.recovered();
        switch (outcome.fate()) {
            case DELETED ->
                log.warn(
                        "{}: batch {}..{} was not committed; deleted its {} objects, consuming it again",
                        tp,
                        m.firstOffset(),
                        m.nextOffset() - 1,
                        m.keys().size());
            case KEPT ->
                log.warn(
                        "{}: batch {}..{} was not committed, and Kafka no longer has its records before offset {}; all its"
                                + " {} objects are on S3, so the batch is kept and committed",
                        tp,
                        m.firstOffset(),
                        m.nextOffset() - 1,
                        outcome.logStart(),
                        m.keys().size());
            case KEPT_INCOMPLETE ->
                log.error(
                        "{}: batch {}..{} was not committed, Kafka no longer has its records before offset {}, and {} of"
                                + " its objects are not on S3 ({}): {}; kept its {} other objects, deleted {} whose records"
                                + " are all still in Kafka ({}), consuming again from offset {}",
                        tp,
                        m.firstOffset(),
                        m.nextOffset() - 1,
                        outcome.logStart(),
                        outcome.missing().size(),
                        outcome.missing(),
                        outcome.lostRange()
                                .map(r -> "rows of offsets " + r + " that the missing objects held are lost")
                                .orElse("only trace index files are missing, their spans are on S3"),
                        outcome.kept().size(),
                        outcome.deleted().size(),
                        outcome.deleted(),
                        outcome.resumeAt());
            case COMMITTED -> throw new IllegalStateException("unreachable");
        }
    }

    /**
     * Handles partitions whose fetch position Kafka no longer has. Below the log start: the records in between expired
     * from Kafka before this archiver consumed them (it was behind by more than the topic's retention); they are
     * reported as lost, and consumption goes on at the log start. Past the log end (a log truncated by an unclean
     * leader election): consumption goes on at the end, where the next records will be written. When Kafka cannot say
     * where the log starts and ends, the position is left as it is, and the next poll fails the same way and retries.
     */
    private void expired(Map<TopicPartition, Long> positions) {
        for (Map.Entry<TopicPartition, Long> e : positions.entrySet()) {
            TopicPartition tp = e.getKey();
            long position = e.getValue();
            if (!consumer.assignment().contains(tp) || unrecovered.contains(tp)) {
                continue; // recovery seeks it before it is consumed
            }
            try {
                long logStart =
                        consumer.beginningOffsets(List.of(tp), OFFSETS_TIMEOUT).get(tp);
                long logEnd = consumer.endOffsets(List.of(tp), OFFSETS_TIMEOUT).get(tp);
                if (position < logStart) {
                    reportExpired(tp, new PartitionRecovery.OffsetRange(position, logStart));
                    consumer.seek(tp, logStart);
                } else if (position > logEnd) {
                    log.warn(
                            "{}: offset {} is past the end of the partition's log ({}), which was truncated;"
                                    + " consuming from its end",
                            tp,
                            position,
                            logEnd);
                    consumer.seek(tp, logEnd);
                }
            } catch (WakeupException ex) {
                throw ex;
            } catch (RuntimeException ex) {
                log.warn(
                        "{}: offset {} is out of range, and Kafka did not say where the log starts: {}",
                        tp,
                        position,
                        ex.getMessage());
            }
        }
    }

    private void reportExpired(TopicPartition tp, PartitionRecovery.OffsetRange range) {
        expiredRecords.addAndGet(range.count());
        metrics.expired(tp, range.count());
        log.error(
                "{}: offsets {} ({} records) expired from Kafka before they were archived; they are lost. Consuming"
                        + " from offset {}",
                tp,
                range,
                range.count(),
                range.until());
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Ready: the consumer loop is polling Kafka, the last flush succeeded and no paused partition failed to recover.
     * Not ready while S3 fails (the archiver keeps retrying and commits nothing), while a partition cannot be recovered
     * (the others go on), before the first poll, and after the loop ended.
     */
    boolean ready() {
        return polling && !s3Failing && !recoveryFailing && stopped.getCount() > 0;
    }

    ArchiverMetrics metrics() {
        return metrics;
    }

    public long rowsArchived() {
        return rowsArchived.get();
    }

    public long filesUploaded() {
        return filesUploaded.get();
    }

    public long poisonRecords() {
        return poisonRecords.get();
    }

    public long quarantinedRows() {
        return quarantinedRows.get();
    }

    /**
     * Uncommitted batches found before consuming since start (after a crash, a failed flush or a lost partition):
     * deleted and consumed again, or kept when Kafka no longer had their records.
     */
    public long recoveredBatches() {
        return recoveredBatches.get();
    }

    /** Batches dropped uncommitted because the group had given their partitions to another consumer (see flush). */
    public long lostBatches() {
        return lostBatches.get();
    }

    /**
     * Offsets of records that left Kafka before any archiver uploaded them, since start: below the log start at
     * recovery or while consuming, and the offsets of an uncommitted batch that Kafka no longer had when some of its
     * objects were missing (see {@link PartitionRecovery}).
     */
    public long expiredRecords() {
        return expiredRecords.get();
    }

    /** Runs {@code hook} on the archiver's thread at each step of every flush; for tests. */
    void onFlushStep(java.util.function.Consumer<FlushStep> hook) {
        flushHook = hook;
    }

    /** Stops consuming, uploads and commits what is buffered, and waits for the loop to end. */
    @Override
    public void close() {
        running = false;
        try {
            if (!stopped.await(60, java.util.concurrent.TimeUnit.SECONDS)) {
                consumer.wakeup();
                stopped.await(10, java.util.concurrent.TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Rebalances: hand partitions over only after their rows are on S3 and committed; recover every partition before
     * consuming it.
     */
    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            if (!files.isEmpty() || !pendingOffsets.isEmpty()) {
                try {
                    flush();
                } catch (WakeupException e) {
                    throw e;
                } catch (RuntimeException e) {
                    // not committed: the next owner recovers the revoked partitions, we recover the ones we keep
                    log.warn(
                            "could not archive before a rebalance, the batch will be consumed again: {}",
                            e.getMessage());
                    clearBatch();
                    Set<TopicPartition> keep = new HashSet<>(consumer.assignment());
                    keep.removeAll(partitions);
                    markUnrecovered(keep);
                }
            }
            unrecovered.removeAll(partitions);
            partitions.forEach(metrics::forget);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            log.info("assigned {}", partitions);
            markUnrecovered(partitions);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            log.warn("lost {} without a clean hand-over; dropping the uncommitted batch", partitions);
            clearBatch();
            unrecovered.removeAll(partitions);
            partitions.forEach(metrics::forget);
            Set<TopicPartition> keep = new HashSet<>(consumer.assignment());
            keep.removeAll(partitions);
            markUnrecovered(keep);
        }
    }

    /** A Kafka record the archiver cannot turn into rows. */
    static final class PoisonRecordException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        PoisonRecordException(String message) {
            super(message);
        }
    }
}
