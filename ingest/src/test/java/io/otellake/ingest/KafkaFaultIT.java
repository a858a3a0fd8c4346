package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.rpc.RetryInfo;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.StatusProto;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.logs.v1.LogsServiceGrpc;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.otellake.infra.KafkaBroker;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fault test: four clients (two over OTLP/HTTP, two over OTLP/gRPC) keep sending trace and log requests, every
 * item unique (span ids, log bodies), while the Kafka broker is stopped and started again. Each client behaves like an
 * OTLP exporter: it retries a request after a retryable answer, and moves on after a success. Every attempt's answer
 * is recorded. Then the topics are read from the beginning and every item counted.
 *
 * <p>What it proves, per request:
 *
 * <ul>
 *   <li>every answer was a success or a retryable refusal (503/429 with Retry-After, UNAVAILABLE/RESOURCE_EXHAUSTED
 *       with RetryInfo): never a 400/500, a closed connection, or a status without retry advice;
 *   <li>every item of a request that a client saw succeed is in Kafka;
 *   <li>exactly once if it succeeded at its first attempt. A request that was retried after a failure may be in Kafka
 *       up to once per attempt: a failed attempt proves only that Kafka did not acknowledge in time, not that nothing
 *       was written (the acknowledgement may be lost, or one record of a split trace request written and another
 *       not), so the client's retry may write it again. That is OTLP's at-least-once delivery;
 *   <li>a request that never succeeded is in Kafka at most once per attempt (possibly not at all).
 * </ul>
 *
 * <p>Were ingest to answer 200 before Kafka's acknowledgement (or on a failed one), requests answered during the
 * outage would be counted as succeeded while the producer drops their records after its delivery timeout, and the
 * "every item of a succeeded request is in Kafka" check fails.
 */
