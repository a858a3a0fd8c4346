package io.otellake.ingest;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;

/** Everything that is not an endpoint of ingest: 404. */
final class NotFoundHandler implements HttpHandler {
    static Reply reply(String path) {
        return Reply.text(
                404,
                "no such endpoint: " + path + "; ingest serves POST /v1/traces, POST /v1/logs, POST /v1/metrics,"
                        + " GET /health, GET /ready and GET /metrics");
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            reply(exchange.getRequestURI().getPath()).send(exchange);
        }
    }
}
