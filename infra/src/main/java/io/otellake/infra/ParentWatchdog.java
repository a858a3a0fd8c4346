package io.otellake.infra;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Arrays;

/**
 * The main class of every {@link ChildJvm}: it runs the real main class, and ends the JVM once the parent is gone.
 *
 * <p>The parent holds the write end of this JVM's stdin and never writes to it. The kernel closes that end when the
 * parent dies, however it dies (SIGKILL included), so end-of-file on stdin means "parent gone". The JVM then exits
 * through {@link System#exit} (the real program's shutdown hooks run, and close its own children in turn), and halts
 * if the hooks take longer than {@link #HALT_AFTER_MILLIS}.
 *
 * <p>A server others depend on (Kafka, S3) can be given a grace with the system property {@value #GRACE_PROPERTY}
 * (milliseconds): it then waits that long before exiting, since every child learns of the parent's death at the same
 * moment, and the services need the broker alive while they leave its consumer group. Without the grace, a stack
 * whose launcher was killed leaves a consumer the broker still counts on, and the next archiver gets no partitions
 * until that consumer's session times out (45 s).
 *
 * <p>Usage: {@code ParentWatchdog <real main class> [args...]}.
 */
final class ParentWatchdog {
    /** Generous enough for a Kafka broker's orderly shutdown, short enough that nothing lingers. */
    static final long HALT_AFTER_MILLIS = 15_000;

    /** The system property holding the grace, in milliseconds, between the parent's death and this JVM's exit. */
    static final String GRACE_PROPERTY = "otel.lake.parent-gone-grace-millis";

    private ParentWatchdog() {}

    public static void main(String[] args) throws Throwable {
        if (args.length == 0) {
            throw new IllegalArgumentException("usage: ParentWatchdog <main class> [args...]");
        }
        InputStream parentPipe = System.in;
        // The real program must not consume (or block on) the pipe; it sees an empty stdin instead.
        System.setIn(new ByteArrayInputStream(new byte[0]));
        Thread watchdog = new Thread(() -> watch(parentPipe), "otel-lake-parent-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();

        Method main =
                Class.forName(args[0], true, ClassLoader.getSystemClassLoader()).getMethod("main", String[].class);
        try {
            main.invoke(null, (Object) Arrays.copyOfRange(args, 1, args.length));
        } catch (InvocationTargetException e) {
            // Behave like the java launcher: the program's own exception, not our reflective wrapper.
            throw e.getCause();
        }
    }

    private static void watch(InputStream parentPipe) {
        byte[] buffer = new byte[256];
        try {
            while (parentPipe.read(buffer) != -1) {
                // The parent never writes; anything that arrives is ignored.
            }
        } catch (IOException e) {
            // A broken pipe means the same as end-of-file: the parent is gone.
        }
        long grace = Long.getLong(GRACE_PROPERTY, 0);
        if (grace > 0) {
            System.err.println("[otel-lake] parent process is gone; this JVM exits in " + grace + " ms");
            try {
                Thread.sleep(grace);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        } else {
            System.err.println("[otel-lake] parent process is gone; this JVM exits");
        }
        Thread halter = new Thread(
                () -> {
                    try {
                        Thread.sleep(HALT_AFTER_MILLIS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    Runtime.getRuntime().halt(1);
                },
                "otel-lake-parent-watchdog-halt");
        halter.setDaemon(true);
        halter.start();
        System.exit(1);
    }
}
