package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.RetryInfo;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Codec;
import io.grpc.Compressor;
import io.grpc.CompressorRegistry;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.opentelemetry.proto.collector.logs.v1.LogsServiceGrpc;
import io.opentelemetry.proto.collector.metrics.v1.MetricsServiceGrpc;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import java.io.OutputStream;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The conformance cases over OTLP/gRPC, with a plain grpc-java client that sends the request's bytes as they are.
 * Bytes that are already gzipped go through a "gzip" compressor that passes them on unchanged, so that exactly those
 * bytes (a bomb, a corrupt stream) reach ingest as a compressed message.
 */
class GrpcConformanceIT extends OtlpConformanceIT {
    private static final MethodDescriptor.Marshaller<byte[]> BYTES = new OtlpGrpcServer.BytesMarshaller();

    /** Claims to gzip, and passes the (already gzipped) bytes on as they are. */
    private static final Compressor ALREADY_GZIPPED = new Compressor() {
        @Override
        public String getMessageEncoding() {
            return new Codec.Gzip().getMessageEncoding();
        }

        @Override
        public OutputStream compress(OutputStream os) {
            return os;
        }
    };

    private static ManagedChannel channel;
    private static ManagedChannel securedChannel;
    private static ManagedChannel budgetChannel;

    @BeforeAll
    static void connect() {
        channel = channel(ingest);
        securedChannel = channel(securedIngest);
        budgetChannel = channel(budgetIngest);
    }

    private static ManagedChannel channel(Ingest target) {
        CompressorRegistry compressors = CompressorRegistry.newEmptyInstance();
        compressors.register(ALREADY_GZIPPED);
        return NettyChannelBuilder.forAddress("127.0.0.1", target.grpcPort())
                .usePlaintext()
                .compressorRegistry(compressors)
                .build();
    }

    @AfterAll
    static void disconnect() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        securedChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        budgetChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    @Override
    String transport() {
        return "grpc";
    }

    @Override
    String statusLabel(Code code) {
        return code.name();
    }

    @Override
    Answer send(
            Ingest target,
            OtlpSignal signal,
            @Nullable String tenant,
            @Nullable String authorization,
            byte[] body,
            boolean gzipped) {
        MethodDescriptor<?, ?> generated =
                switch (signal) {
                    case TRACES -> TraceServiceGrpc.getExportMethod();
                    case LOGS -> LogsServiceGrpc.getExportMethod();
                    case METRICS -> MetricsServiceGrpc.getExportMethod();
                };
        MethodDescriptor<byte[], byte[]> method =
                generated.toBuilder(BYTES, BYTES).build();
        Metadata headers = new Metadata();
        if (tenant != null) {
            headers.put(OtlpGrpcServer.TENANT_KEY, tenant);
        }
        if (authorization != null) {
            headers.put(OtlpGrpcServer.AUTHORIZATION_KEY, authorization);
        }
        Channel withHeaders = ClientInterceptors.intercept(
                target == securedIngest ? securedChannel : target == budgetIngest ? budgetChannel : channel,
                MetadataUtils.newAttachHeadersInterceptor(headers));
        CallOptions options = CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS);
        if (gzipped) {
            options = options.withCompression(ALREADY_GZIPPED.getMessageEncoding());
        }
        try {
            byte[] response = ClientCalls.blockingUnaryCall(withHeaders, method, options, body);
            return new Answer(Code.OK, response, "", null);
        } catch (StatusRuntimeException e) {
            Status status = e.getStatus();
            Code code =
                    switch (status.getCode()) {
                        case INVALID_ARGUMENT -> Code.INVALID_ARGUMENT;
                        case UNAUTHENTICATED -> Code.UNAUTHENTICATED;
                        case PERMISSION_DENIED -> Code.PERMISSION_DENIED;
                        case RESOURCE_EXHAUSTED -> Code.RESOURCE_EXHAUSTED;
                        case UNAVAILABLE -> Code.UNAVAILABLE;
                        default -> Code.OTHER;
                    };
            return new Answer(code, new byte[0], String.valueOf(status.getDescription()), retryDelay(e));
        }
    }

    private static @Nullable Duration retryDelay(StatusRuntimeException e) {
        com.google.rpc.Status status = StatusProto.fromThrowable(e);
        if (status == null) {
            return null;
        }
        for (Any detail : status.getDetailsList()) {
            if (detail.is(RetryInfo.class)) {
                try {
                    com.google.protobuf.Duration delay =
                            detail.unpack(RetryInfo.class).getRetryDelay();
                    return Duration.ofSeconds(delay.getSeconds(), delay.getNanos());
                } catch (InvalidProtocolBufferException ex) {
                    throw new AssertionError(ex);
                }
            }
        }
        return null;
    }

    /**
     * gRPC decompresses a message before ingest reserves it, and reserves only the decompressed bytes (gRPC's own
     * buffers, bounded by the call limit, hold the compressed ones): a gzip body that OTLP/HTTP refuses 413, since it
     * could not fit the budget beside its compressed bytes, is taken.
     */
    @Test
    void aGzipMessageIsReservedOnlyOnceDecompressed() throws Exception {
        byte[] body = randomLogs(60_000).toByteArray();
        byte[] gzipped = gzip(body);
        assertThat(gzipped.length + body.length).isGreaterThan(BUDGET_BYTES);

        Answer answer = send(budgetIngest, OtlpSignal.LOGS, null, null, gzipped, true);

        assertThat(answer.code()).isEqualTo(Code.OK);
        awaitBytesInFlight(0);
    }
}
