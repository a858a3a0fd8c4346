package io.otellake.ingest;

import io.otellake.schemas.OtlpTopics;
import io.otellake.schemas.TenantId;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.jspecify.annotations.Nullable;

/**
 * Writes an export request as one or more Kafka records and waits for Kafka's acknowledgement of every one.
 *
 * <p>Guarantees: {@link #publish} returns only after the record is acknowledged with {@code acks=all}; the producer is
 * idempotent, so its own retries do not duplicate a record. It throws after at most the Kafka timeout otherwise,
 * however many records a request has. A failure does not prove that the record was not written (an acknowledgement may
 * be lost on the way back), so a client that retries after a failure may write it twice: delivery is at least once. A
 * record's delivery timeout equals ours, counted from its send, so a record that timed out is normally also abandoned
 * by the producer, not written later.
 *
 * <p>The caller chooses the key ({@link Payload}): trace records are keyed by trace id, so that the default
 * partitioner (murmur2 of the key) puts every span of a trace on one partition; log and metric records have none, and
 * the producer spreads them over the partitions. Each record carries the tenant in header
 * {@link OtlpTopics#TENANT_HEADER}.
 *
 * <p>When a request becomes several records, they are sent together and waited for together: success means every one
 * was acknowledged; a failure of any means the request was not (some records may be in Kafka already, and come
 * again when the client retries).
 */
