package io.otellake.infra;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A Java program running in its own JVM, started by this one, that never outlives it.
 *
 * <p>Guarantees, so that no stray process is ever left behind:
 *
 * <ul>
 *   <li>The child runs under {@link ParentWatchdog}, which ends it when this JVM dies, even by SIGKILL (after the
 *       {@link Builder#parentGoneGrace} if one was set).
 *   <li>{@link #close()} sends SIGTERM, waits up to the stop timeout (15 s unless set), then kills; processes the child
 *       started itself are killed too if they do not end by themselves shortly after.
 *   <li>A shutdown hook of this JVM closes every child not yet closed, the latest started first.
 * </ul>
 *
 * <p>The child's stdout and stderr are appended to its log file. Waiting methods fail fast when the child exits, with
 * the last lines it logged in the exception's message.
 *
 * <p>On Linux the child is started in a session of its own (with {@code setsid}), so a Ctrl-C in a terminal reaches
 * only the parent, which then stops its children in order, rather than every process at once.
 */
public final class ChildJvm implements AutoCloseable {
    private static final Duration DEFAULT_STOP_TIMEOUT = Duration.ofSeconds(15);
    private static final Duration DESCENDANT_GRACE = Duration.ofSeconds(5);
    private static final int LOG_TAIL_LINES = 40;
    private static final int LOG_TAIL_MAX_BYTES = 16 * 1024;

    /** Children not yet closed, the latest started first. Guarded by itself. */
    private static final Deque<ChildJvm> RUNNING = new ArrayDeque<>();

    private static boolean shutdownHookInstalled; // guarded by RUNNING

    private final String name;
    private final Process process;
    private final Path logFile;
    private final long logStart;
    private final Duration stopTimeout;
    private final Object closeLock = new Object();
    private volatile boolean closeRequested;
    private boolean closed; // guarded by closeLock

    private ChildJvm(String name, Process process, Path logFile, long logStart, Duration stopTimeout) {
        this.name = name;
        this.process = process;
        this.logFile = logFile;
        this.logStart = logStart;
        this.stopTimeout = stopTimeout;
    }

    /**
     * Describes a child JVM to start.
     *
     * @param name a short name for logs and messages, e.g. {@code "kafka"}
     * @param mainClass the class whose {@code main} the child runs
     */
    public static Builder builder(String name, String mainClass) {
        return new Builder(name, mainClass);
    }

    /** The short name given to {@link #builder}. */
    public String name() {
        return name;
    }

    /** The child's process id. */
    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** The exit code, once the child has exited. */
    public OptionalInt exitCode() {
        return process.isAlive() ? OptionalInt.empty() : OptionalInt.of(process.exitValue());
    }

    /** Where the child's stdout and stderr go (appended; earlier runs stay above). */
    public Path logFile() {
        return logFile;
    }

    /**
     * Waits until {@code host:port} accepts TCP connections.
     *
     * @throws IllegalStateException if the child exits first or the timeout passes; the message has the log's tail
     */
    public void waitForPort(String host, int port, Duration timeout) {
        Objects.requireNonNull(host, "host");
        Ports.checkPort(port);
        waitUntil("port " + host + ":" + port, timeout, () -> Ports.isOpen(host, port));
    }

    /**
     * Waits until the child logs a line containing {@code text} (only output of this run counts).
     *
     * @throws IllegalStateException if the child exits first or the timeout passes; the message has the log's tail
     */
    public void waitForLogLine(String text, Duration timeout) {
        Objects.requireNonNull(text, "text");
        LogScan scan = new LogScan(text);
        waitUntil("the log line '" + text + "'", timeout, scan::found);
    }

    /**
     * Waits until {@code ready} holds, checking every 100 ms.
     *
     * @param what what is awaited, for the message when it does not come
     * @throws IllegalStateException if the child exits first or the timeout passes; the message has the log's tail
     */
    public void waitUntil(String what, Duration timeout, BooleanSupplier ready) {
        Objects.requireNonNull(what, "what");
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(ready, "ready");
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!ready.getAsBoolean()) {
            if (!process.isAlive()) {
                throw new IllegalStateException(name + " exited with code " + process.exitValue()
                        + " while we waited for " + what + "." + logTailMessage());
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException(name + " did not become ready within " + describe(timeout)
                        + " (we waited for " + what + ")." + logTailMessage());
            }
            Polling.pause();
        }
    }

    /**
     * Waits for the child to exit by itself.
     *
     * @return its exit code
     * @throws IllegalStateException if it is still running after {@code timeout}; the message has the log's tail
     */
    public int waitForExit(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        try {
            if (!process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                throw new IllegalStateException(
                        name + " did not finish within " + describe(timeout) + "." + logTailMessage());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for " + name + " to finish", e);
        }
        return process.exitValue();
    }

    /** The last lines the child wrote in this run (at most 40). */
    public String logTail() {
        try (RandomAccessFile file = new RandomAccessFile(logFile.toFile(), "r")) {
            long from = Math.max(logStart, file.length() - LOG_TAIL_MAX_BYTES);
            byte[] bytes = new byte[(int) Math.max(0, file.length() - from)];
            file.seek(from);
            file.readFully(bytes);
            List<String> lines =
                    new String(bytes, StandardCharsets.UTF_8).lines().collect(Collectors.toList());
            return String.join("\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size()));
        } catch (IOException e) {
            return "(could not read " + logFile + ": " + e + ")";
        }
    }

    /**
     * Stops the child: SIGTERM, up to the stop timeout for it to exit, then SIGKILL. Processes it had started are
     * killed too if they outlive it by more than a few seconds. Does nothing when already closed.
     */
    @Override
    public void close() {
        closeRequested = true;
        synchronized (closeLock) {
            if (!closed) {
                stopProcessTree();
                closed = true;
            }
        }
        synchronized (RUNNING) {
            RUNNING.remove(this);
        }
    }

    @Override
    public String toString() {
        return "ChildJvm[" + name + ", pid " + process.pid() + (process.isAlive() ? ", running" : ", exited") + ", log "
                + logFile + "]";
    }

    /** Completes when the child has exited, for whatever reason. */
    CompletableFuture<ChildJvm> onExit() {
        return process.onExit().thenApply(p -> this);
    }

    /** Whether {@link #close()} was called, which tells an expected exit from a crash. */
    boolean closeRequested() {
        return closeRequested;
    }

    private void stopProcessTree() {
        List<ProcessHandle> descendants = process.descendants().collect(Collectors.toList());
        boolean interrupted = false;
        try {
            if (process.isAlive()) {
                // Through the handle: Process.destroy() would also close the stdin pipe, and the child's watchdog
                // would take that for its parent's death and race the orderly SIGTERM shutdown with System.exit.
                process.toHandle().destroy();
                if (!process.waitFor(stopTimeout.toNanos(), TimeUnit.NANOSECONDS)) {
                    process.toHandle().destroyForcibly();
                    process.waitFor(DESCENDANT_GRACE.toNanos(), TimeUnit.NANOSECONDS);
                }
            }
        } catch (InterruptedException e) {
            interrupted = true;
            process.toHandle().destroyForcibly();
        }
        // The child's own children watch their stdin like the child does, so they normally end by themselves now.
        long deadline = System.nanoTime() + DESCENDANT_GRACE.toNanos();
        for (ProcessHandle descendant : descendants) {
            while (descendant.isAlive() && System.nanoTime() - deadline < 0 && !interrupted) {
                try {
                    Thread.sleep(Polling.INTERVAL.toMillis());
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            descendant.destroyForcibly();
        }
        closeQuietly(process.getOutputStream());
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private String logTailMessage() {
        return " Its log is " + logFile + "; last lines:\n" + logTail();
    }

    private static void closeQuietly(OutputStream stream) {
        try {
            stream.close();
        } catch (IOException ignored) {
            // The pipe to an exited process may already be broken; there is nothing left to release.
        }
    }

    private static String describe(Duration duration) {
        return duration.toMillis() % 1000 == 0 ? duration.toSeconds() + " s" : duration.toMillis() + " ms";
    }

    private static void register(ChildJvm child) {
        synchronized (RUNNING) {
            if (!shutdownHookInstalled) {
                Runtime.getRuntime()
                        .addShutdownHook(new Thread(ChildJvm::closeAllRunning, "otel-lake-child-jvm-shutdown"));
                shutdownHookInstalled = true;
            }
            RUNNING.addFirst(child);
        }
    }

    private static void closeAllRunning() {
        List<ChildJvm> children;
        synchronized (RUNNING) {
            children = new ArrayList<>(RUNNING);
        }
        // One after the other, latest first: a service stops before the broker it writes to.
        for (ChildJvm child : children) {
            child.close();
        }
    }

    /** Reads the log incrementally from this run's start, looking for one piece of text. */
    private final class LogScan {
        private final String text;
        private final StringBuilder window = new StringBuilder();
        private long position = logStart;

        LogScan(String text) {
            this.text = text;
        }

        boolean found() {
            try (RandomAccessFile file = new RandomAccessFile(logFile.toFile(), "r")) {
                long length = file.length();
                if (length <= position) {
                    return false;
                }
                byte[] bytes = new byte[(int) Math.min(length - position, 1 << 20)];
                file.seek(position);
                file.readFully(bytes);
                position += bytes.length;
                // ISO-8859-1 maps every byte to one char, so a multi-byte character split across reads is harmless.
                window.append(new String(bytes, StandardCharsets.ISO_8859_1));
                if (window.indexOf(text) >= 0) {
                    return true;
                }
                int keep = Math.min(window.length(), text.length());
                window.delete(0, window.length() - keep);
                return false;
            } catch (IOException e) {
                throw new UncheckedIOException("could not read " + logFile, e);
            }
        }
    }

    /** What to start; {@link #start()} starts it. */
    public static final class Builder {
        private final String name;
        private final String mainClass;
        private final List<Path> classpath = new ArrayList<>();
        private final List<String> jvmOptions = new ArrayList<>();
        private final List<String> args = new ArrayList<>();
        private final Map<String, String> environment = new LinkedHashMap<>();
        private Path logFile;
        private Path workingDirectory;
        private Duration stopTimeout = DEFAULT_STOP_TIMEOUT;
        private Duration parentGoneGrace = Duration.ZERO;

        private Builder(String name, String mainClass) {
            this.name = Objects.requireNonNull(name, "name");
            this.mainClass = Objects.requireNonNull(mainClass, "mainClass");
        }

        /** Adds classpath entries (the jar or directory holding this class is always added last). */
        public Builder classpath(List<Path> entries) {
            entries.forEach(entry -> classpath.add(Objects.requireNonNull(entry, "classpath entry")));
            return this;
        }

        /** Adds options for the {@code java} command, e.g. {@code -Xmx512m}. */
        public Builder jvmOptions(String... options) {
            for (String option : options) {
                jvmOptions.add(Objects.requireNonNull(option, "option"));
            }
            return this;
        }

        /** Adds arguments for the main class. */
        public Builder args(String... arguments) {
            return args(List.of(arguments));
        }

        /** Adds arguments for the main class. */
        public Builder args(List<String> arguments) {
            arguments.forEach(argument -> args.add(Objects.requireNonNull(argument, "argument")));
            return this;
        }

        /** Sets an environment variable for the child, on top of this JVM's environment. */
        public Builder env(String key, String value) {
            environment.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /** Sets environment variables for the child, on top of this JVM's environment. */
        public Builder env(Map<String, String> variables) {
            variables.forEach(this::env);
            return this;
        }

        /** Where stdout and stderr are appended; required. Missing folders are created. */
        public Builder logFile(Path file) {
            this.logFile = Objects.requireNonNull(file, "file");
            return this;
        }

        /** The child's current directory; this JVM's unless set. */
        public Builder workingDirectory(Path directory) {
            this.workingDirectory = Objects.requireNonNull(directory, "directory");
            return this;
        }

        /** How long {@link ChildJvm#close()} waits after SIGTERM before it kills; 15 s unless set. */
        public Builder stopTimeout(Duration timeout) {
            this.stopTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /**
         * How long the child keeps running after this JVM dies without closing it (a SIGKILL, a crash); none unless
         * set. For a server the other children use: they end at the same moment, and need it while they shut down.
         */
        public Builder parentGoneGrace(Duration grace) {
            Objects.requireNonNull(grace, "grace");
            if (grace.isNegative()) {
                throw new IllegalArgumentException("the grace must not be negative: " + grace);
            }
            this.parentGoneGrace = grace;
            return this;
        }

        /**
         * Starts the child and returns at once; use the {@code waitFor...} methods for readiness.
         *
         * @throws UncheckedIOException if the log file cannot be written or {@code java} cannot be started
         */
        public ChildJvm start() {
            if (logFile == null) {
                throw new IllegalStateException("logFile is required for " + name);
            }
            List<String> command = new ArrayList<>();
            sessionLauncher().ifPresent(command::add);
            command.add(javaBinary().toString());
            command.addAll(jvmOptions);
            command.add("-Dotel.lake.process=" + name);
            if (!parentGoneGrace.isZero()) {
                command.add("-D" + ParentWatchdog.GRACE_PROPERTY + "=" + parentGoneGrace.toMillis());
            }
            command.add("-cp");
            List<Path> fullClasspath = new ArrayList<>(classpath);
            fullClasspath.add(ownLocation());
            command.add(fullClasspath.stream().map(Path::toString).collect(Collectors.joining(File.pathSeparator)));
            command.add(ParentWatchdog.class.getName());
            command.add(mainClass);
            command.addAll(args);

            ProcessBuilder builder = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
            // stdin stays a pipe that we never write to: ParentWatchdog in the child ends it when the pipe closes.
            builder.environment().putAll(environment);
            if (workingDirectory != null) {
                builder.directory(workingDirectory.toFile());
            }
            try {
                long logStart = writeHeader();
                Process process = builder.start();
                ChildJvm child = new ChildJvm(name, process, logFile, logStart, stopTimeout);
                try {
                    register(child);
                } catch (IllegalStateException e) {
                    // This JVM is shutting down already: the hook would never stop the child.
                    child.close();
                    throw new IllegalStateException("cannot start " + name + " while this JVM shuts down", e);
                }
                return child;
            } catch (IOException e) {
                throw new UncheckedIOException("could not start " + name + " (" + mainClass + ")", e);
            }
        }

        /** Marks where this run starts in the (appended) log, and returns the offset after the mark. */
        private long writeHeader() throws IOException {
            Path parent = logFile.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            // Arguments only, never the environment: it may carry credentials.
            String header = String.format(
                    "%n==== %s: starting %s: %s %s ====%n", Instant.now(), name, mainClass, String.join(" ", args));
            Files.writeString(
                    logFile,
                    header,
                    StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND,
                    StandardOpenOption.WRITE);
            return Files.size(logFile);
        }
    }

    /** The java binary of this JVM, so that the child runs on the same Java. */
    static Path javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java");
    }

    /** The jar or classes directory that holds this class; children need it for {@link ParentWatchdog}. */
    static Path ownLocation() {
        try {
            return Path.of(ChildJvm.class
                    .getProtectionDomain()
                    .getCodeSource()
                    .getLocation()
                    .toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot locate the otel-lake-infra classes", e);
        }
    }

    /**
     * {@code setsid}, where there is one. The child is never a process-group leader, so setsid execs java in place
     * (same pid) instead of forking.
     */
    private static Optional<String> sessionLauncher() {
        return Stream.of("/usr/bin/setsid", "/bin/setsid")
                .filter(candidate -> Files.isExecutable(Path.of(candidate)))
                .findFirst();
    }
}
