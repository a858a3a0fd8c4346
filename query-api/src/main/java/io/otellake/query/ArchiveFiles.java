package io.otellake.query;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.otellake.schemas.LakeLayout;
import io.otellake.schemas.Partition;
import io.otellake.schemas.Signal;
import io.otellake.schemas.TenantId;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Component;
import software.amazon.awssdk.auth.credentials.AnonymousCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.AwsRequest;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Finds and fetches the archive files a query needs.
 *
 * <p>Guarantee: only objects under {@code <prefix>/<signal>/tenant=<tenant>/} of the asking tenant, in the hour
 * partitions that overlap the query's range, are listed and fetched; the keys are built from a validated
 * {@link TenantId} and nothing else from the request.
 */
@Component
class ArchiveFiles implements AutoCloseable {
    private final S3Client s3;
    private final String bucket;
    private final LakeLayout layout;
    private final ObjectCache cache;
    private final long maxBytesPerQuery;
    private final long listingTtlNanos;
    private final Map<String, Listing> listingCache = new ConcurrentHashMap<>();
    private final ExecutorService listers = Executors.newFixedThreadPool(LISTING_THREADS, r -> {
        Thread t = new Thread(r, "s3-list");
        t.setDaemon(true);
        return t;
    });
    private static final int LISTING_THREADS = 8;
    /**
     * How long a fetch may outlast its query's time: long enough that the query answers 504 first (not 503 for the
     * fetch it cut), short enough that a slow S3 does not gather fetches nobody waits for.
     */
    static final Duration FETCH_GRACE = Duration.ofSeconds(1);
    /** Objects one query fetches from S3 at once. */
    static final int FETCHES_PER_QUERY = 8;
    /** Threads for fetches; each query keeps at most {@link #FETCHES_PER_QUERY} of them busy. */
    private final ExecutorService fetchers = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "s3-get");
        t.setDaemon(true);
        return t;
    });
    /** Names and metadata of compacted files, as the archiver's compactor writes them. */
    private static final String COMPACTED_PREFIX = "compacted-";

    private static final String COMPACTED_FROM = "otel-lake-compacted-from";
    private final Map<String, List<String>> compactedInputs = new ConcurrentHashMap<>();
    private static final int MAX_LISTINGS = 10_000;
    private final AtomicLong unreadable = new AtomicLong();
    private final Duration fetchGrace;

    ArchiveFiles(LakeProperties props) {
        this(props, null);
    }

    /** With metrics of the cache in {@code registry}: hits, misses, bytes fetched, evictions, bytes held. */
    @org.springframework.beans.factory.annotation.Autowired
    ArchiveFiles(LakeProperties props, @org.jspecify.annotations.Nullable MeterRegistry registry) {
        this(props, registry, FETCH_GRACE);
    }

    /** With another {@link #FETCH_GRACE}; for tests. */
    ArchiveFiles(LakeProperties props, @org.jspecify.annotations.Nullable MeterRegistry registry, Duration fetchGrace) {
        this.fetchGrace = fetchGrace;
        this.maxBytesPerQuery = props.maxBytesPerQuery();
        this.listingTtlNanos = props.listingTtl().toNanos();
        this.bucket = props.s3().bucket();
        this.layout = props.layout();
        this.cache = new ObjectCache(props.cacheDir(), props.cacheMaxBytes());
        if (registry != null) {
            FunctionCounter.builder("otel_lake.cache.hits", cache, ObjectCache::hits)
                    .description("archive files served from the local cache")
                    .register(registry);
            FunctionCounter.builder("otel_lake.cache.misses", cache, ObjectCache::misses)
                    .description("archive files fetched from S3")
                    .register(registry);
            FunctionCounter.builder("otel_lake.cache.fetched", cache, ObjectCache::bytesFetched)
                    .baseUnit("bytes")
                    .description("bytes fetched from S3 into the cache")
                    .register(registry);
            FunctionCounter.builder("otel_lake.cache.evictions", cache, ObjectCache::evictions)
                    .description("files evicted to keep the cache under its bound")
                    .register(registry);
            Gauge.builder("otel_lake.cache.size", cache, ObjectCache::totalBytes)
                    .baseUnit("bytes")
                    .description("bytes held in the cache")
                    .register(registry);
            FunctionCounter.builder("otel_lake.archive.unreadable", unreadable, AtomicLong::get)
                    .description("queries refused because DuckDB could not read one of their archive files")
                    .register(registry);
        }
        LakeProperties.S3 s = props.s3();
        this.s3 = S3Client.builder()
                .endpointOverride(s.endpoint())
                .region(Region.of(s.region()))
                .credentialsProvider(
                        switch (s.signing()) {
                            case KEYS ->
                                StaticCredentialsProvider.create(
                                        AwsBasicCredentials.create(s.accessKey(), s.secretKey()));
                            case AWS -> DefaultCredentialsProvider.builder().build();
                            case ANONYMOUS -> AnonymousCredentialsProvider.create();
                        })
                .forcePathStyle(true)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .httpClient(UrlConnectionHttpClient.create())
                // no call outlives the longest request by more than FETCH_GRACE, whichever thread makes it
                .overrideConfiguration(
                        o -> o.apiCallTimeout(props.queryTimeout().plus(fetchGrace)))
                .build();
    }

    /**
     * What a query read, for the response's {@code stats}.
     *
     * @param cut the files among {@code files} whose rows may lie outside the query's time range: those of a first
     *     or last hour that the range only partly covers, or all of them when the files were asked for by hour. Every
     *     row of any other file has its event time inside the range, because the archiver writes each record to the
     *     partition of its own event hour and compaction merges files within a partition.
     */
    /**
     * @param bytes the bytes fetched from S3 (the files not in the cache)
     * @param archiveBytes the size of all the files, fetched or cached, as the query's byte limit counts them
     */
    record Fetched(List<Path> files, int partitions, long bytes, long archiveBytes, int cacheHits, Set<Path> cut) {
        /** {@code files} less {@link #cut}: those whose every row is in the time range. */
        List<Path> whole() {
            return files.stream().filter(f -> !cut.contains(f)).toList();
        }

        List<Path> cutFiles() {
            return files.stream().filter(cut::contains).toList();
        }
    }

    Path cacheDir() {
        return cache.dir();
    }

    /**
     * The local copies of every file of the tenant's signal in the hours overlapping [start, end), held in the cache
     * until {@link #release} (as those of every fetch method here). Throws
     * {@link ArchiveUnavailableException} when S3 cannot be reached.
     */
    Fetched fetch(Signal signal, TenantId tenant, Instant start, Instant end) {
        List<Partition> hours = LakeLayout.hoursBetween(signal, tenant, start, end);
        Set<String> cut = new HashSet<>();
        if (!hours.isEmpty()) {
            Partition first = hours.get(0);
            Partition last = hours.get(hours.size() - 1);
            if (first.start().isBefore(start)) {
                cut.add(layout.partitionPrefix(first));
            }
            if (last.next().start().isAfter(end)) {
                cut.add(layout.partitionPrefix(last));
            }
        }
        return fetch(signal, tenant, hours, cut::contains, 0);
    }

    /**
     * The local copies of every file of the given hour partitions of one tenant's signal, less the files a listed
     * compacted file replaces (see the archiver's {@code Compactor}). A listed file that is gone by the time it is
     * fetched (compaction deleted it) makes the listing be taken again, once.
     */
    Fetched fetch(Signal signal, TenantId tenant, List<Partition> hours) {
        return fetch(signal, tenant, hours, 0);
    }

    /**
     * The same, for a query that already read {@code readBefore} bytes of archive (a trace lookup's index files): the
     * byte limit is for the whole query.
     */
    Fetched fetch(Signal signal, TenantId tenant, List<Partition> hours, long readBefore) {
        return fetch(signal, tenant, hours, partition -> true, readBefore);
    }

    /** @param cut whether the files of an hour partition (its key prefix) go to {@link Fetched#cut} */
    private Fetched fetch(
            Signal signal, TenantId tenant, List<Partition> hours, Predicate<String> cut, long readBefore) {
        String tenantPrefix = layout.tenantPrefix(signal, tenant);
        return fetchListed(
                () -> fetchObjects(withoutReplaced(list(hours, tenantPrefix)), hours.size(), cut, readBefore),
                () -> hours.forEach(hour -> {
                    listingCache.remove(layout.partitionPrefix(hour));
                    listingCache.remove(layout.dayPrefix(hour));
                }),
                hours.size());
    }

    /** A fetch of the objects some listings name. */
    private interface ListedFetch {
        Fetched run() throws IOException;
    }

    /**
     * Runs {@code fetch}; when a listed object is gone or changed by the time it is fetched (compaction deleted it, or
     * the roll-up of an index day), {@code forget} drops the listings and the fetch runs again, once. A missing bucket
     * is nothing archived yet ({@code partitions} partitions of nothing); other S3 and cache failures become {@link
     * ArchiveUnavailableException}, or the 504 of a request whose time ran out.
     */
    private Fetched fetchListed(ListedFetch fetch, Runnable forget, int partitions) {
        try {
            try {
                return fetch.run();
            } catch (S3Exception e) {
                if (!(e instanceof NoSuchKeyException) && e.statusCode() != 412) {
                    throw e;
                }
                forget.run();
                return fetch.run();
            }
        } catch (NoSuchBucketException e) {
            return new Fetched(List.of(), partitions, 0, 0, 0, Set.of());
        } catch (SdkException e) {
            RequestDeadline.check(); // a call cut because the request's time ran out: 504, not 503
            throw new ArchiveUnavailableException(
                    "the archive (S3 bucket " + bucket + ") cannot be read: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new ArchiveUnavailableException("the local cache cannot store an archive file: " + e.getMessage(), e);
        }
    }

    /**
     * Drops the files that a listed compacted file names as its inputs: between the compacted file's upload and its
     * inputs' deletion both are listed, and their rows must count once.
     */
    private List<S3Object> withoutReplaced(List<S3Object> objects) {
        Set<String> replaced = new HashSet<>();
        for (S3Object o : objects) {
            int slash = o.key().lastIndexOf('/');
            if (o.key().startsWith(COMPACTED_PREFIX, slash + 1)) {
                String folder = o.key().substring(0, slash + 1);
                for (String name : compactedFrom(o)) {
                    replaced.add(folder + name);
                }
            }
        }
        if (replaced.isEmpty()) {
            return objects;
        }
        return objects.stream().filter(o -> !replaced.contains(o.key())).toList();
    }

    /** The input names of a compacted file, from its S3 metadata, asked once per key and ETag. */
    private List<String> compactedFrom(S3Object o) {
        if (compactedInputs.size() > MAX_LISTINGS * 10) {
            compactedInputs.clear();
        }
        return compactedInputs.computeIfAbsent(o.key() + "@" + o.eTag(), k -> {
            long cutAt = cutAt();
            String from = s3.headObject(b -> cutAt(b.bucket(bucket).key(o.key()), cutAt))
                    .metadata()
                    .get(COMPACTED_FROM);
            return from == null || from.isEmpty() ? List.of() : List.of(from.split(","));
        });
    }

    /**
     * The local copies of the tenant's trace index files of the days since {@code since} (see the archiver's {@code
     * TraceIndex}); {@code partitions} in the answer counts index days.
     */
    Fetched fetchTraceIndex(TenantId tenant, Instant since) {
        return fetchTraceIndex(tenant, since, null);
    }

    /** The same, for the days from {@code since}'s to {@code until}'s (inclusive), or to the last one when null. */
    Fetched fetchTraceIndex(TenantId tenant, Instant since, @Nullable Instant until) {
        String prefix =
                layout.tenantPrefix(Signal.TRACES, tenant).replaceFirst("traces/tenant=", "_index/traces/tenant=");
        String firstDay =
                prefix + "dt=" + since.atZone(java.time.ZoneOffset.UTC).toLocalDate() + "/";
        String afterLastDay = until == null
                ? null
                : prefix + "dt="
                        + until.atZone(java.time.ZoneOffset.UTC).toLocalDate().plusDays(1) + "/";
        return fetchListed(() -> fetchIndexDays(prefix, firstDay, afterLastDay), () -> listingCache.remove(prefix), 0);
    }

    private Fetched fetchIndexDays(String prefix, String firstDay, @Nullable String afterLastDay) throws IOException {
        List<S3Object> objects = new ArrayList<>();
        Set<String> days = new HashSet<>();
        for (S3Object o : listing(prefix)) {
            String key = o.key();
            // index days sort by name: dt=yyyy-MM-dd; anything outside a day folder is not the archiver's
            if (key.startsWith(prefix + "dt=")
                    && key.indexOf('/', prefix.length()) > 0
                    && key.endsWith(".parquet")
                    && key.compareTo(firstDay) >= 0
                    && (afterLastDay == null || key.compareTo(afterLastDay) < 0)) {
                objects.add(o);
                days.add(key.substring(0, key.indexOf('/', prefix.length() + 1)));
            }
        }
        return fetchObjects(withoutReplaced(objects), days.size(), day -> true, 0);
    }

    private Fetched fetchObjects(List<S3Object> objects, int partitions, Predicate<String> cut, long readBefore)
            throws IOException {
        long total = readBefore;
        for (S3Object o : objects) {
            total += o.size();
        }
        if (total > maxBytesPerQuery) {
            throw new QueryTooLargeException("the query would read " + total + " bytes of archive, more than the"
                    + " allowed " + maxBytesPerQuery + "; narrow the time range or the tenant's data");
        }
        // FETCHES_PER_QUERY at a time, in order: a query of many small files (a day of the trace index before its
        // compaction, the hours of a busy tenant) waits for S3's latency once per batch instead of once per object
        // a fetch still running when the request's time is up is cut by the SDK a moment later (after the request
        // has had its 504), so that a slow S3 cannot pile up fetches that outlive their queries
        long cutAt = cutAt();
        List<ObjectCache.Cached> got = new ArrayList<>(objects.size());
        Deque<CompletableFuture<ObjectCache.Cached>> inFlight = new ArrayDeque<>();
        try {
            int next = 0;
            while (got.size() < objects.size()) {
                while (next < objects.size() && inFlight.size() < FETCHES_PER_QUERY) {
                    RequestDeadline.check();
                    S3Object o = objects.get(next++);
                    inFlight.add(CompletableFuture.supplyAsync(() -> fetchOne(o, cutAt), fetchers));
                }
                // taken off the queue only once fetched: if the wait ends in a 504, the catch below still releases it
                got.add(await(inFlight.peek()));
                inFlight.remove();
            }
        } catch (IOException | RuntimeException e) {
            // The fetches still running end by themselves (done, failed, or cut at their limit); each is given back
            // to the cache once it ends, without this request waiting for it.
            for (CompletableFuture<ObjectCache.Cached> f : inFlight) {
                f.whenComplete((cached, error) -> {
                    if (cached != null) {
                        cache.release(cached.file());
                    }
                });
            }
            got.forEach(c -> cache.release(c.file()));
            throw e;
        }
        List<Path> files = new ArrayList<>(got.size());
        Set<Path> cutFiles = new HashSet<>();
        long bytes = 0;
        int hits = 0;
        for (int i = 0; i < got.size(); i++) {
            S3Object o = objects.get(i);
            ObjectCache.Cached cached = got.get(i);
            files.add(cached.file());
            if (cut.test(o.key().substring(0, o.key().lastIndexOf('/') + 1))) {
                cutFiles.add(cached.file());
            }
            if (cached.hit()) {
                hits++;
            } else {
                bytes += o.size();
            }
        }
        return new Fetched(files, partitions, bytes, total - readBefore, hits, cutFiles);
    }

    /**
     * What tells one content of {@code o}'s key from another: its ETag, or, for an object listed without one (S3Proxy
     * lists a file copied into its directory without the attributes it keeps beside it so), its time and size.
     */
    private static String version(S3Object o) {
        return o.eTag() != null ? o.eTag() : "no-etag:" + o.lastModified() + ":" + o.size();
    }

    /**
     * Lets the cache evict the files of {@code fetched} again: every caller of a fetch method calls this once its
     * queries over the files are done, in a {@code finally}.
     */
    void release(Fetched fetched) {
        fetched.files().forEach(cache::release);
    }

    /** Cached files some query still holds; for tests. */
    int heldFiles() {
        return cache.heldFiles();
    }

    /** Bytes in the cache; for tests. */
    long cachedBytes() {
        return cache.totalBytes();
    }

    /**
     * When an S3 call made for the request on this thread is cut ({@link System#nanoTime()}): {@link #FETCH_GRACE}
     * after the request's time runs out, so that the request answers 504 first; {@link Long#MAX_VALUE} on a thread
     * with no request.
     */
    private long cutAt() {
        long remaining = RequestDeadline.remainingNanos();
        return remaining == Long.MAX_VALUE
                ? Long.MAX_VALUE
                : System.nanoTime() + Math.max(0, remaining) + fetchGrace.toNanos();
    }

    /** Makes the S3 call of {@code request} end at {@code cutAt} (see {@link #cutAt()}), when that is a limit. */
    private static <B extends AwsRequest.Builder> B cutAt(B request, long cutAt) {
        if (cutAt != Long.MAX_VALUE) {
            Duration left = Duration.ofNanos(cutAt - System.nanoTime());
            request.overrideConfiguration(c -> c.apiCallTimeout(left));
        }
        return request;
    }

    /**
     * Fetches one object into the cache. The S3 call is cut at {@code cutAt} (see {@link #cutAt()}), also when the
     * fetch first waited for another query's fetch of the same object.
     */
    private ObjectCache.Cached fetchOne(S3Object o, long cutAt) {
        try {
            return cache.get(o.key(), version(o), target -> {
                if (cutAt != Long.MAX_VALUE && cutAt - System.nanoTime() < 1_000_000) {
                    throw new IOException(
                            "the query's time ran out before s3://" + bucket + "/" + o.key() + " could be fetched");
                }
                s3.getObject(
                        b -> {
                            cutAt(b.bucket(bucket).key(o.key()), cutAt);
                            if (o.eTag() != null) {
                                b.ifMatch(o.eTag());
                            }
                        },
                        target);
            });
        } catch (IOException e) {
            throw new CompletionException(e);
        }
    }

    /**
     * The fetched object, waiting at most for what remains of the request's time: an S3 that sends an object slowly
     * gets the request its 504 at the query timeout, instead of holding it (and its turn at the query gate) until the
     * object is complete.
     */
    private static ObjectCache.Cached await(CompletableFuture<ObjectCache.Cached> fetch) throws IOException {
        try {
            return withinDeadline(fetch);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while fetching an archive file", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof RuntimeException runtime) {
                throw runtime;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw new IOException(cause);
        }
    }

    /** The future's value, waited for at most what remains of the request's time; a 504 once it has run out. */
    private static <T> T withinDeadline(Future<T> future) throws InterruptedException, ExecutionException {
        long remaining = RequestDeadline.remainingNanos();
        if (remaining == Long.MAX_VALUE) {
            return future.get();
        }
        try {
            return future.get(Math.max(0, remaining), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw RequestDeadline.exceeded();
        }
    }

    /**
     * The objects of the given hours. A day of which the range covers more than two hours is listed once instead of hour by hour;
     * listings run in parallel and are reused for {@code otel-lake.listing-ttl}, which bounds how stale a query's
     * view of the archive can be.
     */
    private List<S3Object> list(List<Partition> hours, String tenantPrefix) throws IOException {
        Map<String, List<Partition>> byDay = new LinkedHashMap<>();
        for (Partition hour : hours) {
            byDay.computeIfAbsent(layout.dayPrefix(hour), d -> new ArrayList<>())
                    .add(hour);
        }
        Set<String> wanted = new HashSet<>();
        List<String> prefixes = new ArrayList<>();
        for (Map.Entry<String, List<Partition>> day : byDay.entrySet()) {
            for (Partition hour : day.getValue()) {
                wanted.add(layout.partitionPrefix(hour));
            }
            if (day.getValue().size() > 2) {
                prefixes.add(day.getKey());
            } else {
                day.getValue().forEach(hour -> prefixes.add(layout.partitionPrefix(hour)));
            }
        }
        List<Future<List<S3Object>>> listings = new ArrayList<>();
        for (String prefix : prefixes) {
            listings.add(listers.submit(() -> listing(prefix)));
        }
        List<S3Object> out = new ArrayList<>();
        try {
            for (Future<List<S3Object>> listing : listings) {
                for (S3Object o : withinDeadline(listing)) {
                    String key = o.key();
                    int slash = key.lastIndexOf('/');
                    if (key.startsWith(tenantPrefix) // defence in depth: never read outside the tenant's prefix
                            && key.endsWith(".parquet")
                            && slash > 0
                            && wanted.contains(key.substring(0, slash + 1))) {
                        out.add(o);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while listing the archive", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IOException(e.getCause());
        } finally {
            listings.forEach(f -> f.cancel(true));
        }
        return out;
    }

    private record Listing(List<S3Object> objects, long atNanos) {}

    private List<S3Object> listing(String prefix) {
        long now = System.nanoTime();
        Listing cached = listingCache.get(prefix);
        if (cached != null && now - cached.atNanos() < listingTtlNanos) {
            return cached.objects();
        }
        // on the request's thread (the trace index) cut after its time; on a lister thread the request waits for it
        // at most its time, and the client's own limit (the query timeout and FETCH_GRACE) ends the call
        long cutAt = cutAt();
        List<S3Object> objects =
                s3.listObjectsV2Paginator(b -> cutAt(b.bucket(bucket).prefix(prefix), cutAt)).contents().stream()
                        .toList();
        if (listingCache.size() > MAX_LISTINGS) {
            listingCache.entrySet().removeIf(e -> now - e.getValue().atNanos() >= listingTtlNanos);
            if (listingCache.size() > MAX_LISTINGS) {
                listingCache.clear();
            }
        }
        listingCache.put(prefix, new Listing(objects, now));
        return objects;
    }

    /**
     * The failure to answer for {@code e}, a DuckDB error, when it names a file of the cache: that file could not be
     * read, and the object it is a copy of is named instead. The copy is dropped from the cache, so that the next query
     * fetches the object again: a copy damaged on the local disk heals, an object damaged in S3 fails again. Null when
     * {@code e} names no cached file (or DuckDB ran out of memory, which is the query's size, not the file's fault).
     */
    @Nullable
    ArchiveUnreadableException unreadable(SQLException e) {
        String message = e.getMessage();
        if (message == null || DuckDb.outOfMemory(e)) {
            return null;
        }
        ObjectCache.Damaged damaged = cache.damagedFileNamedIn(message);
        if (damaged == null) {
            return null;
        }
        cache.discard(damaged.file());
        unreadable.incrementAndGet();
        // its first line: DuckDB goes on with the statement's text around where it failed
        String reason = message.lines()
                .findFirst()
                .orElse("")
                .replace(damaged.file().toString(), damaged.key())
                .strip();
        return new ArchiveUnreadableException(
                "the archive file " + damaged.key() + " in bucket " + bucket + " cannot be read (" + reason
                        + "); its local copy was dropped, so the next query fetches it again, and if that fails"
                        + " too the object itself is damaged",
                e);
    }

    @Override
    public void close() {
        listers.shutdownNow();
        fetchers.shutdownNow();
        s3.close();
    }

    /** The query would read more of the archive than allowed. */
    static final class QueryTooLargeException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        QueryTooLargeException(String message) {
            super(message);
        }
    }

    /** DuckDB could not read an archive file of the query, named in the message. */
    static final class ArchiveUnreadableException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ArchiveUnreadableException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** S3 or the cache failed; the client may retry. */
    static final class ArchiveUnavailableException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ArchiveUnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
