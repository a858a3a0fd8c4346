package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.rpc.RetryInfo;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.StatusProto;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.otellake.infra.KafkaBroker;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The OTLP/gRPC calls in ingest are bounded over all connections, as OTLP/HTTP requests are: with every thread busy
 * and the queue full, a further call, on any connection, is answered at once RESOURCE_EXHAUSTED with RetryInfo, which
 * OTLP exporters retry. The bound counts calls until they close, so once they are answered it admits calls again.
 */
class GrpcOverflowIT {
    private static final Duration KAFKA_TIMEOUT = Duration.ofSeconds(5);

    private static KafkaBroker kafka;
    private static Ingest ingest;

    @BeforeAll
    static void start() {
        kafka = TestKafka.broker();
        ingest = Ingest.start(TestKafka.ingestConfig()
                .httpThreads(1)
                .tracesTopic("grpc-overflow-traces")
                .logsTopic("grpc-overflow-logs")
                .kafkaTimeout(KAFKA_TIMEOUT)
                .build());
    }

    @AfterAll
    static void stop() {
        kafka.start(); // for the test classes after this one, should an assertion have failed mid-outage
        ingest.close();
    }

    @Test
    void aCallBeyondTheBoundOverAllConnectionsIsRefusedAtOnceWithRetryInfo() throws Exception {
        ExportTraceServiceRequest request = IngestIT.traces("grpc-overflow", 1);
        List<ManagedChannel> channels = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            channels.add(NettyChannelBuilder.forAddress("127.0.0.1", ingest.grpcPort())
                    .usePlaintext()
                    .build());
        }
        try {
            assertThat(stub(channels.get(0)).export(request)).isNotNull(); // warm: the producer knows the topic
            int bound = 1 + Ingest.QUEUED_REQUESTS_PER_THREAD; // one thread, and its queue

            // With Kafka down, the one thread waits up to the Kafka timeout per call: the calls pile up, spread over
            // three connections, each of which stays under the per-connection limit.
            kafka.stop();
            List<ListenableFuture<ExportTraceServiceResponse>> admitted = new ArrayList<>();
            for (int i = 0; i < bound; i++) {
                admitted.add(TraceServiceGrpc.newFutureStub(channels.get(i % 3)).export(request));
            }
            awaitCalls(bound);

            long start = System.nanoTime();
            StatusRuntimeException refused = catchThrowableOfType(
                    StatusRuntimeException.class, () -> stub(channels.get(3)).export(request));
            Duration waited = Duration.ofNanos(System.nanoTime() - start);
            kafka.start();

            assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
            assertThat(refused.getStatus().getDescription())
                    .isEqualTo("every OTLP/gRPC thread is busy and its queue is full; retry later");
            com.google.rpc.Status details = StatusProto.fromThrowable(refused);
            assertThat(details).isNotNull();
            assertThat(details.getDetailsList()).hasSize(1);
            assertThat(details.getDetails(0)
                            .unpack(RetryInfo.class)
                            .getRetryDelay()
                            .getSeconds())
                    .isEqualTo(OtlpHttpHandler.OVERLOADED_RETRY_AFTER_SECONDS);
            assertThat(waited).as("answered without waiting for a thread").isLessThan(KAFKA_TIMEOUT);

            // The admitted calls are handled as usual: accepted, or UNAVAILABLE while Kafka was down; never refused.
            for (ListenableFuture<ExportTraceServiceResponse> call : admitted) {
                try {
                    call.get(2 * bound * KAFKA_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    assertThat(Status.fromThrowable(e.getCause()).getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                }
            }
            awaitCalls(0);
            // Nothing leaked from the count: a call is admitted again once Kafka answers.
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (true) {
                try {
                    stub(channels.get(3)).export(request);
                    break;
                } catch (StatusRuntimeException e) {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                    assertThat(System.nanoTime()).as("Kafka answers again").isLessThan(deadline);
                }
            }
        } finally {
            for (ManagedChannel channel : channels) {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * A call whose message has not arrived within the request timeout ({@code OTEL_LAKE_INGEST_HTTP_REQUEST_TIMEOUT_MS},
     * as for an OTLP/HTTP request) is ended DEADLINE_EXCEEDED and gives its place in the bound back, so that clients
     * that open calls and send nothing cannot keep every other client out. Such calls used to stay until their
     * connection closed, and every other call was refused meanwhile.
     */
    @Test
    void aCallWhoseMessageDoesNotArriveInTimeIsEndedAndGivesBackItsPlace() throws Exception {
        MethodDescriptor<byte[], byte[]> openEnded = TraceServiceGrpc.getExportMethod().toBuilder(BYTES, BYTES)
                .setType(MethodDescriptor.MethodType.CLIENT_STREAMING)
                .build();
        List<ManagedChannel> channels = new ArrayList<>();
        try (Ingest stalling = Ingest.start(TestKafka.ingestConfig()
                .httpThreads(1)
                .httpRequestTimeout(Duration.ofSeconds(1))
                .kafkaTimeout(KAFKA_TIMEOUT)
                .tracesTopic("grpc-overflow-traces")
                .logsTopic("grpc-overflow-logs")
                .build())) {
            for (int i = 0; i < 2; i++) {
                channels.add(NettyChannelBuilder.forAddress("127.0.0.1", stalling.grpcPort())
                        .usePlaintext()
                        .build());
            }
            int bound = 1 + Ingest.QUEUED_REQUESTS_PER_THREAD;
            List<CompletableFuture<Status>> stalled = new ArrayList<>();
            for (int i = 0; i < bound; i++) {
                CompletableFuture<Status> closed = new CompletableFuture<>();
                ClientCall<byte[], byte[]> call = channels.get(i % 2).newCall(openEnded, CallOptions.DEFAULT);
                call.start(
                        new ClientCall.Listener<>() {
                            @Override
                            public void onClose(Status status, Metadata trailers) {
                                closed.complete(status);
                            }
                        },
                        new Metadata());
                call.request(1); // and never a message
                stalled.add(closed);
            }

            for (CompletableFuture<Status> closed : stalled) {
                Status status = closed.get(30, TimeUnit.SECONDS);
                assertThat(status.getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
                assertThat(status.getDescription()).isEqualTo("the request did not arrive in full within 1000 ms");
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (stalling.grpcCallsInServer() != 0) {
                assertThat(System.nanoTime()).as("every place given back").isLessThan(deadline);
                Thread.sleep(10);
            }
            assertThat(stub(channels.get(0)).export(IngestIT.traces("grpc-stalled", 1)))
                    .isNotNull();

            // A call whose message arrived in time is not ended for waiting for the one thread, however long: with
            // Kafka down each call holds it for seconds, so the last of three waits far beyond the timeout.
            kafka.stop();
            List<ListenableFuture<ExportTraceServiceResponse>> waiting = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                waiting.add(
                        TraceServiceGrpc.newFutureStub(channels.get(i % 2)).export(IngestIT.traces("grpc-stalled", 1)));
            }
            for (ListenableFuture<ExportTraceServiceResponse> call : waiting) {
                Throwable failed = catchThrowableOfType(ExecutionException.class, () -> call.get(60, TimeUnit.SECONDS));
                assertThat(Status.fromThrowable(failed.getCause()).getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            }
            kafka.start();
        } finally {
            kafka.start();
            for (ManagedChannel channel : channels) {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * A connection without calls is closed after {@link OtlpHttpServer#IDLE_TIMEOUT}, as an idle OTLP/HTTP connection
     * is, whether it ever spoke HTTP/2 or not: connections that stay open and do nothing used to stay for ever, and
     * enough of them take every file descriptor ingest has, Kafka's and OTLP/HTTP's too. (gRPC clients reconnect by
     * themselves when they next export.)
     */
    @Test
    void aConnectionWithoutCallsIsClosedOnceIdle() throws Exception {
        try (Socket silent = new Socket("127.0.0.1", ingest.grpcPort());
                Socket prefaceOnly = new Socket("127.0.0.1", ingest.grpcPort())) {
            prefaceOnly
                    .getOutputStream()
                    .write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\4\0\0\0\0\0".getBytes(StandardCharsets.US_ASCII));
            long start = System.nanoTime();
            for (Socket socket : List.of(silent, prefaceOnly)) {
                socket.setSoTimeout(
                        (int) OtlpHttpServer.IDLE_TIMEOUT.plusSeconds(30).toMillis());
                InputStream in = socket.getInputStream();
                while (in.read() >= 0) {
                    // the server's SETTINGS and GOAWAY, then the end
                }
            }
            assertThat(Duration.ofNanos(System.nanoTime() - start))
                    .isBetween(
                            OtlpHttpServer.IDLE_TIMEOUT.minusSeconds(1), OtlpHttpServer.IDLE_TIMEOUT.plusSeconds(30));
        }
    }

    /**
     * At {@code OTEL_LAKE_INGEST_GRPC_MAX_CONNECTIONS} ingest accepts no further OTLP/gRPC connection until one closes,
     * as at OTLP/HTTP's bound: connections that sit open without calls used to be accepted without end, and enough of
     * them take every file descriptor ingest has, Kafka's too. A client past the bound waits in the accept queue and
     * is served once a place frees.
     */
    @Test
    void atTheConnectionBoundNoMoreIsAcceptedUntilOneCloses() throws Exception {
        ExportTraceServiceRequest request = IngestIT.traces("grpc-connections", 1);
        try (Ingest bounded = Ingest.start(TestKafka.ingestConfig()
                        .grpcMaxConnections(2)
                        .tracesTopic("grpc-overflow-traces")
                        .logsTopic("grpc-overflow-logs")
                        .build());
                Socket first = new Socket("127.0.0.1", bounded.grpcPort());
                Socket second = new Socket("127.0.0.1", bounded.grpcPort())) {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (bounded.grpcConnections() < 2) {
                assertThat(System.nanoTime()).as("two connections accepted").isLessThan(deadline);
                Thread.sleep(10);
            }
            ManagedChannel third = NettyChannelBuilder.forAddress("127.0.0.1", bounded.grpcPort())
                    .usePlaintext()
                    .build();
            try {
                StatusRuntimeException waited =
                        catchThrowableOfType(StatusRuntimeException.class, () -> TraceServiceGrpc.newBlockingStub(third)
                                .withDeadlineAfter(2, TimeUnit.SECONDS)
                                .export(request));
                assertThat(waited).as("not served while two are open").isNotNull();
                assertThat(waited.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
                assertThat(bounded.grpcConnections()).isEqualTo(2);

                first.close();

                assertThat(stub(third).export(request))
                        .as("served once one closed")
                        .isNotNull();
                assertThat(bounded.grpcConnections()).isEqualTo(2);
                assertThat(second.isClosed()).isFalse();
            } finally {
                third.shutdownNow();
            }
        }
    }

    private static final MethodDescriptor.Marshaller<byte[]> BYTES = new OtlpGrpcServer.BytesMarshaller();

    private static TraceServiceGrpc.TraceServiceBlockingStub stub(ManagedChannel channel) {
        return TraceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    private static void awaitCalls(int n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (ingest.grpcCallsInServer() != n) {
            assertThat(System.nanoTime())
                    .as(n + " calls in the server, not " + ingest.grpcCallsInServer())
                    .isLessThan(deadline);
            Thread.sleep(10);
        }
    }
}
