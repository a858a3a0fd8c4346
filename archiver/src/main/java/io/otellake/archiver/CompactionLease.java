package io.otellake.archiver;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lake's one compactor. Archivers with compaction on take turns through a lease kept in S3, so that two of them
 * never merge the same hour into two compacted files (which readers would see twice).
 *
 * <p><b>Protocol.</b> The lease is a series of generations, {@code <prefix>/_locks/compactor/<generation>.json},
 * each {@code {"owner": ..., "expires_ms": ...}}, created only with {@code If-None-Match: *}: of several archivers
 * that try to create the same generation, S3 lets exactly one succeed. The newest generation is the lease. An
 * archiver holds it when it created the newest generation and that has not expired; it renews by creating the next
 * generation before it expires, and takes an expired lease over the same way. It keeps its own previous generation
 * and deletes older ones.
 *
 * <p><b>Guarantee.</b> {@link #hold()} returns true only when this archiver holds the lease for at least {@link
 * #RENEW_BELOW} more, longer than an S3 call may last (3 minutes, see {@link S3Store}); the compactor asks just before
 * each upload of a compacted file, so no compacted file is uploaded by an archiver whose lease another one could have
 * taken over. This assumes the archivers' clocks agree within a minute, as NTP keeps them. An archiver that stops
 * holding the lease (a restart with a new owner id) is taken over after at most {@link #TTL}; with {@code
 * OTEL_LAKE_ARCHIVER_INSTANCE_ID} set the owner id survives the restart, and the instance keeps its lease.
 */
final class CompactionLease {
    static final Duration TTL = Duration.ofMinutes(10);
    static final Duration RENEW_BELOW = Duration.ofMinutes(6);
    static final String FOLDER = "_locks/compactor/";

    private static final Logger log = LoggerFactory.getLogger(CompactionLease.class);
    private static final Pattern GENERATION = Pattern.compile("(\\d{19})\\.json");
    private static final Pattern BODY = Pattern.compile("\\{\"owner\":\"([^\"]*)\",\"expires_ms\":(\\d+)}");

    private final S3Store store;
    private final String folder;
    private final String owner;
    private final Clock clock;
    private long held = -1;
    private Instant heldUntil = Instant.MIN;

    /**
     * @param root the lake's key prefix, with its trailing slash (or empty)
     * @param owner this archiver's id: unique among running archivers ({@code [A-Za-z0-9._-]+})
     */
    CompactionLease(S3Store store, String root, String owner, Clock clock) {
        if (!owner.matches("[A-Za-z0-9._-]{1,200}")) {
            throw new IllegalArgumentException("a lease owner is 1-200 of A-Z a-z 0-9 . _ -, got '" + owner + "'");
        }
        this.store = store;
        this.folder = root + FOLDER;
        this.owner = owner;
        this.clock = clock;
    }

    /**
     * Whether this archiver holds the lease for at least {@link #RENEW_BELOW} more: renews it, or takes it over when
     * it has expired, as needed. False when another archiver holds it; S3 failures propagate.
     */
    boolean hold() {
        Instant now = clock.instant();
        if (held >= 0 && heldUntil.minus(RENEW_BELOW).isAfter(now)) {
            return true;
        }
        long newest = -1;
        List<Long> generations = new ArrayList<>();
        for (S3Store.Listed o : store.list(folder)) {
            Matcher m = GENERATION.matcher(o.key().substring(folder.length()));
            if (m.matches()) {
                generations.add(Long.parseLong(m.group(1)));
                newest = Math.max(newest, generations.get(generations.size() - 1));
            }
        }
        if (newest >= 0 && newest != held) {
            Optional<Lease> current = store.get(key(newest)).map(CompactionLease::parse);
            if (current.isPresent()
                    && !current.get().owner().equals(owner)
                    && current.get().expires().isAfter(now)) {
                if (held >= 0) {
                    log.warn(
                            "compaction lease taken over by {} (generation {})",
                            current.get().owner(),
                            newest);
                }
                held = -1;
                return false;
            }
        }
        long next = newest + 1;
        Instant until = now.plus(TTL);
        byte[] body = ("{\"owner\":\"" + owner + "\",\"expires_ms\":" + until.toEpochMilli() + "}")
                .getBytes(StandardCharsets.UTF_8);
        if (!create(key(next), body)) {
            held = -1; // another archiver created this generation first
            return false;
        }
        if (held < 0) {
            log.info("holding the compaction lease as {} (generation {})", owner, next);
        }
        held = next;
        heldUntil = until;
        for (long old : generations) {
            if (old < newest) {
                store.delete(key(old)); // older generations: nobody reads them any more
            }
        }
        return true;
    }

    /**
     * Creates the generation; true when it is ours. A conditional PUT's outcome can be ambiguous: a server may answer
     * 412 before reading the body and close the connection, and a retry of a PUT that did succeed finds its own object
     * and gets 412. So on a refusal or an I/O failure the generation is read back: it is ours if it holds our body.
     */
    private boolean create(String key, byte[] body) {
        RuntimeException failure = null;
        try {
            if (store.putIfAbsent(key, body)) {
                return true;
            }
        } catch (S3Store.ArchiveUploadException e) {
            failure = e;
        }
        Optional<byte[]> stored = store.get(key);
        if (stored.isEmpty() && failure != null) {
            throw failure;
        }
        return stored.isPresent() && Arrays.equals(stored.get(), body);
    }

    private String key(long generation) {
        return folder + String.format("%019d", generation) + ".json";
    }

    private record Lease(String owner, Instant expires) {}

    /** A generation's content; one that cannot be read counts as expired, so a stray object cannot block compaction. */
    private static Lease parse(byte[] body) {
        Matcher m = BODY.matcher(new String(body, StandardCharsets.UTF_8).strip());
        if (!m.matches()) {
            return new Lease("", Instant.EPOCH);
        }
        return new Lease(m.group(1), Instant.ofEpochMilli(Long.parseLong(m.group(2))));
    }
}
