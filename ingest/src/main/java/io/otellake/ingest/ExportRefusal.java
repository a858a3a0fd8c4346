package io.otellake.ingest;

/**
 * An export request that was not taken at all. The message says why, for the client; the kind says which status
 * each transport answers with.
 */
final class ExportRefusal extends Exception {
    /** Why a request was not taken. */
    enum Kind {
        /** Not a valid export request: HTTP 400, gRPC INVALID_ARGUMENT; do not retry. */
        MALFORMED,
        /** Over the size limit: HTTP 413, gRPC RESOURCE_EXHAUSTED; do not retry as it is. */
        TOO_LARGE,
        /** No bearer token, or one that is not configured (authentication on): HTTP 401, gRPC UNAUTHENTICATED. */
        UNAUTHENTICATED,
        /** A tenant's token used for another tenant: HTTP 403, gRPC PERMISSION_DENIED. */
        FORBIDDEN,
        /**
         * The in-flight byte budget ({@link InFlightBudget}) is exhausted, or (OTLP/HTTP) every thread is busy and
         * the queue full: HTTP 429 with Retry-After, gRPC
         * RESOURCE_EXHAUSTED with RetryInfo; retry later.
         */
        OVERLOADED,
        /** Kafka did not acknowledge in time, or ingest is stopping: HTTP 503, gRPC UNAVAILABLE; retry later. */
        UNAVAILABLE
    }

    private final Kind kind;

    ExportRefusal(Kind kind, String message) {
        super(message, null, false, false);
        this.kind = kind;
    }

    Kind kind() {
        return kind;
    }
}
