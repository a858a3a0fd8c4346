package io.otellake.ingest;

/** Ingest cannot start. The message says why and what to change, for the person who started it. */
public final class IngestStartException extends RuntimeException {
    IngestStartException(String message, Throwable cause) {
        super(message, cause);
    }
}
