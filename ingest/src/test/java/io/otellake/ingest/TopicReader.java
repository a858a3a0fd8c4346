package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads what was written to a topic between two moments: {@link #mark()} before a request, {@link #since} after its
 * answer. Since ingest answers 200 only after the acknowledgement, the record is below the end offsets by then.
 */
final class TopicReader implements AutoCloseable {
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final List<TopicPartition> partitions;

    TopicReader(String bootstrap, String topic) {
        this(bootstrap, topic, Map.of());
    }

    /** With {@code client} settings too (a secured broker's). */
    TopicReader(String bootstrap, String topic, Map<String, String> client) {
        Properties p = new Properties();
        p.putAll(client);
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 16 * 1024 * 1024);
        consumer = new KafkaConsumer<>(p);
        partitions = consumer.partitionsFor(topic, TIMEOUT).stream()
                .map(info -> new TopicPartition(topic, info.partition()))
                .toList();
        consumer.assign(partitions);
    }

    /** The end offsets now. */
    Map<TopicPartition, Long> mark() {
        return consumer.endOffsets(partitions, TIMEOUT);
    }

    /** Every record written since the mark, up to the end offsets now. */
    List<ConsumerRecord<byte[], byte[]>> since(Map<TopicPartition, Long> mark) {
        Map<TopicPartition, Long> end = mark();
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        mark.forEach(consumer::seek);
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
            assertThat(System.nanoTime()).as("reading up to %s", end).isLessThan(deadline);
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                if (record.offset() < end.get(new TopicPartition(record.topic(), record.partition()))) {
                    records.add(record);
                }
            }
        }
        return records;
    }

    @Override
    public void close() {
        consumer.close();
    }
}
