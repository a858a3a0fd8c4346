package io.otellake.ingest;

import com.google.gson.JsonObject;
import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The body of an OTLP/HTTP error response: a {@code google.rpc.Status} with a code and a message, encoded like the
 * request (OTLP specification, "Failures"). Exporters such as OpenTelemetry's log the message. Written by hand
 * (fields 1 and 2) so as not to pull in the common protos for one message.
 */
final class RpcStatus {
    static final int INVALID_ARGUMENT = 3;
    static final int PERMISSION_DENIED = 7;
    static final int RESOURCE_EXHAUSTED = 8;
    static final int UNAUTHENTICATED = 16;
    static final int INTERNAL = 13;
    static final int UNAVAILABLE = 14;
    static final int UNKNOWN = 2;

    private RpcStatus() {}

    /** The gRPC code that matches an HTTP error status. */
    static int codeFor(int httpStatus) {
        return switch (httpStatus) {
            case 400, 415 -> INVALID_ARGUMENT;
            case 401 -> UNAUTHENTICATED;
            case 403 -> PERMISSION_DENIED;
            case 413, 429 -> RESOURCE_EXHAUSTED;
            case 503 -> UNAVAILABLE;
            case 500 -> INTERNAL;
            default -> UNKNOWN;
        };
    }

    static byte[] encode(OtlpEncoding encoding, int code, String message) {
        return encoding == OtlpEncoding.PROTOBUF ? protobuf(code, message) : json(code, message);
    }

    static byte[] protobuf(int code, String message) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(message.length() + 16);
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        try {
            out.writeInt32(1, code);
            out.writeString(2, message);
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot happen: writing to memory", e);
        }
        return bytes.toByteArray();
    }

    static byte[] json(int code, String message) {
        JsonObject status = new JsonObject();
        status.addProperty("code", code);
        status.addProperty("message", message);
        return status.toString().getBytes(StandardCharsets.UTF_8);
    }
}
