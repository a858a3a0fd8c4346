package io.otellake.archiver;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.otellake.schemas.OtlpTopics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.jspecify.annotations.Nullable;

/**
 * A Kafka record the archiver could not turn into rows, as one JSON object under {@code _deadletter/}: why, whose (when
 * known), the tenant headers it came with, where it came from, and its bytes in base64. The key is built from topic,
 * partition and offset alone, so writing the same record again replaces the object rather than adding one.
 *
 * <p>{@code tenant_headers} lists the record's {@link OtlpTopics#TENANT_HEADER} header values as sent, so that an
 * operator can replay the record under the right tenant when the header itself was the problem (several of them, an
 * invalid id): the first {@value #MAX_TENANT_HEADERS} in order, each as text in which bytes 0x20 to 0x7E stand for
 * themselves except {@code \}, written {@code \\}, and every other byte is {@code \xNN} (two lower-case hex digits), so
 * the bytes can be recovered exactly; a value longer than {@value #MAX_HEADER_BYTES} bytes is cut there and ends in
 * {@code \...}, which the escaping never produces; a header without a value is {@code null}.
 */
record DeadLetter(String key, byte[] json) {
    static final int MAX_TENANT_HEADERS = 16;
    static final int MAX_HEADER_BYTES = 256;

    private static final ObjectMapper JSON = new ObjectMapper();

    static DeadLetter of(String root, ConsumerRecord<byte[], byte[]> record, String reason, @Nullable String tenant) {
        String key = root + "_deadletter/topic=" + record.topic() + "/partition=" + record.partition() + "/"
                + record.offset() + ".json";
        ObjectNode node = JSON.createObjectNode();
        node.put("reason", reason);
        node.put("tenant", tenant);
        ArrayNode headers = node.putArray("tenant_headers");
        for (Header header : record.headers().headers(OtlpTopics.TENANT_HEADER)) {
            if (headers.size() == MAX_TENANT_HEADERS) {
                break;
            }
            headers.add(header.value() == null ? null : escape(header.value()));
        }
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

    /** A header value as text an operator can read and turn back into its bytes (see the class comment). */
    static String escape(byte[] value) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < Math.min(value.length, MAX_HEADER_BYTES); i++) {
            int b = value[i] & 0xff;
            if (b == '\\') {
                out.append("\\\\");
            } else if (b >= 0x20 && b <= 0x7e) {
                out.append((char) b);
            } else {
                out.append("\\x").append(Character.forDigit(b >> 4, 16)).append(Character.forDigit(b & 0xf, 16));
            }
        }
        if (value.length > MAX_HEADER_BYTES) {
            out.append("\\...");
        }
        return out.toString();
    }
}
