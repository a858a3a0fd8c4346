package io.otellake.infra;

import java.nio.file.Path;

/** Small programs that the tests run in child JVMs. */
final class TestMains {
    private TestMains() {}

    /** Prints "sleeping" and sleeps until killed. */
    static final class SleepForever {
        public static void main(String[] args) throws InterruptedException {
            System.out.println("sleeping");
            Thread.sleep(Long.MAX_VALUE);
        }
    }

    /** Prints its first argument and exits with code 3. */
    static final class ExitWithMessage {
        public static void main(String[] args) {
            System.out.println(args[0]);
            System.exit(3);
        }
    }

    /** Prints the variable CHILD_JVM_TEST and what reading stdin gives, then returns. */
    static final class PrintEnvironmentAndStdin {
        public static void main(String[] args) throws Exception {
            System.out.println("CHILD_JVM_TEST=" + System.getenv("CHILD_JVM_TEST"));
            System.out.println("stdin read=" + System.in.read());
        }
    }

    /**
     * Starts a {@link SleepForever} grandchild logging to {@code args[0]}, with a parent-gone grace of {@code args[1]}
     * milliseconds if given, prints "GRANDCHILD_PID=<pid>", and sleeps until killed.
     */
    static final class StartSleepingChild {
        public static void main(String[] args) throws Exception {
            ChildJvm grandchild = ChildJvm.builder("grandchild", SleepForever.class.getName())
                    .parentGoneGrace(
                            args.length > 1
                                    ? java.time.Duration.ofMillis(Long.parseLong(args[1]))
                                    : java.time.Duration.ZERO)
                    .classpath(java.util.List.of(Path.of(StartSleepingChild.class
                            .getProtectionDomain()
                            .getCodeSource()
                            .getLocation()
                            .toURI())))
                    .logFile(Path.of(args[0]))
                    .start();
            grandchild.waitForLogLine("sleeping", java.time.Duration.ofSeconds(30));
            System.out.println("GRANDCHILD_PID=" + grandchild.pid());
            Thread.sleep(Long.MAX_VALUE);
        }
    }
}
