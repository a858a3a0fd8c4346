package io.otellake.query;

import java.time.Duration;

/**
 * The time limit of the API request running on this thread: {@code otel-lake.query-timeout}, counted from the moment
 * the request got its turn ({@link QueryGate}). A request may fetch objects from S3 and run several DuckDB statements
 * (a regex check, the query, the row counts; the trace index, then the spans): each statement gets only what remains
 * of the request's time, and fetching stops between objects once it has passed, so that the request as a whole is
 * answered 504 near its limit instead of once per statement.
 *
 * <p>A thread with no request (a benchmark, a test calling a search directly) has no deadline: each statement gets the
 * whole limit.
 */
final class RequestDeadline {
    private static final ThreadLocal<Deadline> DEADLINE = new ThreadLocal<>();

    /** When the request's time is up ({@link System#nanoTime()}), and its limit, for the message. */
    private record Deadline(long atNanos, long limitMillis) {}

    private RequestDeadline() {}

    /** Starts the limit of the request on this thread. */
    static void start(Duration limit) {
        DEADLINE.set(new Deadline(System.nanoTime() + limit.toNanos(), limit.toMillis()));
    }

    /** Ends it (the thread serves other requests next). */
    static void clear() {
        DEADLINE.remove();
    }

    /** What remains of the request's time, at most {@code limit}: {@code limit} itself on a thread with no request. */
    static long remainingNanos(Duration limit) {
        return Math.min(limit.toNanos(), remainingNanos());
    }

    /** What remains of the request's time, or {@link Long#MAX_VALUE} on a thread with no request. */
    static long remainingNanos() {
        Deadline deadline = DEADLINE.get();
        return deadline == null ? Long.MAX_VALUE : deadline.atNanos() - System.nanoTime();
    }

    /** The 504 of the request on this thread, whose time has run out. */
    static QueryRunner.QueryTimeoutException exceeded() {
        Deadline deadline = DEADLINE.get();
        return exceeded(deadline == null ? 0 : deadline.limitMillis());
    }

    /** Throws the 504 when the request's time has run out. */
    static void check() {
        Deadline deadline = DEADLINE.get();
        if (deadline != null && deadline.atNanos() - System.nanoTime() <= 0) {
            throw exceeded(deadline.limitMillis());
        }
    }

    static QueryRunner.QueryTimeoutException exceeded(long limitMillis) {
        return new QueryRunner.QueryTimeoutException("the query ran longer than " + limitMillis
                + " ms and was stopped; narrow the time range or the filters");
    }
}
