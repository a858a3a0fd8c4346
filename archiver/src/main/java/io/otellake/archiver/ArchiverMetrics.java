package io.otellake.archiver;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;
import org.apache.kafka.common.TopicPartition;

/**
 * The archiver's metrics, kept in memory and written in the Prometheus text format (version 0.0.4) by {@link
 * #scrape()}; {@link #serve(int)} serves them at {@code GET /metrics}. Written by hand, as in ingest: the format is
 * small. Every name is listed in docs/operations.md. Tenant labels are capped at {@link #MAX_TENANTS}; further
 * tenants are counted under {@link #OTHER_TENANTS}, which no tenant id can be.
 */
final class ArchiverMetrics {
    static final int MAX_TENANTS = 1000;
    static final String OTHER_TENANTS = "~other";

    private final Map<String, LongAdder> rows = new ConcurrentSkipListMap<>();
    private final Map<String, LongAdder> files = new ConcurrentSkipListMap<>();
    private final Map<String, LongAdder> bytes = new ConcurrentSkipListMap<>();
    private final Map<String, LongAdder> deadLetters = new ConcurrentSkipListMap<>();
    private final Map<String, LongAdder> quarantined = new ConcurrentSkipListMap<>();
    private final Map<String, Long> lag = new ConcurrentSkipListMap<>();
    private final Map<String, LongAdder> expired = new ConcurrentSkipListMap<>();
    private final Map<String, LongAdder> maintenanceRuns = new ConcurrentSkipListMap<>();
    private final Map<String, LongAdder> compactedInputs = new ConcurrentSkipListMap<>();
    private final Map<String, LongAdder> compactedOutputs = new ConcurrentSkipListMap<>();
    private final Map<String, LongAdder> retentionObjects = new ConcurrentSkipListMap<>();
    private final Map<String, LongAdder> retentionBytes = new ConcurrentSkipListMap<>();
    private final Map<String, Boolean> tenants = new ConcurrentHashMap<>();
    private final LongAdder recoveredBatches = new LongAdder();
    private final LongAdder lostBatches = new LongAdder();
    private final LongAdder uploadNanos = new LongAdder();
    private final LongAdder uploads = new LongAdder();

    /** The {@code signal} label of trace index files, in the files and bytes counters. */
    static final String TRACE_INDEX = "trace_index";

    /** A Parquet file was uploaded to a tenant's hour partition or quarantine, in {@code nanos} (the PUT alone). */
    void uploaded(String signal, String tenant, long rowCount, long byteCount, long nanos) {
        String labels = "signal=\"" + signal + "\",tenant=\"" + tenantLabel(tenant) + "\"";
        add(rows, labels, rowCount);
        upload(labels, byteCount, nanos);
    }

    /**
     * A trace index file was uploaded beside a span file: counted in files and bytes (the lake's objects and storage)
     * under signal {@value #TRACE_INDEX}, and in the upload time, but not in rows, which count telemetry.
     */
    void uploadedIndex(String tenant, long byteCount, long nanos) {
        upload("signal=\"" + TRACE_INDEX + "\",tenant=\"" + tenantLabel(tenant) + "\"", byteCount, nanos);
    }

    private void upload(String labels, long byteCount, long nanos) {
        add(files, labels, 1);
        add(bytes, labels, byteCount);
        uploadNanos.add(nanos);
        uploads.increment();
    }

    void deadLettered(String topic) {
        add(deadLetters, "topic=\"" + topic + "\"", 1);
    }

    /** Why rows went to quarantine: the {@code reason} label. */
    static final String FUTURE = "future";

    static final String NO_TIME = "no_time";
    static final String PAST_RETENTION = "past_retention";

    void quarantined(String signal, String reason, long rowCount) {
        add(quarantined, "signal=\"" + signal + "\",reason=\"" + reason + "\"", rowCount);
    }

    void recovered() {
        recoveredBatches.increment();
    }

    void lostBatch() {
        lostBatches.increment();
    }

    /** Offsets of a partition whose records left Kafka before they were archived. */
    void expired(TopicPartition tp, long records) {
        add(expired, partitionLabels(tp), records);
    }

    /** Records of a partition in Kafka not archived and committed yet: its log end minus its committed offset. */
    void lag(TopicPartition tp, long records) {
        lag.put(partitionLabels(tp), records);
    }

    /** A compaction or retention pass ended, well or not. */
    void maintenanceRun(String task, boolean succeeded) {
        maintenanceRun(task, succeeded ? "ok" : "failed");
    }

    /** A compaction or retention pass ended: {@code ok}, {@code failed}, or {@code skipped} (another held the lease). */
    void maintenanceRun(String task, String outcome) {
        add(maintenanceRuns, "task=\"" + task + "\",outcome=\"" + outcome + "\"", 1);
    }

    /** {@code inputs} files of a signal (or {@code trace_index}) were merged into one. */
    void compacted(String kind, int inputs) {
        add(compactedInputs, "kind=\"" + kind + "\"", inputs);
        add(compactedOutputs, "kind=\"" + kind + "\"", 1);
    }

    /** Retention deleted objects of a signal (or {@code trace_index}). */
    void retained(String kind, long objects, long byteCount) {
        add(retentionObjects, "kind=\"" + kind + "\"", objects);
        add(retentionBytes, "kind=\"" + kind + "\"", byteCount);
    }

    void forget(TopicPartition tp) {
        lag.remove(partitionLabels(tp));
    }

