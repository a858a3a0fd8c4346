package io.otellake.archiver;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Objects;

/**
 * What one batch of one Kafka partition is about to write, stored on S3 before any of its objects: the batch covers
 * offsets {@code [firstOffset, nextOffset)} and writes exactly {@code keys}.
 *
 * <p>The batch is done once the consumer group's committed offset of the partition is at least {@code nextOffset}.
 * Until then its objects may be on S3 partly or wholly, and whoever owns the partition next deletes them before it
 * consumes again, unless Kafka no longer has the records they hold (see {@link PartitionRecovery}).
 */
record IntentManifest(String topic, int partition, long firstOffset, long nextOffset, List<String> keys) {
    private static final ObjectMapper JSON =
            new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    IntentManifest {
        Objects.requireNonNull(topic, "topic");
        keys = List.copyOf(Objects.requireNonNull(keys, "keys"));
        if (nextOffset <= firstOffset) {
            throw new IllegalArgumentException(
                    "a batch covers at least one offset: " + firstOffset + ".." + nextOffset);
        }
    }

    /** Whether the committed offset (-1 when none) covers the whole batch. */
    boolean coveredBy(long committedOffset) {
        return committedOffset >= nextOffset;
    }

    byte[] toJson() {
        try {
            return JSON.writeValueAsBytes(this);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the manifest of " + topic + "-" + partition, e);
        }
    }

    static IntentManifest fromJson(byte[] json, String key) {
        try {
            return JSON.readValue(json, IntentManifest.class);
        } catch (IOException e) {
            throw new UncheckedIOException("the manifest " + key + " is not readable", e);
        }
    }
}
