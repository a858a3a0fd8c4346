package io.otellake.ingest.bench;

import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * One stream of the load: sends pre-encoded export requests one after another and tells how each was answered. Built
 * to cost little CPU: the HTTP client writes prepared bytes to a keep-alive socket and reads the status line and
 * headers; the gRPC client passes {@code byte[]} through a marshaller that does not encode.
 */
interface LoadClient extends AutoCloseable {
    int OK = 0;
    int PARTIAL = 1;
    int FAILED = 2;

    /** Sends request {@code index}; {@link #OK}, {@link #PARTIAL} (OK with a partial_success body), or {@link #FAILED}. */
    int export(int index) throws IOException;

    @Override
    void close() throws IOException;

    /** Opens streams; one per load thread. */
    interface Factory extends AutoCloseable {
        LoadClient open() throws IOException;

        @Override
        void close();
    }

    /** OTLP/HTTP with protobuf bodies, or with OTLP/JSON ones when {@code json}. */
    static Factory http(String host, int port, boolean traces, boolean json, List<byte[]> bodies) {
        byte[][] prepared = new byte[bodies.size()][];
        for (int i = 0; i < prepared.length; i++) {
            byte[] body = bodies.get(i);
            byte[] head = ("POST " + (traces ? "/v1/traces" : "/v1/logs") + " HTTP/1.1\r\nHost: " + host + ":" + port
                            + "\r\nContent-Type: " + (json ? "application/json" : "application/x-protobuf")
                            + "\r\nContent-Length: " + body.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII);
            prepared[i] = new byte[head.length + body.length];
            System.arraycopy(head, 0, prepared[i], 0, head.length);
            System.arraycopy(body, 0, prepared[i], head.length, body.length);
        }
        return new Factory() {
            @Override
            public LoadClient open() {
                return new HttpClient(host, port, prepared, json ? 2 : 0);
            }

            @Override
            public void close() {}
        };
    }

    static Factory grpc(String host, int port, boolean traces, List<byte[]> bodies) {
        ManagedChannel channel = Grpc.newChannelBuilderForAddress(host, port, InsecureChannelCredentials.create())
                .build();
        MethodDescriptor.Marshaller<byte[]> bytes = new MethodDescriptor.Marshaller<>() {
            @Override
            public InputStream stream(byte[] value) {
                return new ByteArrayInputStream(value);
            }

            @Override
            public byte[] parse(InputStream stream) {
                try {
                    return stream.readAllBytes();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };
        MethodDescriptor<byte[], byte[]> method = MethodDescriptor.<byte[], byte[]>newBuilder()
                .setType(MethodDescriptor.MethodType.UNARY)
                .setFullMethodName(
                        traces
                                ? "opentelemetry.proto.collector.trace.v1.TraceService/Export"
                                : "opentelemetry.proto.collector.logs.v1.LogsService/Export")
                .setRequestMarshaller(bytes)
                .setResponseMarshaller(bytes)
                .build();
        return new Factory() {
            @Override
            public LoadClient open() {
                return new GrpcClient(channel, method, bodies);
            }

            @Override
            public void close() {
                channel.shutdownNow();
                try {
                    channel.awaitTermination(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
    }

    /** A raw HTTP/1.1 keep-alive client; reconnects when the server closes the connection. */
    final class HttpClient implements LoadClient {
        private final String host;
        private final int port;
        private final byte[][] prepared;
        private final int emptyAnswerLength;
        private Socket socket;
        private OutputStream out;
        private InputStream in;

        /** @param emptyAnswerLength the length of a success without partial success: 0 in protobuf, 2 ({}) in JSON */
        HttpClient(String host, int port, byte[][] prepared, int emptyAnswerLength) {
            this.host = host;
            this.port = port;
            this.prepared = prepared;
            this.emptyAnswerLength = emptyAnswerLength;
        }

        @Override
        public int export(int index) throws IOException {
            try {
                if (socket == null) {
                    socket = new Socket();
                    socket.setTcpNoDelay(true);
                    socket.connect(new InetSocketAddress(host, port));
                    out = socket.getOutputStream();
                    in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
                }
                out.write(prepared[index]);
                out.flush();
                String status = line();
                int code = Integer.parseInt(status.substring(9, 12));
                long length = 0;
                boolean close = false;
                for (String header = line(); !header.isEmpty(); header = line()) {
                    String lower = header.toLowerCase(Locale.ROOT);
                    if (lower.startsWith("content-length:")) {
                        length = Long.parseLong(lower.substring(15).trim());
                    } else if (lower.startsWith("connection:") && lower.contains("close")) {
                        close = true;
                    }
                }
                in.skipNBytes(length);
                if (close) {
                    close();
                }
                return code != 200 ? FAILED : length > emptyAnswerLength ? PARTIAL : OK;
            } catch (IOException e) {
                close();
                return FAILED;
            }
        }

        private String line() throws IOException {
            StringBuilder s = new StringBuilder(64);
            for (int c = in.read(); c != '\n'; c = in.read()) {
                if (c < 0) {
                    throw new IOException("connection closed");
                }
                if (c != '\r') {
                    s.append((char) c);
                }
            }
            return s.toString();
        }

        @Override
        public void close() throws IOException {
            if (socket != null) {
                socket.close();
                socket = null;
            }
        }
    }

    /** Blocking unary calls over a channel shared by every stream (HTTP/2 multiplexes them). */
    final class GrpcClient implements LoadClient {
        private final ManagedChannel channel;
        private final MethodDescriptor<byte[], byte[]> method;
        private final List<byte[]> bodies;

        GrpcClient(ManagedChannel channel, MethodDescriptor<byte[], byte[]> method, List<byte[]> bodies) {
            this.channel = channel;
            this.method = method;
            this.bodies = bodies;
        }

        @Override
        public int export(int index) {
            try {
                byte[] response =
                        ClientCalls.blockingUnaryCall(channel, method, CallOptions.DEFAULT, bodies.get(index));
                return response.length > 0 ? PARTIAL : OK;
            } catch (StatusRuntimeException e) {
                return FAILED;
            }
        }

        @Override
        public void close() {}
    }
}