    String scrape() {
        StringBuilder out = new StringBuilder();
        family(out, "otel_lake_archiver_rows_total", "counter", "rows written to Parquet files on S3", rows);
        family(
                out,
                "otel_lake_archiver_files_total",
                "counter",
                "Parquet files uploaded to S3, trace index files under signal trace_index",
                files);
        family(
                out,
                "otel_lake_archiver_bytes_total",
                "counter",
                "bytes of Parquet files uploaded to S3, trace index files under signal trace_index",
                bytes);
        family(
                out,
                "otel_lake_archiver_dead_letters_total",
                "counter",
                "records that could not be decoded or flattened, written to _deadletter",
                deadLetters);
        family(
                out,
                "otel_lake_archiver_quarantined_rows_total",
                "counter",
                "rows too far in the future, without any time, or of an hour already past the tenant's retention,"
                        + " written to _quarantine",
                quarantined);
        out.append(
                        "# HELP otel_lake_archiver_recovered_batches_total uncommitted batches found before consuming:"
                                + " deleted and consumed again, or kept when Kafka no longer had their records\n# TYPE otel_lake_archiver_recovered_batches_total counter\n")
                .append("otel_lake_archiver_recovered_batches_total ")
                .append(recoveredBatches.sum())
                .append('\n');
        out.append("# HELP otel_lake_archiver_lost_batches_total batches dropped uncommitted because the consumer group"
                        + " had given their partitions to another archiver\n"
                        + "# TYPE otel_lake_archiver_lost_batches_total counter\n")
                .append("otel_lake_archiver_lost_batches_total ")
                .append(lostBatches.sum())
                .append('\n');
        family(
                out,
                "otel_lake_archiver_records_expired_total",
                "counter",
                "offsets whose records left Kafka (its retention) before they were archived: lost",
                expired);
        out.append("# HELP otel_lake_archiver_upload_seconds time of the S3 upload of one Parquet file (a signal's"
                        + " or a trace index file), without writing it\n"
                        + "# TYPE otel_lake_archiver_upload_seconds summary\n")
                .append("otel_lake_archiver_upload_seconds_sum ")
                .append(uploadNanos.sum() / 1e9)
                .append("\notel_lake_archiver_upload_seconds_count ")
                .append(uploads.sum())
                .append('\n');
        family(
                out,
                "otel_lake_archiver_maintenance_runs_total",
                "counter",
                "compaction and retention passes, by task and outcome",
                maintenanceRuns);
        family(
                out,
                "otel_lake_archiver_compacted_input_files_total",
                "counter",
                "small files merged away by compaction",
                compactedInputs);
        family(
                out,
                "otel_lake_archiver_compacted_output_files_total",
                "counter",
                "files written by compaction",
                compactedOutputs);
        family(
                out,
                "otel_lake_archiver_retention_deleted_objects_total",
                "counter",
                "objects deleted by retention",
                retentionObjects);
        family(
                out,
                "otel_lake_archiver_retention_deleted_bytes_total",
                "counter",
                "bytes deleted by retention",
                retentionBytes);
        out.append(
                "# HELP otel_lake_archiver_consumer_lag records in Kafka not yet archived and committed (log end minus"
                        + " committed offset), per Kafka partition\n"
                        + "# TYPE otel_lake_archiver_consumer_lag gauge\n");
        lag.forEach((labels, value) -> out.append("otel_lake_archiver_consumer_lag{")
                .append(labels)
                .append("} ")
                .append(value)
                .append('\n'));
        return out.toString();
    }

    /**
     * Serves {@code GET /metrics}, and {@code GET /health} (200 while {@code live}) and {@code GET /ready} (200 while
     * {@code ready}, else 503) for a supervisor's probes, on the port until the returned server is stopped.
     */
    HttpServer serve(int port, BooleanSupplier live, BooleanSupplier ready) {
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress(port), 0);
            server.createContext("/health", exchange -> probe(exchange, live.getAsBoolean(), "live", "stopped"));
            server.createContext("/ready", exchange -> probe(exchange, ready.getAsBoolean(), "ready", "not ready"));
            server.createContext("/metrics", exchange -> {
                try (exchange) {
                    byte[] body = scrape().getBytes(StandardCharsets.UTF_8);
                    exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
                    exchange.sendResponseHeaders(200, body.length);
                    try (OutputStream os = exchange.getResponseBody()) {
                        os.write(body);
                    }
                }
            });
            server.start();
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serve metrics on port " + port, e);
        }
    }

    private static void probe(HttpExchange exchange, boolean ok, String yes, String no) throws IOException {
        try (exchange) {
            byte[] body = ((ok ? yes : no) + "\n").getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
            exchange.sendResponseHeaders(ok ? 200 : 503, body.length);
            try (OutputStream os = exchange.getResponseBody()) {
                os.write(body);
            }
        }
    }

    private String tenantLabel(String tenant) {
        if (tenants.containsKey(tenant)) {
            return tenant;
        }
        if (tenants.size() >= MAX_TENANTS) {
            return OTHER_TENANTS;
        }
        tenants.putIfAbsent(tenant, Boolean.TRUE);
        return tenant;
    }

    private static String partitionLabels(TopicPartition tp) {
        return "topic=\"" + tp.topic() + "\",partition=\"" + tp.partition() + "\"";
    }

    private static void add(Map<String, LongAdder> map, String labels, long n) {
        map.computeIfAbsent(labels, k -> new LongAdder()).add(n);
    }

    private static void family(StringBuilder out, String name, String type, String help, Map<String, LongAdder> map) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
        map.forEach((labels, value) -> out.append(name)
                .append('{')
                .append(labels)
                .append("} ")
                .append(value.sum())
                .append('\n'));
    }
}
