package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.otellake.infra.S3Server;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The archiver's process: how it fails on bad settings, in plain text or, when asked, in JSON lines; how it waits for
 * an S3 server that is not up yet; how it hands the compaction and retention leases on when it is stopped.
 */
class ArchiverMainIT {
    @TempDir
    Path work;

    @Test
    void aBadSettingStopsItWithExitCode2AndASentenceInTheChosenLogFormat() throws Exception {
        Result text = run("text");
        assertThat(text.exit()).isEqualTo(2);
        assertThat(text.output())
                .contains("ERROR [main] io.otellake.archiver.ArchiverMain - invalid configuration:"
                        + " OTEL_LAKE_ARCHIVER_MAX_FILE_AGE must be an ISO-8601 duration such as PT5S, got 'soon'");

        Result json = run("json");
        assertThat(json.exit()).isEqualTo(2);
        String line = json.output().strip();
        assertThat(line.lines()).as("one JSON object per line, nothing else").hasSize(1);
        JsonNode event = new ObjectMapper().readTree(line);
        assertThat(event.get("level").asText()).isEqualTo("ERROR");
        assertThat(event.get("loggerName").asText()).isEqualTo("io.otellake.archiver.ArchiverMain");
        assertThat(event.get("formattedMessage").asText())
                .isEqualTo("invalid configuration: OTEL_LAKE_ARCHIVER_MAX_FILE_AGE must be an ISO-8601 duration"
                        + " such as PT5S, got 'soon'");

        Result empty = run("");
        assertThat(empty.exit()).isEqualTo(2);
        assertThat(empty.output())
                .as("an empty format is the default, text")
                .contains("ERROR [main] io.otellake.archiver.ArchiverMain - invalid configuration:"
                        + " OTEL_LAKE_ARCHIVER_MAX_FILE_AGE must be");

        // logback alone would write nothing at all with a format it has no appender for, this error included
        Result unknown = run("JSON", "PT5S");
        assertThat(unknown.exit()).isEqualTo(2);
        assertThat(unknown.output())
                .contains("ERROR [main] io.otellake.archiver.ArchiverMain - invalid configuration:"
                        + " OTEL_LAKE_LOG_FORMAT must be text or json (lower case), got 'JSON'");
    }

