package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.otellake.infra.ChildJvm;
import java.io.File;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Ingest's own process ({@link IngestMain}), for what only a fresh JVM shows. */
class IngestMainIT {
    private static final Pattern SERVES = Pattern.compile("Ingest serves OTLP/HTTP on (http://\\S+) and");

    @TempDir
    Path work;

    @Test
    void aClientThatStopsSendingHalfwayIsAnswered408AtTheConfiguredTimeoutAndOthersAreServed() throws Exception {
        try (ChildJvm ingest = startIngest(
                "-Xmx256m",
                Map.of(IngestConfig.ENV_HTTP_THREADS, "1", IngestConfig.ENV_HTTP_REQUEST_TIMEOUT_MS, "2000"))) {
            URI base = base(ingest);

            try (Socket stalled = new Socket(base.getHost(), base.getPort())) {
                OutputStream out = stalled.getOutputStream();
                out.write(("POST /v1/traces HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/x-protobuf\r\n"
                                + "Content-Length: 1000\r\n\r\n0123456789")
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                long sent = System.nanoTime();

                stalled.setSoTimeout(10_000);
                InputStream in = stalled.getInputStream();
                byte[] answer = in.readAllBytes(); // ends when the server closes the connection
                assertThat(Duration.ofNanos(System.nanoTime() - sent))
                        .as("cut off after the 2 s request timeout, not at once")
                        .isGreaterThanOrEqualTo(Duration.ofSeconds(2));
                assertThat(new String(answer, StandardCharsets.ISO_8859_1))
                        .as("the request was never complete")
                        .startsWith("HTTP/1.1 408 Request Timeout\r\n")
                        .contains("the request did not arrive in full within 2000 ms");
            }

            // A well-behaved client is served.
            HttpResponse<String> response = HttpClient.newHttpClient()
                    .send(
                            HttpRequest.newBuilder(base.resolve("/v1/traces"))
                                    .header("Content-Type", "application/x-protobuf")
                                    .timeout(Duration.ofSeconds(30))
                                    .POST(HttpRequest.BodyPublishers.ofByteArray(
                                            IngestIT.traces("after-stall", 1).toByteArray()))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(200);
        }
    }

    /**
     * Bodies that are small on the wire but decode into millions of objects (OTLP/JSON attributes that are all
     * {@code {}}: 3 bytes each, some 60 bytes of heap each), 48 requests at once against the 16 OTLP/HTTP threads, in
     * the local stack's heap of 512 MiB with the default in-flight budget. Counting only their bytes, the budget would
     * let 16 decode at once and the JVM run out of memory (gigabytes are needed); counted with what their decoding
     * takes, the largest are refused as too large, the others wait their turn or are throttled, and ingest keeps
     * serving.
     */
    @Test
    void bodiesThatDecodeIntoManyObjectsAreRefusedOrThrottledNotAnOutOfMemoryError() throws Exception {
        try (ChildJvm ingest = startIngest("-Xmx512m", Map.of())) {
            URI traces = base(ingest).resolve("/v1/traces");
            byte[] large = emptyAttributesJson(2_300_000); // 6.9 MB, too large to decode within the budget
            byte[] medium = emptyAttributesJson(330_000); // 1 MB, a few at a time
            HttpClient client = HttpClient.newHttpClient();

            List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
            for (int i = 0; i < 48; i++) {
                answers.add(client.sendAsync(
                        HttpRequest.newBuilder(traces)
                                .header("Content-Type", "application/json")
                                .timeout(Duration.ofSeconds(120))
                                .POST(HttpRequest.BodyPublishers.ofByteArray(i % 2 == 0 ? large : medium))
                                .build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            Map<Integer, Long> statuses = new TreeMap<>();
            for (CompletableFuture<HttpResponse<String>> answer : answers) {
                statuses.merge(answer.get(180, TimeUnit.SECONDS).statusCode(), 1L, Long::sum);
            }

            assertThat(statuses.keySet())
                    .as("every answer is a deliberate one: %s", statuses)
                    .isSubsetOf(200, 400, 413, 429)
                    .contains(413);
            assertThat(statuses.getOrDefault(200, 0L) + statuses.getOrDefault(400, 0L))
                    .as("the medium bodies are decoded, a few at a time: %s", statuses)
                    .isPositive();
            HttpResponse<String> after = client.send(
                    HttpRequest.newBuilder(traces)
                            .header("Content-Type", "application/x-protobuf")
                            .timeout(Duration.ofSeconds(30))
                            .POST(HttpRequest.BodyPublishers.ofByteArray(
                                    IngestIT.traces("after-flood", 1).toByteArray()))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(after.statusCode()).isEqualTo(200);
            assertThat(ingest.isAlive()).isTrue();
            assertThat(Files.readString(ingest.logFile())).doesNotContain("OutOfMemoryError");
        }
    }

    /** An OTLP/JSON trace request whose one span has {@code n} attributes, each {@code {}}. */
    private static byte[] emptyAttributesJson(int n) {
        StringBuilder json = new StringBuilder(n * 3 + 100)
                .append("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"")
                .append("5b8efff798038103d269b633813fc60c")
                .append("\",\"spanId\":\"eee19b7ec3c1b174\",\"name\":\"flood\",\"attributes\":[{}");
        json.append(",{}".repeat(n - 1));
        return json.append("]}]}]}]}").toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * With {@code OTEL_LAKE_LOG_FORMAT=json} every line ingest writes is a JSON object. grpc-java logs through
     * java.util.logging, in a multi-line format of its own, and logged a stack trace for every HTTP/1 request a client
     * sent to the gRPC port: now such requests leave nothing in the log.
     */
    @Test
    void jsonLogsAreJsonLinesEvenForWhatGrpcLogs() throws Exception {
        Path log;
        try (ChildJvm ingest = startIngest("-Xmx256m", Map.of("OTEL_LAKE_LOG_FORMAT", "json"))) {
            log = ingest.logFile();
            Matcher grpc = Pattern.compile("OTLP\\\\?/gRPC on port (\\d+)").matcher(Files.readString(log));
            assertThat(grpc.find()).isTrue();
            for (int i = 0; i < 3; i++) {
                try (Socket socket = new Socket("127.0.0.1", Integer.parseInt(grpc.group(1)))) {
                    socket.setSoTimeout(10_000);
                    socket.getOutputStream()
                            .write("POST /v1/logs HTTP/1.1\r\nHost: ingest\r\nContent-Length: 2\r\n\r\n{}"
                                    .getBytes(StandardCharsets.US_ASCII));
                    socket.getInputStream().readAllBytes(); // gRPC closes the connection
                }
            }
        }
        String output = Files.readString(log);
        List<String> lines = output.lines()
                .filter(line -> !line.isBlank() && !line.startsWith("==== "))
                .toList();
        assertThat(lines).as("started and stopped").hasSizeGreaterThan(2);
        for (String line : lines) {
            assertThat(com.google.gson.JsonParser.parseString(line).isJsonObject())
                    .as(line)
                    .isTrue();
        }
        assertThat(output).doesNotContain("Transport failed");
    }

    /**
     * A log format logback has no appender for would leave ingest without a single log line, its refusal to start
     * included; it is refused in text instead, and an empty one is the default, text.
     */
    @Test
    void anUnknownLogFormatStopsItWithExitCode2AndASentenceInText() throws Exception {
        for (String format : List.of("JSON", "")) {
            ProcessBuilder pb = new ProcessBuilder(
                            Path.of(System.getProperty("java.home"), "bin", "java")
                                    .toString(),
                            "-cp",
                            classpath().stream().map(Path::toString).collect(Collectors.joining(File.pathSeparator)),
                            IngestMain.class.getName())
                    .redirectErrorStream(true);
            pb.environment().put("OTEL_LAKE_LOG_FORMAT", format);
            pb.environment().put(IngestConfig.ENV_HTTP_PORT, "not-a-port");
            Process p = pb.start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(output).isEqualTo(2);
            assertThat(output)
                    .as("format '%s'", format)
                    .contains("ERROR [main] io.otellake.ingest.IngestMain - Invalid configuration: "
                            + (format.isEmpty()
                                    ? IngestConfig.ENV_HTTP_PORT
                                    : "OTEL_LAKE_LOG_FORMAT must be text or json (lower case), got 'JSON'"));
        }
    }

    /** Ingest in its own JVM with this heap, on free ports and topics of its own, otherwise with the defaults. */
    private ChildJvm startIngest(String heap, Map<String, String> env) throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        ChildJvm ingest = ChildJvm.builder("ingest", IngestMain.class.getName())
                .classpath(classpath())
                .jvmOptions(heap)
                .env(IngestConfig.ENV_KAFKA_BOOTSTRAP, TestKafka.broker().bootstrapServers())
                .env(IngestConfig.ENV_HTTP_HOST, "127.0.0.1")
                .env(IngestConfig.ENV_HTTP_PORT, "0")
                .env(IngestConfig.ENV_GRPC_PORT, "0")
                .env(IngestConfig.ENV_TRACES_TOPIC, "main-traces-" + run)
                .env(IngestConfig.ENV_LOGS_TOPIC, "main-logs-" + run)
                .env(IngestConfig.ENV_METRICS_TOPIC, "main-metrics-" + run)
                .env(env)
                .logFile(work.resolve("ingest.log"))
                .start();
        try {
            ingest.waitForLogLine("Ingest serves OTLP", Duration.ofSeconds(60)); // JSON logs write "OTLP\\/HTTP"
        } catch (RuntimeException e) {
            ingest.close();
            throw e;
        }
        return ingest;
    }

    /** The OTLP/HTTP base URI the ingest logged. */
    private static URI base(ChildJvm ingest) throws Exception {
        Matcher m = SERVES.matcher(Files.readString(ingest.logFile()));
        assertThat(m.find()).isTrue();
        return URI.create(m.group(1));
    }

    private static List<Path> classpath() throws Exception {
        Path target = Path.of("target").toAbsolutePath();
        List<Path> entries = new ArrayList<>();
        entries.add(target.resolve("classes"));
        for (String entry :
                Files.readString(target.resolve("runtime.classpath")).strip().split(File.pathSeparator)) {
            entries.add(Path.of(entry));
        }
        return entries;
    }
}
