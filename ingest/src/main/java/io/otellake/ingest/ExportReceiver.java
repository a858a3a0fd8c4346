package io.otellake.ingest;

import com.google.protobuf.Message;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.otellake.schemas.TenantId;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The part of an export that does not depend on the transport: decode the body, drop invalid items, write the rest to
 * the signal's topic and wait for Kafka's acknowledgement. OTLP/HTTP and OTLP/gRPC both call it, so they agree on
 * every outcome.
 *
 * <p>Guarantee: {@link #receive} returns only after the valid items are in Kafka (none is written when there are no
 * valid items): a trace request as one record per trace id, keyed by it ({@link TraceRecords}); a log or metric
 * request as one record without a key. Trace and log requests are redacted first, by the tenant's policy
 * ({@link Redactor}). A protobuf request from which nothing was dropped or redacted is written as the client's bytes,
 * not re-encoded (a trace request split by trace id, its spans copied as bytes); when the tenant's redaction is off it
 * is not even decoded, only checked as bytes ({@link WireCheck}); a request that is decoded first reserves what its
 * decoding may take in the in-flight budget ({@link DecodeCost}), and a trace request of several traces reserves its
 * records' copies of resources and scopes. When it throws, the request was not acknowledged
 * as a whole, although some of its records may be in Kafka; the client retries, so delivery is at least once.
 */
final class ExportReceiver {
    private static final Logger LOG = LoggerFactory.getLogger(ExportReceiver.class);
    private static final long WARN_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final OtlpSignal signal;
    private final String topic;
    private final int maxBodyBytes;
    private final KafkaPublisher publisher;
    private final IngestMetrics metrics;
    private final Redactor redactor;
    private final InFlightBudget budget;
    private final AtomicLong lastKafkaWarning = new AtomicLong(System.nanoTime() - WARN_INTERVAL_NANOS);

    ExportReceiver(
            OtlpSignal signal,
            String topic,
            int maxBodyBytes,
            KafkaPublisher publisher,
            IngestMetrics metrics,
            Redactor redactor,
            InFlightBudget budget) {
        this.redactor = redactor;
        this.budget = budget;
        this.signal = signal;
        this.topic = topic;
        this.maxBodyBytes = maxBodyBytes;
        this.publisher = publisher;
        this.metrics = metrics;
    }

    IngestMetrics metrics() {
        return metrics;
    }

    /** The in-flight byte budget, shared by every signal and both transports. */
    InFlightBudget budget() {
        return budget;
    }

    /** Why a request is refused when it does not fit in the {@link #budget()}. */
    String overloadedMessage() {
        return "ingest holds its limit of " + budget.limit() + " request bytes in flight; retry later";
    }

    OtlpSignal signal() {
        return signal;
    }

    int maxBodyBytes() {
        return maxBodyBytes;
    }

    /**
     * Takes one export request (already decompressed, and at most {@link #maxBodyBytes()} long).
     *
     * @return what was written, and what was rejected and why
     * @throws ExportRefusal if nothing was taken: the body is malformed, too large for Kafka, or Kafka did not
     *     acknowledge in time
     */
    OtlpSignal.DecodedExport receive(
            String transport, TenantId tenant, OtlpEncoding encoding, byte[] body, InFlightBudget.Reservation held)
            throws ExportRefusal {
        metrics.received(signal, transport, body.length);
        try {
            OtlpSignal.DecodedExport decoded = decodeAndPublish(transport, tenant, encoding, body, held);
            metrics.items(signal, tenant, decoded.items(), decoded.rejected());
            return decoded;
        } finally {
            metrics.released(body.length);
        }
    }

    private OtlpSignal.DecodedExport decodeAndPublish(
            String transport, TenantId tenant, OtlpEncoding encoding, byte[] body, InFlightBudget.Reservation held)
            throws ExportRefusal {
        if (encoding == OtlpEncoding.PROTOBUF && signal != OtlpSignal.METRICS && !redactor.redacts(tenant)) {
            // Nothing needs the decoded request: check the bytes and write them as they are. Decoding (every string
            // into a String) was ingest's largest cost. When the check is not sure, the request is decoded below.
            WireCheck.Checked checked = signal == OtlpSignal.TRACES ? WireCheck.traces(body) : WireCheck.logs(body);
            if (checked != null) {
                if (checked.items() > 0) {
                    publish(
                            tenant,
                            signal == OtlpSignal.TRACES
                                    ? records(transport, TraceRecords.plan(body, checked.traceIds()), held)
                                    : List.of(new KafkaPublisher.Payload(null, body)));
                }
                return new OtlpSignal.DecodedExport(null, checked.items(), 0, "");
            }
        }
        long decoding = reserveDecoding(transport, encoding, body, held);
        OtlpSignal.DecodedExport decoded;
        try {
            decoded = signal.decode(encoding, body);
        } catch (InvalidExportException e) {
            throw new ExportRefusal(ExportRefusal.Kind.MALFORMED, e.getMessage());
        }
        if (decoded.items() > 0) {
            Message checked = Objects.requireNonNull(decoded.request(), "decoded request");
            Message redacted;
            if (redactor.redacts(tenant)) {
                // The redacted request is a copy of the decoded one where anything was redacted, at most as large.
                reserve(transport, held, decoding, "redacting the request", "it is copied as it is redacted");
                redacted = redactor.redact(signal, tenant, checked);
                if (redacted == checked) {
                    held.release(decoding); // nothing was redacted, so nothing was copied
                }
            } else {
                redacted = redactor.redact(signal, tenant, checked);
            }
            decoded = new OtlpSignal.DecodedExport(
                    redacted, decoded.items(), decoded.rejected(), decoded.rejectionMessage());
            byte[] value;
            if (encoding == OtlpEncoding.PROTOBUF && decoded.rejected() == 0 && redacted == checked) {
                // Nothing was dropped or redacted (ExportChecks and Redactor return the same instance then): the body
                // is the request, and is written as received instead of being encoded again, which cost as much
                // CPU as parsing it. It is at most maxBodyBytes long.
                value = body;
            } else {
                int size = redacted.getSerializedSize();
                if (size > maxBodyBytes) {
                    // JSON's protobuf is almost always smaller than the JSON; this is the rare exception. A record of
                    // a split request is a part of the whole, so it is no larger.
                    throw new ExportRefusal(
                            ExportRefusal.Kind.TOO_LARGE,
                            "the request is " + size + " bytes as protobuf; the limit is " + maxBodyBytes
                                    + " bytes: send smaller batches");
                }
                reserve(transport, held, size, "encoding the request as protobuf for Kafka", "its protobuf is new");
                value = redacted.toByteArray();
            }
            List<KafkaPublisher.Payload> payloads = signal == OtlpSignal.TRACES
                    ? records(transport, TraceRecords.plan(value, (ExportTraceServiceRequest) redacted), held)
                    : List.of(new KafkaPublisher.Payload(null, value));
            publish(tenant, payloads);
        }
        return decoded;
    }

