package io.otellake.archiver;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.jspecify.annotations.Nullable;

/**
 * Makes a Kafka partition safe to consume from its committed offset: when its intent manifest names a batch that the
 * committed offset does not cover, deletes every object the manifest lists (some may never have been written), then
 * seeks the consumer to the committed offset. Idempotent: a crash during the deletes repeats them next time.
 *
 * <p><b>Only the owner deletes.</b> The objects of an uncommitted batch may belong to another archiver that owns the
 * partition now and is uploading them, about to commit; an archiver that lost the partition without noticing yet (a
 * process paused longer than the consumer session, a "zombie") must not delete them, or that owner's commit would
 * cover records that are on S3 no more. So after reading the manifest and before deleting, the consumer commits the
 * committed offset once more: the group coordinator accepts a commit only from the member that holds the partition in
 * the current generation, and otherwise this throws {@link NotOwnerException} without deleting anything. If the
 * consumer loses the partition after that commit, the next owner has to wait for this consumer's session to end and
 * then reads the same manifest (this consumer writes nothing meanwhile), so both delete the same objects, of a batch
 * nobody will commit; the new owner's own batch writes new keys, since every batch's file names carry a batch id of
 * their own (see {@link HourFile}).
 */
final class PartitionRecovery {
    private final Consumer<?, ?> consumer;
    private final S3Store store;
    private final String root;

    /** @param root the lake's key prefix, empty or ending in {@code /} */
    PartitionRecovery(Consumer<?, ?> consumer, S3Store store, String root) {
        this.consumer = consumer;
        this.store = store;
        this.root = root;
    }

    /** Where the intent manifest of the partition's last batch lives, under the lake's key prefix {@code root}. */
    static String manifestKey(String root, TopicPartition tp) {
        return root + "_manifests/" + tp.topic() + "/" + tp.partition() + ".json";
    }

    /**
     * Recovers one assigned partition.
     *
     * @return the manifest of the uncommitted batch whose objects were deleted, or empty when the last batch was
     *     committed
     * @throws NotOwnerException when the group no longer lets this consumer commit for the partition; nothing was
     *     deleted, and the consumer should poll to learn its new assignment
     */
    Optional<IntentManifest> recover(TopicPartition tp) {
        OffsetAndMetadata committed = consumer.committed(Set.of(tp)).get(tp);
        long committedOffset = committed == null ? -1 : committed.offset();
        String key = manifestKey(root, tp);
        Optional<IntentManifest> manifest = store.get(key).map(json -> IntentManifest.fromJson(json, key));
        Optional<IntentManifest> deleted = Optional.empty();
        if (manifest.isPresent() && !manifest.get().coveredBy(committedOffset)) {
            confirmOwner(tp, committed);
            for (String object : manifest.get().keys()) {
                store.delete(object);
            }
            deleted = manifest;
        }
        if (committed == null) {
            consumer.seekToBeginning(List.of(tp));
        } else {
            consumer.seek(tp, committed);
        }
        return deleted;
    }

    private void confirmOwner(TopicPartition tp, @Nullable OffsetAndMetadata committed) {
        OffsetAndMetadata same = committed != null
                ? committed
                : new OffsetAndMetadata(consumer.beginningOffsets(List.of(tp)).get(tp));
        commitAsOwner(Map.of(tp, same));
    }

    /**
     * Commits the offsets, or throws {@link NotOwnerException} when the group coordinator refused them because this
     * consumer is not the owner of every partition in the current generation. Those refusals are definite: nothing of
     * the commit was stored. Any other failure (a timeout, say) leaves it open whether the commit was stored, and is
     * thrown as it is.
     */
    void commitAsOwner(Map<TopicPartition, OffsetAndMetadata> offsets) {
        try {
            consumer.commitSync(offsets);
        } catch (CommitFailedException | RebalanceInProgressException | FencedInstanceIdException e) {
            throw new NotOwnerException(offsets.keySet(), e);
        }
    }

    /** The group coordinator refused this consumer's commit for partitions it believed it owned. */
    static final class NotOwnerException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        NotOwnerException(Collection<TopicPartition> partitions, RuntimeException cause) {
            super(
                    "not the owner of " + partitions + " in the consumer group's current generation: "
                            + cause.getMessage(),
                    cause);
        }
    }
}
