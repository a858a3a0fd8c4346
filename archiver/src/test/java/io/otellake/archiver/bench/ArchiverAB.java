package io.otellake.archiver.bench;

import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * An A/B of two builds of the write path in one JVM, for a machine shared with other work: each build's classes
 * (archiver, its test classes, schemas) in a class loader of its own over the same libraries, and rounds of
 * {@link ArchiverBenchmark#run} that alternate between them (A B, then B A), so that both see the same load. Prints
 * the median, best and worst rows per CPU-second of each, and the Parquet bytes per row. A command, not a test:
 *
 * <pre>
 * java -cp archiver/target/test-classes:&lt;the archiver's test classpath&gt; io.otellake.archiver.bench.ArchiverAB \
 *   &lt;A dirs, colon-separated&gt; &lt;B dirs&gt; [TRACES,LOGS] [rounds 8] [requests 400]
 * </pre>
 *
 * <p>{@code AGENT} among the signals runs spans as the Java agent sends them ({@code BenchData.agentTraceRequest}, seed
 * 11), as the benchmark's third row does.
 *
 * where the dirs are a build's {@code archiver/target/classes}, {@code archiver/target/test-classes}, {@code
 * schemas/target/classes} and {@code schemas/target/test-classes} (the data set, {@code BenchData}, comes from A's,
 * see {@link #dataSet}); the classpath's own copies of those (and logback) are left out of the shared loader.
 */
public final class ArchiverAB {
    private ArchiverAB() {}

    public static void main(String[] args) throws Exception {
        String[] signals = (args.length > 2 ? args[2] : "TRACES,LOGS").split(",");
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 8;
        int requests = args.length > 4 ? Integer.parseInt(args[4]) : 400;
        List<URL> shared = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            // without logback, whose configuration lives in the test classes, slf4j stays quiet
            if (!entry.contains("target/classes")
                    && !entry.contains("target/test-classes")
                    && !entry.contains("logback")) {
                shared.add(Path.of(entry).toUri().toURL());
            }
        }
        ClassLoader libraries = new URLClassLoader(shared.toArray(new URL[0]), ClassLoader.getPlatformClassLoader());
        ClassLoader[] builds = {loader(args[0], libraries), loader(args[1], libraries)};
        String[] names = {"A", "B"};

        Class<?> benchData = dataSet(builds);
        Method traceRequest = benchData.getDeclaredMethod("traceRequest", SplittableRandom.class);
        Method logRequest = benchData.getDeclaredMethod("logRequest", SplittableRandom.class);
        List<String> signalList = List.of(signals);
        Method agentRequest = signalList.contains("AGENT")
                ? benchData.getDeclaredMethod("agentTraceRequest", SplittableRandom.class)
                : null;
        traceRequest.setAccessible(true);
        if (agentRequest != null) {
            agentRequest.setAccessible(true);
        }
        logRequest.setAccessible(true);
        SplittableRandom random = new SplittableRandom(7);
        List<byte[]> traces = new ArrayList<>();
        List<byte[]> logs = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            Object t = traceRequest.invoke(null, random);
            traces.add((byte[]) t.getClass().getMethod("toByteArray").invoke(t));
            Object l = logRequest.invoke(null, random);
            logs.add((byte[]) l.getClass().getMethod("toByteArray").invoke(l));
        }
        List<byte[]> agent = new ArrayList<>();
        SplittableRandom agentRandom = new SplittableRandom(11);
        for (int i = 0; agentRequest != null && i < requests; i++) {
            Object a = agentRequest.invoke(null, agentRandom);
            agent.add((byte[]) a.getClass().getMethod("toByteArray").invoke(a));
        }
        Path dir = Files.createTempDirectory("otel-lake-archiver-ab");
        Map<String, List<Double>> rates = new TreeMap<>();
        Map<String, Double> bytes = new TreeMap<>();
        for (int round = -2; round < rounds; round++) { // two warm-up rounds on a third of the data
            for (int k = 0; k < 2; k++) {
                int which = (round & 1) == 0 ? k : 1 - k;
                ClassLoader build = builds[which];
                Class<?> bench = build.loadClass(ArchiverBenchmark.class.getName());
                @SuppressWarnings({"unchecked", "rawtypes"})
                Class<Enum> signal = (Class<Enum>) build.loadClass("io.otellake.schemas.Signal");
                Method run = bench.getDeclaredMethod("run", signal, List.class, int.class, Path.class);
                run.setAccessible(true);
                for (String s : signals) {
                    List<byte[]> data = s.equals("TRACES") ? traces : s.equals("AGENT") ? agent : logs;
                    @SuppressWarnings("unchecked")
                    Object result = run.invoke(
                            null,
                            Enum.valueOf(signal, s.equals("AGENT") ? "TRACES" : s),
                            round < 0 ? data.subList(0, data.size() / 3) : data,
                            256_000,
                            dir);
                    long rows = (long) accessor(result, "rows");
                    long cpu = (long) accessor(result, "cpuNanos");
                    long parquet = (long) accessor(result, "parquetBytes") + indexBytes(result);
                    if (round >= 0) {
                        String key = s + " " + names[which];
                        rates.computeIfAbsent(key, x -> new ArrayList<>()).add(rows / (cpu / 1e9));
                        bytes.put(key, (double) parquet / rows);
                    }
                }
            }
        }
        rates.forEach((key, values) -> {
            List<Double> sorted = new ArrayList<>(values);
            Collections.sort(sorted);
            System.out.printf(
                    "%-9s median %,9.0f  best %,9.0f  worst %,9.0f rows/CPU-s  %.2f B/row  rounds %s%n",
                    key,
                    sorted.get(sorted.size() / 2),
                    sorted.get(sorted.size() - 1),
                    sorted.get(0),
                    bytes.get(key),
                    values.stream().map(v -> String.format("%.0f", v)).toList());
        });
    }

    /**
     * The data set's generator: {@code BenchData} of A or else B, or for a build from before it moved to schemas' test
     * jar, the same methods of that build's {@code ArchiverBenchmark} (they made the same requests).
     */
    private static Class<?> dataSet(ClassLoader[] builds) throws ClassNotFoundException {
        for (ClassLoader build : builds) {
            try {
                return build.loadClass("io.otellake.schemas.bench.BenchData");
            } catch (ClassNotFoundException e) {
                // an older build: try the next, then the benchmark itself
            }
        }
        return builds[0].loadClass(ArchiverBenchmark.class.getName());
    }

    private static ClassLoader loader(String dirs, ClassLoader libraries) throws Exception {
        List<URL> urls = new ArrayList<>();
        for (String d : dirs.split(":")) {
            urls.add(Path.of(d).toUri().toURL());
        }
        return new URLClassLoader(urls.toArray(new URL[0]), libraries);
    }

    /** The trace index's bytes, which builds from before the benchmark wrote the index do not report. */
    private static long indexBytes(Object result) throws Exception {
        try {
            return (long) accessor(result, "indexBytes");
        } catch (NoSuchMethodException e) {
            return 0;
        }
    }

    private static Object accessor(Object record, String name) throws Exception {
        Method m = record.getClass().getDeclaredMethod(name);
        m.setAccessible(true);
        return m.invoke(record);
    }
}
