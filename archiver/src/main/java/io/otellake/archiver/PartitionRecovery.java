package io.otellake.archiver;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
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
 * Makes a Kafka partition safe to consume from its committed offset. When the partition's intent manifest names a
 * batch that the committed offset does not cover (a crash, a failed upload or a lost partition came between its
 * uploads and its commit), what happens to the batch's objects depends on whether Kafka still has its records:
 *
 * <ul>
 *   <li><b>All still in Kafka</b> (the log starts at or before the batch's first offset): every object the manifest
 *       lists is deleted (some may never have been written), and the records are consumed again from the committed
 *       offset. Idempotent: a crash during the deletes repeats them next time.
 *   <li><b>Some gone from Kafka</b> (retention removed them while the batch stayed uncommitted, an archiver down longer
 *       than the topic's retention, say): the objects on S3 may be the only copy of those records, so no object that
 *       holds one of them is deleted. If every object the manifest lists is on S3, the batch is complete: it is kept
 *       whole and its end offset committed, so nothing of it is lost or written twice. If some are missing, the rows
 *       they would have held for records no longer in Kafka are lost, and {@link Outcome#fate()} says so with the
 *       missing keys; the objects that are there are kept, except those whose records (by their {@code
 *       otel-lake-offsets} metadata) all lie at or after the log start, which are deleted; the offset where the log
 *       now starts is committed, the manifest is replaced by one that lists only those deleted objects, and the records
 *       still in Kafka are consumed again from there. A kept object that also holds records at or after that offset
 *       (one whose offsets straddle it) has those rows archived a second time by the replay: written twice, never lost.
 * </ul>
 *
 * <p><b>Records that left Kafka unarchived.</b> When consumption would resume below the offset where the partition's
 * log now starts (the committed offset, or the end of a batch kept above, lies below it: retention removed records no
 * archiver had uploaded), those records are lost, and recovery says so in {@link Outcome#expired()} rather than letting
 * the consumer skip them silently; it commits the log start, so that the loss is reported once, and consumption
 * resumes there. Then the consumer is sought to where consumption resumes.
 *
 * <p><b>Only the owner deletes or commits.</b> The objects of an uncommitted batch may belong to another archiver that
 * owns the partition now and is uploading them, about to commit; an archiver that lost the partition without noticing
 * yet (a process paused longer than the consumer session, a "zombie") must not delete them, or that owner's commit
 * would cover records that are on S3 no more. So after reading the manifest and before deleting or committing, the
 * consumer commits (the committed offset once more, or the offset it settles on), which the group coordinator accepts
 * only from the member that holds the partition in the current generation; otherwise this throws {@link
 * NotOwnerException} without deleting anything. If the consumer loses the partition after that commit, the next owner
 * has to wait for this consumer's session to end and then reads the same manifest (this consumer writes nothing
 * meanwhile but the replacement above), so both delete the same objects, of a batch nobody will commit; the new owner's
 * own batch writes new keys, since every batch's file names carry a batch id of their own (see {@link HourFile}).
 *
 * <p><b>Not covered.</b> A zombie that uploaded every object of a batch whose records then left Kafka, and deletes its
 * own files when the group refuses its commit (see {@link Archiver}), removes the files the owner has just kept and
 * committed; this needs retention to pass over the batch during the zombie's pause. A loss after a crash in the moment
 * between the commit and the manifest's replacement is reported a second time by the next recovery.
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

    /** What became of a partition's last batch when it was recovered. */
    enum Fate {
        /** The committed offset covers the batch (or there is none): nothing to do. */
        COMMITTED,
        /** Not committed, its records all still in Kafka: its objects were deleted, and it is consumed again. */
        DELETED,
        /** Not committed, some records gone from Kafka, every object on S3: kept, and its end offset committed. */
        KEPT,
        /** Not committed, some records gone from Kafka, some objects missing: the rows those held for them are lost. */
        KEPT_INCOMPLETE
    }

    /**
     * What {@link #recover} found and did.
     *
     * @param batch the manifest of the uncommitted batch, when there was one
     * @param logStart the first offset Kafka still had for the partition, when it was asked (-1 when not)
     * @param kept objects of the batch left on S3
     * @param deleted objects of the batch deleted (for {@link Fate#DELETED}, every key of the manifest)
     * @param missing objects of the batch that were not on S3
     * @param rowsLost whether a missing object held rows (a Parquet file of the lake or a dead letter, not a trace
     *     index file, whose spans are in their own file)
     * @param resumeAt the offset consumption resumes at, or -1 for the beginning of the partition
     * @param expired the offsets below the log start, not in this batch, that consumption would have resumed at: their
     *     records left Kafka before any archiver uploaded them
     */
    record Outcome(
            Fate fate,
            Optional<IntentManifest> batch,
            long logStart,
            List<String> kept,
            List<String> deleted,
            List<String> missing,
            boolean rowsLost,
            long resumeAt,
            Optional<OffsetRange> expired) {
        Outcome {
            kept = List.copyOf(kept);
            deleted = List.copyOf(deleted);
            missing = List.copyOf(missing);
        }

        Outcome(
                Fate fate,
                Optional<IntentManifest> batch,
                long logStart,
                List<String> kept,
                List<String> deleted,
                List<String> missing,
                boolean rowsLost,
                long resumeAt) {
            this(fate, batch, logStart, kept, deleted, missing, rowsLost, resumeAt, Optional.empty());
        }

        /** The same outcome, resuming at the log start past the expired offsets. */
        Outcome expiring(OffsetRange range) {
            return new Outcome(
                    fate, batch, range.until(), kept, deleted, missing, rowsLost, range.until(), Optional.of(range));
        }

        /**
         * The offsets {@code [from, to)} whose rows may be lost: records of the batch that Kafka no longer has, of
         * which those in the missing objects are gone. Empty unless rows were lost.
         */
        Optional<OffsetRange> lostRange() {
            if (!rowsLost) {
                return Optional.empty();
            }
            IntentManifest m = batch.orElseThrow();
            return Optional.of(new OffsetRange(m.firstOffset(), Math.min(logStart, m.nextOffset())));
        }
    }

    /** The Kafka offsets {@code [from, until)}; written {@code from..until-1}. */
    record OffsetRange(long from, long until) {
        long count() {
            return until - from;
        }

        @Override
        public String toString() {
            return from + ".." + (until - 1);
        }
    }

    /**
     * Recovers one assigned partition (see the class comment) and seeks the consumer to where consumption resumes.
     *
     * @throws NotOwnerException when the group no longer lets this consumer commit for the partition; nothing was
     *     deleted, and the consumer should poll to learn its new assignment
     */
    Outcome recover(TopicPartition tp) {
        OffsetAndMetadata committed = consumer.committed(Set.of(tp)).get(tp);
        long committedOffset = committed == null ? -1 : committed.offset();
        String key = manifestKey(root, tp);
        Optional<IntentManifest> manifest = store.get(key).map(json -> IntentManifest.fromJson(json, key));
        Outcome outcome;
        if (manifest.isEmpty() || manifest.get().coveredBy(committedOffset)) {
            outcome =
                    new Outcome(Fate.COMMITTED, manifest, -1, List.of(), List.of(), List.of(), false, committedOffset);
        } else {
            IntentManifest batch = manifest.get();
            long logStart = consumer.beginningOffsets(List.of(tp)).get(tp);
            if (logStart <= batch.firstOffset()) {
                confirmOwner(tp, committed);
                for (String object : batch.keys()) {
                    store.delete(object);
                }
                outcome = new Outcome(
                        Fate.DELETED, manifest, logStart, List.of(), batch.keys(), List.of(), false, committedOffset);
            } else {
                outcome = keep(tp, batch, logStart);
            }
        }
        if (outcome.resumeAt() >= 0) {
            long logStart = outcome.logStart() >= 0
                    ? outcome.logStart()
                    : consumer.beginningOffsets(List.of(tp)).get(tp);
            if (outcome.resumeAt() < logStart) {
                commitAsOwner(Map.of(tp, new OffsetAndMetadata(logStart)));
                outcome = outcome.expiring(new OffsetRange(outcome.resumeAt(), logStart));
            }
        }
        if (outcome.resumeAt() < 0) {
            consumer.seekToBeginning(List.of(tp));
        } else {
            consumer.seek(tp, outcome.resumeAt());
        }
        return outcome;
    }

    /** Settles a batch of which Kafka no longer has the records before {@code logStart} (see the class comment). */
    private Outcome keep(TopicPartition tp, IntentManifest batch, long logStart) {
        Map<String, Map<String, String>> present = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        for (String object : batch.keys()) {
            store.metadata(object).ifPresentOrElse(m -> present.put(object, m), () -> missing.add(object));
        }
        if (missing.isEmpty()) {
            commitAsOwner(Map.of(tp, new OffsetAndMetadata(batch.nextOffset())));
            return new Outcome(
                    Fate.KEPT,
                    Optional.of(batch),
                    logStart,
                    batch.keys(),
                    List.of(),
                    List.of(),
                    false,
                    batch.nextOffset());
        }
        // Records from here on are still in Kafka (none, when the log starts past the batch), and are replayed.
        long resumeAt = Math.min(logStart, batch.nextOffset());
        List<String> kept = new ArrayList<>();
        List<String> replayed = new ArrayList<>();
        present.forEach((object, metadata) -> {
            long first = firstOffset(metadata);
            (first >= resumeAt ? replayed : kept).add(object);
        });
        // The commit is the owner check, and says that every record below resumeAt is settled: on S3 or lost.
        commitAsOwner(Map.of(tp, new OffsetAndMetadata(resumeAt)));
        if (resumeAt < batch.nextOffset()) {
            // Before deleting: after a crash amid the deletes, the next recovery must find the rest of these keys
            // listed, to delete them as any uncommitted batch's (its records are in Kafka), rather than report them
            // missing as lost; and it must not find the kept ones listed, or it would delete those too.
            store.putJson(
                    manifestKey(root, tp),
                    new IntentManifest(tp.topic(), tp.partition(), resumeAt, batch.nextOffset(), replayed).toJson());
            for (String object : replayed) {
                store.delete(object);
            }
        }
        boolean rowsLost = missing.stream().anyMatch(k -> !k.startsWith(root + TraceIndex.FOLDER));
        return new Outcome(
                Fate.KEPT_INCOMPLETE, Optional.of(batch), logStart, kept, replayed, missing, rowsLost, resumeAt);
    }

    /**
     * The first Kafka offset whose rows an object holds, from its {@code otel-lake-offsets} metadata ({@code
     * first-last}); -1 when it has none (a dead letter, whose key a replay writes again anyway), so it is kept.
     */
    private static long firstOffset(Map<String, String> metadata) {
        String offsets = metadata.get("otel-lake-offsets");
        if (offsets == null || offsets.indexOf('-') <= 0) {
            return -1;
        }
        try {
            return Long.parseLong(offsets.substring(0, offsets.indexOf('-')));
        } catch (NumberFormatException e) {
            return -1;
        }
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
