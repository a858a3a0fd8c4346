package io.otellake.query;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP relay in front of a real server that passes requests on at once and answers at a set rate: the S3 server as
 * it behaves behind a slow or congested link. Closing it cuts every connection.
 */
final class SlowRelay implements AutoCloseable {
    private final ServerSocket server;
    private final InetSocketAddress upstream;
    private final int bytesPerTenthOfASecond;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final AtomicLong bytesAnswered = new AtomicLong();

    SlowRelay(URI upstream, int bytesPerSecond) throws IOException {
        this.upstream = new InetSocketAddress(upstream.getHost(), upstream.getPort());
        this.bytesPerTenthOfASecond = Math.max(1, bytesPerSecond / 10);
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        daemon(this::accept, "slow-relay-accept").start();
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getLocalPort());
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Socket target = new Socket(upstream.getAddress(), upstream.getPort());
                sockets.add(client);
                sockets.add(target);
                daemon(() -> copy(client, target, Integer.MAX_VALUE, new AtomicLong()), "slow-relay-up")
                        .start();
                daemon(() -> copy(target, client, bytesPerTenthOfASecond, bytesAnswered), "slow-relay-down")
                        .start();
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    /** Bytes the server has answered so far, over every connection. */
    long bytesAnswered() {
        return bytesAnswered.get();
    }

    /** Copies at most {@code perTenth} bytes every 100 ms, counting them, then closes both ends. */
    private static void copy(Socket from, Socket to, int perTenth, AtomicLong counted) {
        byte[] buffer = new byte[Math.min(perTenth, 64 * 1024)];
        try (InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream()) {
            long windowStart = System.nanoTime();
            int inWindow = 0;
            int n;
            while ((n = in.read(buffer, 0, Math.min(buffer.length, perTenth - inWindow))) >= 0) {
                out.write(buffer, 0, n);
                out.flush();
                counted.addAndGet(n);
                inWindow += n;
                if (inWindow >= perTenth) {
                    long wait = 100 - (System.nanoTime() - windowStart) / 1_000_000;
                    if (wait > 0) {
                        Thread.sleep(wait);
                    }
                    windowStart = System.nanoTime();
                    inWindow = 0;
                }
            }
        } catch (IOException e) {
            // one side closed
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            // already closed
        }
    }

    @Override
    public void close() {
        closeQuietly(server);
        sockets.forEach(SlowRelay::closeQuietly);
    }
}
