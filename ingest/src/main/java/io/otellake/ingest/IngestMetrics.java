package io.otellake.ingest;

import io.otellake.schemas.TenantId;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Ingest's metrics, kept in memory and written in the Prometheus text format (version 0.0.4) by {@link #scrape()};
 * {@code GET /metrics} serves them. Written by hand because the format is small and a metrics library would be a new
 * dependency for a dozen lines. Every name is listed in docs/operations.md.
 *
 * <p>Tenant labels are bounded: after {@link #MAX_TENANTS} distinct tenants, further ones are counted under
 * {@link #OTHER_TENANTS}, which no tenant id can be, so a client cannot grow the series without bound.
 */
final class IngestMetrics {
    static final int MAX_TENANTS = 1000;
    static final String OTHER_TENANTS = "~other";

    /** Seconds; the buckets of both latency histograms. */
    static final double[] BUCKETS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

    private final Map<String, LongAdder> itemsAccepted = new ConcurrentSkipListMap<>();
    private final Map<String, LongAdder> itemsRejected = new ConcurrentSkipListMap<>();
    private final Map<String, LongAdder> receivedBytes = new ConcurrentSkipListMap<>();
    private final Map<String, LongAdder> requests = new ConcurrentSkipListMap<>();
    private final Map<String, LongAdder> refused = new ConcurrentSkipListMap<>();
    private final Map<String, LongAdder> redactions = new ConcurrentSkipListMap<>();
    private final Map<String, Histogram> requestSeconds = new ConcurrentSkipListMap<>();
    private final Map<String, Histogram> kafkaSeconds = new ConcurrentSkipListMap<>();
    private final Map<String, Boolean> tenants = new ConcurrentHashMap<>();
    private final AtomicLong inFlightBytes = new AtomicLong();
    private final BooleanSupplier kafkaReachable;
    private volatile @Nullable InFlightBudget budget;
    private volatile @Nullable InFlightBudget heads;

    IngestMetrics(BooleanSupplier kafkaReachable) {
        this.kafkaReachable = kafkaReachable;
    }

    /** The budgets whose use {@link #scrape()} reports: requests', and OTLP/HTTP heads being read. */
    void watch(InFlightBudget budget, InFlightBudget heads) {
        this.budget = budget;
        this.heads = heads;
    }

    /** Items written to Kafka, and items dropped as invalid (answered with partial_success). */
    void items(OtlpSignal signal, TenantId tenant, int accepted, int rejected) {
        String labels = labels("signal", name(signal), "tenant", tenantLabel(tenant));
        add(itemsAccepted, labels, accepted);
        add(itemsRejected, labels, rejected);
    }

    /** A request body was read (decompressed): it is held until {@link #released(long)}. */
    void received(OtlpSignal signal, String transport, long bytes) {
        add(receivedBytes, labels("signal", name(signal), "transport", transport), bytes);
        inFlightBytes.addAndGet(bytes);
    }

    void released(long bytes) {
        inFlightBytes.addAndGet(-bytes);
    }

    /** A request was answered, with an HTTP status or a gRPC code. */
    void answered(OtlpSignal signal, String transport, String status, long nanos) {
        String labels = labels("signal", name(signal), "transport", transport, "status", status);
        add(requests, labels, 1);
        requestSeconds
                .computeIfAbsent(labels("signal", name(signal), "transport", transport), k -> new Histogram())
                .observe(nanos);
    }

    /**
     * A request was refused before it was decoded: no or an unknown token, a token for another tenant, a bad tenant
     * header, or no room in the in-flight byte budget ({@code overloaded}). The reason, not the tenant, is the label: an unauthenticated request has no tenant to trust.
     */
    void refused(OtlpSignal signal, String transport, ExportRefusal.Kind kind) {
        String reason =
                switch (kind) {
                    case UNAUTHENTICATED -> "unauthenticated";
                    case FORBIDDEN -> "forbidden";
                    case OVERLOADED -> "overloaded";
                    default -> "invalid_tenant";
                };
        add(refused, labels("signal", name(signal), "transport", transport, "reason", reason), 1);
    }

    /** Values (or parts of values) replaced by a redaction rule before writing. */
    void redacted(OtlpSignal signal, String rule, long n) {
        add(redactions, labels("signal", name(signal), "rule", rule), n);
    }

    /** A record was sent to Kafka and acknowledged (or not). */
    void produced(String topic, boolean acknowledged, long nanos) {
        kafkaSeconds
                .computeIfAbsent(
                        labels("topic", topic, "outcome", acknowledged ? "acknowledged" : "failed"),
                        k -> new Histogram())
                .observe(nanos);
    }

    long inFlightBytes() {
        return inFlightBytes.get();
    }

    /** Every metric, in the Prometheus text format. */
    String scrape() {
        StringBuilder out = new StringBuilder(4096);
        counter(
                out,
                "otel_lake_ingest_items_accepted_total",
                "Items (spans, log records, data points) written to" + " Kafka.",
                itemsAccepted);
        counter(
                out,
                "otel_lake_ingest_items_rejected_total",
                "Invalid items dropped and reported with" + " partial_success.",
                itemsRejected);
        counter(
                out,
                "otel_lake_ingest_received_bytes_total",
                "Request bytes received, after decompression.",
                receivedBytes);
        counter(out, "otel_lake_ingest_requests_total", "Export requests answered, by status.", requests);
        counter(
                out,
                "otel_lake_ingest_requests_refused_total",
                "Export requests refused for their credentials, their tenant, or the in-flight byte budget, by reason.",
                refused);
        counter(
                out,
                "otel_lake_ingest_redactions_total",
                "Values, or parts of values, replaced by a redaction rule before writing to Kafka.",
                redactions);
        histogram(
                out, "otel_lake_ingest_request_duration_seconds", "Time to answer an export request.", requestSeconds);
        histogram(
                out,
                "otel_lake_ingest_kafka_produce_duration_seconds",
                "Time from sending a record to Kafka to its" + " acknowledgement or failure.",
                kafkaSeconds);
        gauge(
                out,
                "otel_lake_ingest_in_flight_bytes",
                "Bytes of request bodies held by requests being handled.",
                inFlightBytes.get());
        InFlightBudget watched = budget;
        if (watched != null) {
            gauge(
                    out,
                    "otel_lake_ingest_budget_reserved_bytes",
                    "Bytes reserved in the in-flight budget now: bodies (and the room allocated for those still being"
                            + " read), decoding estimates, copies.",
                    watched.reserved());
            gauge(
                    out,
                    "otel_lake_ingest_budget_reading_bytes",
                    "Of the reserved bytes, those of OTLP/HTTP requests still being read, which may hold at most the"
                            + " reading limit.",
                    watched.reading());
        }
        InFlightBudget watchedHeads = heads;
        if (watchedHeads != null) {
            gauge(
                    out,
                    "otel_lake_ingest_head_budget_reserved_bytes",
                    "Bytes reserved for OTLP/HTTP request heads being read (32 per byte of head), of"
                            + " max(OTEL_LAKE_INGEST_MAX_IN_FLIGHT_BYTES / 8, 2 MiB).",
                    watchedHeads.reserved());
        }
        gauge(
                out,
                "otel_lake_ingest_kafka_reachable",
                "1 while the Kafka cluster answers, else 0.",
                kafkaReachable.getAsBoolean() ? 1 : 0);
        return out.toString();
    }

    private String tenantLabel(TenantId tenant) {
        String value = tenant.value();
        if (tenants.containsKey(value)) {
            return value;
        }
        if (tenants.size() >= MAX_TENANTS) {
            return OTHER_TENANTS;
        }
        tenants.putIfAbsent(value, Boolean.TRUE);
        return value;
    }

    private static String name(OtlpSignal signal) {
        return signal.name().toLowerCase(Locale.ROOT);
    }

    private static void add(Map<String, LongAdder> counters, String labels, long n) {
        if (n != 0) {
            counters.computeIfAbsent(labels, k -> new LongAdder()).add(n);
        }
    }

    /** {@code {a="x",b="y"}}; values are label-safe here (signals, transports, statuses, topics, tenant ids). */
    private static String labels(String... pairs) {
        StringBuilder s = new StringBuilder("{");
        for (int i = 0; i < pairs.length; i += 2) {
            if (i > 0) {
                s.append(',');
            }
            s.append(pairs[i]).append("=\"").append(pairs[i + 1]).append('"');
        }
        return s.append('}').toString();
    }

    private static void counter(StringBuilder out, String name, String help, Map<String, LongAdder> series) {
        header(out, name, help, "counter");
        series.forEach((labels, value) ->
                out.append(name).append(labels).append(' ').append(value.sum()).append('\n'));
    }

    private static void gauge(StringBuilder out, String name, String help, long value) {
        header(out, name, help, "gauge");
        out.append(name).append(' ').append(value).append('\n');
    }

    private static void histogram(StringBuilder out, String name, String help, Map<String, Histogram> series) {
        header(out, name, help, "histogram");
        series.forEach((labels, h) -> h.write(out, name, labels));
    }

    private static void header(StringBuilder out, String name, String help, String type) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    /** Non-cumulative bucket counts (the last one is +Inf), made cumulative when written. */
    private static final class Histogram {
        private final LongAdder[] buckets = new LongAdder[BUCKETS.length + 1];
        private final DoubleAdder sum = new DoubleAdder();

        Histogram() {
            for (int i = 0; i < buckets.length; i++) {
                buckets[i] = new LongAdder();
            }
        }

        void observe(long nanos) {
            double seconds = nanos / 1e9;
            int i = 0;
            while (i < BUCKETS.length && seconds > BUCKETS[i]) {
                i++;
            }
            buckets[i].increment();
            sum.add(seconds);
        }

        void write(StringBuilder out, String name, String labels) {
            String inner = labels.substring(1, labels.length() - 1);
            long cumulative = 0;
            for (int i = 0; i < buckets.length; i++) {
                cumulative += buckets[i].sum();
                String le = i < BUCKETS.length ? Double.toString(BUCKETS[i]) : "+Inf";
                out.append(name)
                        .append("_bucket{")
                        .append(inner)
                        .append(",le=\"")
                        .append(le)
                        .append("\"} ")
                        .append(cumulative)
                        .append('\n');
            }
            out.append(name)
                    .append("_sum")
                    .append(labels)
                    .append(' ')
                    .append(sum.sum())
                    .append('\n');
            out.append(name)
                    .append("_count")
                    .append(labels)
                    .append(' ')
                    .append(cumulative)
                    .append('\n');
        }
    }
}
