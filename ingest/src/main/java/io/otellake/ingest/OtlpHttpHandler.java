package io.otellake.ingest;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.otellake.schemas.TenantId;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /v1/traces} or {@code POST /v1/logs} (OTLP/HTTP, binary protobuf or JSON).
 *
 * <p>Guarantee: 200 means the request is in Kafka, acknowledged by all in-sync replicas, as one record of protobuf
 * with the tenant header; a request with no spans (or log records) is answered 200 and not written. Any other answer
 * means the request was not taken: 400/413/415 never will be (do not retry), 503 may be later (retry, after
 * {@code Retry-After}). Errors once the encoding is known carry a {@code google.rpc.Status} in that encoding, as the
 * OTLP specification asks; earlier ones (404, 405, 415) are text.
 */
final class OtlpHttpHandler implements HttpHandler {
    static final String TENANT_HEADER = "X-Scope-OrgID";
    static final int RETRY_AFTER_SECONDS = 5;

    private static final Logger LOG = LoggerFactory.getLogger(OtlpHttpHandler.class);
    private static final long WARN_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final byte[] EMPTY_JSON_RESPONSE = "{}".getBytes(StandardCharsets.UTF_8);

    private final OtlpSignal signal;
    private final String topic;
    private final int maxBodyBytes;
    private final KafkaPublisher publisher;
    private final RequestGate gate;
    private final AtomicLong lastKafkaWarning = new AtomicLong(System.nanoTime() - WARN_INTERVAL_NANOS);

    OtlpHttpHandler(OtlpSignal signal, String topic, int maxBodyBytes, KafkaPublisher publisher, RequestGate gate) {
        this.signal = signal;
        this.topic = topic;
        this.maxBodyBytes = maxBodyBytes;
        this.publisher = publisher;
        this.gate = gate;
    }

    @Override
    public void handle(HttpExchange exchange) {
        try (exchange) {
            Reply reply;
            try {
                reply = answer(exchange);
            } catch (RuntimeException e) {
                LOG.error("Bug: unexpected failure handling {} {}", exchange.getRequestMethod(), signal.path(), e);
                reply = Reply.text(500, "internal error in ingest; it has been logged");
            }
            reply.send(exchange);
        } catch (IOException e) {
            LOG.debug("Could not answer {} {}: the client went away", exchange.getRequestMethod(), signal.path(), e);
        }
    }

    private Reply answer(HttpExchange exchange) {
        String path = exchange.getRequestURI().getPath();
        if (!signal.path().equals(path)) {
            return NotFoundHandler.reply(path);
        }
        if (!"POST".equals(exchange.getRequestMethod())) {
            return Reply.text(405, exchange.getRequestMethod() + " is not allowed on " + path + "; use POST")
                    .withHeader("Allow", "POST");
        }
        Headers headers = exchange.getRequestHeaders();
        String contentType = headers.getFirst("Content-Type");
        Optional<OtlpEncoding> encoding = OtlpEncoding.fromContentType(contentType);
        if (encoding.isEmpty()) {
            return Reply.text(
                    415,
                    "Content-Type must be application/x-protobuf or application/json; got "
                            + (contentType == null ? "none" : "'" + contentType + "'"));
        }
        String contentEncoding = headers.getFirst("Content-Encoding");
        if (contentEncoding != null && !contentEncoding.strip().equalsIgnoreCase("identity")) {
            return rejected(
                    encoding.get(),
                    415,
                    "Content-Encoding '" + contentEncoding + "' is not supported; send the body uncompressed");
        }
        if (!gate.tryEnter()) {
            return rejected(encoding.get(), 503, "ingest is shutting down; retry against another instance")
                    .withHeader("Retry-After", Integer.toString(RETRY_AFTER_SECONDS))
                    .withHeader("Connection", "close");
        }
        try {
            return export(exchange, encoding.get());
        } catch (Rejection r) {
            return r.reply;
        } finally {
            gate.exit();
        }
    }

    private Reply export(HttpExchange exchange, OtlpEncoding encoding) throws Rejection {
        TenantId tenant = tenant(exchange.getRequestHeaders(), encoding);
        byte[] body = readBody(exchange, encoding);
        OtlpSignal.DecodedExport decoded;
        try {
            decoded = signal.decode(encoding, body);
        } catch (InvalidExportException e) {
            throw new Rejection(rejected(encoding, 400, e.getMessage()));
        }
        if (decoded.items() > 0) {
            byte[] value = decoded.request().toByteArray();
            if (value.length > maxBodyBytes) {
                throw new Rejection(rejected(encoding, 413, tooLarge(value.length + " bytes as protobuf")));
            }
            try {
                publisher.publish(topic, tenant, value);
            } catch (PublishException e) {
                throw new Rejection(kafkaFailed(encoding, e));
            }
        }
        return encoding == OtlpEncoding.PROTOBUF
                ? new Reply(200, encoding.mediaType(), signal.emptyResponse().toByteArray())
                : new Reply(200, encoding.mediaType(), EMPTY_JSON_RESPONSE);
    }

    private static TenantId tenant(Headers headers, OtlpEncoding encoding) throws Rejection {
        List<String> values = headers.get(TENANT_HEADER);
        if (values == null || values.isEmpty()) {
            return TenantId.DEFAULT;
        }
        if (values.size() > 1) {
            throw new Rejection(
                    rejected(encoding, 400, TENANT_HEADER + " must be sent once; got " + values.size() + " values"));
        }
        try {
            return TenantId.of(values.get(0).strip());
        } catch (IllegalArgumentException e) {
            throw new Rejection(rejected(encoding, 400, TENANT_HEADER + ": " + e.getMessage()));
        }
    }

    /** Reads at most one byte more than the limit, so an oversized body is refused without being held. */
    private byte[] readBody(HttpExchange exchange, OtlpEncoding encoding) throws Rejection {
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
        byte[] body;
        try {
            InputStream in = exchange.getRequestBody();
            body = in.readNBytes(maxBodyBytes + 1);
        } catch (IOException e) {
            throw new Rejection(rejected(encoding, 400, "could not read the body: " + e.getMessage()));
        }
        if (body.length > maxBodyBytes) {
            throw new Rejection(tooLargeReply(encoding, tooLarge("more than " + maxBodyBytes + " bytes")));
        }
        return body;
    }

    private String tooLarge(String size) {
        return "the body is " + size + "; the limit is " + maxBodyBytes + " bytes: send smaller batches";
    }

    /** The rest of the body may stay unread (see {@link Reply#send}), so the connection is not reused. */
    private static Reply tooLargeReply(OtlpEncoding encoding, String message) {
        return rejected(encoding, 413, message).withHeader("Connection", "close");
    }

    private Reply kafkaFailed(OtlpEncoding encoding, PublishException e) {
        if (e.kind() == PublishException.Kind.TOO_LARGE) {
            LOG.warn("{}", e.getMessage());
            return rejected(
                    encoding, 413, "the request is too large for Kafka's topic " + topic + ": send smaller batches");
        }
        long now = System.nanoTime();
        long last = lastKafkaWarning.get();
        if (now - last >= WARN_INTERVAL_NANOS && lastKafkaWarning.compareAndSet(last, now)) {
            LOG.warn("Answering 503: {} (logged at most every 10 s)", e.getMessage());
        } else {
            LOG.debug("Answering 503: {}", e.getMessage());
        }
        return rejected(encoding, 503, "Kafka did not acknowledge the request in time; retry later")
                .withHeader("Retry-After", Integer.toString(RETRY_AFTER_SECONDS));
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
