package io.otellake.ingest;

import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * {@code GET /health} and {@code /healthz} (liveness): 200 while ingest serves, 503 once it is shutting down; they say
 * nothing about Kafka. {@code GET /ready} (readiness): 200 only while ingest serves and Kafka answers, so that a load
 * balancer sends requests elsewhere while this instance could only answer 503.
 */
final class HealthHandler {
    static final String READY = "/ready";
    static final Set<String> PATHS = Set.of("/health", "/healthz", READY);

    private final RequestGate gate;
    private final BooleanSupplier kafkaReachable;

    HealthHandler(RequestGate gate, BooleanSupplier kafkaReachable) {
        this.gate = gate;
        this.kafkaReachable = kafkaReachable;
    }

    Reply reply(HttpHead head) {
        String path = head.path();
        if (!PATHS.contains(path)) {
            return NotFoundHandler.reply(path);
        }
        String method = head.method();
        if (!method.equals("GET") && !method.equals("HEAD")) {
            return Reply.text(405, method + " is not allowed on " + path + "; use GET")
                    .withHeader("Allow", "GET, HEAD");
        }
        if (!gate.isOpen()) {
            return Reply.text(503, "shutting down");
        }
        if (path.equals(READY) && !kafkaReachable.getAsBoolean()) {
            return Reply.text(503, "Kafka does not answer");
        }
        return Reply.text(200, "ok");
    }
}
