package io.otellake.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.otellake.infra.LocalStack.Options;
import io.otellake.infra.LocalStack.Service;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The local stack with real Kafka and S3, and stand-ins for our services (see {@link FakeServices}). */
class LocalStackIT {
    private static final Pattern STOPPING_AT = Pattern.compile("stopping at (\\d+)");

    /** Compiled once: the stand-ins are the same for every test, and javac takes a while on two cores. */
    @TempDir
    static Path repositoryDir;

    static Path root;

    @TempDir
    Path tempDir;

    @BeforeAll
    static void createFakeRepository() throws IOException {
        root = FakeServices.createRoot(repositoryDir.resolve("repo"));
    }

    @AfterEach
    void removeDataOfUp() throws IOException {
        // `up` keeps its data under <root>/data; each test starts afresh.
        Path data = root.resolve("data");
        if (Files.exists(data)) {
            try (Stream<Path> paths = Files.walk(data)) {
                for (Path path : paths.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
                    Files.delete(path);
                }
            }
        }
    }

    @Test
    void startsEverythingHandsOverTheContractAndStopsInReverseOrder() throws Exception {
        Path data = tempDir.resolve("data");
        Options options = Options.onFreePorts(root, data)
                .withServiceEnvironment(Service.ARCHIVER, "OTEL_LAKE_ARCHIVER_MAX_FILE_AGE", "PT5S");
        List<Long> pids = new ArrayList<>();
        try (LocalStack stack = LocalStack.start(options)) {
            assertThat(stack.kafkaBootstrap()).isEqualTo("127.0.0.1:" + options.kafkaPort());
            assertThat(stack.s3Endpoint()).hasToString("http://127.0.0.1:" + options.s3Port());
            assertThat(stack.ingestUrl()).hasToString("http://127.0.0.1:" + options.ingestHttpPort());
            assertThat(stack.queryUrl()).hasToString("http://127.0.0.1:" + options.queryPort());
            for (int port :
                    List.of(options.kafkaPort(), options.s3Port(), options.ingestHttpPort(), options.queryPort())) {
                assertThat(Ports.isOpen("127.0.0.1", port))
                        .as("port %d open", port)
                        .isTrue();
            }

            Properties ingest = environmentSeenBy(data, "ingest");
            assertThat(ingest)
                    .containsEntry("OTEL_LAKE_KAFKA_BOOTSTRAP", stack.kafkaBootstrap())
                    .containsEntry("OTEL_LAKE_S3_ENDPOINT", stack.s3Endpoint().toString())
                    .containsEntry("OTEL_LAKE_S3_ACCESS_KEY", "otel-lake")
                    .containsEntry("OTEL_LAKE_S3_SECRET_KEY", "otel-lake-secret")
                    .containsEntry("OTEL_LAKE_S3_REGION", "us-east-1")
                    .containsEntry("OTEL_LAKE_S3_BUCKET", "otel-lake")
                    .containsEntry("OTEL_LAKE_S3_PREFIX", "lake")
                    .containsEntry("OTEL_LAKE_INGEST_HTTP_PORT", Integer.toString(options.ingestHttpPort()))
                    .containsEntry("OTEL_LAKE_CACHE_DIR", data.resolve("cache").toString())
                    .doesNotContainKey("SERVER_PORT");
            assertThat(environmentSeenBy(data, "query-api"))
                    .containsEntry("SERVER_PORT", Integer.toString(options.queryPort()));
            assertThat(environmentSeenBy(data, "archiver"))
                    .containsEntry("OTEL_LAKE_ARCHIVER_MAX_FILE_AGE", "PT5S")
                    .containsEntry("OTEL_LAKE_KAFKA_BOOTSTRAP", stack.kafkaBootstrap());
            assertThat(stack.serviceEnvironment()).containsAllEntriesOf(toMap(ingest));

            assertThat(data.resolve("s3/otel-lake")).isDirectory();
            assertThat(data.resolve("kafka/log/meta.properties")).isRegularFile();
            try (Stream<Path> logs = Files.list(data.resolve("logs"))) {
                assertThat(logs.map(path -> path.getFileName().toString()))
                        .containsExactlyInAnyOrder(
                                "kafka.log", "s3.log", "ingest.log", "archiver.log", "query-api.log");
            }

            pids.add(stack.kafka().process().pid());
            pids.add(stack.s3().process().pid());
            for (Service service : Service.values()) {
                pids.add(stack.service(service).pid());
            }
        }
        for (long pid : pids) {
            assertThat(ProcessHandle.of(pid).filter(ProcessHandle::isAlive))
                    .as("process %d", pid)
                    .isEmpty();
        }
        assertThat(Ports.isFree(options.kafkaPort())).isTrue();
        long queryStopped = stoppedAt(data.resolve("logs/query-api.log"));
        long archiverStopped = stoppedAt(data.resolve("logs/archiver.log"));
        long ingestStopped = stoppedAt(data.resolve("logs/ingest.log"));
        assertThat(queryStopped).isLessThanOrEqualTo(archiverStopped);
        assertThat(archiverStopped).isLessThanOrEqualTo(ingestStopped);
    }

