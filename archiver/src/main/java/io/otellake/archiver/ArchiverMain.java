package io.otellake.archiver;

import io.otellake.schemas.LogFormat;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs the archiver until SIGTERM, then uploads and commits what it holds. */
public final class ArchiverMain {
    static {
        // before the first logger: logback.xml picks its appender by this property (see LogFormat)
        System.setProperty(LogFormat.PROPERTY, LogFormat.appender(System.getenv()));
    }

    private static final Logger log = LoggerFactory.getLogger(ArchiverMain.class);

    private ArchiverMain() {}

    public static void main(String[] args) {
        ArchiverConfig config;
        CompactionConfig compaction;
        Duration retentionDefault;
        Map<String, Duration> retentionTenants;
        Duration retentionInterval;
        boolean retentionEnabled;
        RetentionPolicy retentionPolicy;
        try {
            LogFormat.problem(System.getenv()).ifPresent(problem -> {
                throw new IllegalArgumentException(problem);
            });
            config = ArchiverConfig.fromEnvironment(System.getenv());
            compaction = CompactionConfig.fromEnvironment(System.getenv());
            retentionDefault = Retention.parseDefault(System.getenv(Retention.ENV_DEFAULT));
            retentionTenants = Retention.parseOverrides(System.getenv(Retention.ENV_TENANTS));
            retentionInterval = Retention.parseInterval(System.getenv(Retention.ENV_INTERVAL));
            retentionEnabled = Retention.parseEnabled(System.getenv(Retention.ENV_ENABLED));
            retentionPolicy = new RetentionPolicy(retentionDefault, retentionTenants);
        } catch (IllegalArgumentException e) {
            log.error("invalid configuration: {}", e.getMessage());
            System.exit(2);
            return;
        }
        log.info(
                "starting with {} and {}; retention {} (default {}, tenants {}, every {})",
                config,
                compaction,
                retentionEnabled ? "on" : "off",
                retentionDefault,
                retentionTenants,
                retentionInterval);
        Archiver archiver;
        try {
            // The retention settings hold also where retention runs in another archiver (ENABLED=false here): rows
            // of an hour they have expired are quarantined rather than filed where that archiver deletes them.
            archiver = new Archiver(config, retentionPolicy);
            archiver.prepare();
        } catch (RuntimeException e) {
            // S3 unreachable, the metrics port taken or the spool folder not writable: the message says which
            log.error(
                    "cannot start (S3 bucket {} at {}, metrics port {}, spool folder {}): {}",
                    config.s3Bucket(),
                    config.s3Endpoint(),
                    config.metricsPort(),
                    config.spoolDir(),
                    e.getMessage());
            System.exit(3);
            return;
        }
        Thread loop = new Thread(archiver, "archiver");
        // The loop ends by itself only on a bug; exit so that a supervisor restarts it from the committed offsets.
        loop.setUncaughtExceptionHandler((t, e) -> Runtime.getRuntime().halt(1));
        ScheduledExecutorService maintenance = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "archiver-maintenance");
            t.setDaemon(true);
            return t;
        });
        Retention retention =
                retentionEnabled ? retention(config, retentionDefault, retentionTenants, archiver.metrics()) : null;
        Compactor compactor = compaction.enabled() && leasesHold(config)
                // the policy even where retention runs in another archiver: that one may be deleting an hour now
                ? new Compactor(config, compaction, Clock.systemUTC(), archiver.metrics(), retentionPolicy)
                : null;
        if (compactor != null) {
            maintenance.scheduleWithFixedDelay(
                    () -> {
                        try {
                            Compactor.Pass pass = compactor.runOnce();
                            log.info("compaction pass: {}", pass);
                        } catch (RuntimeException e) {
                            log.error("compaction pass failed, retrying at the next interval: {}", e.getMessage());
                        } catch (Error e) {
                            haltOnError("compaction", e);
                        }
                    },
                    compaction.interval().toMillis(),
                    compaction.interval().toMillis(),
                    TimeUnit.MILLISECONDS);
        }
        if (retention != null) {
            ArchiverMetrics metrics = archiver.metrics();
            maintenance.scheduleWithFixedDelay(
                    () -> {
                        try {
                            Retention.RunResult run = retention.run();
                            metrics.maintenanceRun("retention", run.skipped() ? "skipped" : "ok");
                        } catch (RuntimeException e) {
                            metrics.maintenanceRun("retention", false);
                            log.error("retention run failed, retrying at the next interval: {}", e.getMessage());
                        } catch (Error e) {
                            haltOnError("retention", e);
                        }
                    },
                    0,
                    retentionInterval.toMillis(),
                    TimeUnit.MILLISECONDS);
        }
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            maintenance.shutdownNow();
                            releaseLeases(maintenance, compactor, retention);
                            archiver.close();
                        },
                        "archiver-shutdown"));
        loop.start();
    }

    /**
     * Whether the compaction lease can keep two archivers from compacting one hour twice: S3 must honour {@code
     * If-None-Match: *} ({@link Lease#conditionalCreateHonoured}). Where it does not, compaction stays off here (the
     * lake is read the same, only with more, smaller files), and the log says so; retention goes on (two archivers
     * deleting one expired hour delete it all the same, and audit it twice).
     */
    private static boolean leasesHold(ArchiverConfig config) {
        try (S3Store store = new S3Store(config)) {
            if (Lease.conditionalCreateHonoured(store, config.root())) {
                return true;
            }
        } catch (RuntimeException e) {
            // S3 answered the start-up just before: a blip, not a store without conditional writes
            log.warn("could not check that S3 honours If-None-Match (compaction stays on): {}", e.getMessage());
            return true;
        }
        log.error(
                "compaction stays off: the S3 server at {} does not refuse a PUT with If-None-Match: * of an object"
                        + " that exists, on which the compaction lease rests, so two archivers could compact one hour"
                        + " into two files. Use a store that supports conditional writes, or accept small files",
                config.s3Endpoint());
        return false;
    }

    /** Retention as configured, run only while this archiver holds the retention lease. */
    private static Retention retention(
            ArchiverConfig config, Duration defaultRetention, Map<String, Duration> tenants, ArchiverMetrics metrics) {
        S3Store store = new S3Store(config);
        Lease lease = new Lease(Lease.Kind.RETENTION, store, config.root(), Lease.ownerId(config), Clock.systemUTC());
        return new Retention(store, config.layout(), defaultRetention, tenants, Clock.systemUTC(), lease, metrics);
    }

    /**
     * Hands the compaction and retention leases on once the running pass, if any, has stopped, so that the next
     * archiver (this one restarted, say) compacts and applies retention at once instead of waiting out the leases. A
     * pass still running after 30 s keeps them.
     */
    private static void releaseLeases(
            ScheduledExecutorService maintenance, @Nullable Compactor compactor, @Nullable Retention retention) {
        if (compactor == null && retention == null) {
            return;
        }
        try {
            if (!maintenance.awaitTermination(30, TimeUnit.SECONDS)) {
                log.warn("a compaction or retention pass is still running; keeping the leases until they expire");
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (compactor != null) {
            try {
                compactor.releaseLease();
            } catch (RuntimeException e) {
                log.warn("could not release the compaction lease; it expires by itself: {}", e.getMessage());
            } finally {
                compactor.close();
            }
        }
        if (retention != null) {
            try {
                retention.releaseLease();
            } catch (RuntimeException e) {
                log.warn("could not release the retention lease; it expires by itself: {}", e.getMessage());
            }
        }
    }

    /**
     * An Error out of a maintenance task (an OutOfMemoryError while merging, say) would end its schedule silently: the
     * executor drops every later run of a task that threw, and the archiver would go on ready, with compaction or
     * retention stopped for good. So it exits as the consumer loop does, and its supervisor restarts it.
     */
    private static void haltOnError(String task, Error e) {
        try {
            log.error("{} stopped by an unexpected error; exiting so that the archiver is restarted", task, e);
        } finally {
            Runtime.getRuntime().halt(1);
        }
    }
}
