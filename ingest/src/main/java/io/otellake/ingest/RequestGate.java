package io.otellake.ingest;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Admits requests until it is closed, and counts those admitted and not yet answered, so that shutdown can wait for
 * them. A request that enters after {@link #close()} is refused, never half-handled: {@link #tryEnter()} counts itself
 * in before it looks at the closed flag, and {@link #close()} sets the flag before it looks at the count.
 */
final class RequestGate {
    private static final long POLL_MILLIS = 10;

    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicInteger inFlight = new AtomicInteger();

    /** Admits a request (the caller must {@link #exit()} later), or returns false once closed. */
    boolean tryEnter() {
        inFlight.incrementAndGet();
        if (closed.get()) {
            inFlight.decrementAndGet();
            return false;
        }
        return true;
    }

    void exit() {
        inFlight.decrementAndGet();
    }

    /** Requests admitted and not yet answered. */
    int inFlight() {
        return inFlight.get();
    }

    boolean isOpen() {
        return !closed.get();
    }

    /** Refuses new requests from now on. */
    void close() {
        closed.set(true);
    }

    /** Waits until every admitted request is answered, or the timeout passes; returns how many are still running. */
    int awaitIdle(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (inFlight.get() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(POLL_MILLIS);
        }
        return inFlight.get();
    }
}
