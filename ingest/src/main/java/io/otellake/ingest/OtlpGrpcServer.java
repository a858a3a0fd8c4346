package io.otellake.ingest;

import com.google.protobuf.Any;
import com.google.rpc.RetryInfo;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Decompressor;
import io.grpc.DecompressorRegistry;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallExecutorSupplier;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServerStreamTracer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.proto.collector.logs.v1.LogsServiceGrpc;
import io.opentelemetry.proto.collector.metrics.v1.MetricsServiceGrpc;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.otellake.schemas.TenantId;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.ZipException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * OTLP/gRPC: the Export method of TraceService, LogsService and MetricsService, plain or gzip-compressed, with the
 * same outcomes as OTLP/HTTP (both call {@link ExportReceiver}).
 *
 * <p>Guarantee: OK means the request's valid items are in Kafka (with {@code partial_success} when some were invalid
 * and dropped). UNAUTHENTICATED (no or unknown bearer token, authentication on), PERMISSION_DENIED (a tenant's token
 * used for another tenant), INVALID_ARGUMENT (malformed request, bad tenant) and RESOURCE_EXHAUSTED without RetryInfo (over the
 * size limit) are never taken; UNAVAILABLE (Kafka, shutdown) and RESOURCE_EXHAUSTED with RetryInfo (the in-flight
 * byte budget is exhausted) carry a RetryInfo, and the request may be taken later. A message is reserved in the
 * {@link InFlightBudget} once gRPC has read it (its size is then known, and at most the body limit), and given back
 * when it is answered.
 *
 * <p>The request is read as bytes and decoded by ingest itself, not by gRPC's protobuf marshaller: that one answers a
 * malformed message with INTERNAL, where OTLP asks for INVALID_ARGUMENT. gRPC enforces the size limit on the
 * decompressed message, while decompressing, so a gzip bomb costs at most the limit in memory.
 */
final class OtlpGrpcServer implements AutoCloseable {
    static final Metadata.Key<String> TENANT_KEY = Metadata.Key.of("x-scope-orgid", Metadata.ASCII_STRING_MARSHALLER);

    private static final Logger LOG = LoggerFactory.getLogger(OtlpGrpcServer.class);
    static final Metadata.Key<String> AUTHORIZATION_KEY =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private static final Context.Key<List<String>> TENANTS = Context.key("otel-lake-tenants");
    private static final Context.Key<List<String>> AUTHORIZATIONS = Context.key("otel-lake-authorizations");

    private final Server server;
    private final CallLimit limit;
    private final EventLoopGroup acceptor;
    private final EventLoopGroup loops;
    private final AtomicReference<BoundedServerSocketChannel> listener;

    private OtlpGrpcServer(
            Server server,
            CallLimit limit,
            EventLoopGroup acceptor,
            EventLoopGroup loops,
            AtomicReference<BoundedServerSocketChannel> listener) {
        this.server = server;
        this.limit = limit;
        this.acceptor = acceptor;
        this.loops = loops;
        this.listener = listener;
    }

