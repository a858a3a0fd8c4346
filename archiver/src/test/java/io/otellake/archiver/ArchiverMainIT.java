package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The archiver's process: how it fails on bad settings, in plain text or, when asked, in JSON lines. */
class ArchiverMainIT {
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
    }

    private record Result(int exit, String output) {}

    private static Result run(String format) throws Exception {
        Path target = Path.of("target").toAbsolutePath();
        String classpath = target.resolve("classes")
                + File.pathSeparator
                + Files.readString(target.resolve("runtime.classpath")).strip();
        ProcessBuilder pb = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-cp",
                        classpath,
                        "io.otellake.archiver.ArchiverMain")
                .redirectErrorStream(true);
        pb.environment().put("OTEL_LAKE_LOG_FORMAT", format);
        pb.environment().put("OTEL_LAKE_ARCHIVER_MAX_FILE_AGE", "soon");
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), output);
    }
}
