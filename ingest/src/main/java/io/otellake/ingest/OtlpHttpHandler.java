package io.otellake.ingest;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.otellake.schemas.TenantId;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.zip.ZipException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /v1/traces}, {@code /v1/logs} or {@code /v1/metrics} (OTLP/HTTP, binary protobuf or JSON, plain or with
 * {@code Content-Encoding: gzip}).
 *
 * <p>Guarantee: 200 means the request's valid items are in Kafka, acknowledged by all in-sync replicas, as protobuf
 * with the tenant header (one record per trace, or per log or metric request; see {@link ExportReceiver}); a request with no valid items is answered 200 and not written. When some items
 * were invalid, the 200 carries {@code partial_success} with their number and the reason (they are not written, and
 * retrying them will not help). Any other answer means the request was not taken: 400/401/403/413/415 never will be (do not retry),
 * 429 (the in-flight byte budget is exhausted, every connection thread is busy, or every slot for decoding and writing
 * is taken and its queue full) and 503 (Kafka did not acknowledge in time, or ingest is stopping) may
 * be later (retry, after {@code Retry-After}). Errors once the encoding is known carry a
 * {@code google.rpc.Status} in that encoding, as the OTLP specification asks; earlier ones (404, 405, 415) are text.
 *
 * <p>The body limit applies to the decompressed body, counted while decompressing: a gzip bomb costs at most the limit
 * in memory before it is refused with 413. Every byte read (after decompression) is first reserved in the shared
 * {@link InFlightBudget}, chunk by chunk, so the bound holds for chunked bodies of unknown length too; a request that
 * does not fit is answered 429 at once, and its reservation is given back when it is answered.
 */
final class OtlpHttpHandler implements HttpHandler {
    static final String TENANT_HEADER = TenantAccess.TENANT_HEADER;
    static final int RETRY_AFTER_SECONDS = 5;
    /** Overload passes as soon as admitted requests are answered, so clients may come back sooner than from an outage. */
    static final int OVERLOADED_RETRY_AFTER_SECONDS = 1;

    static final String BUSY = "every OTLP/HTTP thread is busy and its queue is full; retry later";
    static final String STOPPING = "ingest is shutting down; retry against another instance";

    private static final Logger LOG = LoggerFactory.getLogger(OtlpHttpHandler.class);
    private static final byte[] EMPTY_JSON_RESPONSE = "{}".getBytes(StandardCharsets.UTF_8);
    private static final JsonFormat.Printer JSON_PRINTER = JsonFormat.printer().omittingInsignificantWhitespace();

    private final OtlpSignal signal;
    private final int maxBodyBytes;
    private final ExportReceiver receiver;
    private final RequestGate gate;
    private final TenantAccess access;
    private final ExportSlots slots;

    OtlpHttpHandler(ExportReceiver receiver, RequestGate gate, TenantAccess access, ExportSlots slots) {
        this.access = access;
        this.slots = slots;
        this.signal = receiver.signal();
        this.maxBodyBytes = receiver.maxBodyBytes();
        this.receiver = receiver;
        this.gate = gate;
    }

    @Override
    public void handle(HttpExchange exchange) {
        // The request leaves the gate only once its answer is sent: shutdown waits for the gate to empty and then
        // closes every connection, so leaving before the answer is written would cut it off.
        boolean admitted = gate.tryEnter();
        try (exchange) {
            long start = System.nanoTime();
            Reply reply;
            try {
                reply = answer(exchange, admitted);
            } catch (RuntimeException e) {
                LOG.error("Bug: unexpected failure handling {} {}", exchange.getRequestMethod(), signal.path(), e);
                reply = Reply.text(500, "internal error in ingest; it has been logged");
            }
            reply.send(exchange);
            receiver.metrics().answered(signal, "http", Integer.toString(reply.status()), System.nanoTime() - start);
        } catch (IOException e) {
            LOG.debug("Could not answer {} {}: the client went away", exchange.getRequestMethod(), signal.path(), e);
        } finally {
            if (admitted) {
                gate.exit();
            }
        }
    }

