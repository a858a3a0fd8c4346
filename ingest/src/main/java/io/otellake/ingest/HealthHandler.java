package io.otellake.ingest;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.util.Set;

/**
 * {@code GET /health} and {@code /healthz}: 200 while ingest serves, 503 once it is shutting down. It says nothing
 * about Kafka: a request answers that itself, with 503 when Kafka does not acknowledge.
 */
final class HealthHandler implements HttpHandler {
    static final Set<String> PATHS = Set.of("/health", "/healthz");

    private final RequestGate gate;

    HealthHandler(RequestGate gate) {
        this.gate = gate;
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            reply(exchange).send(exchange);
        }
    }

    private Reply reply(HttpExchange exchange) {
        String path = exchange.getRequestURI().getPath();
        if (!PATHS.contains(path)) {
            return NotFoundHandler.reply(path);
        }
        String method = exchange.getRequestMethod();
        if (!method.equals("GET") && !method.equals("HEAD")) {
            return Reply.text(405, method + " is not allowed on " + path + "; use GET")
                    .withHeader("Allow", "GET, HEAD");
        }
        return gate.isOpen() ? Reply.text(200, "ok") : Reply.text(503, "shutting down");
    }
}
