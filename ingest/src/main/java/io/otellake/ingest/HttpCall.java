package io.otellake.ingest;

import io.netty.buffer.ByteBuf;
import org.jspecify.annotations.Nullable;

/**
 * One request on the OTLP/HTTP server ({@link OtlpHttpServer}), from its head to its answer. The server calls it on one
 * thread at a time: {@link #early()} first; when that is null, {@link #body} for each piece of the body as it arrives,
 * then {@link #finish} on a worker thread; and {@link #done} exactly once at the end, whatever happened.
 */
interface HttpCall {
    /** The answer decided from the head alone (the body is then read and dropped), or null to read the body. */
    @Nullable
    Reply early();

    /**
     * Takes the next piece of the body ({@code last} for the end of it, possibly empty); returns an answer to end the
     * call before the rest is read (too large, over the in-flight budget), or null.
     */
    @Nullable
    Reply body(ByteBuf piece, boolean last);

    /** The whole body is in: decodes it and writes it, on a worker thread; {@code waitedNanos} in the worker queue. */
    Reply finish(long waitedNanos);

    /** The answer when no worker could take the complete request: every worker busy and their queue full. */
    Reply busy();

    /** The answer when the request did not arrive in full in time, or arrived broken. */
    Reply failed(int status, String message);

    /** The answer with {@code status} was sent, or the connection went away first ({@code status} 0). */
    void done(int status);

    /** A call answered from its head: health, metrics, unknown paths, wrong methods. */
    static HttpCall answered(Reply reply) {
        return new HttpCall() {
            @Override
            public Reply early() {
                return reply;
            }

            @Override
            public @Nullable Reply body(ByteBuf piece, boolean last) {
                throw new IllegalStateException("answered from its head");
            }

            @Override
            public Reply finish(long waitedNanos) {
                throw new IllegalStateException("answered from its head");
            }

            @Override
            public Reply busy() {
                throw new IllegalStateException("answered from its head");
            }

            @Override
            public Reply failed(int status, String message) {
                return Reply.text(status, message);
            }

            @Override
            public void done(int status) {}
        };
    }
}
