package io.otellake.archiver.bench;

import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.otellake.archiver.ArchiverConfig;
import io.otellake.archiver.ParquetFiles;
import io.otellake.archiver.SortedRows;
import io.otellake.archiver.TraceIndex;
import io.otellake.schemas.FlatRow;
import io.otellake.schemas.LogFlattener;
import io.otellake.schemas.Signal;
import io.otellake.schemas.SpanFlattener;
import io.otellake.schemas.bench.BenchData;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
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
 * the parsed messages), sort, write zstd Parquet files of {@code bench.rowsPerFile} rows and, for spans, the trace
 * index file beside each — on one thread, and reports rows per CPU-second of that thread, rows per CPU-second of the
 * whole process (the thread plus the garbage collector's and the JIT compiler's threads, which the archiver pays for
 * as well; how much each took, from /proc), and the bytes per row of the files next to the raw OTLP protobuf bytes of
 * the same data. A third row measures spans shaped as the OpenTelemetry
 * Java agent exports them ({@link BenchData#agentTraceRequest}: the same traces with the agent's resource and its
 * instrumentations' attributes), because the ratio to OTLP depends on how many attributes a span carries. Uploading is left out: it is I/O, and the
 * local S3 server's CPU would be counted against the archiver's.
 */
public final class ArchiverBenchmark {
    private ArchiverBenchmark() {}

    public static void main(String[] args) throws Exception {
        int requests = Integer.getInteger("bench.requests", 2000);
        int rowsPerFile = Integer.getInteger("bench.rowsPerFile", 256_000);
        SplittableRandom random = new SplittableRandom(7);
        Path dir = Files.createTempDirectory("otel-lake-archiver-bench");

        // The requests wait outside the heap (about 1 GB for the three sets), and each is copied into a new array
        // when its turn comes, as the Kafka consumer hands the archiver each record's value: on the heap, the
        // collector would copy and compact them with the archiver's rows, a cost the archiver does not have.
        List<ByteBuffer> traces = new ArrayList<>();
        List<ByteBuffer> logs = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            traces.add(offHeap(BenchData.traceRequest(random).toByteArray()));
            logs.add(offHeap(BenchData.logRequest(random).toByteArray()));
        }
        // a stream of its own, so that adding this set did not move the lean set's figures
        SplittableRandom agentRandom = new SplittableRandom(11);
        List<ByteBuffer> agentTraces = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            agentTraces.add(offHeap(BenchData.agentTraceRequest(agentRandom).toByteArray()));
        }
        System.gc(); // the generator's garbage, before anything is measured
        // warm-up passes over a quarter of each set, so the JIT has compiled the path being measured
        int warmUp = requests / 4;
        run(Signal.TRACES, traces.subList(0, warmUp), rowsPerFile, dir);
        run(Signal.LOGS, logs.subList(0, warmUp), rowsPerFile, dir);
        run(Signal.TRACES, agentTraces.subList(0, warmUp), rowsPerFile, dir);

        Result t = run(Signal.TRACES, traces, rowsPerFile, dir);
        Result l = run(Signal.LOGS, logs, rowsPerFile, dir);
        Result a = run(Signal.TRACES, agentTraces, rowsPerFile, dir);
        String report = "| signal | rows | rows per CPU-second of the thread | rows per CPU-second of the process"
                + " | the same without the JIT compiler | CPU-seconds: thread, GC, JIT, rest"
                + " | raw OTLP bytes/row | Parquet bytes/row | trace index bytes/row | smaller by (with the index) |\n"
                + "|---|---|---|---|---|---|---|---|---|---|\n" + t.line("spans") + l.line("log records")
                + a.line("spans as the Java agent sends them");
        report += String.format(
                "%nJava %s, garbage collectors %s, max heap %d MiB%n",
                System.getProperty("java.version"),
                ManagementFactory.getGarbageCollectorMXBeans().stream()
                        .map(GarbageCollectorMXBean::getName)
                        .toList(),
                Runtime.getRuntime().maxMemory() >> 20);
        System.out.println(report);
        Path out = Path.of("target", "archiver-bench.md");
        Files.createDirectories(out.getParent());
        Files.writeString(out, report);
        System.out.println("written to " + out.toAbsolutePath());
    }

    /** {@code parquetBytes} are the data files, {@code indexBytes} the trace index files beside span files. */
    record Result(
            long rows,
            long rawBytes,
            long parquetBytes,
            long indexBytes,
            long cpuNanos,
            long processCpuNanos,
            double gcSeconds,
            double jitSeconds) {
        String line(String what) {
            double process = processCpuNanos / 1e9;
            double thread = cpuNanos / 1e9;
            return String.format(
                    "| %s | %,d | %,.0f | %,.0f | %,.0f | %.2f, %.2f, %.2f, %.2f | %.0f | %.1f | %.1f | %.1fx (%.1fx) |%n",
                    what,
                    rows,
                    rows / thread,
                    rows / process,
                    rows / (process - jitSeconds),
                    thread,
                    gcSeconds,
                    jitSeconds,
                    Math.max(0, process - thread - gcSeconds - jitSeconds),
                    (double) rawBytes / rows,
                    (double) parquetBytes / rows,
                    (double) indexBytes / rows,
                    (double) rawBytes / parquetBytes,
                    (double) rawBytes / (parquetBytes + indexBytes));
        }
    }

    private static ByteBuffer offHeap(byte[] bytes) {
        return ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
    }

    /**
     * Runs the archiver's write path over the requests, each a {@code byte[]} or a {@code ByteBuffer} (copied into a
     * new array when its turn comes, which is measured). {@code ArchiverAB} calls it with arrays.
     */
    static Result run(Signal signal, List<?> requests, int rowsPerFile, Path dir) throws Exception {
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        Map<String, Long> threadsStart = threadCpuByKind();
        long start = cpu.getCurrentThreadCpuTime();
        long processStart = os.getProcessCpuTime();
        long rows = 0;
        long raw = 0;
        long parquet = 0;
        long index = 0;
        int file = 0;
        SortedRows batch = new SortedRows(signal); // as an open file of the archiver holds its rows
        for (int i = 0; i < requests.size(); i++) {
            byte[] request;
            if (requests.get(i) instanceof ByteBuffer buffer) {
                request = new byte[buffer.remaining()];
                buffer.duplicate().get(request);
            } else {
                request = (byte[]) requests.get(i);
            }
            raw += request.length;
            List<FlatRow> flat = signal == Signal.TRACES
                    ? SpanFlattener.flatten(request)
                    : LogFlattener.flatten(ExportLogsServiceRequest.parseFrom(request));
            for (FlatRow row : flat) {
                batch.add(row.record());
            }
            if (batch.size() >= rowsPerFile || (i == requests.size() - 1 && batch.size() > 0)) {
                long[] sizes = write(signal, batch, dir.resolve("f" + file++ + ".parquet"));
                parquet += sizes[0];
                index += sizes[1];
                rows += batch.size();
                batch = new SortedRows(signal);
            }
        }
        long cpuNanos = cpu.getCurrentThreadCpuTime() - start;
        long processCpuNanos = os.getProcessCpuTime() - processStart;
        Map<String, Long> threadsEnd = threadCpuByKind();
        return new Result(
                rows,
                raw,
                parquet,
                index,
                cpuNanos,
                processCpuNanos,
                seconds(threadsStart, threadsEnd, "gc"),
                seconds(threadsStart, threadsEnd, "jit"));
    }

    private static double seconds(Map<String, Long> before, Map<String, Long> after, String kind) {
        return (after.getOrDefault(kind, 0L) - before.getOrDefault(kind, 0L)) / (double) CLOCK_TICKS;
    }

    /** Linux's USER_HZ, the unit of /proc's CPU times. */
    private static final int CLOCK_TICKS = 100;

    /**
     * CPU ticks used so far by the process's native threads, summed by kind (garbage collection: the collector's
     * threads and the VM thread that runs its pauses; JIT compilation; the rest), read from /proc; empty where there is
     * no /proc, and then the table shows 0 for both. Says where the CPU of the process beyond the measured thread goes.
     */
    static Map<String, Long> threadCpuByKind() {
        Map<String, Long> byKind = new TreeMap<>();
        Path tasks = Path.of("/proc/self/task");
        if (!Files.isDirectory(tasks)) {
            return byKind;
        }
        try (var stream = Files.list(tasks)) {
            for (Path task : stream.toList()) {
                String stat;
                try {
                    stat = Files.readString(task.resolve("stat"));
                } catch (java.io.IOException gone) {
                    continue; // the thread ended
                }
                String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]); // utime, stime
                String kind = name.startsWith("GC Thread") || name.startsWith("G1") || name.equals("VM Thread")
                        ? "gc"
                        : name.startsWith("C1 Compiler") || name.startsWith("C2 Compiler") ? "jit" : "other";
                byKind.merge(kind, ticks, Long::sum);
            }
        } catch (java.io.IOException e) {
            return Map.of();
        }
        return byKind;
    }

    /** Writes one file of the rows as the archiver does, and for spans its trace index; returns both sizes. */
    static long[] write(Signal signal, SortedRows sorted, Path file) throws Exception {
        ParquetFiles.write(
                sorted,
                file,
                ArchiverConfig.DEFAULT_ROW_GROUP_BYTES,
                Integer.getInteger("bench.zstdLevel", ParquetFiles.ZSTD_LEVEL));
        long size = Files.size(file);
        if (Boolean.getBoolean("bench.columns")) {
            printColumns(file, sorted.size());
        }
        Files.delete(file);
        if (signal != Signal.TRACES) {
            return new long[] {size, 0};
        }
        Path index = file.resolveSibling("index-" + file.getFileName());
        TraceIndex.write(sorted.traceIndexEntries(), index); // as the archiver does
        long indexSize = Files.size(index);
        if (Boolean.getBoolean("bench.columns")) {
            printColumns(index, sorted.size());
        }
        Files.delete(index);
        return new long[] {size, indexSize};
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
}
