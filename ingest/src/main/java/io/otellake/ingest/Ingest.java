package io.otellake.ingest;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.KafkaException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running ingest: OTLP/HTTP and OTLP/gRPC in, one Kafka record per accepted request out. {@link IngestMain} starts
 * one from the environment; tests and other launchers start one in-process with {@link #start(IngestConfig)}.
 *
 * <p>{@link #close()} is graceful: new requests get 503 (gRPC: UNAVAILABLE), and so do OTLP/HTTP requests waiting for
 * a slot to be decoded in; requests being decoded or written are answered (up to the Kafka timeout plus a second), then
 * the servers and the Kafka producer close.
 *
 * <p>Backpressure: request bytes held at once, over both transports, are bounded by one {@link InFlightBudget}, of
 * which bodies still being read may hold half; a request that does not fit is answered at once with the retryable 429
 * (gRPC: RESOURCE_EXHAUSTED with RetryInfo) instead of waiting. OTLP/HTTP reads requests on many connection threads
 * and decodes them in {@code httpThreads} slots ({@link ExportSlots}); a read request waits for a slot at most the
 * request timeout, and gets 429 when the queue for slots is full or the wait ends.
 */
public final class Ingest implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Ingest.class);

    /**
     * Requests waiting for a slot (OTLP/HTTP) or a thread (OTLP/gRPC), per {@code OTEL_LAKE_INGEST_HTTP_THREADS};
     * beyond them a request is answered 429 (RESOURCE_EXHAUSTED with RetryInfo) at once.
     */
    static final int QUEUED_REQUESTS_PER_THREAD = 8;
    /**
     * OTLP/HTTP connection threads per {@code OTEL_LAKE_INGEST_HTTP_THREADS}: each reads one request's headers and
     * body, however slowly its client sends them.
     */
    static final int CONNECTION_THREADS_PER_HTTP_THREAD = 32;
    /** The most OTLP/HTTP connection threads, whatever {@code OTEL_LAKE_INGEST_HTTP_THREADS} says. */
    static final int MAX_CONNECTION_THREADS = 2048;

    /**
     * Requests waiting for the overflow thread, which answers 429 to requests that find every connection thread busy;
     * beyond them the server closes new connections (clients retry).
     */
    static final int QUEUED_OVERFLOW_REQUESTS = 64;

    private static final Duration DRAIN_MARGIN = Duration.ofSeconds(1);

    private final IngestConfig config;
    private final ExportSlots slots;
    private final KafkaPublisher publisher;
    private final KafkaReachability kafka;
    private final HttpServer server;
    private final ThreadPoolExecutor executor;
    private final ThreadPoolExecutor overflow;
    private final OtlpGrpcServer grpcServer;
    private final ThreadPoolExecutor grpcExecutor;
    private final RequestGate gate;
    private final InFlightBudget budget;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Ingest(
            IngestConfig config,
            KafkaPublisher publisher,
            KafkaReachability kafka,
            HttpServer server,
            ThreadPoolExecutor executor,
            ThreadPoolExecutor overflow,
            OtlpGrpcServer grpcServer,
            ThreadPoolExecutor grpcExecutor,
            RequestGate gate,
            InFlightBudget budget,
            ExportSlots slots) {
        this.config = config;
        this.budget = budget;
        this.slots = slots;
        this.publisher = publisher;
        this.kafka = kafka;
        this.server = server;
        this.executor = executor;
        this.overflow = overflow;
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
        // OTLP/HTTP requests decoded and written at once, after their bodies were read on connection threads
        ExportSlots slots = new ExportSlots(
                config.httpThreads(), config.httpThreads() * QUEUED_REQUESTS_PER_THREAD, config.httpRequestTimeout());
        ThreadPoolExecutor executor = null;
        ThreadPoolExecutor overflow = null;
        ThreadPoolExecutor grpcExecutor = null;
        HttpServer server = null;
        try {
            Map<OtlpSignal, ExportReceiver> receivers = new EnumMap<>(OtlpSignal.class);
            for (OtlpSignal signal : OtlpSignal.values()) {
                receivers.put(
                        signal,
                        new ExportReceiver(
                                signal,
                                config.topic(signal),
                                config.maxBodyBytes(),
                                publisher,
                                metrics,
                                redactor,
                                budget));
            }
            limitRequestTime(config.httpRequestTimeout());
            HttpServer http = bind(config);
            server = http;
            // The JDK server closes a connection whose request its executor refuses, without an answer; the overflow
            // thread answers such requests instead (OverflowThread, in OtlpHttpHandler).
            ThreadPoolExecutor overflowExecutor = new ThreadPoolExecutor(
                    1,
                    1,
                    0,
                    TimeUnit.MILLISECONDS,
                    new ArrayBlockingQueue<>(QUEUED_OVERFLOW_REQUESTS),
                    OverflowThread::new,
                    new ThreadPoolExecutor.AbortPolicy());
            overflow = overflowExecutor;
            // The JDK server reads a request's headers, and the handler its body, on this executor's threads, as
            // blocking reads: a client that sends slowly holds one thread (until the request timeout), so there are
            // many of them. Decoding and writing to Kafka, which take CPU and memory, are bounded by ExportSlots.
            executor = newConnectionExecutor(
                    "ingest-http-",
                    config.httpThreads(),
                    Math.min(config.httpThreads() * CONNECTION_THREADS_PER_HTTP_THREAD, MAX_CONNECTION_THREADS));
            executor.setRejectedExecutionHandler((task, full) -> overflowExecutor.execute(task));
            http.setExecutor(executor);
            receivers.forEach((signal, receiver) ->
                    http.createContext(signal.path(), new OtlpHttpHandler(receiver, gate, access, slots)));
            HealthHandler health = new HealthHandler(gate, kafka::reachable);
            HealthHandler.PATHS.forEach(path -> http.createContext(path, health));
            http.createContext(MetricsHandler.PATH, new MetricsHandler(metrics));
            http.createContext("/", new NotFoundHandler());
            // gRPC parses a call's message on this executor: it must not refuse work, or calls would hang.
            grpcExecutor = newExecutor("ingest-grpc-", config.httpThreads());
            OtlpGrpcServer grpcServer = OtlpGrpcServer.start(config, receivers, gate, access, grpcExecutor);
            http.start();
            Ingest ingest = new Ingest(
                    config, publisher, kafka, http, executor, overflow, grpcServer, grpcExecutor, gate, budget, slots);
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
                server.stop(0);
            }
            if (executor != null) {
                executor.shutdownNow();
            }
            if (overflow != null) {
                overflow.shutdownNow();
            }
            if (grpcExecutor != null) {
                grpcExecutor.shutdownNow();
            }
            kafka.close();
            publisher.close();
            throw e;
        }
    }

    /**
     * The JDK's HTTP server waits for a request's headers and body as long as the client likes, on one of the
     * executor's threads: a client that stops sending halfway (or many of them, on purpose) would hold the threads for
     * good. Its {@code sun.net.httpserver.maxReqTime} closes a connection whose request has not been read in full within
     * that many seconds. The JDK reads it once per process, when its first HTTP server is created, so this must run
     * before; in {@link IngestMain} nothing creates one earlier.
     */
    private static void limitRequestTime(Duration timeout) {
        long seconds = (timeout.toMillis() + 999) / 1000;
        System.setProperty("sun.net.httpserver.maxReqTime", Long.toString(seconds));
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
                            + " within " + config.kafkaTimeout().toMillis() + " ms: " + e.getMessage(),
                    e);
        }
        return publisher;
    }

    private static HttpServer bind(IngestConfig config) {
        InetSocketAddress address = new InetSocketAddress(config.httpHost(), config.httpPort());
        if (address.isUnresolved()) {
            throw new IngestStartException(
                    "Cannot resolve the HTTP host '" + config.httpHost() + "' (set " + IngestConfig.ENV_HTTP_HOST + ")",
                    null);
        }
        try {
            return HttpServer.create(address, 0);
        } catch (BindException e) {
            throw new IngestStartException(
                    "Cannot listen on " + config.httpHost() + ":" + config.httpPort() + " (" + e.getMessage()
                            + "): is another process using the port? Set " + IngestConfig.ENV_HTTP_PORT + " or "
                            + IngestConfig.ENV_HTTP_HOST + ".",
                    e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the HTTP server on " + address, e);
        }
    }

    /** Up to {@code maxThreads} threads, {@code threads} kept when idle, no queue: beyond, the rejection handler. */
    private static ThreadPoolExecutor newConnectionExecutor(String name, int threads, int maxThreads) {
        return new ThreadPoolExecutor(
                threads,
                maxThreads,
                60,
                TimeUnit.SECONDS,
                new SynchronousQueue<>(),
                daemonThreads(name),
                new ThreadPoolExecutor.AbortPolicy());
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
        return server.getAddress().getPort();
    }

    /** The OTLP/gRPC port; the one picked when the configuration asked for 0. */
    public int grpcPort() {
        return grpcServer.port();
    }

    /** The server's base URI, such as {@code http://127.0.0.1:4318}; a wildcard host is shown as 127.0.0.1. */
    public URI uri() {
        InetSocketAddress address = server.getAddress();
        String host = address.getAddress().isAnyLocalAddress()
                ? "127.0.0.1"
                : address.getAddress().getHostAddress();
        if (host.contains(":")) {
            host = "[" + host + "]";
        }
        return URI.create("http://" + host + ":" + address.getPort());
    }

    /** OTLP/HTTP connection threads reading or handling a request now. */
    int httpConnectionThreadsBusy() {
        return executor.getActiveCount();
    }

    int grpcCallsInServer() {
        return grpcServer.callsInServer();
    }

    /** The thread that answers the requests the HTTP executor has no room for, with 429, without handling them. */
    static final class OverflowThread extends Thread {
        OverflowThread(Runnable task) {
            super(task, "ingest-http-overflow");
            setDaemon(true);
        }
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
        slots.close(); // requests waiting for a slot are answered 503 at once
        try {
            int unfinished = gate.awaitIdle(config.kafkaTimeout().plus(DRAIN_MARGIN));
            if (unfinished > 0) {
                LOG.warn("Stopping with {} requests still unanswered", unfinished);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // JDK 17's HttpServer.stop(n) waits the whole n seconds even when idle; the gate did the waiting already.
        server.stop(0);
        grpcServer.close();
        grpcExecutor.shutdownNow();
        overflow.shutdownNow();
        executor.shutdown();
        try {
            if (!executor.awaitTermination(DRAIN_MARGIN.toMillis(), TimeUnit.MILLISECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
        kafka.close();
        publisher.close();
        LOG.info("Ingest stopped");
    }
}
