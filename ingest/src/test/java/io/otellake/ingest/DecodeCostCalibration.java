package io.otellake.ingest;

import com.google.protobuf.CodedOutputStream;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.ArrayValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.otellake.schemas.bench.BenchData;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Measures what {@link DecodeCost} estimates: for realistic and hostile bodies, the smallest {@code -Xmx} (serial GC,
 * one fresh JVM per try, binary search in MiB) with which {@link OtlpSignal#decode} decodes the body, less what an
 * empty body needs, next to the estimate. A command, not a test (docs/operations.md, "Backpressure"):
 *
 * <pre>./mvnw -B -q -Pdecode-cost -DskipTests -pl ingest -am verify</pre>
 *
 * It exits with status 1 if an estimate is below the heap measured for its body.
 */
public final class DecodeCostCalibration {
    private static final int MAX_HEAP_MIB = 2048;

    private DecodeCostCalibration() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 3 && args[0].equals("decode")) {
            byte[] body = Files.readAllBytes(Path.of(args[1]));
            OtlpSignal.valueOf(args[2])
                    .decode(args[1].endsWith(".json") ? OtlpEncoding.JSON : OtlpEncoding.PROTOBUF, body);
            System.out.println("decoded");
            return;
        }
        Path dir = Files.createTempDirectory("decode-cost");
        Map<String, byte[]> bodies = bodies();
        Path empty = dir.resolve("empty.json");
        Files.writeString(empty, "{}");
        int baseline = minHeapMib(empty, OtlpSignal.TRACES);
        System.out.printf(Locale.ROOT, "an empty body decodes with -Xmx%dm; that is subtracted below%n%n", baseline);
        System.out.printf(Locale.ROOT, "| body | bytes | heap held at the peak | estimate |%n|---|---|---|---|%n");
        boolean under = false;
        int i = 0;
        for (Map.Entry<String, byte[]> body : bodies.entrySet()) {
            boolean json = body.getKey().contains("JSON");
            Path file = dir.resolve((i++) + (json ? ".json" : ".pb"));
            Files.write(file, body.getValue());
            OtlpSignal signal = body.getKey().contains("log records") ? OtlpSignal.LOGS : OtlpSignal.TRACES;
            int held = minHeapMib(file, signal) - baseline;
            double estimate =
                    DecodeCost.estimate(signal, json ? OtlpEncoding.JSON : OtlpEncoding.PROTOBUF, body.getValue())
                            / (1024.0 * 1024);
            under |= estimate < held;
            System.out.printf(
                    Locale.ROOT,
                    "| %s | %,d | %d MiB | %.1f MiB%s |%n",
                    body.getKey(),
                    body.getValue().length,
                    held,
                    estimate,
                    estimate < held ? " (UNDER)" : "");
        }
        System.exit(under ? 1 : 0);
    }

    private static Map<String, byte[]> bodies() throws IOException {
        SplittableRandom random = new SplittableRandom(1);
        ExportTraceServiceRequest spans = BenchData.traceRequest(random);
        Map<String, byte[]> bodies = new LinkedHashMap<>();
        bodies.put("benchmark spans, protobuf (512 spans)", spans.toByteArray());
        bodies.put("benchmark spans, OTLP/JSON", BenchData.otlpJson(spans));
        bodies.put("benchmark log records, OTLP/JSON", BenchData.otlpJson(BenchData.logRequest(random)));
        int million = 1 << 20;
        Span.Builder span = Span.newBuilder();
        for (int n = 0; n < million; n++) {
            span.addAttributes(KeyValue.getDefaultInstance());
        }
        bodies.put("1 M empty attributes, protobuf", traces(List.of(span.build())));
        List<Span> empty = new ArrayList<>();
        for (int n = 0; n < million; n++) {
            empty.add(Span.getDefaultInstance());
        }
        bodies.put("1 M empty spans, protobuf", traces(empty));
        span = Span.newBuilder();
        for (int n = 0; n < million / 2; n++) {
            span.addAttributes(KeyValue.newBuilder()
                    .setValue(AnyValue.newBuilder().setArrayValue(ArrayValue.getDefaultInstance())));
        }
        bodies.put("0.5 M attributes holding an empty array, protobuf", traces(List.of(span.build())));
        ByteArrayOutputStream unknown = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(unknown);
        for (int n = 0; n < million / 2; n++) {
            out.writeUInt64(100 + n, 1);
        }
        out.flush();
        bodies.put(
                "0.5 M unknown fields of distinct numbers, protobuf",
                traces(List.of(Span.parseFrom(unknown.toByteArray()))));
        String prefix = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{";
        bodies.put(
                "1 M attributes `{}`, OTLP/JSON",
                utf8(prefix + "\"attributes\":[{}" + ",{}".repeat(million - 1) + "]}]}]}]}"));
        StringBuilder keys = new StringBuilder(prefix);
        for (int n = 0; n < million / 4; n++) {
            keys.append(n == 0 ? "\"" : ",\"").append(Integer.toString(n, 36)).append("\":0");
        }
        bodies.put("0.25 M unknown keys, OTLP/JSON", utf8(keys.append("}]}]}]}").toString()));
        bodies.put(
                "0.25 M `{\"intValue\":1}` array values, OTLP/JSON",
                utf8(prefix + "\"attributes\":[{\"key\":\"k\",\"value\":{\"arrayValue\":{\"values\":[{\"intValue\":1}"
                        + ",{\"intValue\":1}".repeat(million / 4 - 1) + "]}}}]}]}]}]}"));
        bodies.put(
                "1 M empty spans `{}`, OTLP/JSON",
                utf8("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{}" + ",{}".repeat(million - 1) + "]}]}]}"));
        bodies.put(
                "one string of 4 M characters, OTLP/JSON",
                utf8(prefix + "\"name\":\"" + "\u00e9".repeat(million) + "x".repeat(3 * million) + "\"}]}]}]}"));
        return bodies;
    }

    private static byte[] traces(List<Span> spans) {
        return ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .addScopeSpans(ScopeSpans.newBuilder().addAllSpans(spans)))
                .build()
                .toByteArray();
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** The smallest -Xmx, in MiB, with which a fresh JVM decodes the body. */
    private static int minHeapMib(Path file, OtlpSignal signal) throws IOException, InterruptedException {
        int fails = 1;
        int decodes = MAX_HEAP_MIB;
        if (!decodes(file, signal, decodes)) {
            throw new IllegalStateException(file + " does not decode even with -Xmx" + decodes + "m");
        }
        while (decodes - fails > 1) {
            int mid = (fails + decodes) / 2;
            if (decodes(file, signal, mid)) {
                decodes = mid;
            } else {
                fails = mid;
            }
        }
        return decodes;
    }

    private static boolean decodes(Path file, OtlpSignal signal, int heapMib) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-XX:+UseSerialGC",
                        "-Xmx" + heapMib + "m",
                        "-cp",
                        System.getProperty("java.class.path"),
                        DecodeCostCalibration.class.getName(),
                        "decode",
                        file.toString(),
                        signal.name())
                .redirectErrorStream(true)
                .start();
        byte[] output = process.getInputStream().readAllBytes();
        if (!process.waitFor(5, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            return false;
        }
        return process.exitValue() == 0 && new String(output, StandardCharsets.UTF_8).contains("decoded");
    }
}
