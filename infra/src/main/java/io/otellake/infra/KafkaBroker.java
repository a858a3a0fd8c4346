package io.otellake.infra;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.UUID;

/**
 * A real single-node Apache Kafka broker (KRaft, broker and controller in one process) in a {@link ChildJvm}, listening
 * on 127.0.0.1 only.
 *
 * <p>Guarantees: when a start method returns, the broker has logged "Kafka Server started" and accepts connections on
 * {@link #bootstrapServers()}. The storage under the data directory is formatted once, on first start, and reused by
 * every later start on the same directory (topics and offsets survive {@link #stop()}/{@link #start()}). The
 * controller quorum is static ({@code controller.quorum.voters}), so both ports may change between starts.
 *
 * <p>Broker settings for a one-node development cluster: replication factor 1 for internal topics, no automatic topic
 * creation (services create their topics), no initial rebalance delay, messages up to 16 MiB.
 *
 * <p>One broker at a time per data directory: while a broker runs, this JVM holds a lock on {@code otel-lake.lock}
 * there, and a second start on the same directory (from this JVM or another, on whatever ports) fails before it writes
 * anything. Kafka's own lock would come too late: in combined mode the second controller opens the shared metadata log
 * before the broker part checks {@code log/.lock}, and corrupts it.
 *
 * <p>Layout of the data directory: {@code server.properties} and {@code log4j2.properties} (rewritten at each start),
 * {@code log/} (the log directory, with {@code meta.properties}), {@code otel-lake.lock} (holds the pid of the JVM that
 * runs the broker), and {@code broker.log} unless another log file is given.
 */
public final class KafkaBroker implements AutoCloseable {
    /** Logged by kafka.server.KafkaRaftServer once broker and controller are up and the broker is unfenced. */
    static final String STARTED_LINE = "Kafka Server started";

    static final int MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
    private static final String HOST = "127.0.0.1";
    private static final int NODE_ID = 1;
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration FORMAT_TIMEOUT = Duration.ofSeconds(60);
    private static final String LOCK_FILE = "otel-lake.lock";
    /**
     * If this JVM dies without stopping the broker, the services it launched beside the broker end at the same moment;
     * the broker stays this long so that the archiver can leave its consumer group (else the next one waits 45 s).
     */
    static final Duration PARENT_GONE_GRACE = Duration.ofSeconds(5);

    private static final List<String> JVM_OPTIONS = List.of("-Xmx512m", "-Djava.awt.headless=true");

    private final Path dataDir;
    private final int port;
    private final int controllerPort;
    private final Path logFile;
    /** The one user and password of a broker that takes SASL/PLAIN only; null for plaintext without authentication. */
    private final String[] saslPlain;

    private ChildJvm process; // guarded by this
    private FileChannel lockChannel; // guarded by this; open while the data directory is ours

    private KafkaBroker(Path dataDir, int port, int controllerPort, Path logFile, String[] saslPlain) {
        this.dataDir = dataDir.toAbsolutePath();
        this.port = port;
        this.controllerPort = controllerPort;
        this.logFile = logFile.toAbsolutePath();
        this.saslPlain = saslPlain;
    }

    /** Starts a broker with its log in {@code dataDir/broker.log}; see {@link #start(Path, int, int, Path)}. */
    public static KafkaBroker start(Path dataDir, int port, int controllerPort) {
        Objects.requireNonNull(dataDir, "dataDir");
        return start(dataDir, port, controllerPort, dataDir.resolve("broker.log"));
    }

    /**
     * Starts a broker and waits until it is ready (at most 60 s).
     *
     * @param dataDir where the broker keeps its data; created if missing, formatted on first use
     * @param port the client port ({@link #bootstrapServers()})
     * @param controllerPort the KRaft controller port
     * @param logFile where the broker's output is appended
     * @throws IllegalStateException if a port is taken, or the broker exits or is not ready in time (the message holds
     *     the end of its log)
     */
    public static KafkaBroker start(Path dataDir, int port, int controllerPort, Path logFile) {
        return start(dataDir, port, controllerPort, logFile, null);
    }

