package io.otellake.archiver;

import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import software.amazon.awssdk.auth.credentials.AnonymousCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.BucketAlreadyOwnedByYouException;
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The archiver's only door to S3: make sure the bucket exists, upload, read and delete objects.
 *
 * <p><b>Every call ends in bounded time.</b> A slow or hung S3 fails a call instead of holding the archiver's polling
 * thread, whose flush must end within the consumer's {@code max.poll.interval.ms}. A request attempt may take {@link
 * #ATTEMPT_TIMEOUT}, which is why a file larger than one part ({@value #DEFAULT_PART_BYTES} bytes by default) is
 * uploaded in parts of that size: each part is an attempt of its own, a failed part is sent again alone instead of the
 * whole file, and no file is too large for the timeout (a single PUT of a 128 MiB compacted file would need 2.2 MB/s to
 * finish in time, and S3 refuses single PUTs above 5 GiB). The object appears only once S3 has put its parts together,
 * so no reader ever sees part of a file; an upload that fails is aborted, and one that a crash leaves behind holds
 * storage until the bucket's lifecycle rule aborts it (see {@code io.otellake.infra.LifecycleRules}). A download may
 * take {@link #ATTEMPT_TIMEOUT} plus a second per MiB of the object.
 */
final class S3Store implements AutoCloseable {
    /** How long one request attempt may take; downloads get more time per byte, see {@link #download}. */
    static final Duration ATTEMPT_TIMEOUT = Duration.ofSeconds(60);

    /** A file larger than this is uploaded in parts of this size. */
    static final long DEFAULT_PART_BYTES = 16L * 1024 * 1024;

    /** S3's smallest part, except for the last one of an upload. */
    static final long MIN_PART_BYTES = 5L * 1024 * 1024;

    /** The slowest transfer a download's timeout allows for: a second per MiB, on top of {@link #ATTEMPT_TIMEOUT}. */
    private static final long MIN_DOWNLOAD_BYTES_PER_SECOND = 1024 * 1024;

    private final S3Client s3;
    private final String bucket;
    private final long partBytes;

    S3Store(ArchiverConfig config) {
        this(config, DEFAULT_PART_BYTES);
    }

    /** @param partBytes files larger than this are uploaded in parts of this size; at least {@value #MIN_PART_BYTES} */
    S3Store(ArchiverConfig config, long partBytes) {
        if (partBytes < MIN_PART_BYTES) {
            throw new IllegalArgumentException("S3 parts must be at least " + MIN_PART_BYTES + " bytes: " + partBytes);
        }
        this.partBytes = partBytes;
        this.bucket = config.s3Bucket();
        this.s3 = S3Client.builder()
                .endpointOverride(config.s3Endpoint())
                .region(Region.of(config.s3Region()))
                .credentialsProvider(credentials(config))
                .forcePathStyle(true)
                // S3-compatible servers do not all speak the SDK's newer default checksums.
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .httpClient(UrlConnectionHttpClient.create())
                // A slow S3 must fail a call in bounded time: the archiver uploads on its polling thread, and a flush
                // longer than the consumer's max.poll.interval.ms would cost it its partitions.
                .overrideConfiguration(
                        o -> o.apiCallAttemptTimeout(ATTEMPT_TIMEOUT).apiCallTimeout(Duration.ofMinutes(3)))
                .build();
    }

    private static AwsCredentialsProvider credentials(ArchiverConfig config) {
        return switch (config.s3Credentials()) {
            case KEYS ->
                StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(config.s3AccessKey(), config.s3SecretKey()));
            case AWS -> DefaultCredentialsProvider.builder().build();
            case ANONYMOUS -> AnonymousCredentialsProvider.create();
        };
    }

    /** Creates the bucket when it is missing. */
    void ensureBucket() {
        try {
            s3.headBucket(b -> b.bucket(bucket));
        } catch (NoSuchBucketException e) {
            try {
                s3.createBucket(b -> b.bucket(bucket));
            } catch (BucketAlreadyOwnedByYouException raced) {
                // another archiver created it first
            }
        }
    }

    /**
     * Uploads a file, in parts when it is larger than one (see the class comment). Returns only once S3 has
     * acknowledged the whole object; throws {@link ArchiveUploadException} naming the key otherwise. After a failure
     * the object may exist or not (S3 may have completed an upload whose answer was lost), as after any failed PUT;
     * uploading the same file to the same key again is always safe.
     */
    void put(String key, Path file, Map<String, String> metadata) {
        put(key, file, metadata, () -> {});
    }

    /**
     * {@link #put(String, Path, Map)}, running {@code beforeEachCall} before each call that writes: the one PUT, or
     * each part and the completion of an upload in parts. The compactor checks its lease there, since the lease is
     * only known to last longer than one S3 call, and an upload in parts makes many. Whatever {@code beforeEachCall}
     * throws ends the upload (aborted, so nothing becomes visible), wrapped in {@link ArchiveUploadException}.
     */
    void put(String key, Path file, Map<String, String> metadata, Runnable beforeEachCall) {
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot upload " + file + " to s3://" + bucket + "/" + key, e);
        }
        if (size > partBytes) {
            putInParts(key, file, size, metadata, beforeEachCall);
            return;
        }
        try {
            beforeEachCall.run();
            s3.putObject(
                    b -> b.bucket(bucket)
                            .key(key)
                            .contentType("application/vnd.apache.parquet")
                            .metadata(metadata),
                    RequestBody.fromFile(file));
        } catch (RuntimeException e) {
            throw new ArchiveUploadException("upload of s3://" + bucket + "/" + key + " failed: " + e.getMessage(), e);
        }
    }

    /** {@code size} is the file's as measured before; package-private for a test that hands it a file shorter. */
    void putInParts(String key, Path file, long size, Map<String, String> metadata, Runnable beforeEachCall) {
        String uploadId;
        try {
            uploadId = s3.createMultipartUpload(b -> b.bucket(bucket)
                            .key(key)
                            .contentType("application/vnd.apache.parquet")
                            .metadata(metadata))
                    .uploadId();
        } catch (SdkException e) {
            throw new ArchiveUploadException("upload of s3://" + bucket + "/" + key + " failed: " + e.getMessage(), e);
        }
        try {
            List<CompletedPart> parts = new ArrayList<>();
            for (long offset = 0; offset < size; offset += partBytes) {
                int number = parts.size() + 1;
                long length = Math.min(partBytes, size - offset);
                beforeEachCall.run();
                try (FileSlice slice = new FileSlice(file, offset, length)) {
                    String etag = s3.uploadPart(
                                    b -> b.bucket(bucket)
                                            .key(key)
                                            .uploadId(uploadId)
                                            .partNumber(number)
                                            .contentLength(length),
                                    RequestBody.fromContentProvider(slice, length, "application/octet-stream"))
                            .eTag();
                    parts.add(CompletedPart.builder()
                            .partNumber(number)
                            .eTag(etag)
                            .build());
                }
            }
            beforeEachCall.run();
            s3.completeMultipartUpload(
                    b -> b.bucket(bucket).key(key).uploadId(uploadId).multipartUpload(m -> m.parts(parts)));
        } catch (RuntimeException e) {
            // the SDK refuses calls on an interrupted thread (a shutdown): abort first, then keep the interrupt
            boolean interrupted = Thread.interrupted();
            try {
                s3.abortMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(uploadId));
            } catch (SdkException abort) {
                e.addSuppressed(abort); // the bucket's lifecycle rule aborts it later
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
            throw new ArchiveUploadException(
                    "upload of s3://" + bucket + "/" + key + " in parts of " + partBytes + " bytes failed: "
                            + e.getMessage(),
                    e);
        }
    }

    /**
     * One part of a file, as a stream the SDK may open again to retry; each new stream closes the one before, and
     * closing the slice closes the last.
     */
    private static final class FileSlice implements ContentStreamProvider, AutoCloseable {
        private final Path file;
        private final long offset;
        private final long length;
        private InputStream open;

        FileSlice(Path file, long offset, long length) {
            this.file = file;
            this.offset = offset;
            this.length = length;
        }

        @Override
        public InputStream newStream() {
            close();
            FileChannel channel = null;
            try {
                channel = FileChannel.open(file, StandardOpenOption.READ);
                channel.position(offset);
                InputStream in = new BufferedInputStream(Channels.newInputStream(channel), 64 * 1024);
                open = new BoundedInputStream(in, length);
                return open;
            } catch (IOException e) {
                if (channel != null) {
                    try {
                        channel.close();
                    } catch (IOException suppressed) {
                        e.addSuppressed(suppressed);
                    }
                }
                throw new UncheckedIOException("cannot read " + file + " from byte " + offset, e);
            }
        }

        @Override
        public void close() {
            if (open != null) {
                try {
                    open.close();
                } catch (IOException e) {
                    // a read-only file; nothing was lost
                }
                open = null;
            }
        }
    }

    /** The first {@code remaining} bytes of a stream. */
    private static final class BoundedInputStream extends FilterInputStream {
        private long remaining;

        BoundedInputStream(InputStream in, long remaining) {
            super(in);
            this.remaining = remaining;
        }

        @Override
        public int read() throws IOException {
            if (remaining <= 0) {
                return -1;
            }
            int b = super.read();
            if (b >= 0) {
                remaining--;
            }
            return b;
        }

        @Override
        public int read(byte[] buffer, int off, int len) throws IOException {
            if (remaining <= 0) {
                return -1;
            }
            int n = super.read(buffer, off, (int) Math.min(len, remaining));
            if (n > 0) {
                remaining -= n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long skipped = super.skip(Math.min(n, remaining));
            remaining -= skipped;
            return skipped;
        }

        @Override
        public int available() throws IOException {
            return (int) Math.min(super.available(), remaining);
        }

        @Override
        public boolean markSupported() {
            return false;
        }
    }

    /** Uploads a small JSON document; returns only once S3 has acknowledged it. */
    void putJson(String key, byte[] json) {
        try {
            s3.putObject(b -> b.bucket(bucket).key(key).contentType("application/json"), RequestBody.fromBytes(json));
        } catch (SdkException e) {
            throw new ArchiveUploadException("upload of s3://" + bucket + "/" + key + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * Creates an object only if there is none at the key ({@code If-None-Match: *}); false when one exists, or when a
     * concurrent conditional write to the key won (S3 answers 412 or 409).
     */
    boolean putIfAbsent(String key, byte[] json) {
        try {
            s3.putObject(
                    b -> b.bucket(bucket)
                            .key(key)
                            .contentType("application/json")
                            .ifNoneMatch("*"),
                    RequestBody.fromBytes(json));
            return true;
        } catch (S3Exception e) {
            if (e.statusCode() == 412 || e.statusCode() == 409) {
                return false;
            }
            throw new ArchiveUploadException("upload of s3://" + bucket + "/" + key + " failed: " + e.getMessage(), e);
        } catch (SdkException e) {
            throw new ArchiveUploadException("upload of s3://" + bucket + "/" + key + " failed: " + e.getMessage(), e);
        }
    }

    /** The object's bytes, or empty when there is no such object. */
    Optional<byte[]> get(String key) {
        try {
            return Optional.of(
                    s3.getObjectAsBytes(b -> b.bucket(bucket).key(key)).asByteArray());
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        } catch (SdkException e) {
            throw new ArchiveUploadException("reading s3://" + bucket + "/" + key + " failed: " + e.getMessage(), e);
        }
    }

    /** Deletes an object; deleting one that does not exist succeeds, as S3 does. */
    void delete(String key) {
        try {
            s3.deleteObject(b -> b.bucket(bucket).key(key));
        } catch (SdkException e) {
            throw new ArchiveUploadException("deleting s3://" + bucket + "/" + key + " failed: " + e.getMessage(), e);
        }
    }

    /** The object's user metadata, or empty when there is no such object. */
    Optional<Map<String, String>> metadata(String key) {
        try {
            return Optional.of(s3.headObject(b -> b.bucket(bucket).key(key)).metadata());
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        } catch (SdkException e) {
            throw new ArchiveUploadException("reading s3://" + bucket + "/" + key + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * An object found by {@link #list}: its key, size, last modification and ETag (for an object uploaded in parts,
     * S3's ETag ends in {@code -<number of parts>}).
     */
    record Listed(String key, long size, java.time.Instant lastModified, String eTag) {}

    /** Every object whose key starts with {@code prefix}, in key order, across all result pages. */
    List<Listed> list(String prefix) {
        try {
            List<Listed> out = new ArrayList<>();
            for (ListObjectsV2Response page :
                    s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix))) {
                for (S3Object o : page.contents()) {
                    out.add(new Listed(o.key(), o.size(), o.lastModified(), o.eTag()));
                }
            }
            return out;
        } catch (SdkException e) {
            throw new ArchiveUploadException("listing s3://" + bucket + "/" + prefix + " failed: " + e.getMessage(), e);
        }
    }

    /** The "folders" right below {@code prefix} (each ending in {@code /}), in key order. */
    List<String> listFolders(String prefix) {
        try {
            List<String> out = new ArrayList<>();
            for (ListObjectsV2Response page : s3.listObjectsV2Paginator(
                    b -> b.bucket(bucket).prefix(prefix).delimiter("/"))) {
                for (CommonPrefix p : page.commonPrefixes()) {
                    out.add(p.prefix());
                }
            }
            return out;
        } catch (SdkException e) {
            throw new ArchiveUploadException("listing s3://" + bucket + "/" + prefix + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * Downloads an object to a local file, replacing it; throws when the object is missing or S3 fails. The attempt
     * may take {@link #ATTEMPT_TIMEOUT} plus a second per MiB of {@code size}, the object's size as listed.
     */
    void download(String key, long size, Path file) {
        Duration attempt = ATTEMPT_TIMEOUT.plusSeconds(Math.max(0, size) / MIN_DOWNLOAD_BYTES_PER_SECOND);
        try {
            Files.deleteIfExists(file);
            s3.getObject(
                    b -> b.bucket(bucket).key(key).overrideConfiguration(o -> o.apiCallAttemptTimeout(attempt)
                            .apiCallTimeout(attempt.multipliedBy(3).plusMinutes(1))),
                    file);
        } catch (SdkException | IOException e) {
            throw new ArchiveUploadException(
                    "downloading s3://" + bucket + "/" + key + " failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        s3.close();
    }

    /** An S3 request (upload, read or delete) that S3 did not acknowledge. */
    static final class ArchiveUploadException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ArchiveUploadException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
