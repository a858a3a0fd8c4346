package io.otellake.infra;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Objects;

/**
 * A real S3 API (S3Proxy with its filesystem backend) in a {@link ChildJvm}, listening on 127.0.0.1 only.
 *
 * <p>Guarantees: when a start method returns, {@link #endpoint()} answers HTTP. Each directory directly under the data
 * directory is a bucket and each file below it an object, so data survives {@link #stop()}/{@link #start()}; nothing
 * else is ever written there (a stray file would show up as a bucket). Requests must be signed (AWS signature v2 or
 * v4) with {@link #accessKey()} and {@link #secretKey()}; use path-style addressing, as the endpoint is an IP address.
 *
 * <p>The secret never appears on a command line or in {@link #toString()}: S3Proxy reads it from a private temporary
 * file that is deleted as soon as the server answers.
 */
public final class S3Server implements AutoCloseable {
    public static final String DEFAULT_ACCESS_KEY = "otel-lake";
    public static final String DEFAULT_SECRET_KEY = "otel-lake-secret";

    private static final String HOST = "127.0.0.1";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final int PROBE_TIMEOUT_MILLIS = 1000;

    private final Path dataDir;
    private final int port;
    private final String accessKey;
    private final String secretKey;
    private final Path logFile;
    private ChildJvm process; // guarded by this

    private S3Server(Path dataDir, int port, String accessKey, String secretKey, Path logFile) {
        this.dataDir = dataDir.toAbsolutePath();
        this.port = port;
        this.accessKey = accessKey;
        this.secretKey = secretKey;
        this.logFile = logFile.toAbsolutePath();
    }

    /**
     * Starts S3Proxy with its log in {@code <dataDir>.log} beside the data directory (not inside it: every entry
     * there is a bucket); see {@link #start(Path, int, String, String, Path)}.
     */
    public static S3Server start(Path dataDir, int port, String accessKey, String secretKey) {
        Objects.requireNonNull(dataDir, "dataDir");
        Path absolute = dataDir.toAbsolutePath();
        return start(dataDir, port, accessKey, secretKey, absolute.resolveSibling(absolute.getFileName() + ".log"));
    }

    /**
     * Starts S3Proxy and waits until it answers HTTP (at most 60 s).
     *
     * @param dataDir the directory whose subdirectories are the buckets; created if missing
     * @param logFile where the server's output is appended; must not be inside {@code dataDir}
     * @throws IllegalStateException if the port is taken, or the server exits or does not answer in time (the
     *     message holds the end of its log)
     */
    public static S3Server start(Path dataDir, int port, String accessKey, String secretKey, Path logFile) {
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(accessKey, "accessKey");
        Objects.requireNonNull(secretKey, "secretKey");
        Objects.requireNonNull(logFile, "logFile");
        Ports.checkPort(port);
        if (logFile.toAbsolutePath().startsWith(dataDir.toAbsolutePath())) {
            throw new IllegalArgumentException(
                    "the log file " + logFile + " must not be inside the data directory " + dataDir);
        }
        S3Server server = new S3Server(dataDir, port, accessKey, secretKey, logFile);
        server.start();
        return server;
    }

    /** Starts S3Proxy on a free port with the default keys, with its log in {@code <dataDir>.log}. */
    public static S3Server startOnFreePorts(Path dataDir) {
        return start(dataDir, Ports.freePort(), DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY);
    }

    /**
     * Starts the server again on the same data directory and port, after {@link #stop()}. Does nothing while it is
     * running.
     *
     * @throws IllegalStateException as {@link #start(Path, int, String, String, Path)} does
     */
    public synchronized void start() {
        if (process != null && process.isAlive()) {
            return;
        }
        Ports.requireFree(port, "the S3 server");
        try {
            Files.createDirectories(dataDir);
        } catch (IOException e) {
            throw new UncheckedIOException("could not create " + dataDir, e);
        }
        Path configuration = writeConfiguration();
        try {
            ChildJvm child = ChildJvm.builder("s3proxy", "org.gaul.s3proxy.Main")
                    .classpath(Classpath.fromResource("s3proxy.classpath"))
                    .jvmOptions(
                            "-Xmx256m",
                            "-Djava.awt.headless=true",
                            // Logback otherwise prints its whole configuration status at start-up.
                            "-Dlogback.statusListenerClass=ch.qos.logback.core.status.NopStatusListener")
                    // As Kafka's: services that die with the launcher release their leases here as they end.
                    .parentGoneGrace(KafkaBroker.PARENT_GONE_GRACE)
                    .args("--properties", configuration.toString())
                    .workingDirectory(dataDir)
                    .logFile(logFile)
                    .start();
            try {
                child.waitUntil("an HTTP answer from " + endpoint(), START_TIMEOUT, this::answersHttp);
            } catch (RuntimeException e) {
                child.close();
                throw e;
            }
            process = child;
        } finally {
            deleteQuietly(configuration);
        }
    }

    /** Stops the server (SIGTERM, then up to 15 s); its data stays. Does nothing if stopped. */
    public synchronized void stop() {
        if (process != null) {
            process.close();
            process = null;
        }
    }

    /** Whether the server process is running. */
    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** {@code http://127.0.0.1:<port>}. */
    public URI endpoint() {
        return URI.create("http://" + HOST + ":" + port);
    }

    public int port() {
        return port;
    }

    public String accessKey() {
        return accessKey;
    }

    public String secretKey() {
        return secretKey;
    }

    public Path dataDir() {
        return dataDir;
    }

    public Path logFile() {
        return logFile;
    }

    /** Same as {@link #stop()}. */
    @Override
    public void close() {
        stop();
    }

    /** Names the endpoint, data directory and access key; never the secret key. */
    @Override
    public String toString() {
        return "S3Server[" + endpoint() + ", data " + dataDir + ", access key " + accessKey + ", log " + logFile + "]";
    }

    /** The running server process, if any. */
    synchronized ChildJvm process() {
        return process;
    }

    private boolean answersHttp() {
        try {
            HttpURLConnection connection =
                    (HttpURLConnection) endpoint().resolve("/").toURL().openConnection();
            connection.setConnectTimeout(PROBE_TIMEOUT_MILLIS);
            connection.setReadTimeout(PROBE_TIMEOUT_MILLIS);
            try {
                return connection.getResponseCode() > 0;
            } finally {
                connection.disconnect();
            }
        } catch (IOException e) {
            return false;
        }
    }

    private Path writeConfiguration() {
        String configuration = String.join(
                "\n",
                "s3proxy.endpoint=http://" + HOST + ":" + port,
                "s3proxy.authorization=aws-v2-or-v4",
                "s3proxy.identity=" + PropertyValues.escape(accessKey),
                "s3proxy.credential=" + PropertyValues.escape(secretKey),
                "jclouds.provider=filesystem",
                "jclouds.filesystem.basedir=" + PropertyValues.escape(dataDir.toString()),
                "");
        try {
            Path file = FileSystems.getDefault().supportedFileAttributeViews().contains("posix")
                    ? Files.createTempFile(
                            "otel-lake-s3proxy",
                            ".properties",
                            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))
                    : Files.createTempFile("otel-lake-s3proxy", ".properties");
            Files.writeString(file, configuration, StandardCharsets.UTF_8);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("could not write the S3Proxy configuration", e);
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // A leftover temporary file is harmless; the system cleans its temporary directory.
        }
    }
}
