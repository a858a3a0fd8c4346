package io.otellake.infra;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The whole otel-lake on one machine: Kafka, S3, and the ingest, archiver and query-api services, each in its own
 * {@link ChildJvm}. {@code ./otel-lake up} runs {@link #main} in the foreground; end-to-end tests use {@link #start}.
 *
 * <p>Guarantees: when {@link #start} returns, Kafka and S3 are ready, the ingest and query ports accept connections,
 * and every process is running. {@link #close()} stops query-api, archiver, ingest, S3 and Kafka in that order and
 * leaves no process behind; so does the end of this JVM, however it ends. If start-up fails, whatever was started is
 * stopped before the exception leaves.
 *
 * <p>The services are configured only through environment variables (see {@link #serviceEnvironment()}): that is the
 * contract with the service modules. Data lives under the data directory ({@code <root>/data} for {@code up}): {@code
 * kafka/}, {@code s3/} (one folder per bucket), {@code cache/}, and {@code logs/<process>.log}; it survives restarts.
 */
public final class LocalStack implements AutoCloseable {
    public static final String BUCKET = "otel-lake";
    public static final String PREFIX = "lake";
    public static final String REGION = "us-east-1";

    public static final String KAFKA_PORT_VARIABLE = "OTEL_LAKE_KAFKA_PORT";
    public static final String KAFKA_CONTROLLER_PORT_VARIABLE = "OTEL_LAKE_KAFKA_CONTROLLER_PORT";
    public static final String S3_PORT_VARIABLE = "OTEL_LAKE_S3_PORT";
    public static final String INGEST_HTTP_PORT_VARIABLE = "OTEL_LAKE_INGEST_HTTP_PORT";
    public static final String INGEST_GRPC_PORT_VARIABLE = "OTEL_LAKE_INGEST_GRPC_PORT";
    public static final String QUERY_PORT_VARIABLE = "OTEL_LAKE_QUERY_PORT";

    private static final String HOST = "127.0.0.1";
    private static final Duration SERVICE_START_TIMEOUT = Duration.ofSeconds(120);
    private static final String SERVICE_HEAP = "-Xmx512m";
    /**
     * The archiver holds a file's rows until it writes them, which the parallel collector copies for about half the
     * CPU that G1 spends (docs/operations.md, "The archiver's JVM").
     */
    private static final String ARCHIVER_GC = "-XX:+UseParallelGC";

    private static final Duration PORTLESS_SERVICE_SETTLE = Duration.ofSeconds(3);

    /** One of our own services, run from its module's {@code target/classes} and {@code target/runtime.classpath}. */
    public enum Service {
        INGEST("ingest", "io.otellake.ingest.IngestMain"),
        ARCHIVER("archiver", "io.otellake.archiver.ArchiverMain"),
        QUERY_API("query-api", "io.otellake.query.QueryApiApplication");

        private final String module;
        private final String mainClass;

        Service(String module, String mainClass) {
            this.module = module;
            this.mainClass = mainClass;
        }

        /** The Maven module folder under the repository root, also the process and log name. */
        public String module() {
            return module;
        }

        public String mainClass() {
            return mainClass;
        }
    }

    /**
     * What to start and where.
     *
     * @param rootDir the repository root (the folder with {@code mvnw}); services run from its modules' {@code target}
     * @param dataDir where Kafka, S3, caches and logs keep their files
     * @param services which of our services to start; Kafka and S3 always start
     * @param serviceEnvironment extra environment variables per service, on top of the contract variables (which they
     *     may override), e.g. {@code OTEL_LAKE_ARCHIVER_MAX_FILE_AGE}
     */
    public record Options(
            Path rootDir,
            Path dataDir,
            int kafkaPort,
            int kafkaControllerPort,
            int s3Port,
            int ingestHttpPort,
            int ingestGrpcPort,
            int queryPort,
            Set<Service> services,
            Map<Service, Map<String, String>> serviceEnvironment) {

        public Options {
            rootDir =
                    Objects.requireNonNull(rootDir, "rootDir").toAbsolutePath().normalize();
            dataDir =
                    Objects.requireNonNull(dataDir, "dataDir").toAbsolutePath().normalize();
            List<Integer> ports =
                    List.of(kafkaPort, kafkaControllerPort, s3Port, ingestHttpPort, ingestGrpcPort, queryPort);
            ports.forEach(Ports::checkPort);
            if (new HashSet<>(ports).size() != ports.size()) {
                throw new IllegalArgumentException("the ports must all differ: Kafka " + kafkaPort
                        + ", Kafka controller " + kafkaControllerPort + ", S3 " + s3Port + ", ingest " + ingestHttpPort
                        + ", ingest gRPC " + ingestGrpcPort
                        + ", query " + queryPort);
            }
            services = Collections.unmodifiableSet(
                    Objects.requireNonNull(services, "services").isEmpty()
                            ? EnumSet.noneOf(Service.class)
                            : EnumSet.copyOf(services));
            Map<Service, Map<String, String>> environment = new EnumMap<>(Service.class);
            Objects.requireNonNull(serviceEnvironment, "serviceEnvironment")
                    .forEach((service, variables) ->
                            environment.put(Objects.requireNonNull(service, "service"), Map.copyOf(variables)));
            serviceEnvironment = Collections.unmodifiableMap(environment);
        }

        /**
         * What {@code ./otel-lake up} uses: the repository root found by {@link #findRootDir()}, data in {@code
         * <root>/data}, ports from the {@code OTEL_LAKE_*_PORT} environment variables or their defaults (Kafka 19092,
         * controller 19093, S3 19000, ingest 4318, query 8080), all services.
         */
        public static Options fromEnvironment() {
            Path root = findRootDir();
            return fromEnvironment(root, root.resolve("data"), System.getenv());
        }

        static Options fromEnvironment(Path rootDir, Path dataDir, Map<String, String> environment) {
            Function<String, Integer> port = name -> portVariable(environment, name);
            return new Options(
                    rootDir,
                    dataDir,
                    port.apply(KAFKA_PORT_VARIABLE),
                    port.apply(KAFKA_CONTROLLER_PORT_VARIABLE),
                    port.apply(S3_PORT_VARIABLE),
                    port.apply(INGEST_HTTP_PORT_VARIABLE),
                    port.apply(INGEST_GRPC_PORT_VARIABLE),
                    port.apply(QUERY_PORT_VARIABLE),
                    EnumSet.allOf(Service.class),
                    Map.of());
        }

        /** For tests: free ports, the given data directory (e.g. a temporary one), all services. */
        public static Options onFreePorts(Path rootDir, Path dataDir) {
            List<Integer> ports = Ports.freePorts(6);
            return new Options(
                    rootDir,
                    dataDir,
                    ports.get(0),
                    ports.get(1),
                    ports.get(2),
                    ports.get(3),
                    ports.get(4),
                    ports.get(5),
                    EnumSet.allOf(Service.class),
                    Map.of());
        }

        /** The same options with only these of our services (none: Kafka and S3 only). */
        public Options withServices(Service... chosen) {
            Set<Service> set = EnumSet.noneOf(Service.class);
            set.addAll(List.of(chosen));
            return new Options(
                    rootDir,
                    dataDir,
                    kafkaPort,
                    kafkaControllerPort,
                    s3Port,
                    ingestHttpPort,
                    ingestGrpcPort,
                    queryPort,
                    set,
                    serviceEnvironment);
        }

        /** The same options with one more environment variable for one service. */
        public Options withServiceEnvironment(Service service, String name, String value) {
            Objects.requireNonNull(service, "service");
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(value, "value");
            Map<Service, Map<String, String>> environment = new EnumMap<>(Service.class);
            environment.putAll(serviceEnvironment);
            Map<String, String> variables = new LinkedHashMap<>(environment.getOrDefault(service, Map.of()));
            variables.put(name, value);
            environment.put(service, variables);
            return new Options(
                    rootDir,
                    dataDir,
                    kafkaPort,
                    kafkaControllerPort,
                    s3Port,
                    ingestHttpPort,
                    ingestGrpcPort,
                    queryPort,
                    services,
                    environment);
        }

        private static int portVariable(Map<String, String> environment, String name) {
            String value = environment.get(name);
            if (value == null || value.isBlank()) {
                return defaultPort(name);
            }
            try {
                int port = Integer.parseInt(value.strip());
                Ports.checkPort(port);
                return port;
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        name + " must be a TCP port number (1-65535), but it is '" + value + "'.", e);
            }
        }

        private static int defaultPort(String variable) {
            switch (variable) {
                case KAFKA_PORT_VARIABLE:
                    return 19092;
                case KAFKA_CONTROLLER_PORT_VARIABLE:
                    return 19093;
                case S3_PORT_VARIABLE:
                    return 19000;
                case INGEST_HTTP_PORT_VARIABLE:
                    return 4318;
                case INGEST_GRPC_PORT_VARIABLE:
                    return 4317;
                case QUERY_PORT_VARIABLE:
                    return 8080;
                default:
                    throw new IllegalArgumentException("no default for " + variable);
            }
        }
    }

    private final Options options;
    private final KafkaBroker kafka;
    private final S3Server s3;
    private final Map<Service, ChildJvm> services;
    private boolean closed; // guarded by this

    private LocalStack(Options options, KafkaBroker kafka, S3Server s3, Map<Service, ChildJvm> services) {
        this.options = options;
        this.kafka = kafka;
        this.s3 = s3;
        this.services = services;
    }

    /**
     * Starts Kafka, S3 and the chosen services, and waits until they are ready.
     *
     * @throws IllegalStateException with a sentence saying what to do, e.g. when a port is taken, a module is not
     *     built, or a process exits or is not ready in time (then with the end of its log)
     */
    public static LocalStack start(Options options) {
        return start(options, null);
    }

    /** As {@link #start(Options)}; {@code progress}, if not null, gets one line per step. */
    static LocalStack start(Options options, PrintStream progress) {
        Objects.requireNonNull(options, "options");
        // Everything that can be checked is checked before anything starts.
        requireFreePorts(options);
        Map<Service, List<Path>> classpaths = new EnumMap<>(Service.class);
        for (Service service : options.services()) {
            classpaths.put(service, serviceClasspath(options.rootDir(), service));
        }
        Path logs = options.dataDir().resolve("logs");
        Path s3Data = options.dataDir().resolve("s3");
        try {
            Files.createDirectories(logs);
            Files.createDirectories(options.dataDir().resolve("cache"));
            // S3Proxy's filesystem backend: a folder is a bucket. Creating it here keeps infra free of an S3 client.
            Files.createDirectories(s3Data.resolve(BUCKET));
        } catch (IOException e) {
            throw new UncheckedIOException("could not create the data folders under " + options.dataDir(), e);
        }

        KafkaBroker kafka = null;
        S3Server s3 = null;
        Map<Service, ChildJvm> started = new EnumMap<>(Service.class);
        try {
            long begin = System.nanoTime();
            kafka = KafkaBroker.start(
                    options.dataDir().resolve("kafka"),
                    options.kafkaPort(),
                    options.kafkaControllerPort(),
                    logs.resolve("kafka.log"));
            report(progress, "Kafka ready at " + kafka.bootstrapServers(), begin);

            begin = System.nanoTime();
            s3 = S3Server.start(
                    s3Data,
                    options.s3Port(),
                    S3Server.DEFAULT_ACCESS_KEY,
                    S3Server.DEFAULT_SECRET_KEY,
                    logs.resolve("s3.log"));
            report(progress, "S3 ready at " + s3.endpoint(), begin);

            LocalStack stack = new LocalStack(options, kafka, s3, started);
            begin = System.nanoTime();
            long servicesStarted = begin;
            // Started together, then awaited: on a small machine their start-up overlaps with waiting on I/O.
            for (Service service : options.services()) {
                Map<String, String> environment = new LinkedHashMap<>(stack.serviceEnvironment(service));
                environment.putAll(options.serviceEnvironment().getOrDefault(service, Map.of()));
                started.put(
                        service,
                        ChildJvm.builder(service.module(), service.mainClass())
                                .classpath(classpaths.get(service))
                                .jvmOptions(SERVICE_HEAP, "-Djava.awt.headless=true")
                                .jvmOptions(service == Service.ARCHIVER ? new String[] {ARCHIVER_GC} : new String[0])
                                .env(environment)
                                .workingDirectory(options.rootDir())
                                .logFile(logs.resolve(service.module() + ".log"))
                                .start());
            }
            for (Map.Entry<Service, ChildJvm> entry : started.entrySet()) {
                stack.servicePort(entry.getKey())
                        .ifPresent(port -> entry.getValue().waitForPort(HOST, port, SERVICE_START_TIMEOUT));
            }
            for (Map.Entry<Service, ChildJvm> entry : started.entrySet()) {
                if (stack.servicePort(entry.getKey()).isEmpty()) {
                    // Without a port there is no readiness to see (the archiver); surviving its start-up is the sign.
                    entry.getValue()
                            .waitUntil(
                                    "it to keep running",
                                    SERVICE_START_TIMEOUT,
                                    () -> System.nanoTime() - servicesStarted >= PORTLESS_SERVICE_SETTLE.toNanos());
                }
            }
            if (!started.isEmpty()) {
                report(
                        progress,
                        started.keySet().stream().map(Service::module).collect(Collectors.joining(", ")) + " ready",
                        begin);
            }
            return stack;
        } catch (RuntimeException e) {
            List<AutoCloseable> reverse = new ArrayList<>(started.values());
            Collections.reverse(reverse);
            reverse.add(s3);
            reverse.add(kafka);
            closeAll(reverse, e);
            throw e;
        }
    }

    /** {@code 127.0.0.1:<port>}, for {@code bootstrap.servers}. */
    public String kafkaBootstrap() {
        return kafka.bootstrapServers();
    }

    /** {@code http://127.0.0.1:<port>}; sign requests with {@link #s3AccessKey()}, use path-style addressing. */
    public URI s3Endpoint() {
        return s3.endpoint();
    }

    public String s3AccessKey() {
        return s3.accessKey();
    }

    public String s3SecretKey() {
        return s3.secretKey();
    }

    /** {@code http://127.0.0.1:<ingest port>}, the OTLP/HTTP base (POST to {@code /v1/traces} and the like). */
    public URI ingestUrl() {
        return URI.create("http://" + HOST + ":" + options.ingestHttpPort());
    }

    /** {@code http://127.0.0.1:<query port>}, the query REST API. */
    public URI queryUrl() {
        return URI.create("http://" + HOST + ":" + options.queryPort());
    }

    /** The broker, e.g. to stop and start it again in a fault test. */
    public KafkaBroker kafka() {
        return kafka;
    }

    /** The S3 server, e.g. to stop and start it again in a fault test. */
    public S3Server s3() {
        return s3;
    }

    public Options options() {
        return options;
    }

    /** Where each process's log is: {@code <data>/logs/<name>.log} (kafka, s3, ingest, archiver, query-api). */
    public Path logDir() {
        return options.dataDir().resolve("logs");
    }

    /** The log file of one of our services. */
    public Path logFile(Service service) {
        return logDir().resolve(service.module() + ".log");
    }

    /**
     * The environment variables every service gets (the contract with the service modules): Kafka bootstrap, S3
     * endpoint, keys, region, bucket and prefix, the ingest HTTP port, the query port, the cache folder. Tests that
     * run a service in-process can configure it from the same map.
     */
    public Map<String, String> serviceEnvironment() {
        Map<String, String> environment = new LinkedHashMap<>();
        environment.put("OTEL_LAKE_KAFKA_BOOTSTRAP", kafka.bootstrapServers());
        environment.put("OTEL_LAKE_S3_ENDPOINT", s3.endpoint().toString());
        environment.put("OTEL_LAKE_S3_ACCESS_KEY", s3.accessKey());
        environment.put("OTEL_LAKE_S3_SECRET_KEY", s3.secretKey());
        environment.put("OTEL_LAKE_S3_REGION", REGION);
        environment.put("OTEL_LAKE_S3_BUCKET", BUCKET);
        environment.put("OTEL_LAKE_S3_PREFIX", PREFIX);
        environment.put(INGEST_HTTP_PORT_VARIABLE, Integer.toString(options.ingestHttpPort()));
        environment.put(INGEST_GRPC_PORT_VARIABLE, Integer.toString(options.ingestGrpcPort()));
        environment.put(QUERY_PORT_VARIABLE, Integer.toString(options.queryPort()));
        environment.put(
                "OTEL_LAKE_CACHE_DIR", options.dataDir().resolve("cache").toString());
        return Collections.unmodifiableMap(environment);
    }

    /**
     * Stops query-api, archiver, ingest, S3 and Kafka, in that order, each with SIGTERM and up to 15 s before a kill.
     * Does nothing the second time.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        List<AutoCloseable> reverse = new ArrayList<>(services.values());
        Collections.reverse(reverse);
        reverse.add(s3);
        reverse.add(kafka);
        RuntimeException failure = new IllegalStateException("could not stop every process of the local stack");
        closeAll(reverse, failure);
        if (failure.getSuppressed().length > 0) {
            throw failure;
        }
    }

    @Override
    public String toString() {
        return "LocalStack[kafka " + kafkaBootstrap() + ", s3 " + s3Endpoint() + ", ingest " + ingestUrl() + ", query "
                + queryUrl() + ", data " + options.dataDir() + "]";
    }

    /** The environment of one service: the shared contract, plus {@code SERVER_PORT} for the Spring Boot query-api. */
    private Map<String, String> serviceEnvironment(Service service) {
        Map<String, String> environment = new LinkedHashMap<>(serviceEnvironment());
        if (service == Service.QUERY_API) {
            environment.put("SERVER_PORT", Integer.toString(options.queryPort()));
        }
        return environment;
    }

    private Optional<Integer> servicePort(Service service) {
        switch (service) {
            case INGEST:
                return Optional.of(options.ingestHttpPort());
            case QUERY_API:
                return Optional.of(options.queryPort());
            default:
                return Optional.empty();
        }
    }

    /** The process of one of our services, if it was started. */
    ChildJvm service(Service service) {
        return services.get(service);
    }

    /**
     * Blocks until one of the processes exits, and returns it; for {@link #main}, which must notice a crash. Returns
     * empty if the exit was asked for ({@link #close()}, or this JVM's shutdown).
     */
    Optional<ChildJvm> awaitExit() {
        List<ChildJvm> processes = new ArrayList<>(services.values());
        processes.add(s3.process());
        processes.add(kafka.process());
        processes.removeIf(Objects::isNull);
        CompletableFuture.anyOf(processes.stream().map(ChildJvm::onExit).toArray(CompletableFuture[]::new))
                .join();
        return processes.stream()
                .filter(process -> !process.isAlive())
                .filter(process -> !process.closeRequested())
                .findFirst();
    }

    private static void requireFreePorts(Options options) {
        Ports.requireFree(options.kafkaPort(), "Kafka (" + KAFKA_PORT_VARIABLE + ")");
        Ports.requireFree(
                options.kafkaControllerPort(), "the Kafka controller (" + KAFKA_CONTROLLER_PORT_VARIABLE + ")");
        Ports.requireFree(options.s3Port(), "S3 (" + S3_PORT_VARIABLE + ")");
        if (options.services().contains(Service.INGEST)) {
            Ports.requireFree(
                    options.ingestHttpPort(), "the ingest OTLP/HTTP endpoint (" + INGEST_HTTP_PORT_VARIABLE + ")");
            Ports.requireFree(
                    options.ingestGrpcPort(), "the ingest OTLP/gRPC endpoint (" + INGEST_GRPC_PORT_VARIABLE + ")");
        }
        if (options.services().contains(Service.QUERY_API)) {
            Ports.requireFree(options.queryPort(), "the query API (" + QUERY_PORT_VARIABLE + ")");
        }
    }

    /** {@code <module>/target/classes} followed by the module's runtime classpath, written at {@code package}. */
    static List<Path> serviceClasspath(Path rootDir, Service service) {
        Path target = rootDir.resolve(service.module()).resolve("target");
        Path classpathFile = target.resolve("runtime.classpath");
        Path classes = target.resolve("classes");
        if (!Files.isRegularFile(classpathFile) || !Files.isDirectory(classes)) {
            throw new IllegalStateException("The " + service.module() + " module is not built (" + classpathFile
                    + " is missing): run ./mvnw -B -DskipTests package in " + rootDir + " first.");
        }
        List<Path> classpath = new ArrayList<>();
        classpath.add(classes);
        classpath.addAll(Classpath.fromFile(classpathFile));
        return classpath;
    }

    /**
     * The repository root: the system property {@code otel.lake.home} if set, else the nearest folder holding {@code
     * mvnw} and {@code pom.xml} above the current directory, else above this jar or classes folder.
     *
     * @throws IllegalStateException if there is none
     */
    public static Path findRootDir() {
        String home = System.getProperty("otel.lake.home");
        if (home != null && !home.isBlank()) {
            return Path.of(home).toAbsolutePath().normalize();
        }
        Path currentDirectory = Path.of("").toAbsolutePath();
        return rootAbove(currentDirectory)
                .or(() -> rootAbove(ChildJvm.ownLocation()))
                .orElseThrow(() -> new IllegalStateException("Cannot find the otel-lake repository (a folder with"
                        + " mvnw and pom.xml) above " + currentDirectory
                        + "; run from inside it or pass -Dotel.lake.home=<folder>."));
    }

    static Optional<Path> rootAbove(Path start) {
        for (Path dir = start.toAbsolutePath().normalize(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("mvnw")) && Files.isRegularFile(dir.resolve("pom.xml"))) {
                return Optional.of(dir);
            }
        }
        return Optional.empty();
    }

    private static void report(PrintStream progress, String what, long beginNanos) {
        if (progress != null) {
            progress.printf(Locale.ROOT, "otel-lake: %s (%.1f s)%n", what, (System.nanoTime() - beginNanos) / 1e9);
        }
    }

    /** Closes each in order, even when one fails; failures are added to {@code failure} as suppressed. */
    private static void closeAll(List<AutoCloseable> closeables, RuntimeException failure) {
        for (AutoCloseable closeable : closeables) {
            if (closeable == null) {
                continue;
            }
            try {
                closeable.close();
            } catch (Exception e) {
                failure.addSuppressed(e);
            }
        }
    }

    /** {@code up}: starts everything, prints where it is, and runs until Ctrl-C, SIGTERM, or a process dies. */
    public static void main(String[] args) {
        if (args.length != 1 || !args[0].equals("up")) {
            System.err.println("usage: LocalStack up");
            System.err.println("  Starts Kafka, S3, ingest, archiver and query-api; Ctrl-C stops them all.");
            System.err.println("  Ports: "
                    + String.join(
                            ", ",
                            KAFKA_PORT_VARIABLE,
                            KAFKA_CONTROLLER_PORT_VARIABLE,
                            S3_PORT_VARIABLE,
                            INGEST_HTTP_PORT_VARIABLE,
                            INGEST_GRPC_PORT_VARIABLE,
                            QUERY_PORT_VARIABLE)
                    + ".");
            System.exit(2);
        }
        long begin = System.nanoTime();
        AtomicBoolean stopping = new AtomicBoolean();
        AtomicReference<LocalStack> running = new AtomicReference<>();
        // Registered before start-up, so that Ctrl-C during start-up is a stop too, not a failure to report.
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            if (!stopping.compareAndSet(false, true)) {
                                return; // start-up failed and has cleaned up after itself
                            }
                            System.out.println("otel-lake: stopping query-api, archiver, ingest, S3, Kafka");
                            LocalStack started = running.get();
                            if (started != null) {
                                started.close();
                            } // else ChildJvm's own shutdown hook stops whatever start-up had started
                            System.out.println("otel-lake: stopped");
                        },
                        "otel-lake-stop"));
        LocalStack stack;
        try {
            Options options = Options.fromEnvironment();
            System.out.println("otel-lake: starting from " + options.rootDir() + ", data in " + options.dataDir());
            stack = start(options, System.out);
            running.set(stack);
        } catch (RuntimeException e) {
            if (stopping.get()) {
                return; // Interrupted by Ctrl-C or SIGTERM: the failure is the stop itself.
            }
            System.err.println("otel-lake: " + failureMessage(e));
            stopping.set(true);
            System.exit(1);
            return;
        }
        System.out.print(banner(stack, System.nanoTime() - begin));
        System.out.flush();

        Optional<ChildJvm> crashed = stack.awaitExit();
        if (crashed.isEmpty()) {
            return; // Stopping was asked for; the shutdown hook is at work.
        }
        ChildJvm process = crashed.get();
        System.err.println("otel-lake: " + process.name() + " exited unexpectedly with code "
                + process.exitCode().orElse(-1) + "; its log is " + process.logFile() + ". Last lines:");
        System.err.println(process.logTail());
        System.exit(1);
    }

    /**
     * The message, and the I/O reasons below it: "could not create the data folders" alone does not say whether the
     * folder is read-only, full, or a file.
     */
    static String failureMessage(Throwable failure) {
        StringBuilder text = new StringBuilder(String.valueOf(failure.getMessage()));
        for (Throwable cause = failure.getCause(); cause != null; cause = cause.getCause()) {
            if (cause instanceof IOException) {
                text.append("\n  because: ").append(cause);
            }
        }
        return text.toString();
    }

    private static String banner(LocalStack stack, long startNanos) {
        Options options = stack.options();
        StringBuilder text = new StringBuilder();
        text.append(String.format(Locale.ROOT, "%notel-lake is up (%.1f s)%n", startNanos / 1e9));
        if (options.services().contains(Service.INGEST)) {
            text.append("  OTLP/HTTP ingest  ").append(stack.ingestUrl()).append("/v1/traces, /v1/logs, /v1/metrics\n");
            text.append("  OTLP/gRPC ingest  ")
                    .append(HOST)
                    .append(':')
                    .append(options.ingestGrpcPort())
                    .append('\n');
        }
        if (options.services().contains(Service.QUERY_API)) {
            text.append("  Query API         ").append(stack.queryUrl()).append('\n');
        }
        text.append("  Kafka             ").append(stack.kafkaBootstrap()).append('\n');
        text.append("  S3                ")
                .append(stack.s3Endpoint())
                .append("  bucket ")
                .append(BUCKET)
                .append(", prefix ")
                .append(PREFIX)
                .append(", access key ")
                .append(stack.s3AccessKey())
                .append(", secret key ")
                .append(stack.s3SecretKey())
                .append('\n');
        text.append("  Data              ").append(options.dataDir()).append('\n');
        text.append("  Logs              ")
                .append(stack.logDir().resolve("*.log"))
                .append('\n');
        text.append("Press Ctrl-C to stop.\n");
        return text.toString();
    }
}
