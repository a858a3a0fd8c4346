package io.otellake.archiver.bench;

import com.google.protobuf.ByteString;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import io.otellake.archiver.HourFile;
import io.otellake.archiver.ParquetFiles;
import io.otellake.schemas.FlatRow;
import io.otellake.schemas.LogFlattener;
import io.otellake.schemas.Signal;
import io.otellake.schemas.SpanFlattener;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.avro.generic.GenericRecord;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.io.LocalInputFile;

/**
 * The archiver's write path, measured: a command, not a test. Run it with
 *
 * <pre>./mvnw -B -q -Pbench -DskipTests -pl archiver -am verify</pre>
 *
 * <p>It builds realistic OTLP export requests of 512 spans or log records each (8 services, semantic-convention
 * attributes, random ids, ids inside URL paths, varied bodies with stack traces), then runs what the archiver does
 * with them between Kafka and S3 — decode and flatten (spans straight from the protobuf wire bytes, log records from
 * the parsed messages), sort, write zstd Parquet files of
 * {@code bench.rowsPerFile} rows — on one thread, and reports rows per CPU-second of that thread and the bytes per
 * row of the files next to the raw OTLP protobuf bytes of the same data. Uploading is left out: it is I/O, and the
 * local S3 server's CPU would be counted against the archiver's.
 */
public final class ArchiverBenchmark {
    static final String[] SERVICES = {
        "checkout", "cart", "payments", "search", "frontend", "inventory", "shipping", "auth"
    };
    static final String[] ROUTES = {
        "/api/cart/{id}", "/api/checkout", "/api/products/{id}", "/api/search", "/login", "/api/orders/{id}", "/health"
    };
    static final String[] WORDS = ("request completed failed retry timeout connection user order payment cache miss"
                    + " hit upstream downstream latency queue worker started stopped invalid token session expired")
            .split(" ");

    private ArchiverBenchmark() {}

    public static void main(String[] args) throws Exception {
        int requests = Integer.getInteger("bench.requests", 2000);
        int rowsPerFile = Integer.getInteger("bench.rowsPerFile", 256_000);
        SplittableRandom random = new SplittableRandom(7);
        Path dir = Files.createTempDirectory("otel-lake-archiver-bench");

        List<byte[]> traces = new ArrayList<>();
        List<byte[]> logs = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            traces.add(traceRequest(random).toByteArray());
            logs.add(logRequest(random).toByteArray());
        }
        // one warm-up pass over a tenth of the data, so the JIT has compiled the path being measured
        run(Signal.TRACES, traces.subList(0, requests / 10), rowsPerFile, dir);
        run(Signal.LOGS, logs.subList(0, requests / 10), rowsPerFile, dir);

