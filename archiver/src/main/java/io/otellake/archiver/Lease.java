package io.otellake.archiver;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A task that one archiver at a time runs on the lake: compaction, so that two archivers never merge the same hour
 * into two compacted files (which readers would see twice), and retention, so that one archiver deletes an expired
 * hour and writes its audit lines, not every archiver that has retention on. Archivers take turns through a lease kept
 * in S3, one per {@link Kind}.
 *
 * <p><b>Protocol.</b> The lease is a series of generations, {@code <prefix>/_locks/<kind>/<generation>.json} (kind
 * {@code compactor} or {@code retention}), each {@code {"owner": ..., "expires_ms": ...}}, created only with {@code
 * If-None-Match: *}: of several archivers that try to create the same generation, S3 lets exactly one succeed. The
 * newest generation is the lease. An archiver holds it for {@link #TTL} from the moment it started creating the newest
 * generation; it renews by creating the next generation before then. Another archiver takes the lease over the same
 * way, but only once it has seen the same newest generation for a whole {@link #TTL}. Both measure time elapsed on
 * their own monotonic clock ({@link System#nanoTime()}), never a time of day. The holder keeps its own previous
 * generation and deletes older ones. ({@code expires_ms} is for people reading the folder; no archiver compares
 * another machine's time with its own.)
 *
 * <p><b>Guarantee.</b> {@link #hold()} returns true only when this archiver holds the lease for at least {@link
 * #RENEW_BELOW} more, longer than an S3 call may last (3 minutes, see {@link S3Store}); the compactor asks just before
 * each call that uploads a compacted file (each part of an upload in parts, and its completion), retention before it
 * deletes each partition, so no compacted file is uploaded, and no partition deleted, by an archiver whose lease
 * another one could have taken over. This holds whatever the archivers' clocks say, and when they are stepped: another
 * archiver cannot see a generation before it was created, so it waits at least {@link #TTL} after the holder started
 * creating it; only the rates at which time passes must agree, which they do to a few parts per million. An archiver
 * that stops holding the lease (a crash, or a restart with a new owner id) is taken over {@link #TTL} after the others
 * first saw its last generation, so an archiver that starts next to another's lease waits {@link #TTL} before it runs
 * the task; with {@code OTEL_LAKE_ARCHIVER_INSTANCE_ID} set the owner id survives a restart, and the instance keeps its
 * lease.
 */
final class Lease {
    static final Duration TTL = Duration.ofMinutes(10);
    static final Duration RENEW_BELOW = Duration.ofMinutes(6);

    /** The tasks that take turns through a lease, each with a folder of its own. */
    enum Kind {
        COMPACTION("compactor"),
        RETENTION("retention");

        /** The lease's folder below the lake prefix, ending in {@code /}. */
        final String folder;

        Kind(String name) {
            this.folder = "_locks/" + name + "/";
        }

        /** How the logs name it: the compaction lease, the retention lease. */
        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private static final Logger log = LoggerFactory.getLogger(Lease.class);
    private static final Pattern GENERATION = Pattern.compile("(\\d{19})\\.json");
    private static final Pattern BODY = Pattern.compile("\\{\"owner\":\"([^\"]*)\",\"expires_ms\":(\\d+)}");

    private final S3Store store;
    private final Kind kind;
    private final String folder;
    private final String owner;
    private final Clock clock;
    private final LongSupplier nanoTime;
    private long held = -1;
    /** When the lease this archiver holds ends, in {@link #nanoTime}. */
    private long heldUntil;
    /** Another archiver's newest generation as this one last saw it, and since when (in {@link #nanoTime}). */
    private long seen = -1;

    private long seenSince;

    /**
     * @param root the lake's key prefix, with its trailing slash (or empty)
     * @param owner this archiver's id: unique among running archivers ({@code [A-Za-z0-9._-]+})
     */
    Lease(Kind kind, S3Store store, String root, String owner, Clock clock) {
        this(kind, store, root, owner, clock, System::nanoTime);
    }

    /**
     * The same, with {@code nanoTime} for the time that passes ({@link System#nanoTime()} outside tests); {@code clock}
     * only dates {@code expires_ms}.
     */
    Lease(Kind kind, S3Store store, String root, String owner, Clock clock, LongSupplier nanoTime) {
        if (!owner.matches("[A-Za-z0-9._-]{1,200}")) {
            throw new IllegalArgumentException("a lease owner is 1-200 of A-Z a-z 0-9 . _ -, got '" + owner + "'");
        }
        this.store = store;
        this.kind = kind;
        this.folder = root + kind.folder;
        this.owner = owner;
        this.clock = clock;
        this.nanoTime = nanoTime;
    }

    /**
     * Whether S3 refuses to create an object that already exists when asked with {@code If-None-Match: *}, on which
     * every lease rests: on a store that ignores the header every archiver would believe it holds the lease, and two
     * could compact one hour into two files. AWS S3, MinIO and S3Proxy honour it. Creates a probe object of its own
     * under the locks folder, tries to create it again, and deletes it; only a second create that goes through says the
     * header is ignored. The first create's answer is not evidence either way: S3Proxy answers about one in twenty
     * creates of a new key as refused while it creates the object (300 probes: 15 such, none where the second create
     * went through), and judging by it turned compaction off in a test now and then.
     */
    static boolean conditionalCreateHonoured(S3Store store, String root) {
        String key = root + "_locks/probe-" + UUID.randomUUID() + ".json";
        byte[] body = "{}".getBytes(StandardCharsets.UTF_8);
        try {
            store.putIfAbsent(key, body);
            return !store.putIfAbsent(key, body);
        } finally {
            store.delete(key);
        }
    }

    /** This archiver's owner id: its {@code OTEL_LAKE_ARCHIVER_INSTANCE_ID}, or a random one when it has none. */
    static String ownerId(ArchiverConfig config) {
        return config.instanceId().isEmpty() ? "archiver-" + UUID.randomUUID() : config.instanceId();
    }

    /**
     * Whether this archiver holds the lease for at least {@link #RENEW_BELOW} more: renews it, or takes it over when
     * it has not changed for {@link #TTL}, as needed. False when another archiver holds it; S3 failures propagate.
     */
    boolean hold() {
        long now = nanoTime.getAsLong();
        if (held >= 0 && heldUntil - RENEW_BELOW.toNanos() - now > 0) {
            return true;
        }
        long newest = -1;
        List<Long> generations = new ArrayList<>();
        for (S3Store.Listed o : store.list(folder)) {
            Matcher m = GENERATION.matcher(o.key().substring(folder.length()));
            if (m.matches()) {
                // Generations count up from 0 by one, so a name of Long.MAX_VALUE or more (which has no next
                // generation, or does not even fit a long) is a stray object: ignored, or it would stop the task.
                Optional<Long> generation = generation(m.group(1));
                if (generation.isEmpty()) {
                    log.warn("{} lease: ignoring {}, not a generation this lease can follow", kind.label(), o.key());
                    continue;
                }
                generations.add(generation.get());
                newest = Math.max(newest, generation.get());
            }
        }
        if (newest >= 0 && newest != held) {
            Optional<String> current = store.get(key(newest)).map(Lease::owner);
            if (newest != seen) {
                seen = newest;
                seenSince = nanoTime.getAsLong(); // after the listing: not before the generation existed
            }
            if (current.isPresent()
                    && !current.get().isEmpty()
                    && !current.get().equals(owner)
                    && seenSince + TTL.toNanos() - nanoTime.getAsLong() > 0) {
                if (held >= 0) {
                    log.warn("{} lease taken over by {} (generation {})", kind.label(), current.get(), newest);
                }
                held = -1;
                return false;
            }
        }
        long next = newest + 1;
        long until = now + TTL.toNanos();
        Instant expires = clock.instant().plus(TTL);
        byte[] body = ("{\"owner\":\"" + owner + "\",\"expires_ms\":" + expires.toEpochMilli() + "}")
                .getBytes(StandardCharsets.UTF_8);
        if (!create(key(next), body)) {
            held = -1; // another archiver created this generation first
            return false;
        }
        if (held < 0) {
            log.info("holding the {} lease as {} (generation {})", kind.label(), owner, next);
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
     * Gives the lease up, for a clean shutdown: creates the next generation without an owner, which any archiver (this
     * one after a restart included) takes over at once instead of after {@link #TTL}. Call it only when no pass of this
     * archiver runs or can start any more, since their uploads would no longer be covered. Does nothing when this
     * archiver does not hold the lease, or when another archiver has already taken it over.
     */
    void release() {
        if (held < 0) {
            return;
        }
        long next = held + 1;
        held = -1;
        byte[] body = ("{\"owner\":\"\",\"expires_ms\":" + clock.millis() + "}").getBytes(StandardCharsets.UTF_8);
        if (create(key(next), body)) {
            log.info("released the {} lease (generation {})", kind.label(), next);
        }
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

    private static Optional<Long> generation(String digits) {
        try {
            long generation = Long.parseLong(digits);
            return generation < Long.MAX_VALUE ? Optional.of(generation) : Optional.empty();
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    private String key(long generation) {
        return folder + String.format("%019d", generation) + ".json";
    }

    /**
     * A generation's owner; empty for one that cannot be read, which counts as expired, so a stray object cannot block
     * the task.
     */
    private static String owner(byte[] body) {
        Matcher m = BODY.matcher(new String(body, StandardCharsets.UTF_8).strip());
        return m.matches() ? m.group(1) : "";
    }
}
