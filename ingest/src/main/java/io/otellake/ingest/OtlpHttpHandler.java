package io.otellake.ingest;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.netty.buffer.ByteBuf;
import io.otellake.schemas.TenantId;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.zip.ZipException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /v1/traces}, {@code /v1/logs} or {@code /v1/metrics} (OTLP/HTTP, binary protobuf or JSON, plain or with
 * {@code Content-Encoding: gzip}): makes one {@link HttpCall} per request for the {@link OtlpHttpServer}.
 *
 * <p>Guarantee: 200 means the request's valid items are in Kafka, acknowledged by all in-sync replicas, as protobuf
 * with the tenant header (one record per trace, or per log or metric request; see {@link ExportReceiver}); a request
 * with no valid items is answered 200 and not written. When some items were invalid, the 200 carries {@code
 * partial_success} with their number and the reason (they are not written, and retrying them will not help). Any other
 * answer means the request was not taken: 400/401/403/408/413/415 never will be as sent (do not retry), 429 (the
 * in-flight byte budget is exhausted, or every worker is busy and their queue full) and 503 (Kafka did not acknowledge
 * in time, or ingest is stopping) may be later (retry, after {@code Retry-After}). Errors once the encoding is known
 * carry a {@code google.rpc.Status} in that encoding, as the OTLP specification asks; earlier ones (404, 405, 415) are
 * text.
 *
 * <p>The body limit applies to the decompressed body, counted while decompressing: a gzip bomb costs at most the limit
 * in memory before it is refused with 413. The room for a body is reserved in the shared {@link InFlightBudget} as it
 * is allocated, piece by piece, so the bound holds for chunked bodies of unknown length and for clients that declare a
 * large body and send it slowly; a request that does not fit is answered 429 at once, or 413 (without Retry-After)
 * when it could not fit even in an idle budget (a gzip body is held compressed and decompressed together, a chunked
 * body in its room and its exact copy), and its reservation is given back as soon as its answer is built.
 */
final class OtlpHttpHandler {
    static final String TENANT_HEADER = TenantAccess.TENANT_HEADER;
    static final int RETRY_AFTER_SECONDS = 5;
    /** Overload passes as soon as admitted requests are answered, so clients may come back sooner than from an outage. */
    static final int OVERLOADED_RETRY_AFTER_SECONDS = 1;

    static final String BUSY = "every OTLP/HTTP worker is busy and their queue is full; retry later";

    private static final Logger LOG = LoggerFactory.getLogger(OtlpHttpHandler.class);
    private static final byte[] EMPTY_JSON_RESPONSE = "{}".getBytes(StandardCharsets.UTF_8);
    private static final JsonFormat.Printer JSON_PRINTER = JsonFormat.printer().omittingInsignificantWhitespace();
    /**
     * The first room for a body (or the declared length, if smaller); it doubles as the body arrives, up to the
     * declared length or the limit. Small, so that connections that send a few bytes and stall reserve little.
     */
    private static final int FIRST_BUFFER_BYTES = 4 * 1024;

    private final OtlpSignal signal;
    private final int maxBodyBytes;
    private final long maxWaitNanos;
    private final ExportReceiver receiver;
    private final RequestGate gate;
    private final TenantAccess access;

    OtlpHttpHandler(ExportReceiver receiver, RequestGate gate, TenantAccess access, Duration maxWait) {
        this.access = access;
        this.signal = receiver.signal();
        this.maxBodyBytes = receiver.maxBodyBytes();
        this.maxWaitNanos = maxWait.toNanos();
        this.receiver = receiver;
        this.gate = gate;
    }

    /** Starts handling a request to this signal's path; what is wrong with its head is answered at once. */
    HttpCall call(HttpHead head) {
        // The request leaves the gate only once its answer is sent (done): shutdown waits for the gate to empty and
        // then closes every connection, so leaving before the answer is written would cut it off.
        boolean admitted = gate.tryEnter();
        Export export = new Export(admitted);
        try {
            export.early = answer(head, admitted, export);
        } catch (RuntimeException e) {
            LOG.error("Bug: unexpected failure handling {} {}", head.method(), signal.path(), e);
            export.early = Reply.internalError();
        }
        return export;
    }

