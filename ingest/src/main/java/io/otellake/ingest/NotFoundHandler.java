package io.otellake.ingest;

/** Everything that is not an endpoint of ingest: 404. */
final class NotFoundHandler {
    private NotFoundHandler() {}

    static Reply reply(String path) {
        return Reply.text(
                404,
                "no such endpoint: " + path + "; ingest serves POST /v1/traces, POST /v1/logs, POST /v1/metrics,"
                        + " GET /health, GET /ready and GET /metrics");
    }
}