class KafkaFaultIT {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaFaultIT.class);
    private static final Duration KAFKA_TIMEOUT = Duration.ofSeconds(2);
    private static final Duration OUTAGE = Duration.ofSeconds(4);
    private static final int CLIENTS = 4;
    private static final int SPANS_PER_REQUEST = 4;
    private static final int LOGS_PER_REQUEST = 3;
    private static final int MAX_ATTEMPTS = 60;
    private static final long RETRY_PAUSE_MILLIS = 100;

    private static KafkaBroker kafka;
    private static Ingest ingest;
    private static ManagedChannel channel;

    @BeforeAll
    static void start() {
        kafka = TestKafka.broker();
        ingest = Ingest.start(TestKafka.ingestConfig()
                .tracesTopic("fault-traces")
                .logsTopic("fault-logs")
                .kafkaTimeout(KAFKA_TIMEOUT)
                .build());
        channel = NettyChannelBuilder.forAddress("127.0.0.1", ingest.grpcPort())
                .usePlaintext()
                .build();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        kafka.start(); // for the test classes after this one, should an assertion have failed mid-outage
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        ingest.close();
    }

    /** One request, with its items' ids and the answer to each attempt. */
    record Sent(boolean traces, List<String> items, List<Outcome> attempts) {
        boolean succeeded() {
            return attempts.stream().anyMatch(Outcome::ok);
        }
    }

    /** One attempt's answer, as the client saw it. */
    record Outcome(boolean ok, boolean retryable, String description) {
        static final Outcome OK = new Outcome(true, false, "ok");
    }

    @Test
    void everyAcknowledgedItemIsInKafkaAndEveryOtherAnswerIsRetryable() throws Exception {
        AtomicBoolean stopping = new AtomicBoolean();
        ConcurrentLinkedQueue<Sent> sent = new ConcurrentLinkedQueue<>();
        List<Client> clients = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            Client client = new Client(c, c % 2 == 0 ? "http" : "grpc", stopping, sent);
            clients.add(client);
            client.start();
        }

        awaitEveryClient(clients, client -> client.successes > 2, "a few successes before the outage");
        kafka.stop();
        Thread.sleep(OUTAGE.toMillis());
        long failedDuringOutage = clients.stream().mapToLong(c -> c.failures).sum();
        kafka.start();
        for (Client client : clients) {
            client.successesAtRestart = client.successes;
        }
        awaitEveryClient(
                clients, client -> client.successes > client.successesAtRestart + 2, "successes after the restart");
        stopping.set(true);
        for (Client client : clients) {
            client.join(Duration.ofSeconds(60).toMillis());
            assertThat(client.isAlive())
                    .as("client %s finished", client.getName())
                    .isFalse();
        }

        List<Outcome> wrong = sent.stream()
                .flatMap(s -> s.attempts().stream())
                .filter(o -> !o.ok() && !o.retryable())
                .toList();
        assertThat(wrong).as("answers that are neither success nor retryable").isEmpty();

        Map<String, Integer> inKafka = new HashMap<>(countSpans());
        inKafka.putAll(countLogs());
        List<String> problems = new ArrayList<>();
        for (Sent s : sent) {
            int attempts = s.attempts().size();
            boolean firstTime = s.attempts().get(0).ok();
            for (String item : s.items()) {
                int n = inKafka.getOrDefault(item, 0);
                if (s.succeeded() && n < 1) {
                    problems.add(item + ": acknowledged after " + attempts + " attempts, not in Kafka");
                } else if (firstTime && n != 1) {
                    problems.add(item + ": acknowledged at once, in Kafka " + n + " times");
                } else if (n > attempts) {
                    problems.add(item + ": in Kafka " + n + " times after " + attempts + " attempts");
                }
            }
        }
        long succeeded = sent.stream().filter(Sent::succeeded).count();
        long retried = sent.stream()
                .filter(s -> s.succeeded() && !s.attempts().get(0).ok())
                .count();
        LOG.info(
                "{} requests, {} succeeded ({} after a retry), {} attempts refused ({} during the outage), {} items"
                        + " in Kafka more than once",
                sent.size(),
                succeeded,
                retried,
                sent.stream()
                        .flatMap(s -> s.attempts().stream())
                        .filter(o -> !o.ok())
                        .count(),
                failedDuringOutage,
                inKafka.values().stream().filter(n -> n > 1).count());
        assertThat(problems).as("items counted in Kafka").isEmpty();
        assertThat(failedDuringOutage)
                .as("the outage was seen: attempts refused while the broker was down")
                .isPositive();
        assertThat(succeeded).isGreaterThan(CLIENTS * 4L);
        assertThat(retried).as("requests that succeeded after a retry").isPositive();
    }

    private static void awaitEveryClient(List<Client> clients, Predicate<Client> condition, String what)
            throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!clients.stream().allMatch(condition)) {
            for (Client client : clients) {
                assertThat(client.isAlive())
                        .as("client %s runs", client.getName())
                        .isTrue();
            }
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    private static Map<String, Integer> countSpans() throws Exception {
        Map<String, Integer> counts = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> record : readAll("fault-traces")) {
            for (ResourceSpans rs :
                    ExportTraceServiceRequest.parseFrom(record.value()).getResourceSpansList()) {
                for (ScopeSpans ss : rs.getScopeSpansList()) {
                    for (Span span : ss.getSpansList()) {
                        counts.merge(HexFormat.of().formatHex(span.getSpanId().toByteArray()), 1, Integer::sum);
                    }
                }
            }
        }
        return counts;
    }

    private static Map<String, Integer> countLogs() throws Exception {
        Map<String, Integer> counts = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> record : readAll("fault-logs")) {
            for (ResourceLogs rl :
                    ExportLogsServiceRequest.parseFrom(record.value()).getResourceLogsList()) {
                for (ScopeLogs sl : rl.getScopeLogsList()) {
                    for (LogRecord log : sl.getLogRecordsList()) {
                        counts.merge(log.getBody().getStringValue(), 1, Integer::sum);
                    }
                }
            }
        }
        return counts;
    }

    private static List<ConsumerRecord<byte[], byte[]>> readAll(String topic) {
        try (TopicReader reader = new TopicReader(kafka.bootstrapServers(), topic)) {
            return reader.since(reader.mark().keySet().stream().collect(Collectors.toMap(tp -> tp, tp -> 0L)));
        }
    }

    /** Sends trace and log requests in turn, retrying each after a retryable answer, until told to stop. */
    private static final class Client extends Thread {
        private final int id;
        private final String transport;
        private final AtomicBoolean stopping;
        private final ConcurrentLinkedQueue<Sent> sent;
        private final OtlpHttp http = new OtlpHttp(ingest.uri());
        volatile long successes;
        volatile long failures;
        volatile long successesAtRestart = Long.MAX_VALUE;

        Client(int id, String transport, AtomicBoolean stopping, ConcurrentLinkedQueue<Sent> sent) {
            super("fault-client-" + id + "-" + transport);
            this.id = id;
            this.transport = transport;
            this.stopping = stopping;
            this.sent = sent;
            setDaemon(true);
        }

        @Override
        public void run() {
            for (int n = 0; !stopping.get(); n++) {
                boolean traces = n % 2 == 0;
                List<String> items = new ArrayList<>();
                byte[] body = traces ? traces(n, items) : logs(n, items);
                Sent request = new Sent(traces, items, new ArrayList<>());
                for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
                    Outcome outcome = send(traces, body);
                    request.attempts().add(outcome);
                    if (outcome.ok()) {
                        successes++;
                        break;
                    }
                    failures++;
                    if (!outcome.retryable()) {
                        break;
                    }
                    pause(RETRY_PAUSE_MILLIS);
                }
                sent.add(request);
                pause(5);
            }
        }

        private byte[] traces(int n, List<String> items) {
            ScopeSpans.Builder scope = ScopeSpans.newBuilder();
            byte[][] traceIds = {randomBytes(16), randomBytes(16)};
            for (int k = 0; k < SPANS_PER_REQUEST; k++) {
                byte[] spanId = ByteBuffer.allocate(8) // + 1: an all-zero span id is invalid
                        .putShort((short) (id + 1))
                        .putInt(n)
                        .putShort((short) k)
                        .array();
                items.add(HexFormat.of().formatHex(spanId));
                scope.addSpans(Span.newBuilder()
                        .setTraceId(ByteString.copyFrom(traceIds[k % 2]))
                        .setSpanId(ByteString.copyFrom(spanId))
                        .setName("op-" + k)
                        .setStartTimeUnixNano(1_700_000_000_000_000_000L)
                        .setEndTimeUnixNano(1_700_000_000_500_000_000L));
            }
            return ExportTraceServiceRequest.newBuilder()
                    .addResourceSpans(ResourceSpans.newBuilder().addScopeSpans(scope))
                    .build()
                    .toByteArray();
        }

        private byte[] logs(int n, List<String> items) {
            ScopeLogs.Builder scope = ScopeLogs.newBuilder();
            for (int k = 0; k < LOGS_PER_REQUEST; k++) {
                String body = "client-" + id + "-request-" + n + "-log-" + k;
                items.add(body);
                scope.addLogRecords(LogRecord.newBuilder()
                        .setTimeUnixNano(1_700_000_000_000_000_000L)
                        .setBody(AnyValue.newBuilder().setStringValue(body)));
            }
            return ExportLogsServiceRequest.newBuilder()
                    .addResourceLogs(ResourceLogs.newBuilder().addScopeLogs(scope))
                    .build()
                    .toByteArray();
        }

        private Outcome send(boolean traces, byte[] body) {
            try {
                return transport.equals("http") ? sendHttp(traces, body) : sendGrpc(traces, body);
            } catch (RuntimeException e) {
                return new Outcome(false, false, transport + " failed: " + e);
            }
        }

        private Outcome sendHttp(boolean traces, byte[] body) {
            HttpResponse<byte[]> response = http.post(traces ? "/v1/traces" : "/v1/logs", OtlpHttp.PROTOBUF, body);
            int status = response.statusCode();
            if (status == 200) {
                return Outcome.OK;
            }
            boolean retryAfter = response.headers().firstValue("Retry-After").isPresent();
            return new Outcome(
                    false,
                    (status == 503 || status == 429) && retryAfter,
                    "HTTP " + status + (retryAfter ? " with" : " without") + " Retry-After");
        }

        private Outcome sendGrpc(boolean traces, byte[] body) {
            try {
                if (traces) {
                    TraceServiceGrpc.newBlockingStub(channel)
                            .withDeadlineAfter(30, TimeUnit.SECONDS)
                            .export(ExportTraceServiceRequest.parseFrom(body));
                } else {
                    LogsServiceGrpc.newBlockingStub(channel)
                            .withDeadlineAfter(30, TimeUnit.SECONDS)
                            .export(ExportLogsServiceRequest.parseFrom(body));
                }
                return Outcome.OK;
            } catch (StatusRuntimeException e) {
                com.google.rpc.Status status = StatusProto.fromThrowable(e);
                boolean retryInfo =
                        status != null && status.getDetailsList().stream().anyMatch(d -> d.is(RetryInfo.class));
                io.grpc.Status.Code code = e.getStatus().getCode();
                return new Outcome(
                        false,
                        (code == io.grpc.Status.Code.UNAVAILABLE || code == io.grpc.Status.Code.RESOURCE_EXHAUSTED)
                                && retryInfo,
                        "gRPC " + code + (retryInfo ? " with" : " without") + " RetryInfo: "
                                + e.getStatus().getDescription());
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                throw new AssertionError(e);
            }
        }

        private static void pause(long millis) {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private static byte[] randomBytes(int n) {
            byte[] bytes = new byte[n];
            ThreadLocalRandom.current().nextBytes(bytes);
            return bytes;
        }
    }
}