    private @Nullable Reply answer(HttpHead head, boolean admitted, Export export) {
        String path = head.path();
        if (!signal.path().equals(path)) {
            return NotFoundHandler.reply(path);
        }
        if (!"POST".equals(head.method())) {
            return Reply.text(405, head.method() + " is not allowed on " + path + "; use POST")
                    .withHeader("Allow", "POST");
        }
        List<String> contentTypes = head.all("Content-Type");
        if (contentTypes.size() > 1) {
            return Reply.text(
                    415,
                    "Content-Type must be sent once, application/x-protobuf or application/json; got "
                            + contentTypes.stream().map(t -> "'" + t + "'").collect(Collectors.joining(", ")));
        }
        String contentType = contentTypes.isEmpty() ? null : contentTypes.get(0);
        Optional<OtlpEncoding> encoding = OtlpEncoding.fromContentType(contentType);
        if (encoding.isEmpty()) {
            return Reply.text(
                    415,
                    "Content-Type must be application/x-protobuf or application/json (UTF-8); got "
                            + (contentType == null ? "none" : "'" + contentType + "'"));
        }
        export.encoding = encoding.get();
        // RFC 9110, section 5.3: several lines of a field are one list, as if joined by commas on one line; section
        // 5.6.1.2: empty items of a list are ignored.
        List<String> contentEncodings = head.all("Content-Encoding");
        String contentEncoding = contentEncodings.isEmpty() ? null : String.join(", ", contentEncodings);
        List<String> codings = contentEncoding == null
                ? List.of()
                : Arrays.stream(contentEncoding.split(","))
                        .map(c -> c.strip().toLowerCase(Locale.ROOT))
                        .filter(c -> !c.isEmpty() && !c.equals("identity")) // identity: no coding at all
                        .map(c -> c.equals("x-gzip") ? "gzip" : c) // section 8.4.1.3: x-gzip is gzip
                        .toList();
        String coding = codings.isEmpty() ? "identity" : codings.size() == 1 ? codings.get(0) : contentEncoding;
        if (!coding.equals("identity") && !coding.equals("gzip")) {
            return rejected(
                    encoding.get(),
                    415,
                    "Content-Encoding '" + contentEncoding + "' is not supported; send gzip or identity");
        }
        export.gzip = coding.equals("gzip");
        if (!admitted) {
            return rejected(encoding.get(), 503, OtlpHttpServer.STOPPING)
                    .withHeader("Retry-After", Integer.toString(RETRY_AFTER_SECONDS))
                    .withHeader("Connection", "close");
        }
        try {
            export.tenant = tenant(head, encoding.get());
            export.expected = declaredLength(head, encoding.get());
        } catch (Rejection r) {
            return r.reply;
        }
        export.held = receiver.budget().reservation();
        return null;
    }

    /**
     * One export request: its body is read into one array, every byte reserved in the {@link InFlightBudget} as it
     * arrives (so the bound holds for chunked bodies of unknown length too), then decompressed, decoded and written on
     * a worker thread. The body limit applies to the decompressed body, counted while decompressing: a gzip bomb
     * costs at most the limit in memory before it is refused with 413. The compressed body must fit the limit too.
     */
    private final class Export implements HttpCall {
        private final boolean admitted;
        private final long started = System.nanoTime();
        private @Nullable Reply early;
        private @Nullable OtlpEncoding encoding;
        private boolean gzip;
        private @Nullable TenantId tenant;
        private long expected = -1;
        private InFlightBudget.@Nullable Reservation held;
        private byte[] received = new byte[0];
        private int length;

        Export(boolean admitted) {
            this.admitted = admitted;
        }

        @Override
        public @Nullable Reply early() {
            return early;
        }

        @Override
        public @Nullable Reply body(ByteBuf piece, boolean last) {
            int n = piece.readableBytes();
            if (n > maxBodyBytes - length) {
                return tooLargeReply(
                        encoding,
                        tooLarge("more than " + maxBodyBytes + " bytes" + (gzip ? " before decompression" : "")));
            }
            if (n > 0) {
                if (length + n > received.length && !grow(length + n)) {
                    return overloaded(encoding).reply;
                }
                piece.readBytes(received, length, n);
                length += n;
            }
            if (last) {
                held.doneReading();
            }
            return null;
        }

