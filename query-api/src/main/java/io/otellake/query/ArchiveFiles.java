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
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.springframework.stereotype.Component;
import software.amazon.awssdk.auth.credentials.AnonymousCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
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

    ArchiveFiles(LakeProperties props) {
        this(props, null);
    }

    /** With metrics of the cache in {@code registry}: hits, misses, bytes fetched, evictions, bytes held. */
    @org.springframework.beans.factory.annotation.Autowired
    ArchiveFiles(LakeProperties props, @org.jspecify.annotations.Nullable MeterRegistry registry) {
        this.maxBytesPerQuery = props.maxBytesPerQuery();
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
        }
        LakeProperties.S3 s = props.s3();
        this.s3 = S3Client.builder()
                .endpointOverride(s.endpoint())
                .region(Region.of(s.region()))
                .credentialsProvider(
                        s.accessKey().isEmpty()
                                ? AnonymousCredentialsProvider.create()
                                : StaticCredentialsProvider.create(
                                        AwsBasicCredentials.create(s.accessKey(), s.secretKey())))
                .forcePathStyle(true)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .httpClient(UrlConnectionHttpClient.create())
                .build();
    }

    /** What a query read, for the response's {@code stats}. */
    record Fetched(List<Path> files, int partitions, long bytes, int cacheHits) {}

    Path cacheDir() {
        return cache.dir();
    }

    /**
     * The local copies of every file of the tenant's signal in the hours overlapping [start, end). Throws
     * {@link ArchiveUnavailableException} when S3 cannot be reached.
     */
    Fetched fetch(Signal signal, TenantId tenant, Instant start, Instant end) {
        List<Partition> hours = LakeLayout.hoursBetween(signal, tenant, start, end);
        String tenantPrefix = layout.tenantPrefix(signal, tenant);
        List<Path> files = new ArrayList<>();
        long bytes = 0;
        int hits = 0;
        try {
            List<S3Object> objects = new ArrayList<>();
            long total = 0;
            for (Partition hour : hours) {
                String prefix = layout.partitionPrefix(hour);
                for (S3Object o : s3.listObjectsV2Paginator(
                                b -> b.bucket(bucket).prefix(prefix))
                        .contents()) {
                    if (!o.key().startsWith(tenantPrefix) || !o.key().endsWith(".parquet")) {
                        continue; // defence in depth: never read outside the tenant's prefix
                    }
                    objects.add(o);
                    total += o.size();
                }
            }
            if (total > maxBytesPerQuery) {
                throw new QueryTooLargeException("the query would read " + total + " bytes of archive, more than the"
                        + " allowed " + maxBytesPerQuery + "; narrow the time range or the tenant's data");
            }
            for (S3Object o : objects) {
                ObjectCache.Cached cached = cache.get(
                        o.key(),
                        o.eTag(),
                        target ->
                                s3.getObject(b -> b.bucket(bucket).key(o.key()).ifMatch(o.eTag()), target));
                files.add(cached.file());
                if (cached.hit()) {
                    hits++;
                } else {
                    bytes += o.size();
                }
            }
        } catch (NoSuchBucketException e) {
            return new Fetched(List.of(), hours.size(), 0, 0); // nothing archived yet
        } catch (SdkException e) {
            throw new ArchiveUnavailableException(
                    "the archive (S3 bucket " + bucket + ") cannot be read: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new ArchiveUnavailableException("the local cache cannot store an archive file: " + e.getMessage(), e);
        }
        return new Fetched(files, hours.size(), bytes, hits);
    }

    @Override
    public void close() {
        s3.close();
    }

    /** The query would read more of the archive than allowed. */
    static final class QueryTooLargeException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        QueryTooLargeException(String message) {
            super(message);
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
