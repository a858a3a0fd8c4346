package io.otellake.ingest;

/** A request body that is not a valid OTLP export request. The message says what is wrong, for the client. */
final class InvalidExportException extends Exception {
    InvalidExportException(String message) {
        super(message);
    }
}
