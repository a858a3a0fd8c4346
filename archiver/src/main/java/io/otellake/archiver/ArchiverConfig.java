package io.otellake.archiver;

import io.otellake.schemas.KafkaClientProperties;
import io.otellake.schemas.LakeLayout;
import io.otellake.schemas.OtlpTopics;
import io.otellake.schemas.S3Credentials;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * The archiver's settings. Every one can be set by an environment variable (see {@link #fromEnvironment}); the
 * defaults suit the local stack. {@link #toString()} never shows the S3 secret.
 *
 * @param maxFileBytes a file is cut once the OTLP bytes buffered for it, dead letters included, reach this size
 * @param maxFileAge a file is cut once its oldest row has waited this long (bounds the delay until queryable)
 * @param instanceId when not empty, this archiver's static membership id in the consumer group ({@code
 *     group.instance.id}): a restarted instance with the same id takes its partitions back at once, without waiting
 *     for the session of the dead one to expire; it must be unique among the running instances
 * @param maxFuture rows whose event time is further than this ahead of the archiver's clock go to the quarantine
 *     prefix instead of an hour partition
 * @param metricsPort the port of {@code GET /metrics} (Prometheus text); 0 serves no metrics
 * @param s3StartupTimeout how long start-up waits for S3 (retrying with backoff) before it gives up with exit code 3
 * @param rowGroupBytes the Parquet row group size of every file the archiver writes (parquet-mr's measure: the
 *     buffered, uncompressed bytes at which a row group is cut)
 * @param s3Credentials how S3 requests are signed: with the access and secret key, the AWS SDK's default chain (IAM
 *     roles), or not at all ({@code OTEL_LAKE_S3_CREDENTIALS}, see {@link S3Credentials})
 * @param kafkaClient Kafka client settings passed through to the archiver's consumer and admin clients, security above
 *     all ({@code OTEL_LAKE_KAFKA_CLIENT_*}); {@link #toString()} names them without their values
 */
public record ArchiverConfig(
        String kafkaBootstrap,
        String groupId,
        String instanceId,
        String tracesTopic,
        String logsTopic,
        String metricsTopic,
        URI s3Endpoint,
        String s3Region,
        String s3Bucket,
        String s3Prefix,
        String s3AccessKey,
        String s3SecretKey,
        S3Credentials s3Credentials,
        long maxFileBytes,
        Duration maxFileAge,
        Duration maxFuture,
        int metricsPort,
        Path spoolDir,
        Duration s3StartupTimeout,
        long rowGroupBytes,
        KafkaClientProperties kafkaClient) {

    public static final String DEFAULT_KAFKA_BOOTSTRAP = "127.0.0.1:9092";
    public static final String DEFAULT_GROUP_ID = "otel-lake-archiver";
    public static final String DEFAULT_S3_ENDPOINT = "http://127.0.0.1:9000";
    public static final String DEFAULT_S3_REGION = "us-east-1";
    public static final String DEFAULT_S3_BUCKET = "otel-lake";
    public static final String DEFAULT_S3_PREFIX = "lake";
    public static final long DEFAULT_MAX_FILE_BYTES = 64L * 1024 * 1024;
    public static final Duration DEFAULT_MAX_FILE_AGE = Duration.ofSeconds(5);
    public static final Duration DEFAULT_MAX_FUTURE = Duration.ofHours(1);
    /** The largest {@link #maxFuture()}; from 292 years on the bound no longer fits a long of nanoseconds. */
    public static final Duration MAX_MAX_FUTURE = Duration.ofDays(36_500);
    /** The longest file age and start-up timeout, as for the future bound: both are counted in nanoseconds. */
    public static final Duration MAX_DURATION = MAX_MAX_FUTURE;

    public static final Duration DEFAULT_S3_STARTUP_TIMEOUT = Duration.ofMinutes(2);
    public static final long DEFAULT_ROW_GROUP_BYTES = 64L * 1024 * 1024;

    public ArchiverConfig {
        Objects.requireNonNull(kafkaBootstrap, "kafkaBootstrap");
        Objects.requireNonNull(groupId, "groupId");
        Objects.requireNonNull(instanceId, "instanceId");
        Objects.requireNonNull(kafkaClient, "kafkaClient");
        Objects.requireNonNull(tracesTopic, "tracesTopic");
        Objects.requireNonNull(logsTopic, "logsTopic");
        Objects.requireNonNull(metricsTopic, "metricsTopic");
        Objects.requireNonNull(s3Endpoint, "s3Endpoint");
        Objects.requireNonNull(s3Region, "s3Region");
        Objects.requireNonNull(s3Bucket, "s3Bucket");
        Objects.requireNonNull(s3Prefix, "s3Prefix");
        Objects.requireNonNull(s3AccessKey, "s3AccessKey");
        Objects.requireNonNull(s3SecretKey, "s3SecretKey");
        Objects.requireNonNull(s3Credentials, "s3Credentials");
        S3Credentials.of(s3Credentials.name(), s3AccessKey, s3SecretKey); // keys and mode agree, or a sentence why not
        Objects.requireNonNull(maxFileAge, "maxFileAge");
        Objects.requireNonNull(maxFuture, "maxFuture");
        Objects.requireNonNull(spoolDir, "spoolDir");
        Objects.requireNonNull(s3StartupTimeout, "s3StartupTimeout");
        require(!kafkaBootstrap.isBlank(), "OTEL_LAKE_KAFKA_BOOTSTRAP must name at least one host:port");
        require(
                instanceId.matches("[A-Za-z0-9._-]{0,200}"),
                "OTEL_LAKE_ARCHIVER_INSTANCE_ID must be empty or up to 200 of A-Z a-z 0-9 . _ -");
        require(topicName(tracesTopic), "OTEL_LAKE_TRACES_TOPIC " + TOPIC_RULE + "; got '" + tracesTopic + "'");
        require(topicName(logsTopic), "OTEL_LAKE_LOGS_TOPIC " + TOPIC_RULE + "; got '" + logsTopic + "'");
        require(topicName(metricsTopic), "OTEL_LAKE_METRICS_TOPIC " + TOPIC_RULE + "; got '" + metricsTopic + "'");
        require(
                !tracesTopic.equals(logsTopic) && !metricsTopic.equals(tracesTopic) && !metricsTopic.equals(logsTopic),
                "the traces, logs and metrics topics must differ");
        require(
                s3Endpoint.getScheme() != null && s3Endpoint.getHost() != null,
                "OTEL_LAKE_S3_ENDPOINT must be an absolute URL such as http://127.0.0.1:9000");
        require(!s3Bucket.isBlank(), "OTEL_LAKE_S3_BUCKET must not be empty");
        new LakeLayout(s3Prefix); // validates the prefix with its own message
        require(maxFileBytes >= 1024, "OTEL_LAKE_ARCHIVER_MAX_FILE_BYTES must be at least 1024");
        require(
                !maxFileAge.isNegative() && !maxFileAge.isZero(),
                "OTEL_LAKE_ARCHIVER_MAX_FILE_AGE must be a positive duration such as PT5S");
        require(
                maxFileAge.compareTo(MAX_DURATION) <= 0,
                "OTEL_LAKE_ARCHIVER_MAX_FILE_AGE must be at most P36500D (100 years), e.g. PT5S; got " + maxFileAge);
        require(!maxFuture.isNegative(), "OTEL_LAKE_ARCHIVER_MAX_FUTURE must not be negative, e.g. PT1H");
        require(
                maxFuture.compareTo(MAX_MAX_FUTURE) <= 0,
                "OTEL_LAKE_ARCHIVER_MAX_FUTURE must be at most P36500D (100 years), e.g. PT1H; got " + maxFuture);
        require(
                metricsPort >= 0 && metricsPort <= 65535,
                "OTEL_LAKE_ARCHIVER_METRICS_PORT must be a TCP port (1-65535), or 0 for no metrics endpoint");
        require(
                !s3StartupTimeout.isNegative(),
                "OTEL_LAKE_S3_STARTUP_TIMEOUT must not be negative, e.g. PT2M (PT0S: one attempt, no wait)");
        require(
                s3StartupTimeout.compareTo(MAX_DURATION) <= 0,
                "OTEL_LAKE_S3_STARTUP_TIMEOUT must be at most P36500D (100 years), e.g. PT2M; got " + s3StartupTimeout);
        require(
                rowGroupBytes >= 1024 * 1024 && rowGroupBytes <= 1024L * 1024 * 1024,
                "OTEL_LAKE_PARQUET_ROW_GROUP_BYTES must be between 1 MiB (1048576) and 1 GiB (1073741824), got "
                        + rowGroupBytes);
    }

    /** Reads the settings from environment variables, falling back to the defaults. */
    public static ArchiverConfig fromEnvironment(Map<String, String> env) {
        Function<String, String> get = env::get;
        String accessKey = or(get, "OTEL_LAKE_S3_ACCESS_KEY", "");
        String secretKey = or(get, "OTEL_LAKE_S3_SECRET_KEY", "");
        return new ArchiverConfig(
                or(get, "OTEL_LAKE_KAFKA_BOOTSTRAP", DEFAULT_KAFKA_BOOTSTRAP),
                or(get, "OTEL_LAKE_ARCHIVER_GROUP_ID", DEFAULT_GROUP_ID),
                or(get, "OTEL_LAKE_ARCHIVER_INSTANCE_ID", ""),
                or(get, "OTEL_LAKE_TRACES_TOPIC", OtlpTopics.DEFAULT_TRACES_TOPIC),
                or(get, "OTEL_LAKE_LOGS_TOPIC", OtlpTopics.DEFAULT_LOGS_TOPIC),
                or(get, "OTEL_LAKE_METRICS_TOPIC", OtlpTopics.DEFAULT_METRICS_TOPIC),
                URI.create(or(get, "OTEL_LAKE_S3_ENDPOINT", DEFAULT_S3_ENDPOINT)),
                or(get, "OTEL_LAKE_S3_REGION", DEFAULT_S3_REGION),
                or(get, "OTEL_LAKE_S3_BUCKET", DEFAULT_S3_BUCKET),
                or(get, "OTEL_LAKE_S3_PREFIX", DEFAULT_S3_PREFIX),
                accessKey,
                secretKey,
                S3Credentials.of(or(get, S3Credentials.ENV, ""), accessKey, secretKey),
                parseLong(
                        "OTEL_LAKE_ARCHIVER_MAX_FILE_BYTES",
                        or(get, "OTEL_LAKE_ARCHIVER_MAX_FILE_BYTES", Long.toString(DEFAULT_MAX_FILE_BYTES))),
                parseDuration(
                        "OTEL_LAKE_ARCHIVER_MAX_FILE_AGE",
                        or(get, "OTEL_LAKE_ARCHIVER_MAX_FILE_AGE", DEFAULT_MAX_FILE_AGE.toString())),
                parseDuration(
                        "OTEL_LAKE_ARCHIVER_MAX_FUTURE",
                        or(get, "OTEL_LAKE_ARCHIVER_MAX_FUTURE", DEFAULT_MAX_FUTURE.toString())),
                parsePort(or(get, "OTEL_LAKE_ARCHIVER_METRICS_PORT", "0")),
                Path.of(or(
                        get,
                        "OTEL_LAKE_ARCHIVER_SPOOL_DIR",
                        Path.of(System.getProperty("java.io.tmpdir"), "otel-lake-archiver")
                                .toString())),
                parseDuration(
                        "OTEL_LAKE_S3_STARTUP_TIMEOUT",
                        or(get, "OTEL_LAKE_S3_STARTUP_TIMEOUT", DEFAULT_S3_STARTUP_TIMEOUT.toString())),
                parseLong(
                        "OTEL_LAKE_PARQUET_ROW_GROUP_BYTES",
                        or(get, "OTEL_LAKE_PARQUET_ROW_GROUP_BYTES", Long.toString(DEFAULT_ROW_GROUP_BYTES))),
                KafkaClientProperties.fromEnv(
                        env,
                        Map.of(
                                "client.id",
                                "the archiver names its clients " + Archiver.CLIENT_ID + " and " + Compactor.CLIENT_ID,
                                "max.poll.interval.ms",
                                "the archiver allows " + Archiver.MAX_POLL_INTERVAL.toMinutes()
                                        + " minutes between polls, for uploads to a slow S3")));
    }

    /** The same settings with another S3 location, file age and spool folder; convenient in tests. */
    public ArchiverConfig withFiles(long maxFileBytes, Duration maxFileAge, Path spoolDir) {
        return new ArchiverConfig(
                kafkaBootstrap,
                groupId,
                instanceId,
                tracesTopic,
                logsTopic,
                metricsTopic,
                s3Endpoint,
                s3Region,
                s3Bucket,
                s3Prefix,
                s3AccessKey,
                s3SecretKey,
                s3Credentials,
                maxFileBytes,
                maxFileAge,
                maxFuture,
                metricsPort,
                spoolDir,
                s3StartupTimeout,
                rowGroupBytes,
                kafkaClient);
    }

    public LakeLayout layout() {
        return new LakeLayout(s3Prefix);
    }

    /** The lake prefix as keys start with it: {@code lake/}, or empty for a lake at the bucket's root. */
    String root() {
        return s3Prefix.isEmpty() ? "" : s3Prefix + "/";
    }

    @Override
    public String toString() {
        return "ArchiverConfig[kafkaBootstrap=" + kafkaBootstrap + ", groupId=" + groupId + ", instanceId=" + instanceId
                + ", tracesTopic="
                + tracesTopic + ", logsTopic=" + logsTopic + ", metricsTopic=" + metricsTopic + ", s3Endpoint="
                + s3Endpoint + ", s3Region=" + s3Region
                + ", s3Bucket=" + s3Bucket + ", s3Prefix=" + s3Prefix + ", s3AccessKey=" + s3AccessKey
                + ", s3SecretKey=" + (s3SecretKey.isEmpty() ? "" : "***") + ", s3Credentials="
                + s3Credentials.name().toLowerCase(java.util.Locale.ROOT) + ", maxFileBytes=" + maxFileBytes
                + ", maxFileAge=" + maxFileAge + ", maxFuture=" + maxFuture + ", metricsPort=" + metricsPort
                + ", spoolDir=" + spoolDir + ", s3StartupTimeout=" + s3StartupTimeout + ", rowGroupBytes="
                + rowGroupBytes
                + ", kafkaClient=" + kafkaClient + "]";
    }

    /** Kafka's rule, the one ingest checks: a topic ingest writes to is one the archiver can read. */
    private static final String TOPIC_RULE =
            "must be a Kafka topic name: 1 to 249 characters of a-z, A-Z, 0-9, '.', '_' or '-', not '.' or '..'";

    private static boolean topicName(String topic) {
        // '.' and '..' alone, which Kafka refuses too, would also be path segments in the manifests' keys
        return topic.matches("[A-Za-z0-9._-]{1,249}") && !topic.equals(".") && !topic.equals("..");
    }

    private static String or(Function<String, String> env, String key, String fallback) {
        String v = env.apply(key);
        return v == null || v.isBlank() ? fallback : v.trim();
    }

    private static long parseLong(String key, String text) {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a number of bytes, got '" + text + "'");
        }
    }

    private static int parsePort(String text) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "OTEL_LAKE_ARCHIVER_METRICS_PORT must be a port number, got '" + text + "'");
        }
    }

    private static Duration parseDuration(String key, String text) {
        try {
            return Duration.parse(text);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(key + " must be an ISO-8601 duration such as PT5S, got '" + text + "'");
        }
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
