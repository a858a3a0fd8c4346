package io.otellake.archiver;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import software.amazon.awssdk.auth.credentials.AnonymousCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.BucketAlreadyOwnedByYouException;
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/** The archiver's only door to S3: make sure the bucket exists, upload, read and delete objects. */
final class S3Store implements AutoCloseable {
    private final S3Client s3;
    private final String bucket;

    S3Store(ArchiverConfig config) {
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
                        o -> o.apiCallAttemptTimeout(Duration.ofSeconds(60)).apiCallTimeout(Duration.ofMinutes(3)))
                .build();
    }

    private static AwsCredentialsProvider credentials(ArchiverConfig config) {
        if (config.s3AccessKey().isEmpty()) {
            return AnonymousCredentialsProvider.create();
        }
        return StaticCredentialsProvider.create(AwsBasicCredentials.create(config.s3AccessKey(), config.s3SecretKey()));
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
     * Uploads a file. Returns only once S3 has acknowledged it; throws {@link ArchiveUploadException} naming the key
     * otherwise.
     */
    void put(String key, Path file, Map<String, String> metadata) {
        try {
            s3.putObject(
                    b -> b.bucket(bucket)
                            .key(key)
                            .contentType("application/vnd.apache.parquet")
                            .metadata(metadata),
                    RequestBody.fromFile(file));
        } catch (SdkException e) {
            throw new ArchiveUploadException("upload of s3://" + bucket + "/" + key + " failed: " + e.getMessage(), e);
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

    /** An object found by {@link #list}: its key, size and last modification. */
    record Listed(String key, long size, java.time.Instant lastModified) {}

    /** Every object whose key starts with {@code prefix}, in key order, across all result pages. */
    List<Listed> list(String prefix) {
        try {
            List<Listed> out = new ArrayList<>();
            for (ListObjectsV2Response page :
                    s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix))) {
                for (S3Object o : page.contents()) {
                    out.add(new Listed(o.key(), o.size(), o.lastModified()));
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

    /** Downloads an object to a local file, replacing it; throws when the object is missing or S3 fails. */
    void download(String key, Path file) {
        try {
            java.nio.file.Files.deleteIfExists(file);
            s3.getObject(b -> b.bucket(bucket).key(key), file);
        } catch (SdkException | java.io.IOException e) {
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
