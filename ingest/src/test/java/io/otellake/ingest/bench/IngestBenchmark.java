package io.otellake.ingest.bench;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.otellake.infra.ChildJvm;
import io.otellake.infra.KafkaBroker;
import io.otellake.infra.Ports;
import io.otellake.ingest.IngestConfig;
import io.otellake.ingest.IngestMain;
import io.otellake.schemas.bench.BenchData;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Ingest's throughput, latency and CPU cost, measured: a command, not a test. Run it with
 *
 * <pre>./mvnw -B -q -Pbench -DskipTests -pl ingest -am verify</pre>
 *
 * <p>It starts a real Kafka broker and ingest, each in a child JVM, pre-encodes {@code bench.requests} distinct
 * realistic export requests per signal ({@link BenchData}, 512 items each), and replays them over OTLP/HTTP (a raw
 * HTTP/1.1 keep-alive client) and OTLP/gRPC (a {@code byte[]} marshaller, so nothing is re-encoded) from
 * {@code bench.concurrency} streams, for {@code bench.duration} seconds per case after {@code bench.warmup} seconds
 * of warm-up. Only a 200 (gRPC: OK) counts as acknowledged. Afterwards it counts the spans or log records in the
 * records Kafka received during the case, which must be at least what was acknowledged. Ingest's CPU is read from
 * {@code /proc/<pid>/stat} of its JVM (all its threads, GC and JIT included).
 *
 * <p>Options (system properties): {@code bench.duration} (60), {@code bench.warmup} (10), {@code bench.concurrency}
 * (8), {@code bench.requests} (300), {@code bench.cases} ({@code http-traces,grpc-traces,http-logs,grpc-logs};
 * {@code json-traces} and {@code json-logs} send the same requests as OTLP/JSON over OTLP/HTTP),
 * {@code bench.ingestJvmOptions} ({@code -Xmx1g}; add e.g. {@code -XX:StartFlightRecording=filename=...} to profile).
 */
public final class IngestBenchmark {
    private static final long CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux

    private IngestBenchmark() {}

