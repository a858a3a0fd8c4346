package io.otellake.ingest;

import io.netty.handler.codec.http.HttpHeaders;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A request's method, path and headers, as the OTLP/HTTP server read them; the body comes apart ({@link HttpCall}).
 *
 * @param path the decoded path of the request target, without its query
 */
record HttpHead(String method, String path, HttpHeaders headers) {
    /** Every value of a header, in order, over all its lines; empty when absent. Names are case-insensitive. */
    List<String> all(String name) {
        return headers.getAll(name);
    }

    @Nullable
    String first(String name) {
        return headers.get(name);
    }
}
