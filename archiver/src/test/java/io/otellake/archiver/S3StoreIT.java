package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import io.otellake.infra.S3Server;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.MultipartUpload;

/** Uploads and downloads against a real S3 server: files larger than a part go up in parts and come back whole. */
class S3StoreIT {
    private static final int PART = (int) S3Store.MIN_PART_BYTES;

    private final S3Server s3server = LakeServers.s3();
    private final String bucket = "store-" + UUID.randomUUID().toString().substring(0, 8);
    private S3Store store;

    @TempDir
    Path dir;

    @BeforeEach
    void setUp() {
        store = new S3Store(config(bucket), PART);
        store.ensureBucket();
    }

    @AfterEach
    void tearDown() {
        store.close();
    }

    private ArchiverConfig config(String bucketName) {
        return ArchiverConfig.fromEnvironment(Map.of(
                "OTEL_LAKE_S3_ENDPOINT", s3server.endpoint().toString(),
                "OTEL_LAKE_S3_BUCKET", bucketName,
                "OTEL_LAKE_S3_ACCESS_KEY", s3server.accessKey(),
                "OTEL_LAKE_S3_SECRET_KEY", s3server.secretKey()));
    }

    @Test
    void aFileLargerThanOnePartIsUploadedInPartsAndReadsBackByteForByteWithItsMetadata() throws Exception {
        // two whole parts and a short last one: every part boundary must land exactly
        byte[] content = random(2 * PART + 12_345, 1);
        Path file = Files.write(dir.resolve("big.parquet"), content);
        Map<String, String> metadata = Map.of("otel-lake-rows", "42", "otel-lake-source", "otlp-traces-0:17-99");

        store.put("lake/traces/big.parquet", file, metadata);

        assertThat(store.get("lake/traces/big.parquet"))
                .hasValueSatisfying(bytes -> assertThat(bytes).isEqualTo(content));
        assertThat(store.metadata("lake/traces/big.parquet")).contains(metadata);
        assertThat(store.list("lake/traces/")).singleElement().satisfies(o -> assertThat(o.size())
                .isEqualTo(content.length));
        Path back = dir.resolve("back.parquet");
        store.download("lake/traces/big.parquet", content.length, back);
        assertThat(Files.readAllBytes(back)).isEqualTo(content);
    }

    @Test
    void aFileOfExactlyOnePartGoesInOnePutOneJustLargerAndOneOfExactlyTwoInTwoParts() throws Exception {
        byte[] one = random(PART, 2);
        byte[] two = random(PART + 1, 3);
        byte[] exact = random(2 * PART, 8);
        store.put("a", Files.write(dir.resolve("a"), one), Map.of("k", "1"));
        store.put("b", Files.write(dir.resolve("b"), two), Map.of("k", "2"));
        store.put("c", Files.write(dir.resolve("c"), exact), Map.of());

        assertThat(store.get("a")).hasValueSatisfying(bytes -> assertThat(bytes).isEqualTo(one));
        assertThat(store.get("b")).hasValueSatisfying(bytes -> assertThat(bytes).isEqualTo(two));
        assertThat(store.metadata("b")).contains(Map.of("k", "2"));
        assertThat(store.list(""))
                .extracting(S3Store.Listed::key, o -> o.eTag().replaceAll("[^-]*(-\\d+)?\"?$", "$1"))
                .as("no empty last part for a file of exactly two")
                .containsExactly(tuple("a", ""), tuple("b", "-2"), tuple("c", "-2"));
        assertThat(store.get("c")).hasValueSatisfying(bytes -> assertThat(bytes).isEqualTo(exact));
    }

    @Test
    void anUploadInPartsReplacesTheObjectAtItsKeyAsAReplayedFileMust() throws Exception {
        byte[] first = random(PART + 100, 4);
        byte[] second = random(2 * PART + 7, 5);
        store.put("lake/logs/f.parquet", Files.write(dir.resolve("f1"), first), Map.of("v", "1"));
        store.put("lake/logs/f.parquet", Files.write(dir.resolve("f2"), second), Map.of("v", "2"));

        assertThat(store.get("lake/logs/f.parquet"))
                .hasValueSatisfying(bytes -> assertThat(bytes).isEqualTo(second));
        assertThat(store.metadata("lake/logs/f.parquet")).contains(Map.of("v", "2"));
        assertThat(store.list("lake/logs/")).hasSize(1);
    }

    @Test
    void anUploadInPartsThatS3RefusesFailsNamingTheKeyAndLeavesNoObject() throws Exception {
        Path file = Files.write(dir.resolve("c"), random(PART + 1, 6));
        try (S3Store noBucket =
                new S3Store(config("missing-" + UUID.randomUUID().toString().substring(0, 8)), PART)) {
            assertThatThrownBy(() -> noBucket.put("lake/traces/c.parquet", file, Map.of()))
                    .isInstanceOf(S3Store.ArchiveUploadException.class)
                    .hasMessageContaining("lake/traces/c.parquet");
        }
        assertThat(store.get("lake/traces/c.parquet")).isEmpty();
    }

    /** The leases rest on S3 refusing a second create of one key; the start-up probe of it leaves nothing behind. */
    @Test
    void theServerHonoursIfNoneMatchAsTheLeasesNeedAndTheProbeLeavesNothing() {
        // what the first create answers is not asserted: S3Proxy answers about one in twenty creates of a new key as
        // refused while it creates it (see Lease.conditionalCreateHonoured); the object is there either way
        store.putIfAbsent("lake/_locks/x.json", new byte[] {1});
        assertThat(store.putIfAbsent("lake/_locks/x.json", new byte[] {2})).isFalse();
        assertThat(store.get("lake/_locks/x.json"))
                .hasValueSatisfying(b -> assertThat(b).containsExactly(1));

        assertThat(Lease.conditionalCreateHonoured(store, "lake/")).isTrue();

        assertThat(store.list("lake/_locks/")).extracting(S3Store.Listed::key).containsExactly("lake/_locks/x.json");
    }