    @Test
    void aServiceThatDiesDuringStartUpFailsTheStartAndStopsTheRest() {
        Options options = Options.onFreePorts(root, tempDir.resolve("data"))
                .withServiceEnvironment(Service.ARCHIVER, "FAKE_BEHAVIOUR", "exit");
        assertThatThrownBy(() -> LocalStack.start(options))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("archiver exited with code 3")
                .hasMessageContaining("archiver boom")
                .hasMessageContaining(tempDir.resolve("data/logs/archiver.log").toString());
        for (int port : List.of(options.kafkaPort(), options.s3Port(), options.ingestHttpPort(), options.queryPort())) {
            assertThat(Ports.isFree(port)).as("port %d free again", port).isTrue();
        }
        assertThat(ProcessHandle.current().descendants().filter(ProcessHandle::isAlive))
                .isEmpty();
    }

    @Test
    void upStopsEverythingOnSigterm() throws Exception {
        List<Integer> ports = Ports.freePorts(6);
        ChildJvm up = startUp(ports);
        List<ProcessHandle> children;
        try {
            up.waitForLogLine("Press Ctrl-C to stop.", Duration.ofSeconds(90));
            // Every port is the test's own: a collector on the default 4317 must not fail (or meet) this test.
            assertThat(environmentSeenBy(root.resolve("data"), "ingest"))
                    .containsEntry("OTEL_LAKE_KAFKA_BOOTSTRAP", "127.0.0.1:" + ports.get(0))
                    .containsEntry("OTEL_LAKE_S3_ENDPOINT", "http://127.0.0.1:" + ports.get(2))
                    .containsEntry("OTEL_LAKE_INGEST_HTTP_PORT", ports.get(3).toString())
                    .containsEntry("OTEL_LAKE_INGEST_GRPC_PORT", ports.get(4).toString())
                    .containsEntry("OTEL_LAKE_QUERY_PORT", ports.get(5).toString());
            children = ProcessHandle.of(up.pid()).orElseThrow().descendants().collect(Collectors.toList());
            assertThat(children).hasSize(5);
        } finally {
            up.close(); // SIGTERM, as Ctrl-C or a service manager would send
        }
        assertThat(up.exitCode()).isPresent();
        assertThat(children).noneMatch(ProcessHandle::isAlive);
        assertThat(Files.readString(up.logFile()))
                .contains(
                        "otel-lake is up",
                        "OTLP/HTTP ingest",
                        root.resolve("data/logs").toString())
                .contains("otel-lake: stopping")
                .contains("otel-lake: stopped");
    }

    @Test
    void upExitsWithAnErrorWhenAProcessDies() throws Exception {
        try (ChildJvm up = startUp(Ports.freePorts(6))) {
            up.waitForLogLine("Press Ctrl-C to stop.", Duration.ofSeconds(90));
            List<ProcessHandle> children =
                    ProcessHandle.of(up.pid()).orElseThrow().descendants().collect(Collectors.toList());
            ProcessHandle ingest = children.stream()
                    .filter(child -> child.info()
                            .arguments()
                            .map(List::of)
                            .orElse(List.of())
                            .contains("-Dotel.lake.process=ingest"))
                    .findFirst()
                    .orElseThrow();

            ingest.destroyForcibly();

            assertThat(up.waitForExit(Duration.ofSeconds(60))).isEqualTo(1);
            assertThat(children).noneMatch(ProcessHandle::isAlive);
            assertThat(Files.readString(up.logFile()))
                    .contains("otel-lake: ingest exited unexpectedly with code 137")
                    .contains(root.resolve("data/logs/ingest.log").toString());
        }
    }

    @Test
    void upSaysWhyItCannotCreateTheDataDirectory() throws Exception {
        Files.writeString(root.resolve("data"), "a file where up wants its data directory\n");
        try (ChildJvm up = startUp(Ports.freePorts(6))) {
            assertThat(up.waitForExit(Duration.ofSeconds(60))).isEqualTo(1);
            assertThat(up.logTail())
                    .contains("otel-lake: could not create the data folders under " + root.resolve("data"))
                    .contains("\n  because: java.nio.file.FileSystemException: " + root.resolve("data/logs")
                            + ": Not a directory");
        }
    }

    /**
     * {@code LocalStack up} as ./otel-lake runs it, in the fake repository, on {@code ports}: Kafka, controller, S3,
     * ingest HTTP, ingest gRPC, query.
     */
    private ChildJvm startUp(List<Integer> ports) {
        return ChildJvm.builder("otel-lake-up", LocalStack.class.getName())
                .args("up")
                .jvmOptions("-Dotel.lake.home=" + root)
                .env("OTEL_LAKE_KAFKA_PORT", ports.get(0).toString())
                .env("OTEL_LAKE_KAFKA_CONTROLLER_PORT", ports.get(1).toString())
                .env("OTEL_LAKE_S3_PORT", ports.get(2).toString())
                .env("OTEL_LAKE_INGEST_HTTP_PORT", ports.get(3).toString())
                .env("OTEL_LAKE_INGEST_GRPC_PORT", ports.get(4).toString())
                .env("OTEL_LAKE_QUERY_PORT", ports.get(5).toString())
                .logFile(tempDir.resolve("up.log"))
                .stopTimeout(Duration.ofSeconds(60))
                .start();
    }

    private static Properties environmentSeenBy(Path data, String module) throws IOException {
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(data.resolve("cache").resolve(module + ".env"))) {
            properties.load(reader);
        }
        return properties;
    }

    private static java.util.Map<String, String> toMap(Properties properties) {
        return properties.stringPropertyNames().stream()
                .collect(Collectors.toMap(name -> name, properties::getProperty));
    }

    private static long stoppedAt(Path log) throws IOException {
        Matcher matcher = STOPPING_AT.matcher(Files.readString(log));
        assertThat(matcher.find()).as("%s says when it stopped", log).isTrue();
        return Long.parseLong(matcher.group(1));
    }
}
