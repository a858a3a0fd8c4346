package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.otellake.schemas.OtlpTopics;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/** What a dead letter keeps of the tenant headers a record came with: enough to replay it, and never unbounded. */
class DeadLetterTest {
    @Test
    void tenantHeadersAreKeptAsSentEscapedSoThatTheirBytesCanBeRecovered() throws Exception {
        ConsumerRecord<byte[], byte[]> record = record();
        record.headers().add(OtlpTopics.TENANT_HEADER, "acme".getBytes(StandardCharsets.UTF_8));
        record.headers().add(OtlpTopics.TENANT_HEADER, new byte[] {'a', '\\', 'b', 0x00, (byte) 0xff, '\n', '~', ' '});
        record.headers().add(OtlpTopics.TENANT_HEADER, null);
        record.headers().add(OtlpTopics.TENANT_HEADER, "caf\u00e9".getBytes(StandardCharsets.UTF_8));
        record.headers().add("other", "not kept".getBytes(StandardCharsets.UTF_8));

        JsonNode letter = json(DeadLetter.of("lake/", record, "several tenants", null));

        assertThat(letter.get("tenant").isNull()).isTrue();
        assertThat(texts(letter.get("tenant_headers")))
                .containsExactly("acme", "a\\\\b\\x00\\xff\\x0a~ ", null, "caf\\xc3\\xa9");
    }

    @Test
    void aLongValueIsCutAndMarkedAndAtMostSixteenHeadersAreKept() throws Exception {
        ConsumerRecord<byte[], byte[]> record = record();
        byte[] longValue = new byte[DeadLetter.MAX_HEADER_BYTES + 1];
        Arrays.fill(longValue, (byte) 'x');
        record.headers().add(OtlpTopics.TENANT_HEADER, longValue);
        for (int i = 1; i < 20; i++) {
            record.headers().add(OtlpTopics.TENANT_HEADER, ("t" + i).getBytes(StandardCharsets.UTF_8));
        }

        List<String> headers =
                texts(json(DeadLetter.of("lake/", record, "20 tenants", null)).get("tenant_headers"));

        assertThat(headers).hasSize(16);
        assertThat(headers.get(0)).isEqualTo("x".repeat(256) + "\\...");
        assertThat(headers.get(15)).isEqualTo("t15");
        assertThat(DeadLetter.escape(Arrays.copyOf(longValue, 256))).isEqualTo("x".repeat(256));
    }

    @Test
    void aRecordWithoutTenantHeadersHasAnEmptyList() throws Exception {
        JsonNode letter = json(DeadLetter.of("lake/", record(), "no header", null));

        assertThat(letter.get("tenant_headers").isArray()).isTrue();
        assertThat(letter.get("tenant_headers")).isEmpty();
    }

    private static ConsumerRecord<byte[], byte[]> record() {
        return new ConsumerRecord<>("otlp-traces", 1, 42, null, new byte[] {1, 2});
    }

    private static JsonNode json(DeadLetter letter) throws Exception {
        return new ObjectMapper().readTree(letter.json());
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.isNull() ? null : n.asText()));
        return out;
    }
}