    /**
     * Starts a broker on two free ports whose client port takes only SASL/PLAIN ({@code security.protocol=
     * SASL_PLAINTEXT}, {@code sasl.mechanism=PLAIN}) with the one user {@code user} and its {@code password}, as a
     * secured Kafka would; for tests of clients' security settings.
     */
    public static KafkaBroker startOnFreePortsWithSaslPlain(Path dataDir, String user, String password) {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(password, "password");
        List<Integer> ports = Ports.freePorts(2);
        return start(dataDir, ports.get(0), ports.get(1), dataDir.resolve("broker.log"), new String[] {user, password});
    }

    /**
     * The environment variables that point ingest and the archiver at this broker: {@code OTEL_LAKE_KAFKA_BOOTSTRAP},
     * and for a SASL/PLAIN broker the {@code OTEL_LAKE_KAFKA_CLIENT_*} settings of its user.
     */
    public Map<String, String> clientEnvironment() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("OTEL_LAKE_KAFKA_BOOTSTRAP", bootstrapServers());
        if (saslPlain != null) {
            env.put("OTEL_LAKE_KAFKA_CLIENT_SECURITY_PROTOCOL", "SASL_PLAINTEXT");
            env.put("OTEL_LAKE_KAFKA_CLIENT_SASL_MECHANISM", "PLAIN");
            env.put("OTEL_LAKE_KAFKA_CLIENT_SASL_JAAS_CONFIG", saslPlainJaasConfig(saslPlain[0], saslPlain[1]));
        }
        return env;
    }

    /** The JAAS configuration a client of a SASL/PLAIN broker gives as {@code sasl.jaas.config}. */
    public static String saslPlainJaasConfig(String user, String password) {
        return "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"" + user + "\" password=\""
                + password + "\";";
    }

    private static KafkaBroker start(Path dataDir, int port, int controllerPort, Path logFile, String[] saslPlain) {
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(logFile, "logFile");
        Ports.checkPort(port);
        Ports.checkPort(controllerPort);
        if (port == controllerPort) {
            throw new IllegalArgumentException("the client and controller ports must differ: " + port);
        }
        if (dataDir.toAbsolutePath().toString().contains(",")) {
            // log.dirs is a comma-separated list: Kafka would take the halves for two directories
            throw new IllegalArgumentException("the Kafka broker's data directory cannot have a comma in its path"
                    + " (Kafka reads log.dirs as a comma-separated list): " + dataDir.toAbsolutePath()
                    + "; clone or move the repository to a path without one");
        }
        KafkaBroker broker = new KafkaBroker(dataDir, port, controllerPort, logFile, saslPlain);
        broker.start();
        return broker;
    }

    /** Starts a broker on two free ports, with its log in {@code dataDir/broker.log}. */
    public static KafkaBroker startOnFreePorts(Path dataDir) {
        List<Integer> ports = Ports.freePorts(2);
        return start(dataDir, ports.get(0), ports.get(1));
    }

    /**
     * Starts the broker again on the same data directory and ports, after {@link #stop()}. Does nothing while it is
     * running.
     *
     * @throws IllegalStateException as {@link #start(Path, int, int, Path)} does
     */
    public synchronized void start() {
        if (process != null && process.isAlive()) {
            return;
        }
        Ports.requireFree(port, "the Kafka broker");
        Ports.requireFree(controllerPort, "the Kafka controller");
        lockDataDir();
        try {
            Path serverProperties = writeConfiguration();
            List<Path> classpath = Classpath.fromResource("kafka.classpath");
            if (!isFormatted()) {
                formatStorage(classpath, serverProperties);
            }
            ChildJvm child = ChildJvm.builder("kafka", "kafka.Kafka")
                    .classpath(classpath)
                    .jvmOptions(JVM_OPTIONS.toArray(String[]::new))
                    .jvmOptions("-Dlog4j2.configurationFile=" + dataDir.resolve("log4j2.properties"))
                    .parentGoneGrace(PARENT_GONE_GRACE)
                    .args(serverProperties.toString())
                    .workingDirectory(dataDir)
                    .logFile(logFile)
                    .start();
            try {
                child.waitForLogLine(STARTED_LINE, START_TIMEOUT);
                child.waitForPort(HOST, port, START_TIMEOUT);
            } catch (RuntimeException e) {
                child.close();
                throw e;
            }
            process = child;
        } catch (RuntimeException e) {
            unlockDataDir();
            throw e;
        }
    }

    /** Stops the broker (SIGTERM, then up to 15 s for a clean shutdown); its data stays. Does nothing if stopped. */
    public synchronized void stop() {
        if (process != null) {
            process.close();
            process = null;
        }
        unlockDataDir();
    }

    /** Whether the broker process is running. */
    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** The value for {@code bootstrap.servers}: {@code 127.0.0.1:<port>}. */
    public String bootstrapServers() {
        return HOST + ":" + port;
    }

    public int port() {
        return port;
    }

    public int controllerPort() {
        return controllerPort;
    }

    public Path dataDir() {
        return dataDir;
    }

    public Path logFile() {
        return logFile;
    }

    /** The id the storage was formatted with; it stays the same across restarts on the same data directory. */
    public String clusterId() {
        Properties meta = new Properties();
        try (Reader reader = Files.newBufferedReader(metaProperties(), StandardCharsets.UTF_8)) {
            meta.load(reader);
        } catch (IOException e) {
            throw new UncheckedIOException("could not read " + metaProperties(), e);
        }
        return meta.getProperty("cluster.id");
    }

    /** Same as {@link #stop()}. */
    @Override
    public void close() {
        stop();
    }

    @Override
    public String toString() {
        return "KafkaBroker[" + bootstrapServers() + ", data " + dataDir + ", log " + logFile + "]";
    }

    /** The running broker process, if any. */
    synchronized ChildJvm process() {
        return process;
    }

    private Path logDir() {
        return dataDir.resolve("log");
    }

    private Path metaProperties() {
        return logDir().resolve("meta.properties");
    }

    /**
     * Takes the data directory for this broker, or fails with a sentence when another broker has it. The lock is this
     * JVM's: should it die, the kernel releases the lock, and its broker ends through {@link ParentWatchdog}.
     */
    private void lockDataDir() {
        Path lockFile = dataDir.resolve(LOCK_FILE);
        FileChannel channel = null;
        try {
            Files.createDirectories(dataDir);
            channel = FileChannel.open(
                    lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null; // held by another KafkaBroker in this JVM
            }
            if (lock == null) {
                String holder = lockHolder(lockFile);
                throw new IllegalStateException("The Kafka data directory " + dataDir + " is in use by another broker"
                        + (holder.isEmpty() ? "" : " (process " + holder + ")")
                        + ", perhaps another ./otel-lake up on other ports: stop it, or give this broker a data"
                        + " directory of its own.");
            }
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)));
            lockChannel = channel;
        } catch (IOException e) {
            closeQuietly(channel);
            throw new UncheckedIOException("could not lock " + lockFile, e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    /** The pid the holder wrote into the lock file, or empty where the system does not let us read it while locked. */
    private static String lockHolder(Path lockFile) {
        try {
            return new String(Files.readAllBytes(lockFile), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            return "";
        }
    }

    /** Releases the data directory (closing the channel releases the lock); the file stays, to be locked next time. */
    private void unlockDataDir() {
        closeQuietly(lockChannel);
        lockChannel = null;
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel == null) {
            return;
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // Closing releases the lock even when it reports an error; nothing else is held.
        }
    }

    private boolean isFormatted() {
        return Files.exists(metaProperties());
    }

    /**
     * Formats the log directory the way {@code kafka-storage.sh format -t <id> -c server.properties} does. Without
     * {@code --standalone}: the quorum is the static {@code controller.quorum.voters} of the configuration.
     */
    private void formatStorage(List<Path> classpath, Path serverProperties) {
        try (ChildJvm format = ChildJvm.builder("kafka-storage-format", "kafka.tools.StorageTool")
                .classpath(classpath)
                .jvmOptions("-Xmx256m", "-Dlog4j2.configurationFile=" + dataDir.resolve("log4j2.properties"))
                .args("format", "--cluster-id", newClusterId(), "--config", serverProperties.toString())
                .workingDirectory(dataDir)
                .logFile(logFile)
                .start()) {
            int exitCode = format.waitForExit(FORMAT_TIMEOUT);
            if (exitCode != 0 || !isFormatted()) {
                throw new IllegalStateException(
                        "Formatting the Kafka storage in " + logDir() + " failed with exit code " + exitCode
                                + ". Its log is " + logFile + "; last lines:\n" + format.logTail());
            }
        }
    }

    private Path writeConfiguration() {
        String logDir = logDir().toString();
        String listener = saslPlain == null ? "PLAINTEXT" : "SASL_PLAINTEXT";
        String server = String.join(
                "\n",
                "# Written by otel-lake's KafkaBroker at every start: edits here do not last.",
                "process.roles=broker,controller",
                "node.id=" + NODE_ID,
                "controller.quorum.voters=" + NODE_ID + "@" + HOST + ":" + controllerPort,
                "listeners=" + listener + "://" + HOST + ":" + port + ",CONTROLLER://" + HOST + ":" + controllerPort,
                "advertised.listeners=" + listener + "://" + HOST + ":" + port,
                "listener.security.protocol.map=" + listener + ":" + listener + ",CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name=" + listener,
                "controller.listener.names=CONTROLLER",
                "log.dirs=" + PropertyValues.escape(logDir),
                "num.partitions=1",
                "default.replication.factor=1",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "transaction.state.log.num.partitions=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "share.coordinator.state.topic.num.partitions=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=false",
                "message.max.bytes=" + MAX_MESSAGE_BYTES,
                saslPlain == null
                        ? ""
                        : String.join(
                                "\n",
                                "sasl.enabled.mechanisms=PLAIN",
                                "sasl.mechanism.inter.broker.protocol=PLAIN",
                                "listener.name.sasl_plaintext.plain.sasl.jaas.config="
                                        + PropertyValues.escape(saslPlainJaasConfig(saslPlain[0], saslPlain[1])
                                                .replace(";", " user_" + saslPlain[0] + "=\"" + saslPlain[1] + "\";")),
                                ""));
        // WARN everywhere, except the few INFO lines that say when the server starts and stops.
        String log4j = String.join(
                "\n",
                "status = warn",
                "shutdownHook = disable",
                "appender.stdout.type = Console",
                "appender.stdout.name = STDOUT",
                "appender.stdout.layout.type = PatternLayout",
                "appender.stdout.layout.pattern = [%d] %p %m (%c)%n",
                "rootLogger.level = WARN",
                "rootLogger.appenderRef.stdout.ref = STDOUT",
                "logger.raftServer.name = kafka.server.KafkaRaftServer",
                "logger.raftServer.level = INFO",
                "");
        try {
            Files.createDirectories(logDir());
            Path serverProperties = dataDir.resolve("server.properties");
            Files.writeString(serverProperties, server, StandardCharsets.UTF_8);
            Files.writeString(dataDir.resolve("log4j2.properties"), log4j, StandardCharsets.UTF_8);
            return serverProperties;
        } catch (IOException e) {
            throw new UncheckedIOException("could not write the Kafka configuration into " + dataDir, e);
        }
    }

    /** A random id in Kafka's format (16 bytes, URL-safe base64), never starting with '-' (the CLI would balk). */
    static String newClusterId() {
        while (true) {
            UUID uuid = UUID.randomUUID();
            ByteBuffer bytes = ByteBuffer.allocate(16);
            bytes.putLong(uuid.getMostSignificantBits()).putLong(uuid.getLeastSignificantBits());
            String id = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes.array());
            if (!id.startsWith("-")) {
                return id;
            }
        }
    }
}
