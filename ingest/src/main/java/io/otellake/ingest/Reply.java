package io.otellake.ingest;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** One HTTP response, built before anything is sent, so that a handler decides it in one place. */
record Reply(int status, String contentType, byte[] body, Map<String, String> headers) {
    static final String TEXT = "text/plain; charset=utf-8";

    /**
     * The most of a request body that is read and dropped after an early answer (413, 415, a bad tenant), so that the
     * connection can serve the next request; beyond it, the connection is closed instead. Closing a connection with
     * unread bytes makes TCP reset it, and the reset can destroy the answer before the client reads it, so the client
     * would see "connection reset" instead of the status that tells it not to retry.
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

    /** The answer to a failure that is a bug: logged where it happened, and not described to the client. */
    static Reply internalError() {
        return text(500, "internal error in ingest; it has been logged");
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
     * This reply as a Netty response: {@code Content-Length} always, the body left out for a {@code HEAD} request,
     * and {@code Connection: close} when {@code keepAlive} is false.
     */
    FullHttpResponse toResponse(boolean headRequest, boolean keepAlive) {
        ByteBuf content = headRequest ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body);
        FullHttpResponse response =
                new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status), content);
        HttpHeaders out = response.headers();
        // names as RFC 9110 spells them, for people reading raw responses; clients compare them without case
        out.set("Content-Type", contentType);
        headers.forEach(out::set);
        out.set("Content-Length", body.length);
        if (keepAlive) {
            out.remove(HttpHeaderNames.CONNECTION);
        } else {
            out.set("Connection", HttpHeaderValues.CLOSE);
        }
        return response;
    }

    /** Whether this reply itself asks for the connection to be closed after it. */
    boolean closes() {
        String connection = headers.get("Connection");
        return connection != null && connection.equalsIgnoreCase("close");
    }
}
