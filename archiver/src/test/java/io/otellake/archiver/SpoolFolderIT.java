package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;

import io.otellake.infra.ChildJvm;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Spool folders of real processes: a writer killed with SIGKILL leaves its files, and the next writer to start removes
 * them without touching those of a writer that still runs.
 */
class SpoolFolderIT {
    @TempDir
    Path work;

    @Test
    void theNextClaimRemovesWhatAKilledWriterLeftAndNeverALiveWritersFiles() throws Exception {
        Path root = work.resolve("spool");
        try (ChildJvm alive = holder("alive", root);
                ChildJvm killed = holder("killed", root)) {
            alive.waitForLogLine("holding", Duration.ofSeconds(60));
            killed.waitForLogLine("holding", Duration.ofSeconds(60));
            ProcessHandle.of(killed.pid()).ifPresent(ProcessHandle::destroyForcibly);
            killed.waitForExit(Duration.ofSeconds(30));
            assertThat(files(root)).containsExactlyInAnyOrder("alive.parquet", "killed.parquet");

            try (SpoolFolder mine = SpoolFolder.claim(root);
                    SpoolFolder another = SpoolFolder.claim(root)) {
                Files.write(mine.path().resolve("mine.parquet"), new byte[10]);
                Files.write(another.path().resolve("another.parquet"), new byte[10]);
                // the second claim in this JVM swept while the first held its folder, without opening its lock file
                // (closing any channel of it would have dropped this process's lock): another process's sweep keeps
                // both
                try (ChildJvm sweeper = holder("sweeper", root)) {
                    sweeper.waitForLogLine("holding", Duration.ofSeconds(60));
                    assertThat(files(root))
                            .containsExactlyInAnyOrder(
                                    "alive.parquet", "mine.parquet", "another.parquet", "sweeper.parquet");
                }
                assertThat(entries(root)).hasSize(8); // the stopped sweeper's folder stays until the next sweep
            }
            assertThat(files(root)).containsExactlyInAnyOrder("alive.parquet", "sweeper.parquet");
            assertThat(entries(root)).hasSize(4);

            alive.close(); // SIGTERM: the holder does not clean up, as after a crash
            try (SpoolFolder mine = SpoolFolder.claim(root)) {
                assertThat(files(root)).isEmpty();
                assertThat(entries(root)).hasSize(2);
                assertThat(mine.path().getParent()).isEqualTo(root);
            }
            assertThat(entries(root)).isEmpty();
        }
    }

    /** A child JVM that claims a spool folder, writes {@code <name>.parquet} in it and waits to be stopped. */
    private ChildJvm holder(String name, Path root) throws Exception {
        Path target = Path.of("target").toAbsolutePath();
        List<Path> classpath = new ArrayList<>(List.of(target.resolve("classes"), target.resolve("test-classes")));
        for (String entry :
                Files.readString(target.resolve("runtime.classpath")).strip().split(File.pathSeparator)) {
            if (!entry.isBlank()) {
                classpath.add(Path.of(entry.strip()));
            }
        }
        return ChildJvm.builder(name, Holder.class.getName())
                .classpath(classpath)
                .jvmOptions("-Xmx64m", "-XX:TieredStopAtLevel=1")
                .args(root.toString(), name + ".parquet")
                .logFile(work.resolve(name + ".log"))
                .stopTimeout(Duration.ofSeconds(10))
                .start();
    }

    private static List<String> files(Path root) throws Exception {
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.filter(p -> p.toString().endsWith(".parquet"))
                    .map(p -> p.getFileName().toString())
                    .toList();
        }
    }

    private static List<Path> entries(Path root) throws Exception {
        try (Stream<Path> list = Files.list(root)) {
            return list.toList();
        }
    }

    /** The child's program. */
    public static final class Holder {
        public static void main(String[] args) throws Exception {
            SpoolFolder folder = SpoolFolder.claim(Path.of(args[0]));
            Files.write(folder.path().resolve(args[1]), new byte[1000]);
            System.out.println("holding " + folder.path());
            Thread.sleep(Long.MAX_VALUE);
        }

        private Holder() {}
    }
}
