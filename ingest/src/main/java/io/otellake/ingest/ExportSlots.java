package io.otellake.ingest;

import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The OTLP/HTTP requests that are decoded and written to Kafka at once, after their bodies were read.
 *
 * <p>Guarantee: at most {@code slots} requests hold a slot at once, at most {@code waiting} more wait for one, each for
 * at most {@code maxWait}; {@link #tryEnter()} answers false at once when the waiting places are taken, and after
 * {@code maxWait} when no slot came free, so that the request is answered with the retryable 429 instead of hanging.
 * Reading a request (its headers and its body) takes no slot: a client that sends slowly, or stops halfway, holds a
 * connection thread and the bytes it sent (in the {@link InFlightBudget}), never a slot.
 */
final class ExportSlots {
    private final Semaphore slots;
    private final int maxWaiting;
    private final long maxWaitNanos;
    private final AtomicInteger waiting = new AtomicInteger();

    ExportSlots(int slots, int maxWaiting, Duration maxWait) {
        if (slots < 1 || maxWaiting < 0) {
            throw new IllegalArgumentException("slots must be positive and waiting places not negative");
        }
        this.slots = new Semaphore(slots, true);
        this.maxWaiting = maxWaiting;
        this.maxWaitNanos = maxWait.toNanos();
    }

    /** Takes a slot (the caller must {@link #exit()} later), or returns false if none came free in time. */
    boolean tryEnter() {
        if (slots.tryAcquire()) {
            return true;
        }
        if (waiting.incrementAndGet() > maxWaiting) {
            waiting.decrementAndGet();
            return false;
        }
        try {
            return slots.tryAcquire(maxWaitNanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            waiting.decrementAndGet();
        }
    }

    void exit() {
        slots.release();
    }

    /** Requests waiting for a slot now. */
    int waiting() {
        return waiting.get();
    }
}
