package io.otellake.ingest;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.flow.FlowControlHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OTLP/HTTP server (HTTP/1.1): a few Netty event loops read every connection without blocking, and a pool of
 * {@code workers} threads decodes complete requests and writes them to Kafka.
 *
 * <p>Guarantees:
 *
 * <ul>
 *   <li>A client that sends slowly, stops halfway or sends nothing holds its connection and the bytes it sent (which
 *       its {@link HttpCall} reserves in the {@link InFlightBudget}), never a thread: other clients are served as
 *       usual, however many such connections there are.
 *   <li>A request must arrive in full, head and body, within the request timeout counted from its first byte;
 *       otherwise it is answered 408 and its connection closed, and what it held is given back. A connection that
 *       stays idle between requests for {@link #IDLE_TIMEOUT} is closed.
 *   <li>A request line over {@link #MAX_REQUEST_LINE_BYTES} gets 414, headers over {@link #MAX_HEADER_BYTES} 431, any
 *       other malformed HTTP 400; the connection is closed after the answer, since what follows cannot be trusted.
 *   <li>One request per connection at a time: a pipelined request is read once the one before it is answered, and
 *       its time runs from then if part of it arrived earlier.
 *   <li>A request answered from its head (an error, health, metrics) has the rest of its body read and dropped, up to
 *       {@link Reply#MAX_DISCARDED_BYTES}, so that the client reads the answer instead of a connection reset; a client
 *       that announced {@code Expect: 100-continue} is answered without {@code 100 Continue}, and its connection is
 *       then closed. A request whose body is wanted gets {@code 100 Continue} when it asks for it.
 *   <li>Complete requests wait for a worker in a queue of {@link #QUEUED_REQUESTS_PER_WORKER} per worker; beyond it,
 *       or after waiting longer than the request timeout, they get {@link HttpCall#busy()} (429).
 *   <li>Every {@link HttpCall} gets {@link HttpCall#done} exactly once, whether it was answered or its connection went
 *       away.
 *   <li>At most {@code maxConnections} connections are open at once: at the bound the server stops accepting, and
 *       further clients wait in the operating system's accept queue (then their connects time out, which OTLP
 *       exporters retry) until a connection closes, instead of ingest running out of file descriptors. One accepted
 *       in the moment before accepting stopped is closed at once.
 * </ul>
 */
final class OtlpHttpServer implements AutoCloseable {
    static final Duration IDLE_TIMEOUT = Duration.ofMinutes(2);
    static final int MAX_REQUEST_LINE_BYTES = 8 * 1024;
    static final int MAX_HEADER_BYTES = 32 * 1024;
    /**
     * What a head being read may cost in heap, per byte of it: Netty holds each header line as an entry, a name and a
     * value, about 30 times the bytes of a line of a few bytes ({@code a:b}). Reserved in a budget for heads while the
     * head arrives and until its request ends (Netty holds the headers until then), so that many connections sending
     * heads of many small lines are refused 429 instead of running ingest out of memory.
     */
    static final int HEAD_COST_PER_BYTE = 32;

    static final int QUEUED_REQUESTS_PER_WORKER = 8;
    static final String STOPPING = "ingest is shutting down; retry against another instance";

    private static final Logger LOG = LoggerFactory.getLogger(OtlpHttpServer.class);
    private static final int MAX_CHUNK_BYTES = 64 * 1024;

    private final Function<HttpHead, HttpCall> router;
    private final InFlightBudget heads;
    private final long requestTimeoutNanos;
    private final int maxConnections;
    private final EventLoopGroup acceptor;
    private final EventLoopGroup loops;
    private final ThreadPoolExecutor workers;
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final Channel listener;

    private OtlpHttpServer(
            InetSocketAddress address,
            int workerThreads,
            Duration requestTimeout,
            int maxConnections,
            ThreadFactory workerThreadFactory,
            InFlightBudget heads,
            Function<HttpHead, HttpCall> router) {
        this.router = router;
        this.maxConnections = maxConnections;
        this.heads = heads;
        this.requestTimeoutNanos = requestTimeout.toNanos();
        this.workers = new ThreadPoolExecutor(
                workerThreads,
                workerThreads,
                0,
                TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(workerThreads * QUEUED_REQUESTS_PER_WORKER),
                workerThreadFactory);
        this.acceptor = new MultiThreadIoEventLoopGroup(
                1, new DefaultThreadFactory("ingest-http-accept", true), NioIoHandler.newFactory());
        this.loops = new MultiThreadIoEventLoopGroup(
                Runtime.getRuntime().availableProcessors(),
                new DefaultThreadFactory("ingest-http-io", true),
                NioIoHandler.newFactory());
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(acceptor, loops)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                        connections.add(channel);
                        if (!limitConnections(channel)) {
                            channel.close();
                            return;
                        }
                        RequestDecoder decoder = new RequestDecoder();
                        Connection connection = new Connection(decoder);
                        // A decoder and an encoder rather than HttpServerCodec, which closes a connection that
                        // pipelines more than 128 requests: here a pipelined request waits, decoded or not, until
                        // the one before it is answered (the connection reads nothing more meanwhile).
                        channel.pipeline()
                                .addLast(connection.firstBytes)
                                .addLast(decoder)
                                .addLast(new HttpResponseEncoder())
                                .addLast(new FlowControlHandler())
                                .addLast(connection);
                    }
                });
        ChannelFuture bound = bootstrap.bind(address).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            shutDownThreads();
            throw new BindFailure(bound.cause());
        }
        this.listener = bound.channel();
    }

    /**
     * Accepts only while fewer than {@link #maxConnections} are open: the decision is made again on the acceptor's
     * thread whenever a connection opens or closes, so none is lost between two. The acceptor may have accepted a few
     * more in the moment before it stopped: {@code false} for those, which are closed at once.
     */
    private boolean limitConnections(Channel channel) {
        Channel server = channel.parent();
        server.eventLoop().execute(() -> accepting(server));
        channel.closeFuture().addListener(closed -> server.eventLoop().execute(() -> accepting(server)));
        return connections.size() <= maxConnections;
    }

    private void accepting(Channel server) {
        if (server.isOpen()) {
            server.config().setAutoRead(connections.size() < maxConnections);
        }
    }

    /**
     * Listens on {@code address}; complete requests are finished on {@code workerThreads} threads made by {@code
     * threads}, and must arrive within {@code requestTimeout}, on at most {@code maxConnections} connections at once;
     * heads are reserved in {@code heads} from their first byte until their request ends.
     *
     * @throws BindFailure when the address cannot be bound (its cause says why, often a {@link java.net.BindException})
     */
    static OtlpHttpServer start(
            InetSocketAddress address,
            int workerThreads,
            Duration requestTimeout,
            int maxConnections,
            ThreadFactory threads,
            InFlightBudget heads,
            Function<HttpHead, HttpCall> router) {
        return new OtlpHttpServer(address, workerThreads, requestTimeout, maxConnections, threads, heads, router);
    }

    InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    /** Complete requests being finished by a worker, or waiting for one, now. */
    int requestsAtWorkers() {
        return workers.getActiveCount() + workers.getQueue().size();
    }

    /** Open connections now. */
    int connections() {
        return connections.size();
    }

    /** Stops listening, closes every connection and stops the threads; requests not yet answered are cut off. */
    @Override
    public void close() {
        listener.close().awaitUninterruptibly();
        for (Runnable queued : workers.shutdownNow()) {
            ((WorkerTask) queued).abandon();
        }
        connections.close().awaitUninterruptibly();
        shutDownThreads();
    }

    private void shutDownThreads() {
        workers.shutdownNow();
        acceptor.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        loops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    /** The address could not be bound. */
    static final class BindFailure extends RuntimeException {
        BindFailure(Throwable cause) {
            super(cause.getMessage(), cause);
        }
    }

    /**
     * Finishes a complete request on a worker thread and hands the answer back to its connection's event loop; a
     * failure of the call itself (a bug, or memory running out) is answered 500, so that the call still ends.
     */
    private final class WorkerTask implements Runnable {
        private final Exchange exchange;
        private final Connection connection;
        private final long queued = System.nanoTime();

        WorkerTask(Exchange exchange, Connection connection) {
            this.exchange = exchange;
            this.connection = connection;
        }

        @Override
        public void run() {
            Reply reply;
            try {
                reply = exchange.call.finish(System.nanoTime() - queued);
            } catch (Throwable e) { // NOPMD: the call must end, whatever happened
                LOG.error("Bug: unexpected failure finishing a request", e);
                reply = Reply.internalError();
            }
            Reply answer = reply;
            try {
                connection.ctx.executor().execute(() -> connection.answerFromWorker(exchange, answer));
            } catch (RejectedExecutionException e) {
                exchange.done(0); // the server is stopping: the connection is gone
            }
        }

        /** The server stopped before a worker took this request. */
        void abandon() {
            exchange.done(0);
        }
    }

    /**
     * Netty's request decoder, which can tell whether it holds bytes of a request not decoded yet, and which stops at
     * the end of each request: what arrived behind it (pipelined) stays bytes until {@link #resume}, so that its head
     * is decoded into objects only once it is reserved, as every head is.
     */
    private static final class RequestDecoder extends HttpRequestDecoder {
        RequestDecoder() {
            super(new HttpDecoderConfig()
                    .setMaxInitialLineLength(MAX_REQUEST_LINE_BYTES)
                    .setMaxHeaderSize(MAX_HEADER_BYTES)
                    .setMaxChunkSize(MAX_CHUNK_BYTES));
        }

        /** Bytes of a request were decoded (or are waiting to be) whose last part was not: a request has begun. */
        private boolean inRequest;
        /** A request ended; the bytes after it wait for {@link #resume}. */
        private boolean paused;
        /** In {@link #channelRead}: decoding goes on by itself once resumed. */
        private boolean reading;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            reading = true;
            try {
                super.channelRead(ctx, msg);
            } finally {
                reading = false;
            }
        }

        /** The bytes received and not decoded yet: what was pipelined behind the request that ended. */
        ByteBuf held() {
            return internalBuffer();
        }

        /** Decodes what arrived after the request that ended, if anything; {@code ctx} is this decoder's. */
        void resume(ChannelHandlerContext ctx) throws Exception {
            paused = false;
            if (!reading && actualReadableBytes() > 0) {
                channelRead(ctx, Unpooled.EMPTY_BUFFER);
            }
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
            if (paused) {
                return;
            }
            int from = buffer.readerIndex();
            int emitted = out.size();
            super.decode(ctx, buffer, out);
            if (out.size() > emitted && out.get(out.size() - 1) instanceof LastHttpContent) {
                inRequest = false;
                paused = true;
            } else if (out.size() > emitted || (buffer.readerIndex() > from && !onlyEmptyLines(buffer, from))) {
                inRequest = true; // the decoder consumes a head line by line, so a part of one leaves no bytes
            }
        }

        /** The bytes from {@code from} to the reader index are line ends, which the codec skips before a request. */
        private static boolean onlyEmptyLines(ByteBuf buffer, int from) {
            return buffer.forEachByte(from, buffer.readerIndex() - from, b -> b == '\r' || b == '\n') < 0;
        }

        boolean holdsBytes() {
            return inRequest || actualReadableBytes() > 0;
        }
    }

    /** One request on a connection, from its head to the end of its answer and of its body. */
    private static final class Exchange {
        final HttpCall call;
        final boolean headRequest;
        boolean keepAlive;
        /** A worker is finishing the call: only it may end it. */
        boolean atWorker;

        boolean bodyRead;
        boolean answered;
        boolean done;
        long discarded;

        Exchange(HttpCall call, boolean headRequest, boolean keepAlive) {
            this.call = call;
            this.headRequest = headRequest;
            this.keepAlive = keepAlive;
        }

        void done(int status) {
            if (!done) {
                done = true;
                call.done(status);
            }
        }
    }

    /**
     * One connection's state machine; every method runs on the connection's event loop. Between requests it waits
     * (idle timer); from a request's first byte to the end of its body, the request timer runs; while a worker
     * finishes the request, the connection reads nothing more.
     */
    private final class Connection extends ChannelInboundHandlerAdapter {
        private final RequestDecoder decoder;

        Connection(RequestDecoder decoder) {
            this.decoder = decoder;
        }

        /** Sees the raw bytes before the HTTP codec, so that a request's timer starts at its first byte. */
        final ChannelInboundHandlerAdapter firstBytes = new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (exchange == null && !headEnded && msg instanceof ByteBuf bytes && !headArrived(bytes)) {
                    ReferenceCountUtil.release(msg);
                    return;
                }
                ctx.fireChannelRead(msg);
            }
        };

        /**
         * Bytes of the next request's head arrived (from the socket, or pipelined behind the request before): its
         * timer starts at the first of them, and they are reserved. False when the head budget cannot hold them: the
         * request is then answered 429 and the connection ends.
         */
        private boolean headArrived(ByteBuf bytes) {
            int start = headBegun ? bytes.readerIndex() : bytes.forEachByte(b -> b == '\r' || b == '\n');
            if (start < 0) {
                // only empty lines, which a client may send between requests (RFC 9112, section 2.2): the codec
                // skips them, and the connection stays idle
                return true;
            }
            headBegun = true;
            if (!requestTimerRuns) {
                startRequestTimer();
            }
            if (!reserveHead(bytes, start)) {
                refuseHead();
                return false;
            }
            return true;
        }

        private InFlightBudget.@Nullable Reservation headHeld;
        /** A byte of the current request's head other than the empty lines before it has been seen. */
        private boolean headBegun;
        /** The end of the current request's head (an empty line) has been seen. */
        private boolean headEnded;
        /** How many bytes of CR LF CR LF end what was scanned of the head so far. */
        private int headEndMatched;

        private @Nullable ChannelHandlerContext ctx;
        private @Nullable Exchange exchange;
        private @Nullable ScheduledFuture<?> timer;
        private boolean requestTimerRuns;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            startIdleTimer();
            ctx.fireChannelActive();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            cancelTimer();
            releaseHead();
            Exchange current = exchange;
            if (current != null && !current.atWorker) {
                current.done(0);
            }
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("Closing an OTLP/HTTP connection from {}", ctx.channel().remoteAddress(), cause);
            ctx.close();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpRequest request) {
                    head(request);
                }
                if (msg instanceof HttpContent content) {
                    content(content);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void head(HttpRequest request) {
            if (exchange != null) {
                ctx.close(); // cannot happen: a request is read only once the one before it is finished
                return;
            }
            if (!requestTimerRuns) {
                startRequestTimer(); // a pipelined request, read from bytes that arrived earlier
            }
            headEnded = true;
            if (request.decoderResult().isFailure()) {
                Throwable cause = request.decoderResult().cause();
                answerAndClose(malformed(cause)); // the codec drops everything after a malformed head
                return;
            }
            HttpVersion version = request.protocolVersion();
            if (version.majorVersion() != 1) {
                // RFC 9110, section 15.6.6: HTTP/2's connection preface, or a version that does not exist
                Reply reply = Reply.text(505, version.text() + " is not served here, only HTTP/1.1 (and 1.0)");
                exchange = new Exchange(HttpCall.answered(reply), false, false);
                answer(reply); // its body, if any, is read and dropped before the connection closes
                return;
            }
            // RFC 9110, section 2.5: a later minor version of HTTP/1 is read as HTTP/1.1, the latest ingest knows
            if (version.minorVersion() >= 1
                    && request.headers().getAll(HttpHeaderNames.HOST).size() != 1) {
                // RFC 9112, section 3.2: a proxy and ingest could disagree about which host such a request is for
                Reply reply = Reply.text(400, "an HTTP/1.1 request must carry exactly one Host header");
                exchange = new Exchange(HttpCall.answered(reply), false, false);
                answer(reply); // its body, if any, is read and dropped before the connection closes
                return;
            }
            for (String coding : request.headers().getAll(HttpHeaderNames.TRANSFER_ENCODING)) {
                for (String item : coding.split(",")) {
                    if (!item.isBlank() && !item.strip().equalsIgnoreCase("chunked")) {
                        // RFC 9112, section 6.1: a transfer coding the server does not know; the body cannot be read
                        answerAndClose(Reply.text(
                                501,
                                "Transfer-Encoding " + quoted(coding) + " is not supported; send chunked or none"));
                        return;
                    }
                }
            }
            boolean keepAlive = HttpUtil.isKeepAlive(request);
            // Netty reads the request line as ISO-8859-1; a target is UTF-8 (RFC 3986) where it is not ASCII
            String target = new String(request.uri().getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
            String path;
            try {
                // Origin form (RFC 9112, section 3.2.1) is a path from its first slash: "//v1/traces" names no host
                path = (target.startsWith("/") ? new URI("http://ingest" + target) : new URI(target)).getPath();
            } catch (URISyntaxException e) {
                path = null;
            }
            HttpCall call;
            if (path == null) {
                call = HttpCall.answered(Reply.text(400, "the request target is not a valid URI: " + quoted(target)));
            } else {
                try {
                    call = router.apply(new HttpHead(request.method().name(), path, request.headers()));
                } catch (RuntimeException e) {
                    LOG.error("Bug: unexpected failure routing {} {}", request.method(), path, e);
                    call = HttpCall.answered(Reply.internalError());
                }
            }
            Exchange current = new Exchange(call, HttpMethod.HEAD.equals(request.method()), keepAlive);
            exchange = current;
            Reply early = call.early();
            if (early != null) {
                if (HttpUtil.is100ContinueExpected(request) && hasBody(request)) {
                    // Without 100 Continue the client may send the body or not; which it did cannot be told apart
                    // from a next request, so this connection ends after the answer: what the client still sends is
                    // read and dropped until it closes or the request timer ends it, so that closing does not reset
                    // the connection before the client has read the answer.
                    current.keepAlive = false;
                } else if (HttpUtil.getContentLength(request, 0L) > Reply.MAX_DISCARDED_BYTES) {
                    current.keepAlive = false;
                    current.bodyRead = true; // not worth the wait: closed once answered
                }
                answer(early);
                return;
            }
            if (HttpUtil.is100ContinueExpected(request)) {
                ctx.writeAndFlush(new DefaultFullHttpResponse(
                        HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE, Unpooled.EMPTY_BUFFER));
            }
        }

        private void content(HttpContent content) {
            Exchange current = exchange;
            if (current == null || current.bodyRead) {
                return; // what the codec passes on after a malformed head
            }
            boolean last = content instanceof LastHttpContent;
            if (content.decoderResult().isFailure()) {
                current.bodyRead = true; // the codec drops the rest
                current.keepAlive = false;
                if (current.answered || current.call.early() != null) {
                    ctx.close();
                } else {
                    answer(current.call.failed(400, "the body is not valid HTTP/1.1: " + reason(content)));
                }
                return;
            }
            if (current.answered || current.call.early() != null || current.atWorker) {
                // answered early: the body is dropped, as much of it as is worth the wait
                current.discarded += content.content().readableBytes();
                if (current.discarded > Reply.MAX_DISCARDED_BYTES) {
                    ctx.close();
                } else if (last) {
                    bodyRead(current);
                }
                return;
            }
            Reply ended = current.call.body(content.content(), last);
            if (ended != null) {
                answer(ended);
                if (last) {
                    bodyRead(current);
                }
                return;
            }
            if (last) {
                bodyRead(current);
                dispatch(current);
            }
        }

        private void bodyRead(Exchange current) {
            current.bodyRead = true;
            cancelTimer();
            requestTimerRuns = false;
            // nothing more is read until this request is answered: a pipelined request waits for its turn
            ctx.channel().config().setAutoRead(false);
            next(current);
        }

        /** Hands a complete request to a worker; the connection reads nothing more until it is answered. */
        private void dispatch(Exchange current) {
            current.atWorker = true;
            try {
                workers.execute(new WorkerTask(current, this));
            } catch (RejectedExecutionException e) {
                current.atWorker = false;
                answer(
                        workers.isShutdown()
                                ? current.call
                                        .failed(503, STOPPING)
                                        .withHeader(
                                                "Retry-After", Integer.toString(OtlpHttpHandler.RETRY_AFTER_SECONDS))
                                : current.call.busy());
            }
        }

        private void answerFromWorker(Exchange current, Reply reply) {
            current.atWorker = false;
            if (!ctx.channel().isActive()) {
                current.done(0);
                return;
            }
            answer(reply);
        }

        /**
         * Sends the answer of the current exchange; the call is done once it is written. A client that does not read
         * it within the request timeout loses its connection.
         */
        private void answer(Reply reply) {
            Exchange current = exchange;
            current.answered = true;
            current.keepAlive &= !reply.closes();
            int status = reply.status();
            ScheduledFuture<?> writeDeadline = ctx.executor()
                    .schedule(
                            () -> {
                                if (!current.done) {
                                    ctx.close();
                                }
                            },
                            requestTimeoutNanos,
                            TimeUnit.NANOSECONDS);
            ctx.writeAndFlush(reply.toResponse(current.headRequest, current.keepAlive))
                    .addListener(written -> {
                        writeDeadline.cancel(false);
                        current.done(written.isSuccess() ? status : 0);
                        next(current);
                    });
        }

        /** Once a request is answered and its body read, the connection waits for the next one, or closes. */
        private void next(Exchange current) {
            if (exchange != current || !current.answered || !current.bodyRead || !current.done) {
                return;
            }
            exchange = null;
            releaseHead();
            if (!current.keepAlive) {
                ctx.close();
                return;
            }
            startIdleTimer();
            ctx.channel().config().setAutoRead(true); // reads what was pipelined meanwhile, if anything
            ByteBuf pipelined = decoder.held();
            if (exchange == null && pipelined.isReadable() && !headArrived(pipelined)) {
                return; // refused before it is decoded
            }
            try {
                decoder.resume(ctx.pipeline().context(decoder));
            } catch (Exception e) {
                exceptionCaught(ctx, e);
                return;
            }
            if (exchange == null && decoder.holdsBytes()) {
                startRequestTimer(); // part of a pipelined request arrived with the one before: its time runs
            }
        }

        /**
         * Reserves what the head's bytes in {@code bytes}, from index {@code start}, may cost; false when the budget
         * cannot hold it.
         */
        private boolean reserveHead(ByteBuf bytes, int start) {
            int end = bytes.forEachByte(start, bytes.writerIndex() - start, b -> {
                char expected = headEndMatched % 2 == 0 ? '\r' : '\n';
                headEndMatched = b == expected ? headEndMatched + 1 : (b == '\r' ? 1 : 0);
                return headEndMatched < 4;
            });
            int headBytes = end < 0 ? bytes.writerIndex() - start : end - start + 1;
            if (end >= 0) {
                headEnded = true;
            }
            if (headHeld == null) {
                headHeld = heads.reservation();
            }
            return headHeld.growReading((long) headBytes * HEAD_COST_PER_BYTE);
        }

        /** The budget cannot hold another head being read: 429, and the connection ends. */
        private void refuseHead() {
            answerAndClose(Reply.text(
                            429,
                            "ingest holds its limit of " + heads.limit()
                                    + " bytes for request heads being read; retry later")
                    .withHeader("Retry-After", "1"));
        }

        /**
         * Answers a request that has no call (its head was not read, or not readable) without reading any more of it,
         * then ends the connection.
         */
        private void answerAndClose(Reply reply) {
            exchange = new Exchange(HttpCall.answered(reply), false, false);
            exchange.bodyRead = true;
            answer(reply);
        }

        private void releaseHead() {
            if (headHeld != null) {
                headHeld.close();
                headHeld = null;
            }
            headBegun = false;
            headEnded = false;
            headEndMatched = 0;
        }

        private void startIdleTimer() {
            cancelTimer();
            requestTimerRuns = false;
            timer = ctx.executor().schedule(this::idleTimeout, IDLE_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS);
        }

        private void startRequestTimer() {
            cancelTimer();
            requestTimerRuns = true;
            timer = ctx.executor().schedule(this::requestTimeout, requestTimeoutNanos, TimeUnit.NANOSECONDS);
        }

        private void cancelTimer() {
            if (timer != null) {
                timer.cancel(false);
                timer = null;
            }
        }

        private void idleTimeout() {
            if (exchange == null && !requestTimerRuns) {
                ctx.close();
            }
        }

        /** The request did not arrive in full in time: 408 when nothing was answered yet, and the connection ends. */
        private void requestTimeout() {
            timer = null;
            Exchange current = exchange;
            String message = "the request did not arrive in full within "
                    + TimeUnit.NANOSECONDS.toMillis(requestTimeoutNanos) + " ms";
            if (current == null) {
                answerAndClose(Reply.text(408, message));
            } else if (!current.answered && !current.atWorker) {
                current.bodyRead = true;
                current.keepAlive = false;
                answer(current.call.failed(408, message));
            } else if (!current.bodyRead) {
                ctx.close(); // answered early, and the rest of the body is slow to come
            }
        }
    }

    private static Reply malformed(Throwable cause) {
        if (cause instanceof TooLongHttpLineException) {
            return Reply.text(414, "the request line is longer than " + MAX_REQUEST_LINE_BYTES + " bytes");
        }
        if (cause instanceof TooLongHttpHeaderException) {
            return Reply.text(431, "the request headers are larger than " + MAX_HEADER_BYTES + " bytes");
        }
        if (cause instanceof TooLongFrameException) {
            return Reply.text(400, "a part of the request is too long: " + cause.getMessage());
        }
        return Reply.text(400, "the request is not valid HTTP/1.1: " + cause.getMessage());
    }

    private static String reason(HttpContent content) {
        Throwable cause = content.decoderResult().cause();
        return cause == null ? "unknown" : String.valueOf(cause.getMessage());
    }

    private static boolean hasBody(HttpRequest request) {
        return HttpUtil.isTransferEncodingChunked(request) || HttpUtil.getContentLength(request, 0L) > 0;
    }

    /** A request value, quoted and cut short for an error message. */
    private static String quoted(String value) {
        return "'" + (value.length() > 200 ? value.substring(0, 200) + "..." : value) + "'";
    }
}