    /**
     * Binds and starts the server.
     *
     * @throws IngestStartException if the port is taken
     */
    static OtlpGrpcServer start(
            IngestConfig config,
            Map<OtlpSignal, ExportReceiver> receivers,
            RequestGate gate,
            TenantAccess access,
            Executor executor) {
        InetSocketAddress address = new InetSocketAddress(config.httpHost(), config.grpcPort());
        CallLimit limit = new CallLimit(
                config.httpThreads() * (1 + Ingest.QUEUED_REQUESTS_PER_THREAD),
                config.httpRequestTimeout(),
                executor,
                receivers);
        // Our own event loops, because grpc-java takes a channel type only together with them: the listening socket
        // is a BoundedServerSocketChannel, which stops accepting at the connection bound.
        EventLoopGroup acceptor = new MultiThreadIoEventLoopGroup(
                1, new DefaultThreadFactory("ingest-grpc-accept", true), NioIoHandler.newFactory());
        EventLoopGroup loops = new MultiThreadIoEventLoopGroup(
                Runtime.getRuntime().availableProcessors(),
                new DefaultThreadFactory("ingest-grpc-io", true),
                NioIoHandler.newFactory());
        AtomicReference<BoundedServerSocketChannel> listener = new AtomicReference<>();
        NettyServerBuilder builder = NettyServerBuilder.forAddress(address)
                .bossEventLoopGroup(acceptor)
                .workerEventLoopGroup(loops)
                .channelFactory(() -> {
                    BoundedServerSocketChannel channel = new BoundedServerSocketChannel(config.grpcMaxConnections());
                    listener.set(channel);
                    return channel;
                })
                // Calls start on the transport thread, where CallLimit admits them to the executor or refuses them.
                .directExecutor()
                .callExecutor(limit)
                .addStreamTracerFactory(limit)
                .intercept(limit)
                .maxInboundMessageSize(config.maxBodyBytes())
                // As OTLP/HTTP's: a connection without calls would otherwise hold its file descriptor for ever
                .maxConnectionIdle(OtlpHttpServer.IDLE_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS)
                // gRPC's own gzip stops silently at bytes after a member that do not start another one, losing them
                .decompressorRegistry(DecompressorRegistry.getDefaultInstance().with(new StrictGzip(), true))
                // Calls waiting for a thread hold their message in netty's buffers: bound them per connection too (a
                // client's further streams are refused, and gRPC clients retry refused streams by themselves).
                .maxConcurrentCallsPerConnection(config.httpThreads() * Ingest.QUEUED_REQUESTS_PER_THREAD);
        TenantInterceptor tenants = new TenantInterceptor();
        receivers.forEach((signal, receiver) ->
                builder.addService(ServerInterceptors.intercept(service(signal, receiver, gate, access), tenants)));
        Server server = builder.build();
        try {
            server.start();
        } catch (IOException e) {
            limit.close();
            acceptor.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            loops.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            // The cause is a BindException, or netty's native equivalent: report the innermost message.
            Throwable cause = e;
            while (cause.getCause() != null) {
                cause = cause.getCause();
            }
            throw new IngestStartException(
                    "Cannot listen for OTLP/gRPC on " + config.httpHost() + ":" + config.grpcPort() + " ("
                            + cause.getMessage() + "): is another process using the port? Set "
                            + IngestConfig.ENV_GRPC_PORT + ".",
                    e);
        }
        return new OtlpGrpcServer(server, limit, acceptor, loops, listener);
    }

    /** gzip for gRPC messages, as {@link StrictGzipInputStream} reads it. */
    private static final class StrictGzip implements Decompressor {
        @Override
        public String getMessageEncoding() {
            return "gzip";
        }

        @Override
        public InputStream decompress(InputStream compressed) {
            return new StrictGzipInputStream(compressed);
        }
    }

    /** The calls in the server now: waiting for a thread, being handled, or being answered. */
    int callsInServer() {
        return limit.calls.get();
    }

    int port() {
        return server.getPort();
    }

    /** OTLP/gRPC connections open now. */
    int connections() {
        BoundedServerSocketChannel channel = listener.get();
        return channel == null ? 0 : channel.connections();
    }

