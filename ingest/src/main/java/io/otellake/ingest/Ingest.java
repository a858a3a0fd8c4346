package io.otellake.ingest;

import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.apache.kafka.common.KafkaException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running ingest: OTLP/HTTP and OTLP/gRPC in, one Kafka record per accepted request out. {@link IngestMain} starts
 * one from the environment; tests and other launchers start one in-process with {@link #start(IngestConfig)}.
 *
 * <p>{@link #close()} is graceful: new requests get 503 (gRPC: UNAVAILABLE); requests admitted are answered (up to the
 * Kafka timeout plus a second), then the servers and the Kafka producer close.
 *
 * <p>Backpressure: request bytes held at once, over both transports, are bounded by one {@link InFlightBudget}, of
 * which bodies still being read may hold half; a request that does not fit is answered at once with the retryable 429
 * (gRPC: RESOURCE_EXHAUSTED with RetryInfo) instead of waiting. OTLP/HTTP reads requests on Netty's event loops,
 * without a thread per connection, and decodes and writes them on {@code httpThreads} workers ({@link OtlpHttpServer});
 * a complete request waits for a worker at most the request timeout, and gets 429 when their queue is full or the wait
 * ends.
 */
public final class Ingest implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Ingest.class);

    /**
     * Requests waiting for a worker (OTLP/HTTP) or a thread (OTLP/gRPC), per {@code OTEL_LAKE_INGEST_HTTP_THREADS};
     * beyond them a request is answered 429 (RESOURCE_EXHAUSTED with RetryInfo) at once.
     */
    static final int QUEUED_REQUESTS_PER_THREAD = OtlpHttpServer.QUEUED_REQUESTS_PER_WORKER;

    /** The least memory for OTLP/HTTP request heads being read: two of the largest at their cost per byte. */
    static final long MIN_HEAD_BUDGET_BYTES = 2L * OtlpHttpServer.MAX_HEADER_BYTES * OtlpHttpServer.HEAD_COST_PER_BYTE;

    private static final Duration DRAIN_MARGIN = Duration.ofSeconds(1);

    private final IngestConfig config;
    private final KafkaPublisher publisher;
    private final KafkaReachability kafka;
    private final OtlpHttpServer server;
    private final OtlpGrpcServer grpcServer;
    private final ThreadPoolExecutor grpcExecutor;
    private final RequestGate gate;
    private final InFlightBudget budget;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Ingest(
            IngestConfig config,
            KafkaPublisher publisher,
            KafkaReachability kafka,
            OtlpHttpServer server,
            OtlpGrpcServer grpcServer,
            ThreadPoolExecutor grpcExecutor,
            RequestGate gate,
            InFlightBudget budget) {
        this.config = config;
        this.budget = budget;
        this.publisher = publisher;
        this.kafka = kafka;
        this.server = server;
        this.grpcServer = grpcServer;
        this.grpcExecutor = grpcExecutor;
        this.gate = gate;
    }

    /**
     * Creates the topics if missing, connects the producer and starts serving.
     *
     * @throws IngestStartException with a sentence saying what to change, if Kafka cannot be reached in time, a topic
     *     cannot be created, or the port is taken
     */
    public static Ingest start(IngestConfig config) {
        Objects.requireNonNull(config, "config");
        new TopicCreator(config).ensureTopics();

        KafkaPublisher publisher = connectPublisher(config);
        KafkaReachability kafka = new KafkaReachability(config);
        IngestMetrics metrics = new IngestMetrics(kafka::reachable);
        RequestGate gate = new RequestGate();
        TenantAccess access = TenantAccess.of(config);
        Redactor redactor = new Redactor(config.redaction(), metrics);
        InFlightBudget budget = new InFlightBudget(
                config.maxInFlightBytes(),
                InFlightBudget.readingLimit(config.maxInFlightBytes(), config.maxBodyBytes()));
        // Request heads, separately: their cost per byte is high (see OtlpHttpServer.HEAD_COST_PER_BYTE) and
        // bounded by the header limit, and slow clients must not take what bodies need.
        InFlightBudget heads = new InFlightBudget(Math.max(config.maxInFlightBytes() / 8, MIN_HEAD_BUDGET_BYTES));
        metrics.watch(budget, heads);
        ThreadPoolExecutor grpcExecutor = null;
        OtlpHttpServer server = null;
        try {
            Map<OtlpSignal, ExportReceiver> receivers = new EnumMap<>(OtlpSignal.class);
            Map<String, OtlpHttpHandler> exports = new HashMap<>();
            for (OtlpSignal signal : OtlpSignal.values()) {
                ExportReceiver receiver = new ExportReceiver(
                        signal, config.topic(signal), config.maxBodyBytes(), publisher, metrics, redactor, budget);
                receivers.put(signal, receiver);
                exports.put(signal.path(), new OtlpHttpHandler(receiver, gate, access, config.httpRequestTimeout()));
            }
            HealthHandler health = new HealthHandler(gate, kafka::reachable);
            MetricsHandler scrape = new MetricsHandler(metrics, access);
            server = bind(config, heads, head -> {
                OtlpHttpHandler export = exports.get(head.path());
                if (export != null) {
                    return export.call(head);
                }
                if (HealthHandler.PATHS.contains(head.path())) {
                    return HttpCall.answered(health.reply(head));
                }
                if (MetricsHandler.PATH.equals(head.path())) {
                    return HttpCall.answered(scrape.reply(head));
                }
                return HttpCall.answered(NotFoundHandler.reply(head.path()));
            });
            // gRPC parses a call's message on this executor: it must not refuse work, or calls would hang.
            grpcExecutor = newExecutor("ingest-grpc-", config.httpThreads());
            OtlpGrpcServer grpcServer = OtlpGrpcServer.start(config, receivers, gate, access, grpcExecutor);
            Ingest ingest = new Ingest(config, publisher, kafka, server, grpcServer, grpcExecutor, gate, budget);
            LOG.info(
                    "Ingest serves OTLP/HTTP on {} and OTLP/gRPC on port {} (traces -> {}, logs -> {}, metrics -> {},"
                            + " Kafka {})",
                    ingest.uri(),
                    ingest.grpcPort(),
                    config.tracesTopic(),
                    config.logsTopic(),
                    config.metricsTopic(),
                    config.kafkaBootstrap());
            return ingest;
        } catch (RuntimeException e) {
            if (server != null) {
                server.close();
            }
            if (grpcExecutor != null) {
                grpcExecutor.shutdownNow();
            }
            kafka.close();
            publisher.close();
            throw e;
        }
    }

    private static KafkaPublisher connectPublisher(IngestConfig config) {
        KafkaPublisher publisher;
        try {
            publisher = new KafkaPublisher(config);
        } catch (KafkaException e) {
            throw new IngestStartException(
                    "Cannot create a Kafka producer for " + config.kafkaBootstrap() + ": " + e.getMessage(), e);
        }
        try {
            publisher.connect(config.topics());
        } catch (KafkaException e) {
            publisher.close();
            throw new IngestStartException(
                    "The Kafka producer could not fetch the topics' metadata from " + config.kafkaBootstrap()
                            + " within "
                            + KafkaPublisher.maxBlock(config.kafkaTimeout()).toMillis() + " ms: "
                            + e.getMessage(),
                    e);
        }
        return publisher;
    }

    private static OtlpHttpServer bind(IngestConfig config, InFlightBudget heads, Function<HttpHead, HttpCall> router) {
        InetSocketAddress address = new InetSocketAddress(config.httpHost(), config.httpPort());
        if (address.isUnresolved()) {
            throw new IngestStartException(
                    "Cannot resolve the HTTP host '" + config.httpHost() + "' (set " + IngestConfig.ENV_HTTP_HOST + ")",
                    null);
        }
        try {
            return OtlpHttpServer.start(
                    address,
                    config.httpThreads(),
                    config.httpRequestTimeout(),
                    config.httpMaxConnections(),
                    daemonThreads("ingest-http-"),
                    heads,
                    router);
        } catch (OtlpHttpServer.BindFailure e) {
            String hint = e.getCause() instanceof BindException ? ": is another process using the port?" : ".";
            throw new IngestStartException(
                    "Cannot listen on " + config.httpHost() + ":" + config.httpPort() + " (" + e.getMessage() + ")"
                            + hint + " Set " + IngestConfig.ENV_HTTP_PORT + " or " + IngestConfig.ENV_HTTP_HOST + ".",
                    e.getCause());
        }
    }

    /** {@code threads} threads and an unbounded queue. */
    private static ThreadPoolExecutor newExecutor(String name, int threads) {
        return new ThreadPoolExecutor(
                threads, threads, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), daemonThreads(name));
    }

    private static ThreadFactory daemonThreads(String name) {
        AtomicInteger count = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** The port the server listens on; the one picked when the configuration asked for 0. */
    public int port() {
        return server.address().getPort();
    }

    /** The OTLP/gRPC port; the one picked when the configuration asked for 0. */
    public int grpcPort() {
        return grpcServer.port();
    }

    /** The server's base URI, such as {@code http://127.0.0.1:4318}; a wildcard host is shown as 127.0.0.1. */
    public URI uri() {
        InetSocketAddress address = server.address();
        String host = address.getAddress().isAnyLocalAddress()
                ? "127.0.0.1"
                : address.getAddress().getHostAddress();
        if (host.contains(":")) {
            host = "[" + host + "]";
        }
        return URI.create("http://" + host + ":" + address.getPort());
    }

    /** OTLP/HTTP connections open now. */
    int httpConnections() {
        return server.connections();
    }

    /** OTLP/gRPC connections open now. */
    int grpcConnections() {
        return grpcServer.connections();
    }

    int grpcCallsInServer() {
        return grpcServer.callsInServer();
    }

    /** Request bytes held now in the in-flight budget, over both transports. */
    long bytesInFlight() {
        return budget.reserved();
    }

    /** Requests being handled now (admitted, not yet answered). */
    int requestsInFlight() {
        return gate.inFlight();
    }

    public IngestConfig config() {
        return config;
    }

    /**
     * Stops gracefully: new requests are refused with 503, admitted ones are answered (waiting up to the Kafka timeout
     * plus a second), then the listener, the threads and the Kafka producer (which sends what it holds) close.
     * Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        gate.close();
        try {
            int unfinished = gate.awaitIdle(config.kafkaTimeout().plus(DRAIN_MARGIN));
            if (unfinished > 0) {
                LOG.warn("Stopping with {} requests still unanswered", unfinished);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        server.close();
        grpcServer.close();
        grpcExecutor.shutdownNow();
        kafka.close();
        publisher.close();
        LOG.info("Ingest stopped");
    }
}
