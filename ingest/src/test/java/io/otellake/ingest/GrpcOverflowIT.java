package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.rpc.RetryInfo;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.StatusProto;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.otellake.infra.KafkaBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
