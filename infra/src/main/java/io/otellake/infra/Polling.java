package io.otellake.infra;

import java.time.Duration;

/** The pause between two looks while waiting for a child process or a port. */
final class Polling {
    static final Duration INTERVAL = Duration.ofMillis(100);

    private Polling() {}

    /** Sleeps one {@link #INTERVAL}; an interrupt ends the wait with an exception (and stays set). */
    static void pause() {
        try {
            Thread.sleep(INTERVAL.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting", e);
        }
    }
}
