package io.otellake.ingest;

import com.google.gson.JsonParser;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnknownFieldSet;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** A plain HTTP client for ingest's endpoints, and the reading of OTLP error bodies. */
final class OtlpHttp {
    static final String PROTOBUF = "application/x-protobuf";
    static final String JSON = "application/json";

    private final HttpClient client = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    private final URI base;

    OtlpHttp(URI base) {
        this.base = base;
    }

    /** POSTs a body with a Content-Type and further header name/value pairs. */
    HttpResponse<byte[]> post(String path, String contentType, byte[] body, String... headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(path))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (headers.length > 0) {
            request.headers(headers);
        }
        return send(request.build());
    }

    HttpResponse<byte[]> post(String path, String contentType, String body, String... headers) {
        return post(path, contentType, body.getBytes(StandardCharsets.UTF_8), headers);
    }

    HttpResponse<byte[]> send(HttpRequest request) {
        try {
            return client.send(request, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    HttpResponse<byte[]> get(String path) {
        return send(HttpRequest.newBuilder(base.resolve(path)).GET().build());
    }

    URI uri(String path) {
        return base.resolve(path);
    }

    static String contentType(HttpResponse<?> response) {
        return response.headers().firstValue("Content-Type").orElse("");
    }

    /** The message of an error: from a google.rpc.Status in protobuf or JSON, or the text. */
    static String message(HttpResponse<byte[]> response) {
        String type = contentType(response);
        if (type.startsWith(PROTOBUF)) {
            try {
                return UnknownFieldSet.parseFrom(response.body())
                        .getField(2)
                        .getLengthDelimitedList()
                        .get(0)
                        .toStringUtf8();
            } catch (InvalidProtocolBufferException e) {
                throw new AssertionError("not a google.rpc.Status", e);
            }
        }
        String text = new String(response.body(), StandardCharsets.UTF_8);
        if (type.startsWith(JSON)) {
            return JsonParser.parseString(text).getAsJsonObject().get("message").getAsString();
        }
        return text.strip();
    }

    /** The code of a google.rpc.Status in protobuf. */
    static long protobufStatusCode(HttpResponse<byte[]> response) throws InvalidProtocolBufferException {
        return UnknownFieldSet.parseFrom(response.body())
                .getField(1)
                .getVarintList()
                .get(0);
    }
}
