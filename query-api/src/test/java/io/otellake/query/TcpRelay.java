package io.otellake.query;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP relay in front of a real server: every connection it accepts gets one to the server, and two threads of its
 * own, one that carries the client's bytes up and one that carries the server's down, each as its {@link Pipe} says.
 * Closing it cuts every connection. What the relays of the tests differ in is only their pipes.
 */
final class TcpRelay implements AutoCloseable {
    /** Carries the bytes of one direction of one connection, and closes both sockets when done. */
    @FunctionalInterface
    interface Pipe {
        void carry(Socket from, Socket to);
    }

    private final ServerSocket server;
    private final InetSocketAddress upstream;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    TcpRelay(URI upstream, String name, Pipe up, Pipe down) throws IOException {
        this.upstream = new InetSocketAddress(upstream.getHost(), upstream.getPort());
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        daemon(() -> accept(name, up, down), name + "-accept").start();
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getLocalPort());
    }

    private void accept(String name, Pipe up, Pipe down) {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Socket target = new Socket(upstream.getAddress(), upstream.getPort());
                sockets.add(client);
                sockets.add(target);
                daemon(() -> up.carry(client, target), name + "-up").start();
                daemon(() -> down.carry(target, client), name + "-down").start();
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            // already closed
        }
    }

    @Override
    public void close() {
        closeQuietly(server);
        sockets.forEach(TcpRelay::closeQuietly);
    }
}