    /** Stops listening and waits up to a second for calls that are still being answered. */
    @Override
    public void close() {
        server.shutdown();
        limit.close();
        try {
            if (!server.awaitTermination(1, TimeUnit.SECONDS)) {
                server.shutdownNow();
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        } finally {
            acceptor.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            loops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    private static ServerServiceDefinition service(
            OtlpSignal signal, ExportReceiver receiver, RequestGate gate, TenantAccess access) {
        MethodDescriptor<?, ?> generated = exportMethod(signal);
        MethodDescriptor<RequestBody, byte[]> method = generated.toBuilder(
                        new RequestMarshaller(receiver.maxBodyBytes()), new BytesMarshaller())
                .build();
        return ServerServiceDefinition.builder(generated.getServiceName())
                .addMethod(method, ServerCalls.asyncUnaryCall(new ExportMethod(receiver, gate, access)::export))
                .build();
    }

    private static MethodDescriptor<?, ?> exportMethod(OtlpSignal signal) {
        return switch (signal) {
            case TRACES -> TraceServiceGrpc.getExportMethod();
            case LOGS -> LogsServiceGrpc.getExportMethod();
            case METRICS -> MetricsServiceGrpc.getExportMethod();
        };
    }

    /** One signal's Export. */
    private static final class ExportMethod {
        private final ExportReceiver receiver;
        private final RequestGate gate;
        private final TenantAccess access;

        ExportMethod(ExportReceiver receiver, RequestGate gate, TenantAccess access) {
            this.receiver = receiver;
            this.gate = gate;
            this.access = access;
        }

        void export(RequestBody request, StreamObserver<byte[]> response) {
            try {
                response.onNext(answer(request));
                response.onCompleted();
            } catch (StatusRuntimeException e) {
                LOG.debug(
                        "Answering {}: {}",
                        e.getStatus().getCode(),
                        e.getStatus().getDescription());
                response.onError(e);
            } catch (RuntimeException e) {
                LOG.error("Bug: unexpected failure handling a gRPC {} export", receiver.signal(), e);
                response.onError(Status.INTERNAL
                        .withDescription("internal error in ingest; it has been logged")
                        .asRuntimeException());
            }
        }

        private byte[] answer(RequestBody request) {
            TenantId tenant = tenant(); // first: a client without a valid token learns nothing about its body
            if (request.failure() != null) {
                throw request.failure().asRuntimeException();
            }
            if (!gate.tryEnter()) {
                throw unavailable("ingest is shutting down; retry against another instance");
            }
            try (InFlightBudget.Reservation held = receiver.budget().reservation()) {
                if (!held.grow(request.bytes().length)) {
                    receiver.metrics().refused(receiver.signal(), "grpc", ExportRefusal.Kind.OVERLOADED);
                    throw new ExportRefusal(ExportRefusal.Kind.OVERLOADED, receiver.overloadedMessage());
                }
                OtlpSignal.DecodedExport accepted =
                        receiver.receive("grpc", tenant, OtlpEncoding.PROTOBUF, request.bytes(), held);
                return receiver.signal()
                        .response(accepted.rejected(), accepted.rejectionMessage())
                        .toByteArray();
            } catch (ExportRefusal e) {
                throw status(e);
            } finally {
                gate.exit();
            }
        }

        private TenantId tenant() {
            try {
                return access.tenant(listOrEmpty(TENANTS.get()), listOrEmpty(AUTHORIZATIONS.get()));
            } catch (ExportRefusal e) {
                receiver.metrics().refused(receiver.signal(), "grpc", e.kind());
                throw status(e);
            }
        }

        private static List<String> listOrEmpty(@Nullable List<String> values) {
            return values == null ? List.of() : values;
        }

        private static StatusRuntimeException status(ExportRefusal e) {
            return switch (e.kind()) {
                case MALFORMED ->
                    Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
                case UNAUTHENTICATED ->
                    Status.UNAUTHENTICATED.withDescription(e.getMessage()).asRuntimeException();
                case FORBIDDEN ->
                    Status.PERMISSION_DENIED.withDescription(e.getMessage()).asRuntimeException();
                case TOO_LARGE ->
                    Status.RESOURCE_EXHAUSTED.withDescription(e.getMessage()).asRuntimeException();
                case OVERLOADED ->
                    retryable(
                            Status.Code.RESOURCE_EXHAUSTED,
                            e.getMessage(),
                            OtlpHttpHandler.OVERLOADED_RETRY_AFTER_SECONDS);
                case UNAVAILABLE -> unavailable(e.getMessage());
            };
        }

        /** UNAVAILABLE with a RetryInfo, which OTLP exporters honour as the delay before they retry. */
        private static StatusRuntimeException unavailable(String message) {
            return retryable(Status.Code.UNAVAILABLE, message, OtlpHttpHandler.RETRY_AFTER_SECONDS);
        }

        /**
         * A status with a RetryInfo. OTLP exporters retry RESOURCE_EXHAUSTED only when it carries one, so the
         * overloaded answer must have it.
         */
        private static StatusRuntimeException retryable(Status.Code code, String message, int retryAfterSeconds) {
            RetryInfo retry = RetryInfo.newBuilder()
                    .setRetryDelay(com.google.protobuf.Duration.newBuilder().setSeconds(retryAfterSeconds))
                    .build();
            return StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder()
                    .setCode(code.value())
                    .setMessage(message)
                    .addDetails(Any.pack(retry))
                    .build());
        }
    }

    /**
     * Bounds the calls in the server over all connections, as the HTTP executor's queue bounds requests: each holds up
     * to gRPC's flow-control window (1 MiB) of message bytes before a thread reads it into the in-flight budget, so
     * bounding calls bounds that memory too, however many connections clients open.
     *
     * <p>A call counts from its stream's creation (this stream tracer, on the transport thread) until the stream
     * closes, however it closes, so the count cannot leak. At its start, on the transport thread, a call within the
     * bound goes to the executor; a call beyond it stays on the transport thread, where {@link #interceptCall} answers
     * it at once RESOURCE_EXHAUSTED with RetryInfo, without reading its message or waiting for a thread.
     *
     * <p>An admitted call whose message has not arrived within the request timeout, counted from the call's start, is
     * ended DEADLINE_EXCEEDED, as an OTLP/HTTP request that does not arrive in time is answered 408: a client that
     * opens calls and sends nothing would otherwise hold their places for as long as its connection lasts, and every
     * other call would be refused.
     */
    static final class CallLimit extends ServerStreamTracer.Factory
            implements ServerCallExecutorSupplier, ServerInterceptor, AutoCloseable {
        /** Set by the executor supplier on the headers of a call beyond the bound; a client's own value is removed. */
        private static final Metadata.Key<String> REFUSED =
                Metadata.Key.of("otel-lake-internal-refused", Metadata.ASCII_STRING_MARSHALLER);

        private final int max;
        private final long messageTimeoutNanos;
        private final ScheduledThreadPoolExecutor timer;
        private final Executor executor;
        private final Map<String, ExportReceiver> byMethod = new HashMap<>();
        final AtomicInteger calls = new AtomicInteger();

        CallLimit(int max, Duration messageTimeout, Executor executor, Map<OtlpSignal, ExportReceiver> receivers) {
            this.max = max;
            this.messageTimeoutNanos = messageTimeout.toNanos();
            this.timer = new ScheduledThreadPoolExecutor(1, runnable -> {
                Thread thread = new Thread(runnable, "ingest-grpc-deadlines");
                thread.setDaemon(true);
                return thread;
            });
            timer.setRemoveOnCancelPolicy(true);
            this.executor = executor;
            receivers.forEach(
                    (signal, receiver) -> byMethod.put(exportMethod(signal).getFullMethodName(), receiver));
        }

        @Override
        public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
            calls.incrementAndGet();
            long start = System.nanoTime();
            @Nullable ExportReceiver receiver = byMethod.get(fullMethodName);
            MessageWait wait = new MessageWait(new AtomicInteger(WAITING));
            return new ServerStreamTracer() {
                private final AtomicBoolean closed = new AtomicBoolean();

                @Override
                public Context filterContext(Context context) {
                    return context.withValue(MESSAGE_WAIT, wait);
                }

                /**
                 * The message is in, on the transport's thread: the deadline no longer applies, however long the
                 * call then waits for a thread to take it.
                 */
                @Override
                public void inboundMessageRead(int seqNo, long wireSize, long uncompressedSize) {
                    wait.state().compareAndSet(WAITING, ARRIVED);
                }

                /**
                 * Every export call is counted here, by the code it closed with, however it was answered: by the
                 * Export method, by gRPC itself (a message over the size limit, a bad compression) or by
                 * {@link #interceptCall} (overloaded).
                 */
                @Override
                public void streamClosed(Status status) {
                    if (closed.compareAndSet(false, true)) {
                        calls.decrementAndGet();
                        if (receiver != null) {
                            receiver.metrics()
                                    .answered(
                                            receiver.signal(),
                                            "grpc",
                                            status.getCode().name(),
                                            System.nanoTime() - start);
                        }
                    }
                }
            };
        }

        @Override
        public <Q, R> @Nullable Executor getExecutor(ServerCall<Q, R> call, Metadata headers) {
            headers.discardAll(REFUSED);
            if (calls.get() > max) {
                headers.put(REFUSED, "1");
                return null; // stay on the transport thread: the answer is immediate
            }
            return executor;
        }

        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(
                ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            if (!headers.containsKey(REFUSED)) {
                return withMessageDeadline(call, headers, next);
            }
            ExportReceiver receiver = byMethod.get(call.getMethodDescriptor().getFullMethodName());
            if (receiver != null) {
                receiver.metrics().refused(receiver.signal(), "grpc", ExportRefusal.Kind.OVERLOADED);
            }
            StatusRuntimeException refusal = ExportMethod.retryable(
                    Status.Code.RESOURCE_EXHAUSTED,
                    "every OTLP/gRPC thread is busy and its queue is full; retry later",
                    OtlpHttpHandler.OVERLOADED_RETRY_AFTER_SECONDS);
            call.close(refusal.getStatus(), refusal.getTrailers());
            return new ServerCall.Listener<>() {};
        }

        /**
         * Starts the call, and ends it DEADLINE_EXCEEDED if its message has not arrived within the timeout, counted from
         * here, where the call starts asking for its message (so a call that waited for a thread, its message in
         * gRPC's buffers, is not ended for that wait), until gRPC has read it on the transport's thread. Until the
         * message (or the end of the client's stream) arrives the call's handler has done nothing with the call, and
         * once the timer has ended it the handler hears nothing of the call but its end, so the call is closed once.
         */
        private <Q, R> ServerCall.Listener<Q> withMessageDeadline(
                ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            MessageWait wait = MESSAGE_WAIT.get();
            AtomicInteger state = wait == null ? new AtomicInteger(WAITING) : wait.state();
            if (state.get() != WAITING) {
                return next.startCall(call, headers);
            }
            ScheduledFuture<?> deadline = timer.schedule(
                    () -> {
                        if (state.compareAndSet(WAITING, EXPIRED)) {
                            try {
                                call.close(
                                        Status.DEADLINE_EXCEEDED.withDescription("the request did not arrive in full"
                                                + " within " + TimeUnit.NANOSECONDS.toMillis(messageTimeoutNanos)
                                                + " ms"),
                                        new Metadata());
                            } catch (RuntimeException e) { // NOPMD: the client went away at this very moment
                                LOG.debug("Could not end a gRPC call whose message did not arrive", e);
                            }
                        }
                    },
                    messageTimeoutNanos,
                    TimeUnit.NANOSECONDS);
            ServerCall.Listener<Q> handler = next.startCall(call, headers);
            return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(handler) {
                @Override
                public void onMessage(Q message) {
                    if (arrived()) {
                        super.onMessage(message);
                    }
                }

                @Override
                public void onHalfClose() {
                    if (arrived()) {
                        super.onHalfClose();
                    }
                }

                @Override
                public void onReady() {
                    if (state.get() != EXPIRED) {
                        super.onReady();
                    }
                }

                @Override
                public void onCancel() {
                    deadline.cancel(false);
                    super.onCancel();
                }

                @Override
                public void onComplete() {
                    deadline.cancel(false);
                    super.onComplete();
                }

                /** The client sent something in time: the deadline no longer applies. */
                private boolean arrived() {
                    if (state.compareAndSet(WAITING, ARRIVED)) {
                        deadline.cancel(false);
                    }
                    return state.get() == ARRIVED;
                }
            };
        }

        @Override
        public void close() {
            timer.shutdownNow();
        }

        /** Whether a call's message arrived. */
        private record MessageWait(AtomicInteger state) {}

        private static final Context.Key<MessageWait> MESSAGE_WAIT = Context.key("otel-lake-message-wait");
        private static final int WAITING = 0;
        private static final int ARRIVED = 1;
        private static final int EXPIRED = 2;
    }

    /** Puts the values of the tenant and authorization metadata in the call's context. */
    private static final class TenantInterceptor implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(
                ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            Context context = Context.current()
                    .withValue(TENANTS, all(headers, TENANT_KEY))
                    .withValue(AUTHORIZATIONS, all(headers, AUTHORIZATION_KEY));
            return Contexts.interceptCall(context, call, headers, next);
        }

        private static List<String> all(Metadata headers, Metadata.Key<String> key) {
            Iterable<String> values = headers.getAll(key);
            List<String> all = new ArrayList<>();
            if (values != null) {
                values.forEach(all::add);
            }
            return all;
        }
    }

