package io.otellake.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChildJvmTest {
    private static final Pattern GRANDCHILD_PID = Pattern.compile("GRANDCHILD_PID=(\\d+)");

    @TempDir
    Path tempDir;

    @Test
    void grandchildDiesWhenItsParentIsKilledWithSigkill() throws Exception {
        Path log = tempDir.resolve("parent.log");
        try (ChildJvm parent = start(
                "parent",
                TestMains.StartSleepingChild.class,
                log,
                tempDir.resolve("grandchild.log").toString())) {
            parent.waitForLogLine("GRANDCHILD_PID=", Duration.ofSeconds(30));
            long grandchildPid = grandchildPid(log);
            assertThat(ProcessHandle.of(grandchildPid).map(ProcessHandle::isAlive))
                    .contains(true);

            // SIGKILL: the parent's shutdown hook cannot run; only the grandchild's watchdog can end it.
            ProcessHandle.of(parent.pid()).orElseThrow().destroyForcibly();

            assertThat(waitUntilGone(grandchildPid, Duration.ofSeconds(10)))
                    .as("grandchild %d ended after its parent was killed", grandchildPid)
                    .isTrue();
            assertThat(Files.readString(tempDir.resolve("grandchild.log"))).contains("parent process is gone");
        }
    }

    @Test
    void aChildWithAGraceOutlivesItsKilledParentByTheGraceThenEnds() throws Exception {
        Path log = tempDir.resolve("parent.log");
        Path grandchildLog = tempDir.resolve("grandchild.log");
        try (ChildJvm parent =
                start("parent", TestMains.StartSleepingChild.class, log, grandchildLog.toString(), "3000")) {
            parent.waitForLogLine("GRANDCHILD_PID=", Duration.ofSeconds(30));
            long grandchildPid = grandchildPid(log);

            ProcessHandle.of(parent.pid()).orElseThrow().destroyForcibly();
            long killed = System.nanoTime();

            assertThat(waitUntilGone(grandchildPid, Duration.ofSeconds(20))).isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - killed))
                    .as("how long the grandchild outlived its parent")
                    .isGreaterThanOrEqualTo(Duration.ofSeconds(3));
            assertThat(Files.readString(grandchildLog)).contains("parent process is gone; this JVM exits in 3000 ms");
        }
    }

    @Test
    void closeStopsTheChildAndItsChildren() throws Exception {
        Path log = tempDir.resolve("parent.log");
        ChildJvm parent = start(
                "parent",
                TestMains.StartSleepingChild.class,
                log,
                tempDir.resolve("grandchild.log").toString());
        parent.waitForLogLine("GRANDCHILD_PID=", Duration.ofSeconds(30));
        long grandchildPid = grandchildPid(log);

        parent.close();

        assertThat(parent.isAlive()).isFalse();
        assertThat(waitUntilGone(grandchildPid, Duration.ofSeconds(10))).isTrue();
        parent.close(); // a second close does nothing
    }

    @Test
    void theProcessIdIsTheJavaProcessItself() {
        try (ChildJvm child = start("sleeper", TestMains.SleepForever.class, tempDir.resolve("sleeper.log"))) {
            child.waitForLogLine("sleeping", Duration.ofSeconds(30));
            Optional<String> command = ProcessHandle.of(child.pid())
                    .flatMap(handle -> handle.info().command());
            assertThat(command).hasValueSatisfying(c -> assertThat(c).endsWith("java"));
        }
    }

    @Test
    void failureDuringStartUpNamesTheExitCodeAndShowsTheLogTail() {
        try (ChildJvm child =
                start("failing", TestMains.ExitWithMessage.class, tempDir.resolve("failing.log"), "boom: no config")) {
            assertThatThrownBy(() -> child.waitForPort("127.0.0.1", Ports.freePort(), Duration.ofSeconds(30)))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("failing exited with code 3")
                    .hasMessageContaining("boom: no config")
                    .hasMessageContaining(tempDir.resolve("failing.log").toString());
        }
    }

    @Test
    void timeoutSaysWhatWasAwaited() {
        try (ChildJvm child = start("sleeper", TestMains.SleepForever.class, tempDir.resolve("sleeper.log"))) {
            assertThatThrownBy(() -> child.waitForLogLine("never printed", Duration.ofMillis(300)))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("sleeper did not become ready within 300 ms")
                    .hasMessageContaining("never printed");
        }
    }

    @Test
    void childGetsTheEnvironmentAndAnEmptyStdinAndTheLogIsAppended() throws Exception {
        Path log = tempDir.resolve("env.log");
        Files.writeString(log, "an earlier run\n");
        try (ChildJvm child = ChildJvm.builder("env", TestMains.PrintEnvironmentAndStdin.class.getName())
                .classpath(List.of(testClasses()))
                .env("CHILD_JVM_TEST", "hello")
                .logFile(log)
                .start()) {
            assertThat(child.waitForExit(Duration.ofSeconds(30))).isZero();
            assertThat(child.exitCode()).hasValue(0);
            assertThat(child.logTail())
                    .contains("CHILD_JVM_TEST=hello", "stdin read=-1")
                    .doesNotContain("earlier");
        }
        assertThat(Files.readString(log)).startsWith("an earlier run\n");
    }

    private ChildJvm start(String name, Class<?> main, Path log, String... args) {
        return ChildJvm.builder(name, main.getName())
                .classpath(List.of(testClasses()))
                .args(args)
                .logFile(log)
                .start();
    }

    static Path testClasses() {
        try {
            return Path.of(TestMains.class
                    .getProtectionDomain()
                    .getCodeSource()
                    .getLocation()
                    .toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long grandchildPid(Path log) throws Exception {
        Matcher matcher = GRANDCHILD_PID.matcher(Files.readString(log));
        assertThat(matcher.find()).isTrue();
        return Long.parseLong(matcher.group(1));
    }

    static boolean waitUntilGone(long pid, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            Thread.sleep(50);
        }
        return true;
    }
}