    @Test
    void startedBeforeItsS3ServerItWaitsAndCreatesTheBucketOnceS3IsUp() throws Exception {
        try (S3Server s3server = S3Server.startOnFreePorts(work.resolve("s3"))) {
            s3server.stop(); // its port is now known, and nothing listens on it
            Path log = work.resolve("archiver.log");
            Process p = archiver(s3server, "PT2M")
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            try {
                TestLake.await("a retry after a failed attempt", Duration.ofSeconds(60), () -> read(log)
                        .contains("not reachable, retrying in"));
                assertThat(p.isAlive()).as("still waiting for S3").isTrue();

                s3server.start();
                try (S3Client s3 = TestLake.client(s3server)) {
                    TestLake.await(
                            "the bucket, created by the archiver",
                            Duration.ofSeconds(60),
                            () -> s3.listBuckets().buckets().stream()
                                    .anyMatch(b -> b.name().equals("waits-for-s3")));
                }
                assertThat(p.isAlive()).as("running, not given up").isTrue();
            } finally {
                p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void givesUpWithExitCode3AndTheReasonWhenS3StaysDownPastTheStartupTimeout() throws Exception {
        try (S3Server s3server = S3Server.startOnFreePorts(work.resolve("s3"))) {
            s3server.stop();
            Process p = archiver(s3server, "PT3S").redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(output).isEqualTo(3);
            assertThat(output)
                    .contains("not reachable, retrying in")
                    .contains("cannot start (S3 bucket waits-for-s3 at " + s3server.endpoint())
                    .contains("S3 not reachable within PT3S (OTEL_LAKE_S3_STARTUP_TIMEOUT)");
        }
    }

    @Test
    void stoppedCleanlyItHandsTheCompactionAndRetentionLeasesOnAtOnce() throws Exception {
        try (TestLake lake = new TestLake();
                S3Store store = new S3Store(lake.config(work.resolve("spool"), Duration.ofSeconds(1)))) {
            Path log = work.resolve("archiver.log");
            ProcessBuilder pb = java();
            pb.environment().put("OTEL_LAKE_KAFKA_BOOTSTRAP", lake.kafka.bootstrapServers());
            pb.environment().put("OTEL_LAKE_ARCHIVER_GROUP_ID", lake.group);
            pb.environment().put("OTEL_LAKE_TRACES_TOPIC", lake.traces);
            pb.environment().put("OTEL_LAKE_LOGS_TOPIC", lake.logs);
            pb.environment().put("OTEL_LAKE_METRICS_TOPIC", lake.metrics);
            pb.environment()
                    .put("OTEL_LAKE_S3_ENDPOINT", lake.s3server.endpoint().toString());
            pb.environment().put("OTEL_LAKE_S3_ACCESS_KEY", lake.s3server.accessKey());
            pb.environment().put("OTEL_LAKE_S3_SECRET_KEY", lake.s3server.secretKey());
            pb.environment().put("OTEL_LAKE_S3_BUCKET", lake.bucket);
            pb.environment().put("OTEL_LAKE_S3_PREFIX", "lake");
            pb.environment()
                    .put("OTEL_LAKE_ARCHIVER_SPOOL_DIR", work.resolve("spool").toString());
            pb.environment().put("OTEL_LAKE_COMPACTION_INTERVAL", "PT1S");
            Process p =
                    pb.redirectErrorStream(true).redirectOutput(log.toFile()).start();
            try {
                try {
                    TestLake.await("the compaction lease", Duration.ofSeconds(60), () -> read(log)
                            .contains("holding the compaction lease as archiver-"));
                } catch (AssertionError e) {
                    throw new AssertionError(e.getMessage() + "; the archiver's output:\n" + read(log), e);
                }
                assertThat(read(log)).contains("holding the retention lease as archiver-");
                Lease next = new Lease(Lease.Kind.COMPACTION, store, "lake/", "next-archiver", Clock.systemUTC());
                assertThat(next.hold()).as("held by the running archiver").isFalse();
                Lease nextRetention =
                        new Lease(Lease.Kind.RETENTION, store, "lake/", "next-archiver", Clock.systemUTC());
                assertThat(nextRetention.hold())
                        .as("held by the running archiver")
                        .isFalse();

                p.destroy(); // SIGTERM, as a supervisor stops it
                assertThat(p.waitFor(90, TimeUnit.SECONDS)).isTrue();
                assertThat(read(log))
                        .contains("released the compaction lease (generation 1)")
                        .contains("released the retention lease (generation 1)");
                assertThat(next.hold())
                        .as("taken over at once, not after " + Lease.TTL)
                        .isTrue();
                assertThat(nextRetention.hold())
                        .as("taken over at once, not after " + Lease.TTL)
                        .isTrue();
            } finally {
                p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    /** An archiver process for the S3 server, with a Kafka bootstrap that nothing answers (S3 comes first). */
    private ProcessBuilder archiver(S3Server s3server, String startupTimeout) throws Exception {
        ProcessBuilder pb = java();
        pb.environment().put("OTEL_LAKE_S3_ENDPOINT", s3server.endpoint().toString());
        pb.environment().put("OTEL_LAKE_S3_ACCESS_KEY", s3server.accessKey());
        pb.environment().put("OTEL_LAKE_S3_SECRET_KEY", s3server.secretKey());
        pb.environment().put("OTEL_LAKE_S3_BUCKET", "waits-for-s3");
        pb.environment().put("OTEL_LAKE_S3_STARTUP_TIMEOUT", startupTimeout);
        pb.environment().put("OTEL_LAKE_KAFKA_BOOTSTRAP", "127.0.0.1:1");
        pb.environment()
                .put("OTEL_LAKE_ARCHIVER_SPOOL_DIR", work.resolve("spool").toString());
        pb.environment().put("OTEL_LAKE_COMPACTION_ENABLED", "false");
        pb.environment().put("OTEL_LAKE_RETENTION_ENABLED", "false");
        return pb;
    }

    private static ProcessBuilder java() throws Exception {
        Path target = Path.of("target").toAbsolutePath();
        String classpath = target.resolve("classes")
                + File.pathSeparator
                + Files.readString(target.resolve("runtime.classpath")).strip();
        return new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                classpath,
                "io.otellake.archiver.ArchiverMain");
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private record Result(int exit, String output) {}

    private static Result run(String format) throws Exception {
        return run(format, "soon");
    }

    private static Result run(String format, String maxFileAge) throws Exception {
        ProcessBuilder pb = java().redirectErrorStream(true);
        pb.environment().put("OTEL_LAKE_LOG_FORMAT", format);
        pb.environment().put("OTEL_LAKE_ARCHIVER_MAX_FILE_AGE", maxFileAge);
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), output);
    }
}
