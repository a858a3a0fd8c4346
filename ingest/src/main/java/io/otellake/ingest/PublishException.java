package io.otellake.ingest;

import org.jspecify.annotations.Nullable;

/** Kafka did not acknowledge a record. The message names the topic and tenant and says why, for the log. */
final class PublishException extends Exception {
    /** Whether sending the same request later may succeed (503), or never will (413). */
    enum Kind {
        UNAVAILABLE,
        TOO_LARGE
    }

    private final Kind kind;

    PublishException(Kind kind, String message, @Nullable Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    Kind kind() {
        return kind;
    }
}