    /**
     * What runs before each call (the compactor's lease check) can end an upload in parts between parts or before its
     * completion: the upload is aborted, so no object appears, and no parts are left.
     */
    @Test
    void anUploadInPartsStopsWhenTheCheckBeforeACallFailsAndLeavesNothing() throws Exception {
        Path file = Files.write(dir.resolve("e"), random(2 * PART + 10, 9));
        // three parts and the completion: four checks; failing the 2nd stops between parts, the 4th before completing
        for (int failing : new int[] {2, 4}) {
            AtomicInteger checks = new AtomicInteger();
            String key = "lake/traces/e" + failing + ".parquet";

            assertThatThrownBy(() -> store.put(key, file, Map.of(), () -> {
                        if (checks.incrementAndGet() == failing) {
                            throw new IllegalStateException("lease lost");
                        }
                    }))
                    .isInstanceOf(S3Store.ArchiveUploadException.class)
                    .hasMessageContaining(key)
                    .hasMessageContaining("lease lost");

            assertThat(checks).hasValue(failing);
            assertThat(store.get(key)).isEmpty();
            try (S3Client s3 = TestLake.client(s3server)) {
                assertThat(s3.listMultipartUploads(b -> b.bucket(bucket)).uploads())
                        .isEmpty();
            }
        }
        AtomicInteger checks = new AtomicInteger();
        store.put("lake/traces/e.parquet", file, Map.of(), checks::incrementAndGet);
        assertThat(checks).as("one check per part and one before completing").hasValue(4);
        assertThat(store.get("lake/traces/e.parquet")).isPresent();
    }

    /**
     * A part that fails after another went up (here the file is shorter than measured, as if truncated under the
     * upload) aborts the upload: no object, and no parts left to hold storage until the lifecycle rule aborts them.
     */
    @Test
    void anUploadWhosePartFailsIsAbortedAndLeavesNoParts() throws Exception {
        Path file = Files.write(dir.resolve("d"), random(PART + 10, 7));
        try (S3Client s3 = TestLake.client(s3server)) {
            // the server lists incomplete uploads, so an empty list below means this one was aborted
            String open = s3.createMultipartUpload(b -> b.bucket(bucket).key("lake/traces/open.parquet"))
                    .uploadId();
            assertThat(s3.listMultipartUploads(b -> b.bucket(bucket)).uploads())
                    .extracting(MultipartUpload::uploadId)
                    .containsExactly(open);
            s3.abortMultipartUpload(
                    b -> b.bucket(bucket).key("lake/traces/open.parquet").uploadId(open));

            assertThatThrownBy(
                            () -> store.putInParts("lake/traces/d.parquet", file, 2L * PART + 10, Map.of(), () -> {}))
                    .isInstanceOf(S3Store.ArchiveUploadException.class)
                    .hasMessageContaining("lake/traces/d.parquet");

            assertThat(s3.listMultipartUploads(b -> b.bucket(bucket)).uploads()).isEmpty();
        }
        assertThat(store.get("lake/traces/d.parquet")).isEmpty();
        assertThat(store.list("lake/traces/")).isEmpty();
    }

    /**
     * {@code OTEL_LAKE_S3_CREDENTIALS=aws} signs with whatever the AWS SDK's default chain finds (here its first
     * link, the {@code aws.accessKeyId} and {@code aws.secretAccessKey} system properties; in a deployment an IAM
     * role), and {@code anonymous} does not sign, which this S3 server refuses.
     */
    @Test
    void theAwsDefaultChainSignsRequestsAndAnonymousOnesAreRefusedByAServerThatWantsKeys() throws Exception {
        Path file = Files.write(dir.resolve("d"), random(100, 7));
        Map<String, String> env =
                Map.of("OTEL_LAKE_S3_ENDPOINT", s3server.endpoint().toString(), "OTEL_LAKE_S3_BUCKET", bucket);
        Map<String, String> aws = new java.util.HashMap<>(env);
        aws.put("OTEL_LAKE_S3_CREDENTIALS", "aws");
        System.setProperty("aws.accessKeyId", s3server.accessKey());
        System.setProperty("aws.secretAccessKey", s3server.secretKey());
        try (S3Store chain = new S3Store(ArchiverConfig.fromEnvironment(aws))) {
            chain.put("signed-by-the-chain", file, Map.of());
        } finally {
            System.clearProperty("aws.accessKeyId");
            System.clearProperty("aws.secretAccessKey");
        }
        assertThat(store.get("signed-by-the-chain")).isPresent();

        try (S3Store anonymous = new S3Store(ArchiverConfig.fromEnvironment(env))) {
            assertThat(ArchiverConfig.fromEnvironment(env).s3Credentials())
                    .as("no keys and no mode: anonymous")
                    .isEqualTo(io.otellake.schemas.S3Credentials.ANONYMOUS);
            assertThatThrownBy(() -> anonymous.put("unsigned", file, Map.of()))
                    .isInstanceOf(S3Store.ArchiveUploadException.class)
                    .hasMessageContaining("unsigned");
        }
        assertThat(store.get("unsigned")).isEmpty();
    }

    @Test
    void partsSmallerThanS3AcceptsAreRefusedAtConstruction() {
        assertThatThrownBy(() -> new S3Store(config(bucket), S3Store.MIN_PART_BYTES - 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least " + S3Store.MIN_PART_BYTES);
    }

    private static byte[] random(int length, long seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
