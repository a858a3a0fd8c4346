package io.otellake.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.otellake.infra.LocalStack;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The deployables as docs/operations.md tells an operator to run them: {@code java -jar
 * <module>/target/otel-lake-<module>-<version>.jar}, with {@code target/lib} beside the jar. Each jar names its main
 * class and every library of its runtime classpath, and the three together carry a log record from ingest through
 * Kafka, the archiver and S3 to the query API (Kafka and S3 from the local stack).
 */
class DeployableJarsIT {
    private static final Duration PATIENCE = Duration.ofSeconds(90);
    private static final String TENANT = "jar-check";
    private final HttpClient http = HttpClient.newHttpClient();

    @TempDir
    Path work;

    @Test
    void eachJarNamesItsMainClassAndEveryLibraryOfItsRuntimeClasspath() throws Exception {
        Map<String, String> mains = Map.of(
                "ingest", "io.otellake.ingest.IngestMain",
                "archiver", "io.otellake.archiver.ArchiverMain",
                "query-api", "io.otellake.query.QueryApiApplication");
        for (Map.Entry<String, String> module : mains.entrySet()) {
            Path jar = jar(module.getKey());
            try (JarFile file = new JarFile(jar.toFile())) {
                var attributes = file.getManifest().getMainAttributes();
                assertThat(attributes.getValue("Main-Class")).isEqualTo(module.getValue());
                List<String> entries = List.of(attributes.getValue("Class-Path").split(" "));
                List<String> runtime = List.of(Files.readString(jar.resolveSibling("runtime.classpath"))
                        .strip()
                        .split(java.io.File.pathSeparator));
                assertThat(entries).as(module.getKey()).hasSameSizeAs(runtime);
                for (String entry : entries) {
                    assertThat(jar.resolveSibling(entry)).as(module.getKey()).isRegularFile();
                }
            }
        }
    }

    @Test
    void theThreeJarsCarryALogRecordFromIngestToTheQueryApi() throws Exception {
        String marker = "jar" + UUID.randomUUID().toString().replace("-", "");
        try (LocalStack servers = LocalStack.start(
                LocalStack.Options.onFreePorts(LocalStack.findRootDir(), work).withServices())) {
            Map<String, String> env = new HashMap<>(servers.serviceEnvironment());
            env.put("OTEL_LAKE_ARCHIVER_MAX_FILE_AGE", "PT1S");
            env.put("SERVER_PORT", Integer.toString(servers.options().queryPort()));
            List<Process> processes = new ArrayList<>();
            try {
                for (String module : List.of("ingest", "archiver", "query-api")) {
                    processes.add(javaJar(module, env));
                }
                String body = "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
                        + "\"value\":{\"stringValue\":\"jar-check\"}}]},\"scopeLogs\":[{\"logRecords\":[{"
                        + "\"timeUnixNano\":\"" + nanos(Instant.now()) + "\",\"severityText\":\"INFO\","
                        + "\"body\":{\"stringValue\":\"sent to the jars " + marker + "\"}}]}]}]}";
                HttpRequest send = HttpRequest.newBuilder(servers.ingestUrl().resolve("/v1/logs"))
                        .header("Content-Type", "application/json")
                        .header("X-Scope-OrgID", TENANT)
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build();
                awaitResponse(send, r -> r.statusCode() == 200, processes);

                HttpRequest search = HttpRequest.newBuilder(servers.queryUrl().resolve("/api/v1/logs?q=" + marker))
                        .header("X-Scope-OrgID", TENANT)
                        .build();
                HttpResponse<String> found = awaitResponse(
                        search, r -> r.statusCode() == 200 && r.body().contains(marker), processes);
                assertThat(found.body()).contains("\"service_name\":\"jar-check\"");
            } finally {
                for (Process p : processes) {
                    p.destroy();
                }
                for (Process p : processes) {
                    if (!p.waitFor(20, TimeUnit.SECONDS)) {
                        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                    }
                }
            }
        }
    }

    /** Sends the request until the answer is what the test waits for, or fails with the services' logs. */
    private HttpResponse<String> awaitResponse(
            HttpRequest request, java.util.function.Predicate<HttpResponse<String>> done, List<Process> processes)
            throws Exception {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            for (Process p : processes) {
                assertThat(p.isAlive())
                        .as("a service ended early; logs:\n" + logs())
                        .isTrue();
            }
            try {
                HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
                if (done.test(r)) {
                    return r;
                }
                last = r.statusCode() + " " + r.body();
            } catch (IOException e) {
                last = e.toString(); // not listening yet
            }
            Thread.sleep(500);
        }
        throw new AssertionError(request.uri() + " did not answer as awaited within " + PATIENCE + "; last: " + last
                + "\nlogs:\n" + logs());
    }

    private Process javaJar(String module, Map<String, String> env) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Xmx384m",
                        "-jar",
                        jar(module).toString())
                .directory(work.toFile())
                .redirectErrorStream(true)
                .redirectOutput(work.resolve(module + ".log").toFile());
        pb.environment().putAll(env);
        return pb.start();
    }

    private String logs() {
        StringBuilder out = new StringBuilder();
        for (String module : List.of("ingest", "archiver", "query-api")) {
            Path log = work.resolve(module + ".log");
            try {
                String text = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
                out.append("==== ")
                        .append(module)
                        .append('\n')
                        .append(text, Math.max(0, text.length() - 3000), text.length());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out.toString();
    }

    /** {@code <module>/target/otel-lake-<module>-<version>.jar}, as {@code package} leaves it. */
    private static Path jar(String module) throws IOException {
        Path target = LocalStack.findRootDir().resolve(module).resolve("target");
        try (Stream<Path> files = Files.list(target)) {
            List<Path> jars = files.filter(f -> {
                        String name = f.getFileName().toString();
                        return name.startsWith("otel-lake-" + module + "-")
                                && name.endsWith(".jar")
                                && !name.endsWith("-tests.jar")
                                && !name.endsWith("-sources.jar");
                    })
                    .toList();
            assertThat(jars).as("the jar of " + module + " in " + target).hasSize(1);
            return jars.get(0);
        }
    }

    private static String nanos(Instant t) {
        return Long.toString(t.getEpochSecond() * 1_000_000_000L + t.getNano());
    }
}
