package io.otellake.ingest;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** {@code GET /metrics}: {@link IngestMetrics} in the Prometheus text format. */
final class MetricsHandler implements HttpHandler {
    static final String PATH = "/metrics";
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final IngestMetrics metrics;

    MetricsHandler(IngestMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            Reply reply;
            if (!PATH.equals(path)) {
                reply = NotFoundHandler.reply(path);
            } else if (!exchange.getRequestMethod().equals("GET")
                    && !exchange.getRequestMethod().equals("HEAD")) {
                reply = Reply.text(405, exchange.getRequestMethod() + " is not allowed on " + path + "; use GET")
                        .withHeader("Allow", "GET, HEAD");
            } else {
                reply = new Reply(200, CONTENT_TYPE, metrics.scrape().getBytes(StandardCharsets.UTF_8));
            }
            reply.send(exchange);
        }
    }
}