final class KafkaPublisher implements AutoCloseable {
    static final String CLIENT_ID = "otel-lake-ingest";
    static final int LINGER_MS = 5;
    private static final long MIN_BUFFER_MEMORY = 32L * 1024 * 1024;
    private static final int BUFFERED_RECORDS_AT_MAX_SIZE = 4;
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);

    private final Producer<byte[], byte[]> producer;
    private final Duration timeout;

    KafkaPublisher(IngestConfig config) {
        this.producer = new KafkaProducer<>(producerProperties(config));
        this.timeout = config.kafkaTimeout();
    }

    static Properties producerProperties(IngestConfig config) {
        long timeoutMs = config.kafkaTimeout().toMillis();
        Properties p = new Properties();
        p.putAll(config.kafkaClient().asMap()); // first: the settings below are ingest's own
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafkaBootstrap());
        p.put(ProducerConfig.CLIENT_ID_CONFIG, CLIENT_ID);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "zstd");
        p.put(ProducerConfig.LINGER_MS_CONFIG, LINGER_MS);
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, config.maxRecordBytes());
        p.put(
                ProducerConfig.BUFFER_MEMORY_CONFIG,
                Math.max(MIN_BUFFER_MEMORY, (long) BUFFERED_RECORDS_AT_MAX_SIZE * config.maxRecordBytes()));
        // Every way a send can wait is bounded by the Kafka timeout: send() itself (metadata, buffer space), and the
        // delivery of the batch (Kafka requires delivery.timeout.ms >= linger.ms + request.timeout.ms). send() may
        // block for half of it, so that publish() can start the sends of a request of several records in the first
        // half and still answer within the whole.
        p.put(
                ProducerConfig.MAX_BLOCK_MS_CONFIG,
                maxBlock(config.kafkaTimeout()).toMillis());
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) timeoutMs);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) (timeoutMs - LINGER_MS));
        return p;
    }

    /** How long one send may block, waiting for the topic's metadata or for room in the producer's buffer. */
    static Duration maxBlock(Duration kafkaTimeout) {
        return kafkaTimeout.dividedBy(2);
    }

    /**
     * Fetches the topics' metadata, so that the first request does not wait for it, and so that start-up fails when
     * the producer cannot reach them.
     */
    void connect(List<String> topics) {
        for (String topic : topics) {
            producer.partitionsFor(topic);
        }
    }

    /**
     * One record's key and value.
     *
     * @param key the record key; null lets the producer choose the partition
     * @param value a serialized export request
     */
    record Payload(byte @Nullable [] key, byte[] value) {}

    /**
     * Writes a record without a key and waits for its acknowledgement, for at most the Kafka timeout.
     *
     * @throws PublishException if Kafka did not acknowledge the record in time or refused it
     */
    RecordMetadata publish(String topic, TenantId tenant, byte[] value) throws PublishException {
        return publish(topic, tenant, List.of(new Payload(null, value))).get(0);
    }

    /**
     * Sends every record, then waits for all their acknowledgements, for at most the Kafka timeout in all. A send
     * blocks while the producer has no metadata for the topic or no room in its buffer (Kafka down or slow), for up to
     * {@link #maxBlock}: a send that failed so ends the request at once, and no send starts later than {@link
     * #maxBlock} before the deadline. When it throws, the records sent before may still be acknowledged, and written
     * again when the client retries: at least once, as for any failure.
     *
     * @return each record's metadata, in the order of {@code payloads}
     * @throws PublishException if Kafka did not acknowledge every record in time, or refused one
     */
    List<RecordMetadata> publish(String topic, TenantId tenant, List<Payload> payloads) throws PublishException {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        // Each send may block for maxBlock: were they all allowed to, N records could take N times the timeout.
        long lastSend = deadline - maxBlock(timeout).toNanos();
        List<Header> headers = List.of(
                new RecordHeader(OtlpTopics.TENANT_HEADER, tenant.value().getBytes(StandardCharsets.UTF_8)));
        long bytes = payloads.stream().mapToLong(p -> p.value().length).sum();
        String what = (payloads.size() == 1 ? "" : payloads.size() + " records of ") + bytes + " bytes for tenant '"
                + tenant + "' to topic " + topic;
        try {
            List<Future<RecordMetadata>> acks = new ArrayList<>(payloads.size());
            for (Payload p : payloads) {
                if (System.nanoTime() - lastSend > 0) {
                    throw new PublishException(
                            PublishException.Kind.UNAVAILABLE,
                            "Kafka did not take " + what + " within " + timeout.toMillis() + " ms: sending "
                                    + acks.size() + " of them took " + (System.nanoTime() - start) / 1_000_000
                                    + " ms (waiting for metadata or buffer space)",
                            null);
                }
                Future<RecordMetadata> ack =
                        producer.send(new ProducerRecord<>(topic, null, null, p.key(), p.value(), headers));
                if (ack.isDone()) {
                    // A send that gave up waiting for metadata or buffer space (or refused the record as too large)
                    // returns a failed future: end the request now, rather than let every further send wait as long.
                    ack.get();
                }
                acks.add(ack);
            }
            List<RecordMetadata> written = new ArrayList<>(acks.size());
            for (Future<RecordMetadata> ack : acks) {
                written.add(ack.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
            }
            return written;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RecordTooLargeException || cause instanceof RecordBatchTooLargeException) {
                throw new PublishException(
                        PublishException.Kind.TOO_LARGE, "Kafka refused " + what + " as too large: " + cause, cause);
            }
            throw new PublishException(
                    PublishException.Kind.UNAVAILABLE, "Kafka did not acknowledge " + what + ": " + cause, cause);
        } catch (TimeoutException e) {
            throw new PublishException(
                    PublishException.Kind.UNAVAILABLE,
                    "Kafka did not acknowledge " + what + " within " + timeout.toMillis() + " ms",
                    e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PublishException(
                    PublishException.Kind.UNAVAILABLE, "interrupted while writing " + what + " to Kafka", e);
        } catch (KafkaException | IllegalStateException e) {
            // send() throws rather than failing the future when the producer is broken, or (IllegalStateException)
            // already closed by a shutdown whose drain of in-flight requests timed out.
            throw new PublishException(PublishException.Kind.UNAVAILABLE, "Kafka refused " + what + ": " + e, e);
        }
    }

    /** Sends what is buffered, waits for it (bounded), and closes the producer. */
    @Override
    public void close() {
        producer.close(CLOSE_TIMEOUT);
    }
}
