package io.otellake.archiver;

import com.google.protobuf.InvalidProtocolBufferException;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.otellake.schemas.FlatRow;
import io.otellake.schemas.LakeLayout;
import io.otellake.schemas.LogFlattener;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes the OTLP topics and archives every span and log record as a row of a Parquet file on S3, in the hour
 * partition of its tenant and event time.
 *
 * <p><b>Delivery guarantee (at least once).</b> Offsets are committed only after every file holding rows from
 * records below them has been uploaded and acknowledged by S3; all buffered files are flushed together, then the
 * offsets are committed. So no acknowledged record is ever lost: a crash, a failed upload or a lost partition
 * before the commit means the records are consumed again. Duplicates are possible but bounded: a replay starts at
 * the same committed offset, so the first file per Kafka partition and hour gets the same name and overwrites its
 * earlier upload; rows cut into a different later file by a different size or age roll can appear twice. Exactly
 * once across crashes is not guaranteed yet.
 *
 * <p><b>Poison records</b> (no or invalid tenant header, undecodable protobuf) are logged with topic, partition,
 * offset and reason, counted, and skipped; they never stop the archiver.
 *
 * <p><b>S3 failures</b>: the batch is dropped from memory, the consumer rewinds to the last committed offsets and
 * retries after a growing pause (1 s to 30 s). Memory stays bounded by the file size limit.
 */
