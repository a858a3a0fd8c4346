package io.otellake.ingest;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** One HTTP response, built before anything is sent, so that a handler decides it in one place. */
record Reply(int status, String contentType, byte[] body, Map<String, String> headers) {
    static final String TEXT = "text/plain; charset=utf-8";

    /**
     * The most of an unread request body that is read and dropped after an answer; see {@link #send}. Beyond it, the
     * connection is closed instead.
     */
    static final long MAX_DISCARDED_BYTES = 64L * 1024 * 1024;

    Reply {
        headers = Map.copyOf(headers);
    }

    Reply(int status, String contentType, byte[] body) {
        this(status, contentType, body, Map.of());
    }

    /** A text/plain answer; used before the request's OTLP encoding is known (404, 405, 415, health). */
    static Reply text(int status, String message) {
        return new Reply(status, TEXT, (message + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /** An OTLP error: a {@link RpcStatus} in the request's encoding. */
    static Reply error(OtlpEncoding encoding, int status, String message) {
        return new Reply(status, encoding.mediaType(), RpcStatus.encode(encoding, RpcStatus.codeFor(status), message));
    }

    Reply withHeader(String name, String value) {
        Map<String, String> more = new LinkedHashMap<>(headers);
        more.put(name, value);
        return new Reply(status, contentType, body, more);
    }

    /**
     * Sends this reply, then reads and drops what is left of the request body (up to {@link #MAX_DISCARDED_BYTES});
     * a reply without a body drops it first. The caller closes the exchange.
     *
     * <p>Why read a body that was refused (413, 415, a bad tenant): a server that closes a connection with unread
     * bytes makes TCP reset it, and the reset can destroy the response before the client reads it, so the client would
     * see "connection reset" instead of the status that tells it not to retry. Nothing read is kept.
     */
    void send(HttpExchange exchange) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", contentType);
        headers.forEach(exchange.getResponseHeaders()::set);
        if (body.length == 0 || "HEAD".equals(exchange.getRequestMethod())) {
            // Without a body (a protobuf export's success, a HEAD) the JDK server finishes the exchange as the headers
            // go out, request stream included: what is left of the request is read first, or reading it would throw.
            discardUnreadRequestBody(exchange);
            exchange.sendResponseHeaders(status, -1);
            return;
        }
        exchange.sendResponseHeaders(status, body.length);
        // Closing the response stream also closes the request stream, so the discarding comes before it.
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
            out.flush();
            discardUnreadRequestBody(exchange);
        }
    }

    private static void discardUnreadRequestBody(HttpExchange exchange) throws IOException {
        String declared = exchange.getRequestHeaders().getFirst("Content-Length");
        try {
            if (declared != null && Long.parseLong(declared.strip()) > MAX_DISCARDED_BYTES) {
                return; // not worth the wait: the connection is closed instead
            }
        } catch (NumberFormatException e) {
            return;
        }
        InputStream in = exchange.getRequestBody();
        byte[] buffer = new byte[64 * 1024];
        long left = MAX_DISCARDED_BYTES;
        int n;
        while (left > 0 && (n = in.read(buffer, 0, (int) Math.min(buffer.length, left))) >= 0) {
            left -= n;
        }
    }
}
