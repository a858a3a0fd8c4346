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
 * connection thread and the bytes it sent (in the {@link InFlightBudget}), never a slot. Once {@link #close()}d, as
 * ingest stops, a request takes a slot only if one is free at once: the ones waiting are answered at once instead of
 * being cut off when the server stops. A newcomer does not take a slot ahead of requests already waiting (the
 * semaphore is fair), except in the instant a waiter renews its wait, every 100 ms.
 */
final class ExportSlots {
    private static final long STEP_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private final Semaphore slots;
    private final int maxWaiting;
    private final long maxWaitNanos;
    private final AtomicInteger waiting = new AtomicInteger();
    private volatile boolean closed;

    ExportSlots(int slots, int maxWaiting, Duration maxWait) {
        if (slots < 1 || maxWaiting < 0) {
            throw new IllegalArgumentException("slots must be positive and waiting places not negative");
        }
        this.slots = new Semaphore(slots, true);
        this.maxWaiting = maxWaiting;
        this.maxWaitNanos = maxWait.toNanos();
    }

    /**
     * Takes a slot (the caller must {@link #exit()} later), or returns false if none came free in time or the slots
     * were closed ({@link #isClosed()} tells which).
     */
    boolean tryEnter() {
        try {
            // with a timeout, even of 0, a fair semaphore serves those already waiting first
            if (slots.tryAcquire(0, TimeUnit.NANOSECONDS)) {
                return true;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        if (waiting.incrementAndGet() > maxWaiting) {
            waiting.decrementAndGet();
            return false;
        }
        try {
            // in steps, so that a request waiting when ingest stops is answered at once instead of at the end
            long deadline = System.nanoTime() + maxWaitNanos;
            while (!closed) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                if (slots.tryAcquire(Math.min(left, STEP_NANOS), TimeUnit.NANOSECONDS)) {
                    return true;
                }
            }
            return false;
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

    /**
     * From now on requests waiting for a slot give up, and new ones take a slot only if one is free at once; those in
     * a slot finish.
     */
    void close() {
        closed = true;
    }

    boolean isClosed() {
        return closed;
    }

    /** Requests waiting for a slot now. */
    int waiting() {
        return waiting.get();
    }
}
