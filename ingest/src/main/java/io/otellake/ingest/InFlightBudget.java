package io.otellake.ingest;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The bound on memory for in-flight data: the request bytes (decompressed) that all requests, over both transports,
 * may hold at once. A request takes a {@link Reservation}, grows it as it reads, and closes it once answered.
 *
 * <p>Guarantee: the bytes reserved never exceed the limit, and the bytes of bodies still being read (through {@link
 * Reservation#reading}) never exceed the reading limit. A reservation that would is refused at once, never waited for,
 * so that the request is answered with a retryable "overloaded" status (HTTP 429, gRPC RESOURCE_EXHAUSTED with
 * RetryInfo) while the requests already admitted finish; a reservation that could not fit even in an idle budget
 * ({@link Reservation#couldFit}) is answered as too large instead (413, RESOURCE_EXHAUSTED without RetryInfo), since
 * retrying it cannot help. The reading limit keeps clients that send slowly, or stop halfway, from holding the whole
 * budget: the rest stays for requests that have arrived, over both transports.
 */
final class InFlightBudget {
    private final long limit;
    private final long readingLimit;
    private final AtomicLong reserved = new AtomicLong();
    private final AtomicLong reading = new AtomicLong();

    /** A budget whose bodies being read may hold all of it. */
    InFlightBudget(long limit) {
        this(limit, limit);
    }

    InFlightBudget(long limit, long readingLimit) {
        if (limit < 1 || readingLimit < 1 || readingLimit > limit) {
            throw new IllegalArgumentException(
                    "limits must be positive, the reading one at most the whole: " + limit + ", " + readingLimit);
        }
        this.limit = limit;
        this.readingLimit = readingLimit;
    }

    /**
     * The reading limit for a budget of {@code limit} and bodies of up to {@code maxBodyBytes}: half the budget, and
     * at least one body of the largest size (which must fit when ingest is idle).
     */
    static long readingLimit(long limit, long maxBodyBytes) {
        return Math.max(limit / 2, Math.min(limit, maxBodyBytes));
    }

    long limit() {
        return limit;
    }

    long readingLimit() {
        return readingLimit;
    }

    /** Bytes reserved now. */
    long reserved() {
        return reserved.get();
    }

    /** An empty reservation; close it when the request is answered. */
    Reservation reservation() {
        return new Reservation();
    }

    /** Bytes of bodies being read now. */
    long reading() {
        return reading.get();
    }

    private static boolean tryReserve(AtomicLong counter, long max, long bytes) {
        long now;
        do {
            now = counter.get();
            if (bytes > max - now) {
                return false;
            }
        } while (!counter.compareAndSet(now, now + bytes));
        return true;
    }

    /**
     * The bytes one request holds. Not thread-safe: one request is handled by one thread at a time (its connection's
     * event loop while its body arrives, then a worker).
     */
    final class Reservation implements AutoCloseable {
        private long held;
        private long readingHeld;
        private boolean closed;

        /** Reserves {@code bytes} more, or returns false (and reserves nothing more) if they do not fit. */
        boolean grow(long bytes) {
            if (closed) {
                throw new IllegalStateException("the reservation is closed");
            }
            if (!tryReserve(reserved, limit, bytes)) {
                return false;
            }
            held += bytes;
            return true;
        }

        /** {@link #grow} for bytes of a body still being read, which the reading limit bounds too. */
        boolean growReading(long bytes) {
            if (closed) {
                throw new IllegalStateException("the reservation is closed");
            }
            if (!tryReserve(reading, readingLimit, bytes)) {
                return false;
            }
            if (!grow(bytes)) {
                reading.addAndGet(-bytes);
                return false;
            }
            readingHeld += bytes;
            return true;
        }

        /** The body is read: its bytes stay reserved, but no longer count against the reading limit. */
        void doneReading() {
            reading.addAndGet(-readingHeld);
            readingHeld = 0;
        }

        long held() {
            return held;
        }

        /**
         * Whether {@code bytes} more would fit if this were the only reservation. When they would not, waiting for
         * other requests to finish cannot help: the request is too large (not retryable), not overloaded.
         */
        boolean couldFit(long bytes) {
            return bytes <= limit - held;
        }

        /** {@link #couldFit} for bytes of a body still being read, which the reading limit bounds too. */
        boolean couldFitReading(long bytes) {
            return couldFit(bytes) && bytes <= readingLimit - readingHeld;
        }

        /** Gives back {@code bytes} of what is held (not of what is being read), when they become garbage. */
        void release(long bytes) {
            if (bytes < 0 || bytes > held - readingHeld) {
                throw new IllegalArgumentException(
                        "cannot release " + bytes + " of " + (held - readingHeld) + " bytes");
            }
            reserved.addAndGet(-bytes);
            held -= bytes;
        }

        /**
         * Wraps a stream so that every byte read from it, up to {@code cap}, is reserved as it is read; a read that does
         * not fit throws {@link OverBudget}, which says whether it could fit in an idle budget. Used where the size is
         * not known up front (chunked or compressed bodies). Bytes beyond the cap are not reserved: the caller reads at
         * most one chunk past its body limit, to refuse the body as too large (413), and that answer must not turn into
         * a retryable 429 when the budget equals the limit.
         */
        InputStream reading(InputStream in, long cap) {
            return new FilterInputStream(in) {
                private long read;

                @Override
                public int read() throws IOException {
                    int b = super.read();
                    if (b >= 0) {
                        reserve(1);
                    }
                    return b;
                }

                @Override
                public int read(byte[] buffer, int offset, int length) throws IOException {
                    int n = super.read(buffer, offset, length);
                    if (n > 0) {
                        reserve(n);
                    }
                    return n;
                }

                private void reserve(int n) throws OverBudget {
                    long counted = Math.max(0, Math.min(n, cap - read));
                    read += n;
                    if (counted > 0 && !growReading(counted)) {
                        throw new OverBudget(!couldFitReading(counted));
                    }
                }
            };
        }

        /** Gives back everything held. Idempotent. */
        @Override
        public void close() {
            if (!closed) {
                closed = true;
                doneReading();
                reserved.addAndGet(-held);
                held = 0;
            }
        }
    }

    /** Thrown by a {@link Reservation#reading} stream when the budget is exhausted. */
    static final class OverBudget extends IOException {
        private final boolean neverFits;

        OverBudget(boolean neverFits) {
            super(
                    neverFits
                            ? "the in-flight byte budget could not hold the request even if it were idle"
                            : "the in-flight byte budget is exhausted",
                    null);
            this.neverFits = neverFits;
        }

        /** Whether the read would not fit even if the budget were idle, so that retrying cannot help. */
        boolean neverFits() {
            return neverFits;
        }
    }
}
