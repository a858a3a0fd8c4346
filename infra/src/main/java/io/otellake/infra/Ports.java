package io.otellake.infra;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** TCP ports on the loopback interface: finding free ones, and telling whether one is taken or answering. */
public final class Ports {
    private static final int CONNECT_TIMEOUT_MILLIS = 500;

    private Ports() {}

    /** A port that was free on 127.0.0.1 a moment ago (another process may still take it before you do). */
    public static int freePort() {
        return freePorts(1).get(0);
    }

    /** {@code count} distinct ports that were free on 127.0.0.1 a moment ago. */
    public static List<Integer> freePorts(int count) {
        if (count < 1) {
            throw new IllegalArgumentException("count must be positive: " + count);
        }
        // All sockets stay open until every port is chosen, so the kernel cannot hand out one port twice.
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            List<Integer> ports = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                sockets.add(socket);
                ports.add(socket.getLocalPort());
            }
            return List.copyOf(ports);
        } catch (IOException e) {
            throw new UncheckedIOException("could not find a free port", e);
        } finally {
            for (ServerSocket socket : sockets) {
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // Closing a listening socket we own does not fail in a way that matters here.
                }
            }
        }
    }

    /** Whether something accepts TCP connections on {@code host:port} right now. */
    public static boolean isOpen(String host, int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), CONNECT_TIMEOUT_MILLIS);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Whether a server could bind {@code 127.0.0.1:port} right now. */
    public static boolean isFree(int port) {
        checkPort(port);
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return socket.isBound();
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Fails with a sentence a person can act on when {@code port} is taken.
     *
     * @param purpose what the port is for and how to change it, e.g. {@code "Kafka (OTEL_LAKE_KAFKA_PORT)"}
     */
    public static void requireFree(int port, String purpose) {
        if (!isFree(port)) {
            throw new IllegalStateException("Port " + port + " for " + purpose
                    + " is already in use: stop whatever holds it (perhaps an earlier otel-lake that is still"
                    + " running) or choose another port.");
        }
    }

    /**
     * Waits until {@code host:port} accepts connections.
     *
     * @throws IllegalStateException if it does not within {@code timeout}
     */
    public static void awaitOpen(String host, int port, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!isOpen(host, port)) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("nothing accepted connections on " + host + ":" + port + " within "
                        + timeout.toSeconds() + " s");
            }
            Polling.pause();
        }
    }

    static void checkPort(int port) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("not a TCP port: " + port);
        }
    }
}