        /**
         * Makes room for at least {@code needed} bytes, reserving the whole room (not only the bytes received), so
         * that what a slow client makes ingest allocate is what the budget counts. The room doubles from {@link
         * #FIRST_BUFFER_BYTES}, never beyond the declared length or the limit: a client that declares a large body
         * and sends a byte gets a small array.
         */
        private boolean grow(int needed) {
            long cap = expected >= 0 ? expected : maxBodyBytes;
            long room = Math.min(cap, Math.max(needed, Math.max(FIRST_BUFFER_BYTES, 2L * received.length)));
            if (!held.growReading(room - received.length)) {
                return false;
            }
            received = Arrays.copyOf(received, (int) room);
            return true;
        }

        @Override
        public Reply finish(long waitedNanos) {
            try {
                if (waitedNanos > maxWaitNanos) {
                    return busy();
                }
                return export();
            } catch (Rejection r) {
                return r.reply;
            } catch (RuntimeException e) {
                LOG.error("Bug: unexpected failure handling POST {}", signal.path(), e);
                return Reply.internalError();
            } finally {
                // The body and what decoding it took are garbage once the answer is built: the budget is given back
                // now, not when a client that reads slowly has taken the whole answer.
                received = new byte[0];
                held.close();
            }
        }

        private Reply export() throws Rejection {
            byte[] body = received;
            if (length < received.length) {
                // a chunked body's room was larger than the body: an exact copy, reserved while both exist
                int room = received.length;
                if (!held.grow(length)) {
                    if (!held.couldFit(length)) {
                        throw new Rejection(refused(
                                encoding,
                                receiver.neverFits(
                                        (long) room + length,
                                        "copying the body out of the room it arrived in",
                                        "a chunked body's room and its copy are held together")));
                    }
                    throw overloaded(encoding);
                }
                body = Arrays.copyOf(received, length);
                received = body;
                held.release(room);
            }
            if (gzip) {
                // Both the compressed and the decompressed body are held while it is inflated, and both are counted;
                // the compressed one is garbage afterwards.
                byte[] inflated = inflate(body);
                received = inflated;
                held.release(body.length);
                body = inflated;
            }
            OtlpSignal.DecodedExport accepted;
            try {
                accepted = receiver.receive("http", tenant, encoding, body, held);
            } catch (ExportRefusal e) {
                throw new Rejection(refused(encoding, e));
            }
            Message response = signal.response(accepted.rejected(), accepted.rejectionMessage());
            if (encoding == OtlpEncoding.PROTOBUF) {
                return new Reply(200, encoding.mediaType(), response.toByteArray());
            }
            if (accepted.rejected() == 0) {
                return new Reply(200, encoding.mediaType(), EMPTY_JSON_RESPONSE);
            }
            try {
                return new Reply(
                        200, encoding.mediaType(), JSON_PRINTER.print(response).getBytes(StandardCharsets.UTF_8));
            } catch (InvalidProtocolBufferException e) {
                throw new IllegalStateException("cannot print an OTLP response as JSON", e);
            }
        }

        /**
         * Decompresses at most one byte more than the limit, so that a body that inflates beyond it (a gzip bomb) is
         * refused after at most the limit was held, however well it compresses. The decompressed bytes are reserved as
         * they are read, beside the compressed ones: when they do not fit, the answer is 413 if they could not fit even
         * in an idle budget (retrying cannot help), else 429.
         */
        private byte[] inflate(byte[] compressed) throws Rejection {
            byte[] body;
            StrictGzipInputStream gzipped = new StrictGzipInputStream(new ByteArrayInputStream(compressed));
            try {
                InputStream in = held.reading(gzipped, maxBodyBytes);
                body = in.readNBytes(maxBodyBytes + 1);
            } catch (InFlightBudget.OverBudget e) {
                if (e.neverFits()) {
                    // Retrying cannot help: 413, as for a decoded request that could not fit (ExportReceiver).
                    throw new Rejection(refused(
                            encoding,
                            new ExportRefusal(
                                    ExportRefusal.Kind.TOO_LARGE,
                                    "decompressing the body would take more than ingest's in-flight limit of "
                                            + ExportReceiver.mebibytes(
                                                    receiver.budget().limit())
                                            + " MiB of memory (its compressed bytes are held until it is"
                                            + " decompressed): send smaller batches")));
                }
                throw overloaded(encoding);
            } catch (EOFException e) {
                throw new Rejection(rejected(encoding, 400, "the gzip body ends too early"));
            } catch (ZipException e) {
                throw new Rejection(rejected(encoding, 400, "the body is not valid gzip: " + e.getMessage()));
            } catch (IOException e) {
                throw new Rejection(rejected(encoding, 400, "could not read the body: " + e.getMessage()));
            } finally {
                gzipped.end(); // its native memory now, not when a collector finds it
                held.doneReading();
            }
            if (body.length > maxBodyBytes) {
                throw new Rejection(
                        tooLargeReply(encoding, tooLarge("more than " + maxBodyBytes + " bytes after decompression")));
            }
            return body;
        }