    public static void main(String[] args) throws Exception {
        int duration = Integer.getInteger("bench.duration", 60);
        int warmup = Integer.getInteger("bench.warmup", 10);
        int concurrency = Integer.getInteger("bench.concurrency", 8);
        int requests = Integer.getInteger("bench.requests", 300);
        List<String> cases = List.of(System.getProperty("bench.cases", "http-traces,grpc-traces,http-logs,grpc-logs")
                .split(","));
        String jvmOptions = System.getProperty("bench.ingestJvmOptions", "-Xmx1g");

        SplittableRandom random = new SplittableRandom(7);
        List<byte[]> traces = new ArrayList<>();
        List<byte[]> logs = new ArrayList<>();
        List<byte[]> jsonTraces = new ArrayList<>();
        List<byte[]> jsonLogs = new ArrayList<>();
        boolean json = cases.stream().anyMatch(c -> c.trim().startsWith("json-"));
        for (int i = 0; i < requests; i++) {
            ExportTraceServiceRequest traceRequest = BenchData.traceRequest(random);
            ExportLogsServiceRequest logRequest = BenchData.logRequest(random);
            traces.add(traceRequest.toByteArray());
            logs.add(logRequest.toByteArray());
            if (json) {
                jsonTraces.add(BenchData.otlpJson(traceRequest));
                jsonLogs.add(BenchData.otlpJson(logRequest));
            }
        }

        Path target = Files.createDirectories(Path.of("target").toAbsolutePath());
        Path work = Files.createTempDirectory(target, "ingest-bench-");
        List<Result> results = new ArrayList<>();
        try (KafkaBroker kafka = KafkaBroker.startOnFreePorts(work.resolve("kafka"))) {
            List<Integer> ports = Ports.freePorts(2);
            ChildJvm ingest = ChildJvm.builder("ingest", IngestMain.class.getName())
                    .classpath(
                            Arrays.stream(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
                                    .map(Path::of)
                                    .toList())
                    .jvmOptions(
                            jvmOptions.isBlank()
                                    ? new String[0]
                                    : jvmOptions.trim().split("\\s+"))
                    .env(IngestConfig.ENV_KAFKA_BOOTSTRAP, kafka.bootstrapServers())
                    .env(IngestConfig.ENV_HTTP_HOST, "127.0.0.1")
                    .env(IngestConfig.ENV_HTTP_PORT, Integer.toString(ports.get(0)))
                    .env(IngestConfig.ENV_GRPC_PORT, Integer.toString(ports.get(1)))
                    .logFile(target.resolve("ingest-bench-ingest.log"))
                    .start();
            try (ingest) {
                ingest.waitForLogLine("Ingest serves OTLP/HTTP", Duration.ofSeconds(90));
                long brokerPid = ProcessHandle.current()
                        .descendants()
                        .filter(p -> p.pid() != ingest.pid())
                        .filter(p -> commandLine(p.pid()).contains("-Dotel.lake.process=kafka"))
                        .mapToLong(ProcessHandle::pid)
                        .findFirst()
                        .orElse(-1);
                for (String name : cases) {
                    String[] parts = name.trim().split("-");
                    boolean grpc = parts[0].equals("grpc");
                    boolean asJson = parts[0].equals("json"); // OTLP/HTTP with OTLP/JSON bodies
                    boolean isTraces = parts[1].equals("traces");
                    List<byte[]> bodies = asJson ? (isTraces ? jsonTraces : jsonLogs) : isTraces ? traces : logs;
                    String topic = isTraces ? IngestConfig.DEFAULT_TRACES_TOPIC : IngestConfig.DEFAULT_LOGS_TOPIC;
                    LoadClient.Factory factory = grpc
                            ? LoadClient.grpc("127.0.0.1", ports.get(1), isTraces, bodies)
                            : LoadClient.http("127.0.0.1", ports.get(0), isTraces, asJson, bodies);
                    try (factory) {
                        System.out.printf("%s: warm-up %d s%n", name, warmup);
                        Load.run(factory, bodies, concurrency, Duration.ofSeconds(warmup));
                        try (TopicCounter counter = new TopicCounter(kafka.bootstrapServers(), topic)) {
                            Map<TopicPartition, Long> before = counter.endOffsets();
                            Cpu cpuBefore = Cpu.now(ingest.pid(), brokerPid);
                            System.out.printf("%s: measuring %d s, %d streams%n", name, duration, concurrency);
                            Load load = Load.run(factory, bodies, concurrency, Duration.ofSeconds(duration));
                            Cpu cpu = Cpu.now(ingest.pid(), brokerPid).minus(cpuBefore);
                            long[] inKafka = counter.countSince(before, isTraces);
                            Result result = new Result(name, isTraces ? "spans" : "log records", load, cpu, inKafka);
                            System.out.print(Result.HEADER + result.line());
                            results.add(result);
                        }
                    }
                }
            }
        }
        StringBuilder report = new StringBuilder(Result.HEADER);
        results.forEach(r -> report.append(r.line()));
        report.append(String.format(
                "%nconcurrency %d, %d s per case after %d s warm-up, %d distinct requests per signal of %d items,"
                        + " %.0f KiB (traces) / %.0f KiB (logs) per request on average%n",
                concurrency,
                duration,
                warmup,
                requests,
                BenchData.ITEMS_PER_REQUEST,
                traces.stream().mapToInt(b -> b.length).average().orElse(0) / 1024,
                logs.stream().mapToInt(b -> b.length).average().orElse(0) / 1024));
        System.out.println();
        System.out.print(report);
        Path out = target.resolve("ingest-bench.md");
        Files.writeString(out, report);
        System.out.println("written to " + out);
        boolean lost = results.stream().anyMatch(r -> r.inKafka[1] < r.load.items());
        if (lost) {
            System.out.println("LOST: Kafka holds fewer items than were acknowledged");
            System.exit(1);
        }
    }

    private static String commandLine(long pid) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    /** CPU seconds used so far: ingest's JVM, the broker's JVM, this JVM (the client), and the whole machine. */
    record Cpu(double ingest, double broker, double client, double machineBusy, double machineTotal, long nanos) {
        static Cpu now(long ingestPid, long brokerPid) throws IOException {
            String[] cpu =
                    Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long total = 0;
            long idle = Long.parseLong(cpu[4]) + Long.parseLong(cpu[5]); // idle + iowait
            for (int i = 1; i < Math.min(cpu.length, 9); i++) { // user .. steal; guest is already in user
                total += Long.parseLong(cpu[i]);
            }
            double client = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                            .getProcessCpuTime()
                    / 1e9;
            return new Cpu(
                    processSeconds(ingestPid),
                    brokerPid < 0 ? 0 : processSeconds(brokerPid),
                    client,
                    (double) (total - idle) / CLOCK_TICKS_PER_SECOND,
                    (double) total / CLOCK_TICKS_PER_SECOND,
                    System.nanoTime());
        }

        Cpu minus(Cpu o) {
            return new Cpu(
                    ingest - o.ingest,
                    broker - o.broker,
                    client - o.client,
                    machineBusy - o.machineBusy,
                    machineTotal - o.machineTotal,
                    nanos - o.nanos);
        }

        private static double processSeconds(long pid) throws IOException {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // after "pid (comm) ": state is field 3, utime 14, stime 15
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / (double) CLOCK_TICKS_PER_SECOND;
        }
    }

    /** The outcome of the measured phase of one case. */
    record Load(long requests, long items, long failed, long partial, long[] latencies, long nanos) {
        static Load run(LoadClient.Factory factory, List<byte[]> bodies, int streams, Duration duration)
                throws Exception {
            long deadline = System.nanoTime() + duration.toNanos();
            AtomicLong failed = new AtomicLong();
            AtomicLong partial = new AtomicLong();
            long[][] latencies = new long[streams][];
            int[] acked = new int[streams];
            List<Thread> threads = new ArrayList<>();
            long start = System.nanoTime();
            for (int s = 0; s < streams; s++) {
                int stream = s;
                Thread t = new Thread(
                        () -> {
                            long[] lat = new long[4096];
                            int n = 0;
                            try (LoadClient client = factory.open()) {
                                for (int i = stream; System.nanoTime() < deadline; i += streams) {
                                    int index = i % bodies.size();
                                    long t0 = System.nanoTime();
                                    int outcome = client.export(index);
                                    long took = System.nanoTime() - t0;
                                    if (outcome == LoadClient.FAILED) {
                                        failed.incrementAndGet();
                                        continue;
                                    }
                                    if (outcome == LoadClient.PARTIAL) {
                                        partial.incrementAndGet();
                                    }
                                    if (n == lat.length) {
                                        lat = Arrays.copyOf(lat, n * 2);
                                    }
                                    lat[n++] = took;
                                }
                            } catch (Exception e) {
                                throw new IllegalStateException("load stream " + stream + " failed", e);
                            }
                            latencies[stream] = Arrays.copyOf(lat, n);
                            acked[stream] = n;
                        },
                        "load-" + s);
                t.start();
                threads.add(t);
            }
            for (Thread t : threads) {
                t.join();
            }
            long nanos = System.nanoTime() - start;
            long[] all = Arrays.stream(latencies)
                    .flatMapToLong(Arrays::stream)
                    .sorted()
                    .toArray();
            long requests = Arrays.stream(acked).asLongStream().sum();
            return new Load(requests, requests * BenchData.ITEMS_PER_REQUEST, failed.get(), partial.get(), all, nanos);
        }

        double percentileMillis(double p) {
            if (latencies.length == 0) {
                return Double.NaN;
            }
            int i = (int) Math.ceil(p * latencies.length) - 1;
            return latencies[Math.max(0, Math.min(latencies.length - 1, i))] / 1e6;
        }
    }

    record Result(String name, String unit, Load load, Cpu cpu, long[] inKafka) {
        static final String HEADER = "| case | items acknowledged | items/s | requests/s | failed | p50 | p99"
                + " | ingest CPU s per 1M items | ingest cores | broker cores | client cores | machine busy cores"
                + " | Kafka records | items in Kafka |\n"
                + "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";

        String line() {
            double seconds = load.nanos() / 1e9;
            double wall = cpu.nanos() / 1e9;
            return String.format(
                    "| %s | %,d %s | %,.0f | %,.0f | %d%s | %.1f ms | %.1f ms | %.2f | %.2f | %.2f | %.2f | %.2f"
                            + " | %,d | %,d%s |%n",
                    name,
                    load.items(),
                    unit,
                    load.items() / seconds,
                    load.requests() / seconds,
                    load.failed(),
                    load.partial() > 0 ? " (" + load.partial() + " partial)" : "",
                    load.percentileMillis(0.50),
                    load.percentileMillis(0.99),
                    cpu.ingest() / (load.items() / 1e6),
                    cpu.ingest() / wall,
                    cpu.broker() / wall,
                    cpu.client() / wall,
                    cpu.machineBusy() / wall,
                    inKafka[0],
                    inKafka[1],
                    inKafka[1] == load.items() ? "" : inKafka[1] > load.items() ? " (more)" : " (LOST)");
        }
    }

    /** Counts the spans or log records in what a topic received between two moments. */
    static final class TopicCounter implements AutoCloseable {
        private final KafkaConsumer<byte[], byte[]> consumer;
        private final List<TopicPartition> partitions;

        TopicCounter(String bootstrap, String topic) {
            Properties p = new Properties();
            p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
            p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 16 * 1024 * 1024);
            consumer = new KafkaConsumer<>(p);
            partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                    .map(info -> new TopicPartition(topic, info.partition()))
                    .toList();
            consumer.assign(partitions);
        }

        Map<TopicPartition, Long> endOffsets() {
            return consumer.endOffsets(partitions, Duration.ofSeconds(30));
        }

        /** {records, items} written since the offsets {@code from}. */
        long[] countSince(Map<TopicPartition, Long> from, boolean traces) throws IOException {
            Map<TopicPartition, Long> end = endOffsets();
            from.forEach(consumer::seek);
            long records = 0;
            long items = 0;
            long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("could not read the topic up to " + end);
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    if (r.offset() < end.get(new TopicPartition(r.topic(), r.partition()))) {
                        records++;
                        // ExportTraceServiceRequest.resource_spans(1).scope_spans(2).spans(2), and the same field
                        // numbers for resource_logs.scope_logs.log_records
                        items += countAt(CodedInputStream.newInstance(r.value()), 0);
                    }
                }
            }
            return new long[] {records, items};
        }

        /** Counts the length-delimited fields at depth 3 along the path 1, 2, 2, without decoding anything else. */
        private static long countAt(CodedInputStream in, int depth) throws IOException {
            int field = depth == 0 ? 1 : 2;
            long n = 0;
            while (!in.isAtEnd()) {
                int tag = in.readTag();
                if (WireFormat.getTagFieldNumber(tag) == field
                        && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    if (depth == 2) {
                        in.skipField(tag);
                        n++;
                    } else {
                        int limit = in.pushLimit(in.readRawVarint32());
                        n += countAt(in, depth + 1);
                        in.popLimit(limit);
                    }
                } else {
                    in.skipField(tag);
                }
            }
            return n;
        }

        @Override
        public void close() {
            consumer.close();
        }
    }
}