    /**
     * A request as bytes, or why it could not be read. Reading it never throws, so that the call answers with the
     * status OTLP asks for rather than gRPC's own.
     *
     * @param bytes the request, decompressed
     * @param failure set when the request could not be read
     */
    record RequestBody(byte[] bytes, @Nullable Status failure) {}

    private static final class RequestMarshaller implements MethodDescriptor.Marshaller<RequestBody> {
        private final int maxBodyBytes;

        RequestMarshaller(int maxBodyBytes) {
            this.maxBodyBytes = maxBodyBytes;
        }

        @Override
        public InputStream stream(RequestBody value) {
            return new ByteArrayInputStream(value.bytes());
        }

        @Override
        public RequestBody parse(InputStream stream) {
            try (stream) {
                byte[] bytes = stream.readNBytes(maxBodyBytes + 1);
                if (bytes.length > maxBodyBytes) {
                    return failed(Status.RESOURCE_EXHAUSTED, tooLarge());
                }
                return new RequestBody(bytes, null);
            } catch (StatusRuntimeException e) {
                // gRPC's own size check, on the decompressed message, as it decompresses.
                if (e.getStatus().getCode() == Status.Code.RESOURCE_EXHAUSTED) {
                    return failed(Status.RESOURCE_EXHAUSTED, tooLarge());
                }
                return failed(Status.INVALID_ARGUMENT, "could not read the message: " + e.getStatus());
            } catch (EOFException e) {
                return failed(Status.INVALID_ARGUMENT, "the gzip message ends too early");
            } catch (ZipException e) {
                return failed(Status.INVALID_ARGUMENT, "the message is not valid gzip: " + e.getMessage());
            } catch (IOException e) {
                return failed(Status.INVALID_ARGUMENT, "could not read the message: " + e.getMessage());
            }
        }

        private String tooLarge() {
            return "the message is more than " + maxBodyBytes + " bytes (after decompression); the limit is "
                    + maxBodyBytes + " bytes: send smaller batches";
        }

        private static RequestBody failed(Status status, String message) {
            return new RequestBody(new byte[0], status.withDescription(message));
        }
    }

    /** A message as its bytes; package-private for the tests' clients, which send bytes of their own making. */
    static final class BytesMarshaller implements MethodDescriptor.Marshaller<byte[]> {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try (stream) {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
