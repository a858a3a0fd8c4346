package io.otellake.ingest;

import io.otellake.schemas.KafkaClientProperties;
import io.otellake.schemas.OtlpTopics;
import io.otellake.schemas.TenantTokens;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Everything ingest can be told, validated on construction: an instance that exists is one ingest can start with (a
 * reachable Kafka aside). Every field has a default ({@code DEFAULT_*}) and an environment variable ({@code ENV_*})
 * that overrides it; {@link #fromEnvironment(Map)} reads them, {@link #builder()} builds one in code.
 *
 * <p>{@link #toString()} shows every field except {@code authTokens}, of which it says only whether it is set: the
 * setting holds hashes, not tokens, but it still says who may write, and it never reaches a log.
 *
 * @param kafkaBootstrap Kafka's {@code bootstrap.servers}: comma-separated {@code host:port}
 * @param httpHost the address the OTLP/HTTP and OTLP/gRPC servers bind to
 * @param httpPort the OTLP/HTTP port; 0 picks a free one (see {@link Ingest#port()})
 * @param grpcPort the OTLP/gRPC port (on {@code httpHost} too); 0 picks a free one (see {@link Ingest#grpcPort()})
 * @param httpThreads how many requests are decoded and written to Kafka at once, per transport; OTLP/HTTP reads requests
 *     on Netty's event loops, without a thread per connection
 * @param tracesTopic where trace export requests go
 * @param logsTopic where log export requests go
 * @param metricsTopic where metric export requests go
 * @param topicPartitions partitions of the topics ingest creates
 * @param topicReplication replication factor of the topics ingest creates
 * @param topicRetentionMs {@code retention.ms} of the topics ingest creates; -1 keeps records forever
 * @param maxBodyBytes the largest request body accepted; larger ones get 413
 * @param maxInFlightBytes the most memory held at once by all requests together, over both transports: each body's
 *     bytes (decompressed) and, for a body that is decoded into messages, what its decoding may take
 *     ({@link DecodeCost}); a request that does not fit gets 429 (gRPC: RESOURCE_EXHAUSTED with RetryInfo), one
 *     that could not fit even alone 413
 * @param kafkaTimeout the longest a request waits for Kafka's acknowledgement before it gets 503
 * @param kafkaStartupTimeout the longest start-up waits for Kafka to answer before it gives up
 * @param httpRequestTimeout the longest an OTLP/HTTP client may take to send a request, headers and body, counted
 *     from its first byte; then it is answered 408 and its connection closed, and what it held is given back. A
 *     complete request that waits longer for a worker is answered 429
 * @param authEnabled whether every export must carry a bearer token of {@code authTokens}; off, the
 *     {@code X-Scope-OrgID} header alone decides the tenant
 * @param authTokens the {@link TenantTokens} setting: {@code <tenant>=sha256:<hex>} entries, and {@code *=sha256:<hex>}
 *     for admin tokens; empty when none is configured
 * @param redaction what is redacted before writing, per tenant ({@code OTEL_LAKE_REDACTION_*})
 * @param kafkaClient Kafka client settings passed through to every client ingest makes, security above all
 *     ({@code OTEL_LAKE_KAFKA_CLIENT_*}); {@link #toString()} names them without their values
 * @param httpMaxConnections the most OTLP/HTTP connections open at once; at the bound, ingest accepts no more until
 *     one closes (they wait in the operating system's accept queue), so that many clients cannot exhaust its file
 *     descriptors
 * @param grpcMaxConnections the same bound for OTLP/gRPC connections, counted apart
 */
public record IngestConfig(
        String kafkaBootstrap,
        String httpHost,
        int httpPort,
        int grpcPort,
        int httpThreads,
        String tracesTopic,
        String logsTopic,
        String metricsTopic,
        int topicPartitions,
        short topicReplication,
        long topicRetentionMs,
        int maxBodyBytes,
        long maxInFlightBytes,
        Duration kafkaTimeout,
        Duration kafkaStartupTimeout,
        Duration httpRequestTimeout,
        boolean authEnabled,
        String authTokens,
        RedactionConfig redaction,
        KafkaClientProperties kafkaClient,
        int httpMaxConnections,
        int grpcMaxConnections) {

    public static final String ENV_KAFKA_BOOTSTRAP = "OTEL_LAKE_KAFKA_BOOTSTRAP";
    public static final String ENV_HTTP_HOST = "OTEL_LAKE_INGEST_HTTP_HOST";
    public static final String ENV_HTTP_PORT = "OTEL_LAKE_INGEST_HTTP_PORT";
    public static final String ENV_GRPC_PORT = "OTEL_LAKE_INGEST_GRPC_PORT";
    public static final String ENV_HTTP_THREADS = "OTEL_LAKE_INGEST_HTTP_THREADS";
    public static final String ENV_TRACES_TOPIC = "OTEL_LAKE_TRACES_TOPIC";
    public static final String ENV_LOGS_TOPIC = "OTEL_LAKE_LOGS_TOPIC";
    public static final String ENV_METRICS_TOPIC = "OTEL_LAKE_METRICS_TOPIC";
    public static final String ENV_TOPIC_PARTITIONS = "OTEL_LAKE_TOPIC_PARTITIONS";
    public static final String ENV_TOPIC_REPLICATION = "OTEL_LAKE_TOPIC_REPLICATION";
    public static final String ENV_TOPIC_RETENTION_MS = "OTEL_LAKE_TOPIC_RETENTION_MS";
    public static final String ENV_MAX_BODY_BYTES = "OTEL_LAKE_INGEST_MAX_BODY_BYTES";
    public static final String ENV_MAX_IN_FLIGHT_BYTES = "OTEL_LAKE_INGEST_MAX_IN_FLIGHT_BYTES";
    public static final String ENV_KAFKA_TIMEOUT_MS = "OTEL_LAKE_KAFKA_TIMEOUT_MS";
    public static final String ENV_KAFKA_STARTUP_TIMEOUT_MS = "OTEL_LAKE_KAFKA_STARTUP_TIMEOUT_MS";
    public static final String ENV_HTTP_REQUEST_TIMEOUT_MS = "OTEL_LAKE_INGEST_HTTP_REQUEST_TIMEOUT_MS";
    public static final String ENV_HTTP_MAX_CONNECTIONS = "OTEL_LAKE_INGEST_HTTP_MAX_CONNECTIONS";
    public static final String ENV_GRPC_MAX_CONNECTIONS = "OTEL_LAKE_INGEST_GRPC_MAX_CONNECTIONS";
    /** The same variables as the query API's, so that one setting serves both. */
    public static final String ENV_AUTH_ENABLED = "OTEL_LAKE_AUTH_ENABLED";

    public static final String ENV_AUTH_TOKENS = "OTEL_LAKE_AUTH_TOKENS";

    public static final String DEFAULT_KAFKA_BOOTSTRAP = "127.0.0.1:9092";
    public static final String DEFAULT_HTTP_HOST = "0.0.0.0";
    /** The OTLP/HTTP port of the specification. */
    public static final int DEFAULT_HTTP_PORT = 4318;
    /** The OTLP/gRPC port of the specification. */
    public static final int DEFAULT_GRPC_PORT = 4317;

    public static final int DEFAULT_HTTP_THREADS = 16;
    public static final String DEFAULT_TRACES_TOPIC = OtlpTopics.DEFAULT_TRACES_TOPIC;
    public static final String DEFAULT_LOGS_TOPIC = OtlpTopics.DEFAULT_LOGS_TOPIC;
    public static final String DEFAULT_METRICS_TOPIC = OtlpTopics.DEFAULT_METRICS_TOPIC;
    public static final int DEFAULT_TOPIC_PARTITIONS = 3;
    public static final short DEFAULT_TOPIC_REPLICATION = 1;
    /** 24 hours: the archiver has a day to catch up before Kafka drops data. */
    public static final long DEFAULT_TOPIC_RETENTION_MS = Duration.ofHours(24).toMillis();
    /** 8 MiB. */
    public static final int DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
    /**
     * 256 MiB of bodies and decoding estimates: room for an 8 MiB OTLP/JSON body of real telemetry to be decoded (about
     * 200 MiB), or dozens of typical protobuf requests at once; ingest's heap should be this plus about 200 MiB.
     */
    public static final long DEFAULT_MAX_IN_FLIGHT_BYTES = 256L * 1024 * 1024;

    public static final Duration DEFAULT_KAFKA_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_KAFKA_STARTUP_TIMEOUT = Duration.ofSeconds(30);
    /** A minute: an 8 MiB body at 1 Mbit/s takes about 67 s; OTLP exporters give up after 10 s by default. */
    public static final Duration DEFAULT_HTTP_REQUEST_TIMEOUT = Duration.ofSeconds(60);

    public static final int DEFAULT_HTTP_MAX_CONNECTIONS = 10_000;
    public static final int DEFAULT_GRPC_MAX_CONNECTIONS = 10_000;
    static final int MAX_HTTP_MAX_CONNECTIONS = 1_000_000;
    /** Off: the local default, where the tenant header alone decides. */
    public static final boolean DEFAULT_AUTH_ENABLED = false;

    public static final String DEFAULT_AUTH_TOKENS = "";

    /**
     * What a Kafka record may carry beyond the request body: the record's framing and the tenant header. Topic
     * {@code max.message.bytes} and producer {@code max.request.size} are set to {@link #maxRecordBytes()}.
     */
    static final int KAFKA_RECORD_HEADROOM_BYTES = 64 * 1024;

    static final int MIN_MAX_BODY_BYTES = 1024;

    /**
     * Kafka client properties ingest sets on its clients whatever {@code OTEL_LAKE_KAFKA_CLIENT_*} says, with what sets
     * them: a variable for one of them is refused at start-up rather than silently replaced.
     */
    static final Map<String, String> KAFKA_PROPERTIES_SET_BY_INGEST = Map.of(
            "client.id",
            "ingest names its clients " + KafkaPublisher.CLIENT_ID,
            "compression.type",
            "ingest compresses its records with zstd",
            "linger.ms",
            "ingest batches records for " + KafkaPublisher.LINGER_MS + " ms",
            "max.request.size",
            "it follows " + ENV_MAX_BODY_BYTES,
            "buffer.memory",
            "it follows " + ENV_MAX_BODY_BYTES,
            "max.block.ms",
            "it follows " + ENV_KAFKA_TIMEOUT_MS,
            "delivery.timeout.ms",
            "it follows " + ENV_KAFKA_TIMEOUT_MS,
            "request.timeout.ms",
            "it follows " + ENV_KAFKA_TIMEOUT_MS + " (and " + ENV_KAFKA_STARTUP_TIMEOUT_MS + " for topic creation)",
            "default.api.timeout.ms",
            "it follows " + ENV_KAFKA_STARTUP_TIMEOUT_MS);

    static final int MAX_MAX_BODY_BYTES = 64 * 1024 * 1024;
    static final int MAX_HTTP_THREADS = 1024;
    static final Duration MIN_KAFKA_TIMEOUT = Duration.ofSeconds(1);
    static final Duration MAX_KAFKA_TIMEOUT = Duration.ofMinutes(10);

    /** Kafka's rule for topic names. */
    private static final Pattern TOPIC = Pattern.compile("[a-zA-Z0-9._-]{1,249}");

    public IngestConfig {
        Objects.requireNonNull(kafkaBootstrap, "kafkaBootstrap");
        Objects.requireNonNull(httpHost, "httpHost");
        Objects.requireNonNull(tracesTopic, "tracesTopic");
        Objects.requireNonNull(logsTopic, "logsTopic");
        Objects.requireNonNull(metricsTopic, "metricsTopic");
        Objects.requireNonNull(kafkaTimeout, "kafkaTimeout");
        Objects.requireNonNull(kafkaStartupTimeout, "kafkaStartupTimeout");
        Objects.requireNonNull(httpRequestTimeout, "httpRequestTimeout");
        Objects.requireNonNull(authTokens, "authTokens");
        Objects.requireNonNull(redaction, "redaction");
        Objects.requireNonNull(kafkaClient, "kafkaClient");
        checkBootstrap(kafkaBootstrap);
        check(!httpHost.isBlank(), "httpHost", ENV_HTTP_HOST, "must be a host name or IP address", httpHost);
        check(httpPort >= 0 && httpPort <= 65535, "httpPort", ENV_HTTP_PORT, "must be from 0 to 65535", httpPort);
        check(grpcPort >= 0 && grpcPort <= 65535, "grpcPort", ENV_GRPC_PORT, "must be from 0 to 65535", grpcPort);
        check(
                grpcPort == 0 || grpcPort != httpPort,
                "grpcPort",
                ENV_GRPC_PORT,
                "must differ from the HTTP port (" + httpPort + ")",
                grpcPort);
        check(
                httpThreads >= 1 && httpThreads <= MAX_HTTP_THREADS,
                "httpThreads",
                ENV_HTTP_THREADS,
                "must be from 1 to " + MAX_HTTP_THREADS,
                httpThreads);
        check(
                httpMaxConnections >= 1 && httpMaxConnections <= MAX_HTTP_MAX_CONNECTIONS,
                "httpMaxConnections",
                ENV_HTTP_MAX_CONNECTIONS,
                "must be from 1 to " + MAX_HTTP_MAX_CONNECTIONS,
                httpMaxConnections);
        check(
                grpcMaxConnections >= 1 && grpcMaxConnections <= MAX_HTTP_MAX_CONNECTIONS,
                "grpcMaxConnections",
                ENV_GRPC_MAX_CONNECTIONS,
                "must be from 1 to " + MAX_HTTP_MAX_CONNECTIONS,
                grpcMaxConnections);
        checkTopic(tracesTopic, "tracesTopic", ENV_TRACES_TOPIC);
        checkTopic(logsTopic, "logsTopic", ENV_LOGS_TOPIC);
        check(
                !tracesTopic.equals(logsTopic),
                "logsTopic",
                ENV_LOGS_TOPIC,
                "must differ from the traces topic, since the archiver reads each topic as one signal",
                logsTopic);
        checkTopic(metricsTopic, "metricsTopic", ENV_METRICS_TOPIC);
        check(
                !metricsTopic.equals(tracesTopic) && !metricsTopic.equals(logsTopic),
                "metricsTopic",
                ENV_METRICS_TOPIC,
                "must differ from the traces and logs topics, since each topic holds one signal",
                metricsTopic);
        check(topicPartitions >= 1, "topicPartitions", ENV_TOPIC_PARTITIONS, "must be at least 1", topicPartitions);
        check(
                topicReplication >= 1,
                "topicReplication",
                ENV_TOPIC_REPLICATION,
                "must be at least 1 (and at most the number of brokers)",
                topicReplication);
        check(
                topicRetentionMs >= 1 || topicRetentionMs == -1,
                "topicRetentionMs",
                ENV_TOPIC_RETENTION_MS,
                "must be a positive number of milliseconds, or -1 to keep records forever",
                topicRetentionMs);
        check(
                maxBodyBytes >= MIN_MAX_BODY_BYTES && maxBodyBytes <= MAX_MAX_BODY_BYTES,
                "maxBodyBytes",
                ENV_MAX_BODY_BYTES,
                "must be from " + MIN_MAX_BODY_BYTES + " to " + MAX_MAX_BODY_BYTES + " (64 MiB)",
                maxBodyBytes);
        check(
                maxInFlightBytes >= maxBodyBytes,
                "maxInFlightBytes",
                ENV_MAX_IN_FLIGHT_BYTES,
                "must be at least maxBodyBytes (" + maxBodyBytes + "), or a request of the largest size could never be"
                        + " taken",
                maxInFlightBytes);
        checkTimeout(kafkaTimeout, "kafkaTimeout", ENV_KAFKA_TIMEOUT_MS);
        checkTimeout(kafkaStartupTimeout, "kafkaStartupTimeout", ENV_KAFKA_STARTUP_TIMEOUT_MS);
        checkTimeout(httpRequestTimeout, "httpRequestTimeout", ENV_HTTP_REQUEST_TIMEOUT_MS);
        TenantTokens tokens;
        try {
            tokens = TenantTokens.parse(authTokens);
        } catch (IllegalArgumentException e) {
            // The message names the entry's position only, never its text.
            throw new IllegalArgumentException(ENV_AUTH_TOKENS + ": " + e.getMessage(), e);
        }
        if (authEnabled && tokens.isEmpty()) {
            throw new IllegalArgumentException(ENV_AUTH_ENABLED + " is true but " + ENV_AUTH_TOKENS
                    + " holds no token, so no client could send telemetry: configure <tenant>=sha256:<hex> entries"
                    + " (printf %s \"$TOKEN\" | sha256sum), or turn authentication off");
        }
    }

    /** The parsed {@link #authTokens()}. */
    TenantTokens tenantTokens() {
        return TenantTokens.parse(authTokens);
    }

    @Override
    public String toString() {
        return "IngestConfig[kafkaBootstrap=" + kafkaBootstrap + ", httpHost=" + httpHost + ", httpPort=" + httpPort
                + ", grpcPort=" + grpcPort + ", httpThreads=" + httpThreads + ", tracesTopic=" + tracesTopic
                + ", logsTopic=" + logsTopic + ", metricsTopic=" + metricsTopic + ", topicPartitions="
                + topicPartitions + ", topicReplication=" + topicReplication + ", topicRetentionMs="
                + topicRetentionMs + ", maxBodyBytes=" + maxBodyBytes + ", maxInFlightBytes=" + maxInFlightBytes
                + ", kafkaTimeout=" + kafkaTimeout
                + ", kafkaStartupTimeout=" + kafkaStartupTimeout + ", httpRequestTimeout=" + httpRequestTimeout
                + ", authEnabled=" + authEnabled + ", authTokens="
                + (authTokens.isBlank() ? "(none)" : "(set, not shown)") + ", redaction=" + redaction
                + ", kafkaClient=" + kafkaClient + ", httpMaxConnections=" + httpMaxConnections
                + ", grpcMaxConnections=" + grpcMaxConnections + "]";
    }

    /** The defaults. */
    public static IngestConfig defaults() {
        return builder().build();
    }

    /** A builder that starts from the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder that starts from this configuration. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * Reads the configuration from environment variables ({@code ENV_*}); a variable that is unset or blank keeps its
     * default.
     *
     * @throws IllegalArgumentException naming the variable and saying what it must be, if a value is invalid
     */
    public static IngestConfig fromEnvironment(Map<String, String> env) {
        Objects.requireNonNull(env, "env");
        Builder b = builder();
        read(env, ENV_KAFKA_BOOTSTRAP, s -> s).ifPresent(b::kafkaBootstrap);
        read(env, ENV_HTTP_HOST, s -> s).ifPresent(b::httpHost);
        read(env, ENV_HTTP_PORT, IngestConfig::parseInt).ifPresent(b::httpPort);
        read(env, ENV_GRPC_PORT, IngestConfig::parseInt).ifPresent(b::grpcPort);
        read(env, ENV_HTTP_THREADS, IngestConfig::parseInt).ifPresent(b::httpThreads);
        read(env, ENV_TRACES_TOPIC, s -> s).ifPresent(b::tracesTopic);
        read(env, ENV_LOGS_TOPIC, s -> s).ifPresent(b::logsTopic);
        read(env, ENV_METRICS_TOPIC, s -> s).ifPresent(b::metricsTopic);
        read(env, ENV_TOPIC_PARTITIONS, IngestConfig::parseInt).ifPresent(b::topicPartitions);
        read(env, ENV_TOPIC_REPLICATION, IngestConfig::parseShort).ifPresent(b::topicReplication);
        read(env, ENV_TOPIC_RETENTION_MS, Long::parseLong).ifPresent(b::topicRetentionMs);
        read(env, ENV_MAX_BODY_BYTES, IngestConfig::parseInt).ifPresent(b::maxBodyBytes);
        read(env, ENV_MAX_IN_FLIGHT_BYTES, Long::parseLong).ifPresent(b::maxInFlightBytes);
        read(env, ENV_KAFKA_TIMEOUT_MS, IngestConfig::parseMillis).ifPresent(b::kafkaTimeout);
        read(env, ENV_KAFKA_STARTUP_TIMEOUT_MS, IngestConfig::parseMillis).ifPresent(b::kafkaStartupTimeout);
        read(env, ENV_HTTP_REQUEST_TIMEOUT_MS, IngestConfig::parseMillis).ifPresent(b::httpRequestTimeout);
        read(env, ENV_HTTP_MAX_CONNECTIONS, IngestConfig::parseInt).ifPresent(b::httpMaxConnections);
        read(env, ENV_GRPC_MAX_CONNECTIONS, IngestConfig::parseInt).ifPresent(b::grpcMaxConnections);
        read(env, ENV_AUTH_ENABLED, IngestConfig::parseBoolean).ifPresent(b::authEnabled);
        String tokens = env.get(ENV_AUTH_TOKENS);
        if (tokens != null && !tokens.isBlank()) {
            b.authTokens(tokens.strip()); // not through read(): its messages quote the value
        }
        b.redaction(RedactionConfig.fromEnvironment(env));
        b.kafkaClient(KafkaClientProperties.fromEnv(env, KAFKA_PROPERTIES_SET_BY_INGEST));
        return b.build();
    }

    /** The largest Kafka record ingest writes: a body of {@link #maxBodyBytes()} plus headroom. */
    public int maxRecordBytes() {
        return maxBodyBytes + KAFKA_RECORD_HEADROOM_BYTES;
    }

    /** The topic each signal is written to. */
    String topic(OtlpSignal signal) {
        return switch (signal) {
            case TRACES -> tracesTopic;
            case LOGS -> logsTopic;
            case METRICS -> metricsTopic;
        };
    }

    /** Every topic ingest writes to, in the order of {@link OtlpSignal#values()}. */
    List<String> topics() {
        return Arrays.stream(OtlpSignal.values()).map(this::topic).toList();
    }

    /** Builds an {@link IngestConfig}; every field starts at its default. */
    public static final class Builder {
        private String kafkaBootstrap = DEFAULT_KAFKA_BOOTSTRAP;
        private String httpHost = DEFAULT_HTTP_HOST;
        private int httpPort = DEFAULT_HTTP_PORT;
        private int grpcPort = DEFAULT_GRPC_PORT;
        private int httpThreads = DEFAULT_HTTP_THREADS;
        private String tracesTopic = DEFAULT_TRACES_TOPIC;
        private String logsTopic = DEFAULT_LOGS_TOPIC;
        private String metricsTopic = DEFAULT_METRICS_TOPIC;
        private int topicPartitions = DEFAULT_TOPIC_PARTITIONS;
        private short topicReplication = DEFAULT_TOPIC_REPLICATION;
        private long topicRetentionMs = DEFAULT_TOPIC_RETENTION_MS;
        private int maxBodyBytes = DEFAULT_MAX_BODY_BYTES;
        private long maxInFlightBytes = DEFAULT_MAX_IN_FLIGHT_BYTES;
        private Duration kafkaTimeout = DEFAULT_KAFKA_TIMEOUT;
        private Duration kafkaStartupTimeout = DEFAULT_KAFKA_STARTUP_TIMEOUT;
        private Duration httpRequestTimeout = DEFAULT_HTTP_REQUEST_TIMEOUT;
        private int httpMaxConnections = DEFAULT_HTTP_MAX_CONNECTIONS;
        private int grpcMaxConnections = DEFAULT_GRPC_MAX_CONNECTIONS;
        private boolean authEnabled = DEFAULT_AUTH_ENABLED;
        private String authTokens = DEFAULT_AUTH_TOKENS;
        private RedactionConfig redaction = RedactionConfig.OFF;
        private KafkaClientProperties kafkaClient = KafkaClientProperties.none();

        private Builder() {}

        private Builder(IngestConfig c) {
            kafkaBootstrap = c.kafkaBootstrap;
            httpHost = c.httpHost;
            httpPort = c.httpPort;
            grpcPort = c.grpcPort;
            httpThreads = c.httpThreads;
            tracesTopic = c.tracesTopic;
            logsTopic = c.logsTopic;
            metricsTopic = c.metricsTopic;
            topicPartitions = c.topicPartitions;
            topicReplication = c.topicReplication;
            topicRetentionMs = c.topicRetentionMs;
            maxBodyBytes = c.maxBodyBytes;
            maxInFlightBytes = c.maxInFlightBytes;
            kafkaTimeout = c.kafkaTimeout;
            kafkaStartupTimeout = c.kafkaStartupTimeout;
            httpRequestTimeout = c.httpRequestTimeout;
            authEnabled = c.authEnabled;
            authTokens = c.authTokens;
            redaction = c.redaction;
            kafkaClient = c.kafkaClient;
            httpMaxConnections = c.httpMaxConnections;
            grpcMaxConnections = c.grpcMaxConnections;
        }

        public Builder kafkaBootstrap(String kafkaBootstrap) {
            this.kafkaBootstrap = Objects.requireNonNull(kafkaBootstrap, "kafkaBootstrap");
            return this;
        }

        public Builder httpHost(String httpHost) {
            this.httpHost = Objects.requireNonNull(httpHost, "httpHost");
            return this;
        }

        public Builder httpPort(int httpPort) {
            this.httpPort = httpPort;
            return this;
        }

        public Builder grpcPort(int grpcPort) {
            this.grpcPort = grpcPort;
            return this;
        }

        public Builder httpThreads(int httpThreads) {
            this.httpThreads = httpThreads;
            return this;
        }

        public Builder tracesTopic(String tracesTopic) {
            this.tracesTopic = Objects.requireNonNull(tracesTopic, "tracesTopic");
            return this;
        }

        public Builder logsTopic(String logsTopic) {
            this.logsTopic = Objects.requireNonNull(logsTopic, "logsTopic");
            return this;
        }

        public Builder metricsTopic(String metricsTopic) {
            this.metricsTopic = Objects.requireNonNull(metricsTopic, "metricsTopic");
            return this;
        }

        public Builder topicPartitions(int topicPartitions) {
            this.topicPartitions = topicPartitions;
            return this;
        }

        public Builder topicReplication(short topicReplication) {
            this.topicReplication = topicReplication;
            return this;
        }

        public Builder topicRetentionMs(long topicRetentionMs) {
            this.topicRetentionMs = topicRetentionMs;
            return this;
        }

        public Builder maxBodyBytes(int maxBodyBytes) {
            this.maxBodyBytes = maxBodyBytes;
            return this;
        }

        public Builder maxInFlightBytes(long maxInFlightBytes) {
            this.maxInFlightBytes = maxInFlightBytes;
            return this;
        }

        public Builder kafkaTimeout(Duration kafkaTimeout) {
            this.kafkaTimeout = Objects.requireNonNull(kafkaTimeout, "kafkaTimeout");
            return this;
        }

        public Builder kafkaStartupTimeout(Duration kafkaStartupTimeout) {
            this.kafkaStartupTimeout = Objects.requireNonNull(kafkaStartupTimeout, "kafkaStartupTimeout");
            return this;
        }

        public Builder httpRequestTimeout(Duration httpRequestTimeout) {
            this.httpRequestTimeout = Objects.requireNonNull(httpRequestTimeout, "httpRequestTimeout");
            return this;
        }

        public Builder authEnabled(boolean authEnabled) {
            this.authEnabled = authEnabled;
            return this;
        }

        /** The {@link TenantTokens} setting; see {@link IngestConfig#authTokens()}. */
        public Builder authTokens(String authTokens) {
            this.authTokens = Objects.requireNonNull(authTokens, "authTokens");
            return this;
        }

        public Builder httpMaxConnections(int httpMaxConnections) {
            this.httpMaxConnections = httpMaxConnections;
            return this;
        }

        public Builder grpcMaxConnections(int grpcMaxConnections) {
            this.grpcMaxConnections = grpcMaxConnections;
            return this;
        }

        /** Kafka client settings passed through; see {@link IngestConfig#kafkaClient()}. */
        public Builder kafkaClient(KafkaClientProperties kafkaClient) {
            this.kafkaClient = Objects.requireNonNull(kafkaClient, "kafkaClient");
            return this;
        }

        public Builder redaction(RedactionConfig redaction) {
            this.redaction = Objects.requireNonNull(redaction, "redaction");
            return this;
        }

        /** @throws IllegalArgumentException saying which setting is invalid and why */
        public IngestConfig build() {
            return new IngestConfig(
                    kafkaBootstrap,
                    httpHost,
                    httpPort,
                    grpcPort,
                    httpThreads,
                    tracesTopic,
                    logsTopic,
                    metricsTopic,
                    topicPartitions,
                    topicReplication,
                    topicRetentionMs,
                    maxBodyBytes,
                    maxInFlightBytes,
                    kafkaTimeout,
                    kafkaStartupTimeout,
                    httpRequestTimeout,
                    authEnabled,
                    authTokens,
                    redaction,
                    kafkaClient,
                    httpMaxConnections,
                    grpcMaxConnections);
        }
    }

    private static void check(boolean valid, String field, String env, String rule, Object value) {
        if (!valid) {
            throw new IllegalArgumentException(field + " " + rule + " (set " + env + "); got '" + value + "'");
        }
    }

    private static void checkBootstrap(String bootstrap) {
        String rule = "must be a comma-separated list of host:port, such as 127.0.0.1:9092";
        check(!bootstrap.isBlank(), "kafkaBootstrap", ENV_KAFKA_BOOTSTRAP, rule, bootstrap);
        for (String server : bootstrap.split(",", -1)) {
            String s = server.strip();
            int colon = s.lastIndexOf(':');
            boolean valid = colon > 0 && colon < s.length() - 1;
            if (valid) {
                try {
                    int port = Integer.parseInt(s.substring(colon + 1));
                    valid = port >= 1 && port <= 65535;
                } catch (NumberFormatException e) {
                    valid = false;
                }
            }
            check(valid, "kafkaBootstrap", ENV_KAFKA_BOOTSTRAP, rule, bootstrap);
        }
    }

    private static void checkTopic(String topic, String field, String env) {
        check(
                TOPIC.matcher(topic).matches() && !topic.equals(".") && !topic.equals(".."),
                field,
                env,
                "must be a Kafka topic name: 1 to 249 characters of a-z, A-Z, 0-9, '.', '_' or '-'",
                topic);
    }

    private static void checkTimeout(Duration timeout, String field, String env) {
        check(
                timeout.compareTo(MIN_KAFKA_TIMEOUT) >= 0 && timeout.compareTo(MAX_KAFKA_TIMEOUT) <= 0,
                field,
                env,
                "must be from " + MIN_KAFKA_TIMEOUT.toMillis() + " to " + MAX_KAFKA_TIMEOUT.toMillis() + " ms",
                timeout.toMillis() + " ms");
    }

    private static int parseInt(String s) {
        return Integer.parseInt(s);
    }

    private static short parseShort(String s) {
        int value = Integer.parseInt(s);
        if (value < Short.MIN_VALUE || value > Short.MAX_VALUE) {
            throw new NumberFormatException("out of range");
        }
        return (short) value;
    }

    private static boolean parseBoolean(String s) {
        return switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException(ENV_AUTH_ENABLED + " must be true or false; got '" + s + "'");
        };
    }

    private static Duration parseMillis(String s) {
        return Duration.ofMillis(Long.parseLong(s));
    }

    private static <T> Optional<T> read(Map<String, String> env, String name, Function<String, T> parse) {
        String raw = env.get(name);
        if (raw == null || raw.isBlank()) {
            return Optional.empty();
        }
        String value = raw.strip();
        try {
            return Optional.of(parse.apply(value));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    name + " must be a whole number (and not a huge one); got '" + value + "'", e);
        }
    }
}
