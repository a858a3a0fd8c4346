package io.otellake.query;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP relay in front of a real server that passes requests on at once and answers at a set rate: the S3 server as
 * it behaves behind a slow or congested link. Closing it cuts every connection.
 */
final class SlowRelay implements AutoCloseable {
    private final TcpRelay relay;
    private final AtomicLong bytesAnswered = new AtomicLong();

    SlowRelay(URI upstream, int bytesPerSecond) throws IOException {
        int bytesPerTenthOfASecond = Math.max(1, bytesPerSecond / 10);
        this.relay = new TcpRelay(
                upstream,
                "slow-relay",
                (from, to) -> copy(from, to, Integer.MAX_VALUE, new AtomicLong()),
                (from, to) -> copy(from, to, bytesPerTenthOfASecond, bytesAnswered));
    }

    URI endpoint() {
        return relay.endpoint();
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
            TcpRelay.closeQuietly(from);
            TcpRelay.closeQuietly(to);
        }
    }

    @Override
    public void close() {
        relay.close();
    }
}
