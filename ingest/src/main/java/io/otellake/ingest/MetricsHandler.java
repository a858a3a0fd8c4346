package io.otellake.ingest;

import java.nio.charset.StandardCharsets;

/** {@code GET /metrics}: {@link IngestMetrics} in the Prometheus text format. */
final class MetricsHandler {
    static final String PATH = "/metrics";
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final IngestMetrics metrics;

    MetricsHandler(IngestMetrics metrics) {
        this.metrics = metrics;
    }

    Reply reply(HttpHead head) {
        if (!PATH.equals(head.path())) {
            return NotFoundHandler.reply(head.path());
        }
        if (!head.method().equals("GET") && !head.method().equals("HEAD")) {
            return Reply.text(405, head.method() + " is not allowed on " + PATH + "; use GET")
                    .withHeader("Allow", "GET, HEAD");
        }
        return new Reply(200, CONTENT_TYPE, metrics.scrape().getBytes(StandardCharsets.UTF_8));
    }
}
