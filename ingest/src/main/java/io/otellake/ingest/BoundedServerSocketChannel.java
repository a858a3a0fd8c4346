package io.otellake.ingest;

import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The OTLP/gRPC listening socket, which accepts only while fewer than {@code maxConnections} of its connections are
 * open. At the bound it stops accepting: further clients wait in the operating system's accept queue (then their
 * connects time out, and gRPC clients retry) until a connection closes, as at OTLP/HTTP's bound, instead of ingest
 * running out of file descriptors, which Kafka's connections share. grpc-java has no such bound of its own.
 *
 * <p>The count is taken before each accept, on this socket's event loop, and a connection is counted from its accept
 * to its close, however it closes, so the bound is never exceeded and the count cannot leak.
 */
final class BoundedServerSocketChannel extends NioServerSocketChannel {
    private final int maxConnections;
    private final AtomicInteger open = new AtomicInteger();

    BoundedServerSocketChannel(int maxConnections) {
        if (maxConnections < 1) {
            throw new IllegalArgumentException("maxConnections must be at least 1, got " + maxConnections);
        }
        this.maxConnections = maxConnections;
    }

    @Override
    protected int doReadMessages(List<Object> buf) throws Exception {
        if (open.get() >= maxConnections) {
            config().setAutoRead(false); // stops watching for connections; a close turns it back on
            return 0;
        }
        int first = buf.size();
        int accepted = super.doReadMessages(buf);
        for (int i = first; i < buf.size(); i++) {
            open.incrementAndGet();
            ((Channel) buf.get(i)).closeFuture().addListener(closed -> {
                open.decrementAndGet();
                eventLoop().execute(this::acceptAgain);
            });
        }
        return accepted;
    }

    private void acceptAgain() {
        if (isOpen() && !config().isAutoRead() && open.get() < maxConnections) {
            config().setAutoRead(true);
        }
    }

    /** Connections open now. */
    int connections() {
        return open.get();
    }
}
