package io.otellake.ingest;

import java.nio.charset.StandardCharsets;

/** {@code GET /metrics}: {@link IngestMetrics} in the Prometheus text format. */
final class MetricsHandler {
    static final String PATH = "/metrics";
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final IngestMetrics metrics;
    private final TenantAccess access;

    /** With authentication on ({@code access}), only an admin token reads the metrics: their labels name every tenant. */
    MetricsHandler(IngestMetrics metrics, TenantAccess access) {
        this.metrics = metrics;
        this.access = access;
    }

    Reply reply(HttpHead head) {
        if (!PATH.equals(head.path())) {
            return NotFoundHandler.reply(head.path());
        }
        if (!head.method().equals("GET") && !head.method().equals("HEAD")) {
            return Reply.text(405, head.method() + " is not allowed on " + PATH + "; use GET")
                    .withHeader("Allow", "GET, HEAD");
        }
        try {
            access.requireAdmin(head.all("Authorization"));
        } catch (ExportRefusal e) {
            return e.kind() == ExportRefusal.Kind.UNAUTHENTICATED
                    ? Reply.text(401, e.getMessage()).withHeader("WWW-Authenticate", "Bearer")
                    : Reply.text(403, e.getMessage());
        }
        return new Reply(200, CONTENT_TYPE, metrics.scrape().getBytes(StandardCharsets.UTF_8));
    }
}
