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
import java.util.stream.Stream;

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

    private final ConcurrentHashMap<String, Object> locks = new ConcurrentHashMap<>();
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong misses = new AtomicLong();
    private final AtomicLong bytesFetched = new AtomicLong();
    private final AtomicLong evictions = new AtomicLong();
    private long totalBytes;

    ObjectCache(Path dir, long maxBytes) {
        this.dir = dir.toAbsolutePath().normalize();
        this.maxBytes = maxBytes;
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
            return fetchOnce(name, file, lock, fetcher);
        } finally {
            locks.remove(name, lock);
        }
    }

    private Cached fetchOnce(String name, Path file, Object lock, Fetcher fetcher) throws IOException {
        synchronized (lock) {
            synchronized (this) {
                if (sizes.get(name) != null && Files.exists(file)) {
                    hits.incrementAndGet();
                    holds.merge(name, 1, Integer::sum);
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
            it.remove();
            evictions.incrementAndGet();
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