    private Reply answer(HttpExchange exchange, boolean admitted) {
        String path = exchange.getRequestURI().getPath();
        if (!signal.path().equals(path)) {
            return NotFoundHandler.reply(path);
        }
        if (!"POST".equals(exchange.getRequestMethod())) {
            return Reply.text(405, exchange.getRequestMethod() + " is not allowed on " + path + "; use POST")
                    .withHeader("Allow", "POST");
        }
        Headers headers = exchange.getRequestHeaders();
        List<String> contentTypes = values(headers, "Content-Type");
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
                    "Content-Type must be application/x-protobuf or application/json; got "
                            + (contentType == null ? "none" : "'" + contentType + "'"));
        }
        // RFC 9110, section 5.3: several lines of a field are one list, as if joined by commas on one line; section
        // 5.6.1.2: empty items of a list are ignored.
        List<String> contentEncodings = values(headers, "Content-Encoding");
        String contentEncoding = contentEncodings.isEmpty() ? null : String.join(", ", contentEncodings);
        List<String> codings = contentEncoding == null
                ? List.of()
                : Arrays.stream(contentEncoding.split(","))
                        .map(c -> c.strip().toLowerCase(Locale.ROOT))
                        .filter(c -> !c.isEmpty())
                        .map(c -> c.equals("x-gzip") ? "gzip" : c) // section 8.4.1.3: x-gzip is gzip
                        .toList();
        String coding = codings.isEmpty() ? "identity" : codings.size() == 1 ? codings.get(0) : contentEncoding;
        if (!coding.equals("identity") && !coding.equals("gzip")) {
            return rejected(
                    encoding.get(),
                    415,
                    "Content-Encoding '" + contentEncoding + "' is not supported; send gzip or identity");
        }
        if (Thread.currentThread() instanceof Ingest.OverflowThread) {
            receiver.metrics().refused(signal, "http", ExportRefusal.Kind.OVERLOADED);
            return refused(
                            encoding.get(),
                            new ExportRefusal(
                                    ExportRefusal.Kind.OVERLOADED,
                                    "every OTLP/HTTP connection thread is busy; retry later"))
                    .withHeader("Connection", "close");
        }
        if (!admitted) {
            return rejected(encoding.get(), 503, STOPPING)
                    .withHeader("Retry-After", Integer.toString(RETRY_AFTER_SECONDS))
                    .withHeader("Connection", "close");
        }
        try {
            return export(exchange, encoding.get(), coding.equals("gzip"));
        } catch (Rejection r) {
            return r.reply;
        }
    }

    private Reply export(HttpExchange exchange, OtlpEncoding encoding, boolean gzip) throws Rejection {
        TenantId tenant = tenant(exchange.getRequestHeaders(), encoding);
        OtlpSignal.DecodedExport accepted;
        try (InFlightBudget.Reservation held = receiver.budget().reservation()) {
            byte[] body = gzip ? readGzipBody(exchange, encoding, held) : readBody(exchange, encoding, held);
            held.doneReading();
            if (!slots.tryEnter()) {
                if (slots.isClosed()) {
                    throw new ExportRefusal(ExportRefusal.Kind.UNAVAILABLE, STOPPING);
                }
                receiver.metrics().refused(signal, "http", ExportRefusal.Kind.OVERLOADED);
                throw new ExportRefusal(ExportRefusal.Kind.OVERLOADED, BUSY);
            }
            try {
                accepted = receiver.receive("http", tenant, encoding, body, held);
            } finally {
                slots.exit();
            }
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

    private TenantId tenant(Headers headers, OtlpEncoding encoding) throws Rejection {
        try {
            return access.tenant(values(headers, TENANT_HEADER), values(headers, "Authorization"));
        } catch (ExportRefusal e) {
            receiver.metrics().refused(signal, "http", e.kind());
            throw new Rejection(refused(encoding, e));
        }
    }

    private static List<String> values(Headers headers, String name) {
        List<String> values = headers.get(name);
        return values == null ? List.of() : values;
    }

    /** Reads at most one byte more than the limit, so an oversized body is refused without being held. */
    private byte[] readBody(HttpExchange exchange, OtlpEncoding encoding, InFlightBudget.Reservation held)
            throws Rejection {
        checkDeclaredLength(exchange, encoding);
        byte[] body;
        try {
            InputStream in = held.reading(exchange.getRequestBody(), maxBodyBytes);
            body = in.readNBytes(maxBodyBytes + 1);
        } catch (InFlightBudget.OverBudget e) {
            throw overloaded(encoding);
        } catch (IOException e) {
            throw new Rejection(rejected(encoding, 400, "could not read the body: " + e.getMessage()));
        }
        if (body.length > maxBodyBytes) {
            throw new Rejection(tooLargeReply(encoding, tooLarge("more than " + maxBodyBytes + " bytes")));
        }
        return body;
    }

    /**
     * Decompresses at most one byte more than the limit, so that a body that inflates beyond it (a gzip bomb) is
     * refused after at most the limit was held, however well it compresses.
     */
    private byte[] readGzipBody(HttpExchange exchange, OtlpEncoding encoding, InFlightBudget.Reservation held)
            throws Rejection {
        checkDeclaredLength(exchange, encoding);
        byte[] body;
        StrictGzipInputStream gzip = new StrictGzipInputStream(exchange.getRequestBody());
        try {
            InputStream in = held.reading(gzip, maxBodyBytes);
            body = in.readNBytes(maxBodyBytes + 1);
        } catch (InFlightBudget.OverBudget e) {
            throw overloaded(encoding);
        } catch (EOFException e) {
            throw new Rejection(rejected(encoding, 400, "the gzip body ends too early"));
        } catch (ZipException e) {
            throw new Rejection(rejected(encoding, 400, "the body is not valid gzip: " + e.getMessage()));
        } catch (IOException e) {
            throw new Rejection(rejected(encoding, 400, "could not read the body: " + e.getMessage()));
        } finally {
            gzip.end(); // its native memory now, not when a collector finds it; the exchange closes the body
        }
        if (body.length > maxBodyBytes) {
            throw new Rejection(
                    tooLargeReply(encoding, tooLarge("more than " + maxBodyBytes + " bytes after decompression")));
        }
        return body;
    }

    /** The budget cannot hold the body: counted, and answered 429 with Retry-After. */
    private Rejection overloaded(OtlpEncoding encoding) {
        receiver.metrics().refused(signal, "http", ExportRefusal.Kind.OVERLOADED);
        return new Rejection(
                refused(encoding, new ExportRefusal(ExportRefusal.Kind.OVERLOADED, receiver.overloadedMessage())));
    }

    /** A declared Content-Length over the limit is refused before reading (compressed bodies only grow). */
    private void checkDeclaredLength(HttpExchange exchange, OtlpEncoding encoding) throws Rejection {
        String declared = exchange.getRequestHeaders().getFirst("Content-Length");
        if (declared != null) {
            long length;
            try {
                length = Long.parseLong(declared.strip());
            } catch (NumberFormatException e) {
                throw new Rejection(rejected(encoding, 400, "Content-Length is not a number: '" + declared + "'"));
            }
            if (length > maxBodyBytes) {
                throw new Rejection(tooLargeReply(encoding, tooLarge(length + " bytes")));
            }
        }
    }

    private String tooLarge(String size) {
        return "the body is " + size + "; the limit is " + maxBodyBytes + " bytes: send smaller batches";
    }

    /** The rest of the body may stay unread (see {@link Reply#send}), so the connection is not reused. */
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
