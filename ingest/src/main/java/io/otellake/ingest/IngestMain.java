package io.otellake.ingest;

import io.otellake.schemas.LogFormat;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * Starts ingest from environment variables (see {@link IngestConfig}) and runs until the JVM is told to stop, then
 * stops gracefully. Exit status 2: invalid configuration; 1: could not start.
 */
public final class IngestMain {
    static {
        // before the first logger: logback.xml picks its appender by this property (see LogFormat)
        System.setProperty(LogFormat.PROPERTY, LogFormat.appender(System.getenv()));
    }

    private static final Logger LOG = LoggerFactory.getLogger(IngestMain.class);

    private IngestMain() {}

    public static void main(String[] args) {
        // grpc-java logs through java.util.logging, which would print its own multi-line format around logback's
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
        IngestConfig config;
        try {
            LogFormat.problem(System.getenv()).ifPresent(problem -> {
                throw new IllegalArgumentException(problem);
            });
            config = IngestConfig.fromEnvironment(System.getenv());
        } catch (IllegalArgumentException e) {
            LOG.error("Invalid configuration: {}", e.getMessage());
            System.exit(2);
            return;
        }
        LOG.info("Starting with {}", config);
        Ingest ingest;
        try {
            ingest = Ingest.start(config);
        } catch (IngestStartException e) {
            LOG.error("Cannot start: {}", e.getMessage());
            System.exit(1);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(ingest::close, "ingest-shutdown"));
        // Ingest's threads are daemons, so that an embedding program decides when its JVM ends; this one runs until
        // it is told to stop.
        try {
            new CountDownLatch(1).await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