    /** Reserves the heap that decoding the body may take ({@link DecodeCost}) besides its bytes; returns it. */
    private long reserveDecoding(String transport, OtlpEncoding encoding, byte[] body, InFlightBudget.Reservation held)
            throws ExportRefusal {
        long decoding = DecodeCost.estimate(signal, encoding, body);
        reserve(transport, held, decoding, "decoding the request", "it holds many small values");
        return decoding;
    }

    /**
     * The records of a trace request, once their copies of resources and scopes are reserved: a request of many
     * traces under a large resource would otherwise turn a body within the limits into many times its size in heap
     * (and in Kafka).
     */
    private List<KafkaPublisher.Payload> records(
            String transport, TraceRecords.Split split, InFlightBudget.Reservation held) throws ExportRefusal {
        reserve(
                transport,
                held,
                split.heldBytes(),
                "writing the request as one Kafka record per trace id",
                "each of its " + split.traces() + " traces carries a copy of its resource and scope");
        return split.records();
    }

    /**
     * Reserves {@code bytes} more besides what the reservation holds (the body's bytes at least). What cannot fit even
     * in an idle budget is too large (not retryable); what does not fit now is overloaded (retryable), as a body that
     * does not fit is.
     */
    private void reserve(String transport, InFlightBudget.Reservation held, long bytes, String doing, String why)
            throws ExportRefusal {
        if (held.grow(bytes)) {
            return;
        }
        if (!held.couldFit(bytes)) {
            throw neverFits(held.held() + bytes, doing, why);
        }
        metrics.refused(signal, transport, ExportRefusal.Kind.OVERLOADED);
        throw new ExportRefusal(ExportRefusal.Kind.OVERLOADED, overloadedMessage());
    }

    /** The refusal of a request that needs {@code bytes} of the budget while {@code doing}, more than all of it. */
    ExportRefusal neverFits(long bytes, String doing, String why) {
        return new ExportRefusal(
                ExportRefusal.Kind.TOO_LARGE,
                doing + " would take about " + mebibytes(bytes)
                        + " MiB of memory, more than ingest's in-flight limit of " + mebibytes(budget.limit())
                        + " MiB (" + why + "): send smaller batches");
    }

    static String mebibytes(long bytes) {
        return String.format(Locale.ROOT, "%.1f", bytes / (1024.0 * 1024.0));
    }

    private void publish(TenantId tenant, List<KafkaPublisher.Payload> payloads) throws ExportRefusal {
        long start = System.nanoTime();
        try {
            publisher.publish(topic, tenant, payloads);
            metrics.produced(topic, true, System.nanoTime() - start);
        } catch (PublishException e) {
            metrics.produced(topic, false, System.nanoTime() - start);
            throw kafkaFailed(e);
        }
    }

    private ExportRefusal kafkaFailed(PublishException e) {
        if (e.kind() == PublishException.Kind.TOO_LARGE) {
            LOG.warn("{}", e.getMessage());
            return new ExportRefusal(
                    ExportRefusal.Kind.TOO_LARGE,
                    "the request is too large for Kafka's topic " + topic + ": send smaller batches");
        }
        long now = System.nanoTime();
        long last = lastKafkaWarning.get();
        if (now - last >= WARN_INTERVAL_NANOS && lastKafkaWarning.compareAndSet(last, now)) {
            LOG.warn("Answering unavailable: {} (logged at most every 10 s)", e.getMessage());
        } else {
            LOG.debug("Answering unavailable: {}", e.getMessage());
        }
        return new ExportRefusal(
                ExportRefusal.Kind.UNAVAILABLE, "Kafka did not acknowledge the request in time; retry later");
    }
}