public final class Archiver implements Runnable, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Archiver.class);
    private static final Duration POLL = Duration.ofMillis(200);
    private static final long MAX_BACKOFF_MS = 30_000;

    private final ArchiverConfig config;
    private final LakeLayout layout;
    private final S3Store store;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Map<String, Signal> signalByTopic;
    private final Map<FileKey, HourFile> files = new LinkedHashMap<>();
    private final Map<TopicPartition, OffsetAndMetadata> pendingOffsets = new HashMap<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicLong rowsArchived = new AtomicLong();
    private final AtomicLong filesUploaded = new AtomicLong();
    private final AtomicLong poisonRecords = new AtomicLong();
    private long bufferedBytes;
    private long backoffMs;
    private volatile boolean running = true;

    private record FileKey(TopicPartition source, Partition partition) {}

    public Archiver(ArchiverConfig config) {
        this.config = config;
        this.layout = config.layout();
        this.store = new S3Store(config);
        this.signalByTopic = Map.of(config.tracesTopic(), Signal.TRACES, config.logsTopic(), Signal.LOGS);
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafkaBootstrap());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, config.groupId());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "200");
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "otel-lake-archiver");
        this.consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** Creates the bucket when missing; throws when S3 cannot be reached. */
    public void prepare() {
        store.ensureBucket();
    }

    @Override
    public void run() {
        try {
            consumer.subscribe(List.of(config.tracesTopic(), config.logsTopic()), new Rebalance());
            while (running) {
                ConsumerRecords<byte[], byte[]> records;
                try {
                    records = consumer.poll(POLL);
                } catch (WakeupException e) {
                    break;
                }
                for (ConsumerRecord<byte[], byte[]> record : records) {
                    accept(record);
                }
                if (dueForFlush()) {
                    flushOrRewind();
                }
            }
            flushOrRewind();
        } catch (WakeupException e) {
            // close() during a commit or rebalance: nothing more to do
        } catch (RuntimeException e) {
            log.error("archiver stopped by an unexpected error; uncommitted records will be consumed again", e);
            throw e;
        } finally {
            try {
                consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(10)));
            } finally {
                store.close();
                stopped.countDown();
            }
        }
    }

    private void accept(ConsumerRecord<byte[], byte[]> record) {
        TopicPartition tp = new TopicPartition(record.topic(), record.partition());
        pendingOffsets.put(tp, new OffsetAndMetadata(record.offset() + 1));
        Signal signal = signalByTopic.get(record.topic());
        List<FlatRow> rows;
        TenantId tenant;
        try {
            tenant = tenant(record);
            rows = flatten(signal, record.value());
        } catch (PoisonRecordException e) {
            poisonRecords.incrementAndGet();
            log.warn(
                    "skipping poison record {}-{}@{}: {}",
                    record.topic(),
                    record.partition(),
                    record.offset(),
                    e.getMessage());
            return;
        }
        long now = System.nanoTime();
        for (FlatRow row : rows) {
            Partition partition = Partition.of(signal, tenant, row.eventTimeNanos());
            files.computeIfAbsent(new FileKey(tp, partition), k -> new HourFile(tp, partition, record.offset(), now))
                    .add(row.record(), record.offset());
        }
        bufferedBytes += record.value() == null ? 0 : record.value().length;
    }

    private static TenantId tenant(ConsumerRecord<byte[], byte[]> record) {
        Header header = record.headers().lastHeader(OtlpTopics.TENANT_HEADER);
        if (header == null || header.value() == null) {
            throw new PoisonRecordException("no " + OtlpTopics.TENANT_HEADER + " header");
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
                case TRACES -> SpanFlattener.flatten(ExportTraceServiceRequest.parseFrom(value));
                case LOGS -> LogFlattener.flatten(ExportLogsServiceRequest.parseFrom(value));
            };
        } catch (InvalidProtocolBufferException e) {
            throw new PoisonRecordException("not an OTLP " + signal.pathSegment() + " request: " + e.getMessage());
        } catch (RuntimeException e) {
            throw new PoisonRecordException("cannot flatten: " + e);
        }
    }

    private boolean dueForFlush() {
        if (files.isEmpty()) {
            return !pendingOffsets.isEmpty(); // only poison records: commit past them
        }
        if (bufferedBytes >= config.maxFileBytes()) {
            return true;
        }
        long oldest = Long.MAX_VALUE;
        for (HourFile f : files.values()) {
            oldest = Math.min(oldest, f.createdNanos);
        }
        return System.nanoTime() - oldest >= config.maxFileAge().toNanos();
    }

    /** Uploads everything buffered, then commits; on failure forgets the batch and rewinds to the committed offsets. */
    private void flushOrRewind() {
        if (files.isEmpty() && pendingOffsets.isEmpty()) {
            return;
        }
        try {
            flush();
            backoffMs = 0;
        } catch (RuntimeException e) {
            backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(1000, backoffMs * 2));
            log.error(
                    "archiving a batch failed; rewinding to the committed offsets and retrying in {} ms: {}",
                    backoffMs,
                    e.getMessage());
            rewindUntilDone();
            sleep(backoffMs);
        }
    }

    /**
     * Rewinds to the committed offsets, retrying while Kafka cannot say what they are: consuming on from the current
     * position would skip the records of the dropped batch.
     */
    private void rewindUntilDone() {
        long pause = 1000;
        while (true) {
            try {
                discardAndRewind(consumer.assignment());
                return;
            } catch (WakeupException e) {
                throw e;
            } catch (RuntimeException e) {
                if (!running) {
                    return; // closing: nothing is committed past the dropped batch, so stopping here is safe
                }
                log.error("cannot rewind to the committed offsets yet, retrying in {} ms: {}", pause, e.getMessage());
                sleep(pause);
                pause = Math.min(MAX_BACKOFF_MS, pause * 2);
            }
        }
    }

    /**
     * Commit path. Guarantee: {@code commitSync} runs only after every buffered file was uploaded and acknowledged,
     * so a committed offset never covers a row that is not on S3.
     */
    private void flush() {
        int fileCount = 0;
        long rowCount = 0;
        for (HourFile file : files.values()) {
            upload(file);
            fileCount++;
            rowCount += file.rowCount();
        }
        if (!pendingOffsets.isEmpty()) {
            consumer.commitSync(new HashMap<>(pendingOffsets));
        }
        if (fileCount > 0) {
            log.info("archived {} rows in {} files; committed {}", rowCount, fileCount, pendingOffsets);
        }
        rowsArchived.addAndGet(rowCount);
        filesUploaded.addAndGet(fileCount);
        files.clear();
        pendingOffsets.clear();
        bufferedBytes = 0;
    }

    private void upload(HourFile file) {
        String key = layout.objectKey(file.partition, file.fileName());
        Path local = config.spoolDir()
                .resolve(file.partition.signal().pathSegment() + "-"
                        + file.partition.tenant().value() + "-" + file.partition.date() + "-" + file.partition.hour()
                        + "-"
                        + file.fileName());
        try {
            Files.createDirectories(config.spoolDir());
            ParquetFiles.write(file.partition.signal(), file.sortedRows(), local);
            store.put(
                    key,
                    local,
                    Map.of(
                            "otel-lake-rows", Integer.toString(file.rowCount()),
                            "otel-lake-source", file.source.toString(),
                            "otel-lake-offsets", file.firstOffset + "-" + file.lastOffset));
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + local + " for " + key + " failed", e);
        } finally {
            try {
                Files.deleteIfExists(local);
            } catch (IOException e) {
                log.warn("could not delete spool file {}: {}", local, e.getMessage());
            }
        }
    }

    private void discardAndRewind(Collection<TopicPartition> partitions) {
        files.clear();
        pendingOffsets.clear();
        bufferedBytes = 0;
        if (partitions.isEmpty()) {
            return;
        }
        Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(Set.copyOf(partitions));
        List<TopicPartition> fromStart = new ArrayList<>();
        for (TopicPartition tp : partitions) {
            OffsetAndMetadata c = committed.get(tp);
            if (c == null) {
                fromStart.add(tp);
            } else {
                consumer.seek(tp, c);
            }
        }
        if (!fromStart.isEmpty()) {
            consumer.seekToBeginning(fromStart);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
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

    /** Rebalances: hand partitions over only after their rows are on S3 and committed. */
    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            if (!files.isEmpty() || !pendingOffsets.isEmpty()) {
                try {
                    flush();
                } catch (RuntimeException e) {
                    // not committed: the next owner consumes these records again
                    log.warn(
                            "could not archive before a rebalance, the batch will be consumed again: {}",
                            e.getMessage());
                    files.clear();
                    pendingOffsets.clear();
                    bufferedBytes = 0;
                }
            }
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            log.info("assigned {}", partitions);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            log.warn("lost {} without a clean hand-over; dropping the uncommitted batch", partitions);
            Set<TopicPartition> keep = new java.util.HashSet<>(consumer.assignment());
            keep.removeAll(partitions);
            discardAndRewind(keep);
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
