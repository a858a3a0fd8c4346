package io.otellake.archiver;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jspecify.annotations.Nullable;

/**
 * A Kafka record the archiver could not turn into rows, as one JSON object under {@code _deadletter/}: why, whose (when
 * known), where it came from, and its bytes in base64. The key is built from topic, partition and offset alone, so
 * writing the same record again replaces the object rather than adding one.
 */
record DeadLetter(String key, byte[] json) {
    private static final ObjectMapper JSON = new ObjectMapper();

    static DeadLetter of(String root, ConsumerRecord<byte[], byte[]> record, String reason, @Nullable String tenant) {
        String key = root + "_deadletter/topic=" + record.topic() + "/partition=" + record.partition() + "/"
                + record.offset() + ".json";
        ObjectNode node = JSON.createObjectNode();
        node.put("reason", reason);
        node.put("tenant", tenant);
        node.put("topic", record.topic());
        node.put("partition", record.partition());
        node.put("offset", record.offset());
        node.put("timestamp_ms", record.timestamp());
        node.put(
                "value_base64",
                record.value() == null ? null : Base64.getEncoder().encodeToString(record.value()));
        try {
            return new DeadLetter(key, JSON.writeValueAsBytes(node));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot describe dead letter " + key, e);
        }
    }
}