        @Override
        public Reply busy() {
            receiver.metrics().refused(signal, "http", ExportRefusal.Kind.OVERLOADED);
            return refused(encoding, new ExportRefusal(ExportRefusal.Kind.OVERLOADED, BUSY));
        }

        @Override
        public Reply failed(int status, String message) {
            return encoding == null ? Reply.text(status, message) : rejected(encoding, status, message);
        }

        @Override
        public void done(int status) {
            received = new byte[0];
            if (held != null) {
                held.close();
            }
            if (admitted) {
                gate.exit();
            }
            if (status > 0) {
                receiver.metrics().answered(signal, "http", Integer.toString(status), System.nanoTime() - started);
            }
        }
    }

    private static Reply refused(OtlpEncoding encoding, ExportRefusal e) {
        return switch (e.kind()) {
            case MALFORMED -> rejected(encoding, 400, e.getMessage());
            case UNAUTHENTICATED ->
                rejected(encoding, 401, e.getMessage()).withHeader("WWW-Authenticate", "Bearer realm=\"otel-lake\"");
            case FORBIDDEN -> rejected(encoding, 403, e.getMessage());
            case TOO_LARGE -> rejected(encoding, 413, e.getMessage());
            case OVERLOADED ->
                rejected(encoding, 429, e.getMessage())
                        .withHeader("Retry-After", Integer.toString(OVERLOADED_RETRY_AFTER_SECONDS));
            case UNAVAILABLE ->
                rejected(encoding, 503, e.getMessage())
                        .withHeader("Retry-After", Integer.toString(RETRY_AFTER_SECONDS));
        };
    }

    private TenantId tenant(HttpHead head, OtlpEncoding encoding) throws Rejection {
        try {
            return access.tenant(head.all(TENANT_HEADER), head.all("Authorization"));
        } catch (ExportRefusal e) {
            receiver.metrics().refused(signal, "http", e.kind());
            throw new Rejection(refused(encoding, e));
        }
    }

    /** The budget cannot hold the body: counted, and answered 429 with Retry-After. */
    private Rejection overloaded(OtlpEncoding encoding) {
        receiver.metrics().refused(signal, "http", ExportRefusal.Kind.OVERLOADED);
        return new Rejection(
                refused(encoding, new ExportRefusal(ExportRefusal.Kind.OVERLOADED, receiver.overloadedMessage())));
    }

    /**
     * The declared Content-Length, or -1 for a chunked body; one over the limit is refused before reading (compressed
     * bodies must fit it too). The HTTP codec has checked that it is a number.
     */
    private long declaredLength(HttpHead head, OtlpEncoding encoding) throws Rejection {
        String declared = head.first("Content-Length");
        if (declared == null) {
            return -1;
        }
        long length;
        try {
            length = Long.parseLong(declared.strip());
        } catch (NumberFormatException e) {
            throw new Rejection(rejected(encoding, 400, "Content-Length is not a number: '" + declared + "'"));
        }
        if (length > maxBodyBytes) {
            throw new Rejection(tooLargeReply(encoding, tooLarge(length + " bytes")));
        }
        return length;
    }

    private String tooLarge(String size) {
        return "the body is " + size + "; the limit is " + maxBodyBytes + " bytes: send smaller batches";
    }

    /** The rest of the body may stay unread, so the connection is not reused. */
    private static Reply tooLargeReply(OtlpEncoding encoding, String message) {
        return rejected(encoding, 413, message).withHeader("Connection", "close");
    }

    private static Reply rejected(OtlpEncoding encoding, int status, String message) {
        LOG.debug("Answering {}: {}", status, message);
        return Reply.error(encoding, status, message);
    }

    /** Ends a request early with an answer. */
    private static final class Rejection extends Exception {
        final transient Reply reply;

        Rejection(Reply reply) {
            super(null, null, false, false);
            this.reply = reply;
        }
    }
}
