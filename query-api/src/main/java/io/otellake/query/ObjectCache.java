package io.otellake.query;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/**
 * A bounded on-disk LRU cache of S3 objects, keyed by object key and ETag.
 *
 * <p>Guarantees: a cached file is never served for a different ETag (an overwritten object is fetched again); a file
 * appears under its final name only once complete (written to a temporary name, then moved); concurrent requests for
 * the same object fetch it once; the total size stays under the bound except for the objects of queries in flight.
 * Eviction deletes the least recently used files that no query holds: {@link #get} holds a file until
 * {@link #release}, so a query whose files add up to more than the bound still finds every one of them.
 */
final class ObjectCache {
    /** Fetches one object into the given temporary file. */
    interface Fetcher {
        void fetch(Path target) throws IOException;
    }

    private final Path dir;
    private final long maxBytes;
    private final Map<String, Long> sizes = new LinkedHashMap<>(16, 0.75f, true); // access order: LRU first
    /** How many queries hold each file, from {@link #get} to {@link #release}; never evicted meanwhile. */
    private final Map<String, Integer> holds = new HashMap<>();
    /**
     * The object key of each file in {@link #sizes}, and of each file {@link #discard}ed, to name an object whose local
     * copy cannot be read.
     */
    private final Map<String, String> keys = new HashMap<>();

    private final ConcurrentHashMap<String, Object> locks = new ConcurrentHashMap<>();
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong misses = new AtomicLong();
    private final AtomicLong bytesFetched = new AtomicLong();
    private final AtomicLong evictions = new AtomicLong();
    private long totalBytes;
    /** A cache file's path as DuckDB writes it in an error: the directory, then the name. */
    private final Pattern cachedFile;

    ObjectCache(Path dir, long maxBytes) {
        this.dir = dir.toAbsolutePath().normalize();
        this.maxBytes = maxBytes;
        this.cachedFile = Pattern.compile(Pattern.quote(this.dir + "/") + "([0-9a-f]{64}\\.parquet)");
        try {
            Files.createDirectories(this.dir);
            try (Stream<Path> files = Files.list(this.dir)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    String name = f.getFileName().toString();
                    if (name.endsWith(".tmp")) {
                        Files.deleteIfExists(f); // left by a crash mid-fetch
                    } else if (name.endsWith(".parquet")) {
                        long size = Files.size(f);
                        sizes.put(name, size);
                        totalBytes += size;
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot use cache directory " + this.dir, e);
        }
    }

    Path dir() {
        return dir;
    }

    /** A local copy, and whether it was already there. */
    record Cached(Path file, boolean hit) {}

    /** The local copy of {@code key} at {@code etag}, fetched when missing, held until {@link #release}. */
    Cached get(String key, String etag, Fetcher fetcher) throws IOException {
        String name = fileName(key, etag);
        Path file = dir.resolve(name);
        Object lock = locks.computeIfAbsent(name, n -> new Object());
        try {
            return fetchOnce(key, name, file, lock, fetcher);
        } finally {
            locks.remove(name, lock);
        }
    }

    private Cached fetchOnce(String key, String name, Path file, Object lock, Fetcher fetcher) throws IOException {
        synchronized (lock) {
            synchronized (this) {
                if (sizes.get(name) != null && Files.exists(file)) {
                    hits.incrementAndGet();
                    holds.merge(name, 1, Integer::sum);
                    keys.put(name, key);
                    return new Cached(file, true);
                }
            }
            misses.incrementAndGet();
            Path tmp = dir.resolve(name + "." + Thread.currentThread().getId() + ".tmp");
            try {
                fetcher.fetch(tmp);
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(tmp);
            }
            long size = Files.size(file);
            bytesFetched.addAndGet(size);
            synchronized (this) {
                Long previous = sizes.put(name, size);
                totalBytes += size - (previous == null ? 0 : previous);
                holds.merge(name, 1, Integer::sum);
                keys.put(name, key);
                evict();
            }
            return new Cached(file, false);
        }
    }

    /** Lets go of a file {@link #get} returned, once the query that asked for it is done with it. */
    synchronized void release(Path file) {
        String name = file.getFileName().toString();
        holds.computeIfPresent(name, (n, count) -> count == 1 ? null : count - 1);
        evict();
    }

    private void evict() {
        var it = sizes.entrySet().iterator();
        while (totalBytes > maxBytes && it.hasNext()) {
            Map.Entry<String, Long> oldest = it.next();
            if (holds.containsKey(oldest.getKey())) {
                continue; // a query in flight still reads it
            }
            try {
                Files.deleteIfExists(dir.resolve(oldest.getKey()));
            } catch (IOException e) {
                continue; // in use elsewhere or gone; try the next one
            }
            totalBytes -= oldest.getValue();
            keys.remove(oldest.getKey());
            it.remove();
            evictions.incrementAndGet();
        }
    }

    /**
     * The object key of a file in the cache whose name {@code text} holds (DuckDB names the file it cannot read in its
     * error), or null when it names none. Only files fetched or served since start-up are known by key.
     */
    synchronized @Nullable Damaged damagedFileNamedIn(String text) {
        Matcher m = cachedFile.matcher(text);
        while (m.find()) {
            String key = keys.get(m.group(1));
            if (key != null) {
                return new Damaged(dir.resolve(m.group(1)), key);
            }
        }
        return null;
    }

    /** A cached file that could not be read, and the object it is a copy of. */
    record Damaged(Path file, String key) {}

    /**
     * Drops {@code file} from the cache, so that the next query fetches its object again instead of reading the same
     * bytes; queries that hold it keep reading what they opened.
     */
    synchronized void discard(Path file) {
        String name = file.getFileName().toString();
        Long size = sizes.remove(name);
        if (size != null) {
            totalBytes -= size;
        }
        // The name keeps its key: another query that held the file, and opens it only now, fails on the missing file,
        // and must be told which object that was (a 503) rather than get an error no one recognises (a 500). One entry
        // per damaged file, which the next fetch of the object reuses.
        try {
            Files.deleteIfExists(dir.resolve(name));
        } catch (IOException e) {
            // left for the next start-up to count; it is no longer served
        }
    }

    long hits() {
        return hits.get();
    }

    long misses() {
        return misses.get();
    }

    long bytesFetched() {
        return bytesFetched.get();
    }

    long evictions() {
        return evictions.get();
    }

    /** How many files queries hold now (see {@link #release}). */
    synchronized int heldFiles() {
        return holds.size();
    }

    synchronized long totalBytes() {
        return totalBytes;
    }

    /** A file name that cannot contain anything from the key but its hash. */
    static String fileName(String key, String etag) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(key.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(etag.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(sha.digest()) + ".parquet";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