        Result t = run(Signal.TRACES, traces, rowsPerFile, dir);
        Result l = run(Signal.LOGS, logs, rowsPerFile, dir);
        String report =
                "| signal | rows | rows per CPU-second | raw OTLP bytes/row | Parquet bytes/row | smaller by |\n"
                        + "|---|---|---|---|---|---|\n" + t.line("spans") + l.line("log records");
        System.out.println(report);
        Path out = Path.of("target", "archiver-bench.md");
        Files.createDirectories(out.getParent());
        Files.writeString(out, report);
        System.out.println("written to " + out.toAbsolutePath());
    }

    record Result(long rows, long rawBytes, long parquetBytes, long cpuNanos) {
        String line(String what) {
            return String.format(
                    "| %s | %,d | %,.0f | %.0f | %.1f | %.1fx |%n",
                    what,
                    rows,
                    rows / (cpuNanos / 1e9),
                    (double) rawBytes / rows,
                    (double) parquetBytes / rows,
                    (double) rawBytes / parquetBytes);
        }
    }

    static Result run(Signal signal, List<byte[]> requests, int rowsPerFile, Path dir) throws Exception {
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        long start = cpu.getCurrentThreadCpuTime();
        long rows = 0;
        long raw = 0;
        long parquet = 0;
        int file = 0;
        List<GenericRecord> batch = new ArrayList<>(rowsPerFile);
        for (byte[] request : requests) {
            raw += request.length;
            List<FlatRow> flat = signal == Signal.TRACES
                    ? SpanFlattener.flatten(request)
                    : LogFlattener.flatten(ExportLogsServiceRequest.parseFrom(request));
            for (FlatRow row : flat) {
                batch.add(row.record());
            }
            if (batch.size() >= rowsPerFile) {
                parquet += write(signal, batch, dir.resolve("f" + file++ + ".parquet"));
                rows += batch.size();
                batch.clear();
            }
        }
        if (!batch.isEmpty()) {
            parquet += write(signal, batch, dir.resolve("f" + file + ".parquet"));
            rows += batch.size();
        }
        return new Result(rows, raw, parquet, cpu.getCurrentThreadCpuTime() - start);
    }

    static long write(Signal signal, List<GenericRecord> rows, Path file) throws Exception {
        HourFile.sort(signal, rows); // the archiver's own reading order
        ParquetFiles.write(signal, rows, file);
        long size = Files.size(file);
        if (Boolean.getBoolean("bench.columns")) {
            printColumns(file, rows.size());
        }
        Files.delete(file);
        return size;
    }

    /** With {@code -Dbench.columns=true}: each column's compressed bytes per row (skews the CPU figures). */
    static void printColumns(Path file, int rows) throws Exception {
        try (ParquetFileReader reader = ParquetFileReader.open(new LocalInputFile(file))) {
            for (BlockMetaData block : reader.getFooter().getBlocks()) {
                for (ColumnChunkMetaData c : block.getColumns()) {
                    System.out.printf(
                            "%-55s %-30s %7.2f B/row%n",
                            c.getPath().toDotString(), c.getEncodings(), (double) c.getTotalSize() / rows);
                }
            }
        }
    }

    // --- data

    static KeyValue kv(String k, String v) {
        return KeyValue.newBuilder()
                .setKey(k)
                .setValue(AnyValue.newBuilder().setStringValue(v))
                .build();
    }

    static KeyValue kv(String k, long v) {
        return KeyValue.newBuilder()
                .setKey(k)
                .setValue(AnyValue.newBuilder().setIntValue(v))
                .build();
    }

    static ByteString id(SplittableRandom r, int bytes) {
        byte[] b = new byte[bytes];
        for (int i = 0; i < bytes; i++) {
            b[i] = (byte) r.nextInt(256);
        }
        return ByteString.copyFrom(b);
    }

    static Resource resource(SplittableRandom r, String service) {
        return Resource.newBuilder()
                .addAttributes(kv("service.name", service))
                .addAttributes(kv("service.version", "1." + r.nextInt(5) + ".0"))
                .addAttributes(kv("deployment.environment.name", "prod"))
                .addAttributes(kv("host.name", "node-" + r.nextInt(40)))
                .addAttributes(kv("k8s.pod.name", service + "-7d9f8-" + r.nextInt(1000)))
                .addAttributes(kv("telemetry.sdk.language", "java"))
                .build();
    }

    static ExportTraceServiceRequest traceRequest(SplittableRandom r) {
        String service = SERVICES[r.nextInt(SERVICES.length)];
        ScopeSpans.Builder scope = ScopeSpans.newBuilder()
                .setScope(InstrumentationScope.newBuilder()
                        .setName("io.opentelemetry.http")
                        .setVersion("2.3.0"));
        long now = 1_714_550_400_000_000_000L + r.nextLong(3_600_000_000_000L);
        while (scope.getSpansCount() < 512) {
            ByteString trace = id(r, 16);
            ByteString root = id(r, 8);
            int count = 2 + r.nextInt(8);
            for (int s = 0; s < count && scope.getSpansCount() < 512; s++) {
                long start = now + s * 1_000_000L;
                long duration = 200_000L + r.nextLong(900_000_000L);
                boolean error = r.nextInt(20) == 0;
                String route = ROUTES[r.nextInt(ROUTES.length)];
                Span.Builder span = Span.newBuilder()
                        .setTraceId(trace)
                        .setSpanId(s == 0 ? root : id(r, 8))
                        .setParentSpanId(s == 0 ? ByteString.EMPTY : root)
                        .setName((s == 0 ? "GET " : "SELECT ") + route)
                        .setKind(s == 0 ? Span.SpanKind.SPAN_KIND_SERVER : Span.SpanKind.SPAN_KIND_CLIENT)
                        .setStartTimeUnixNano(start)
                        .setEndTimeUnixNano(start + duration)
                        .setFlags(0x101)
                        .addAttributes(kv("http.request.method", "GET"))
                        .addAttributes(kv("http.route", route))
                        .addAttributes(kv("url.path", route.replace("{id}", Integer.toString(r.nextInt(1_000_000)))))
                        .addAttributes(kv("http.response.status_code", error ? 500 : 200))
                        .addAttributes(kv("server.address", service + ".svc.cluster.local"))
                        .addAttributes(kv("network.peer.port", 40000 + r.nextInt(20000)));
                if (error) {
                    span.setStatus(Status.newBuilder()
                            .setCode(Status.StatusCode.STATUS_CODE_ERROR)
                            .setMessage("upstream failed"));
                    span.addEvents(Span.Event.newBuilder()
                            .setName("exception")
                            .setTimeUnixNano(start + duration / 2)
                            .addAttributes(kv("exception.type", "java.net.SocketTimeoutException"))
                            .addAttributes(kv("exception.message", "Read timed out after " + r.nextInt(5000) + " ms")));
                }
                scope.addSpans(span);
            }
        }
        return ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .setResource(resource(r, service))
                        .setSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
                        .addScopeSpans(scope))
                .build();
    }

    static ExportLogsServiceRequest logRequest(SplittableRandom r) {
        String service = SERVICES[r.nextInt(SERVICES.length)];
        ScopeLogs.Builder scope = ScopeLogs.newBuilder()
                .setScope(InstrumentationScope.newBuilder().setName("io.example." + service));
        long now = 1_714_550_400_000_000_000L + r.nextLong(3_600_000_000_000L);
        for (int i = 0; i < 512; i++) {
            int severity = new int[] {9, 9, 9, 9, 9, 13, 13, 17, 5}[r.nextInt(9)];
            StringBuilder body = new StringBuilder();
            for (int w = 6 + r.nextInt(14); w > 0; w--) {
                body.append(WORDS[r.nextInt(WORDS.length)]).append(' ');
            }
            body.append("order=").append(r.nextInt(1_000_000)).append(" user=u").append(r.nextInt(100_000));
            if (severity == 17 && r.nextInt(3) == 0) {
                body.append("\njava.lang.IllegalStateException: payment ")
                        .append(r.nextInt(100_000))
                        .append(" declined\n\tat io.example.")
                        .append(service)
                        .append(".Handler.handle(Handler.java:")
                        .append(r.nextInt(400))
                        .append(")\n\tat io.example.Server.run(Server.java:88)\n\tat java.base/java.lang.Thread.run");
            }
            LogRecord.Builder log = LogRecord.newBuilder()
                    .setTimeUnixNano(now + i * 1_000_000L + r.nextInt(1_000_000))
                    .setObservedTimeUnixNano(now + i * 1_000_000L + 2_000_000L)
                    .setSeverityNumberValue(severity)
                    .setSeverityText(
                            severity >= 17 ? "ERROR" : severity >= 13 ? "WARN" : severity >= 9 ? "INFO" : "DEBUG")
                    .setBody(AnyValue.newBuilder().setStringValue(body.toString()))
                    .addAttributes(kv("http.route", ROUTES[r.nextInt(ROUTES.length)]))
                    .addAttributes(kv("thread.id", r.nextInt(200)));
            if (r.nextInt(3) > 0) {
                log.setTraceId(id(r, 16)).setSpanId(id(r, 8)).setFlags(1);
            }
            scope.addLogRecords(log);
        }
        return ExportLogsServiceRequest.newBuilder()
                .addResourceLogs(ResourceLogs.newBuilder()
                        .setResource(resource(r, service))
                        .addScopeLogs(scope))
                .build();
    }
}
