package io.otellake.infra;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code otel-lake} script at the repository root, run by bash in a copy of its own, about a stack that already
 * runs from the same folder: the launcher's pid in {@code data/kafka/otel-lake.lock} tells it.
 */
class OtelLakeScriptTest {
    @TempDir
    Path tempDir;

    @Test
    void upRefusesAtOnceWithoutBuildingWhileAStackFromTheSameFolderRuns() throws Exception {
        Path folder = copyOfTheScript();
        // A process that looks like the launcher, as ps shows it: its arguments name the LocalStack class.
        try (ChildJvm launcher = ChildJvm.builder("launcher", TestMains.SleepForever.class.getName())
                .classpath(List.of(ChildJvmTest.testClasses()))
                .args("io.otellake.infra.LocalStack", "up")
                .logFile(tempDir.resolve("launcher.log"))
                .start()) {
            writeLock(folder, launcher.pid());

            Result up = run(folder, "up");
            assertThat(up.exitCode()).isEqualTo(1);
            assertThat(up.stdout()).as("nothing built").isEmpty();
            assertThat(up.stderr())
                    .isEqualTo("otel-lake: a stack from this folder is already running (process " + launcher.pid()
                            + "): use it, or stop it first (Ctrl-C in its terminal, or: kill " + launcher.pid()
                            + ").\n");

            Result stop = run(folder, "stop");
            assertThat(stop.exitCode()).isEqualTo(2);
            assertThat(stop.stderr())
                    .isEqualTo("otel-lake: there is no 'stop': ./otel-lake up runs in the foreground, and Ctrl-C in"
                            + " its terminal stops it.\nThe stack from this folder runs as process " + launcher.pid()
                            + "; 'kill " + launcher.pid() + "' stops it the same way.\n");
        }
    }

    @Test
    void aLockLeftByAStoppedStackOrNamingAnotherProcessIsNoRunningStack() throws Exception {
        Path folder = copyOfTheScript();
        assertThat(run(folder, "down").stderr())
                .as("no data folder yet")
                .endsWith("\nNo stack from this folder is running.\n");

        writeLock(folder, ProcessHandle.current().pid()); // alive, but not a launcher
        Result down = run(folder, "down");
        assertThat(down.exitCode()).isEqualTo(2);
        assertThat(down.stderr())
                .isEqualTo("otel-lake: there is no 'down': ./otel-lake up runs in the foreground, and Ctrl-C in its"
                        + " terminal stops it.\nNo stack from this folder is running.\n");
    }

    @Test
    void anUnknownCommandIsNamedBeforeTheUsage() throws Exception {
        Result result = run(copyOfTheScript(), "start");
        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.stderr()).startsWith("otel-lake: unknown command 'start'\nusage: ./otel-lake up\n");
    }

    record Result(int exitCode, String stdout, String stderr) {}

    private Path copyOfTheScript() throws IOException {
        Path root = LocalStack.rootAbove(Path.of("")).orElseThrow();
        Path folder = Files.createDirectories(tempDir.resolve("checkout"));
        Files.copy(root.resolve("otel-lake"), folder.resolve("otel-lake"));
        return folder;
    }

    private static void writeLock(Path folder, long pid) throws IOException {
        Path lock = folder.resolve("data/kafka/otel-lake.lock");
        Files.createDirectories(lock.getParent());
        Files.writeString(lock, pid + "\n");
    }

    private Result run(Path folder, String command) throws Exception {
        Path out = tempDir.resolve("out.txt");
        Path err = tempDir.resolve("err.txt");
        Process process = new ProcessBuilder("bash", folder.resolve("otel-lake").toString(), command)
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        if (!process.waitFor(Duration.ofSeconds(30).toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("otel-lake " + command + " did not finish within 30 s");
        }
        return new Result(
                process.exitValue(),
                Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }
}
