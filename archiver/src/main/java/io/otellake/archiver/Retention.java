package io.otellake.archiver;

import io.otellake.schemas.LakeLayout;
import io.otellake.schemas.TenantId;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.format.ResolverStyle;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes the hour partitions, and the trace index days, that are older than their tenant's retention (90 days unless
 * the tenant has its own).
 *
 * <p><b>What is deleted.</b> An hour partition {@code <prefix>/<signal>/tenant=<t>/dt=<yyyy-MM-dd>/hour=<HH>/} (signals
 * {@code traces}, {@code logs}, {@code metrics}) once its end, the start of the next hour in UTC, is at or before
 * {@code now - retention}: every event in it is then older than the retention. The hour is the event hour, so late data
 * goes with its own hour. A trace index day {@code <prefix>/_index/traces/tenant=<t>/dt=<yyyy-MM-dd>/} once the whole
 * day ended at or before {@code now - retention}, and before that each of its hour folders ({@code hour=<HH>/}, the
 * index files of one span hour's files) once that hour did, with the spans it indexes. A roll-up of the day (written
 * at the day's level once it is over) may name traces of hours already deleted until the whole day goes; a lookup
 * through the index then does not find them, as with any of its hints.
 *
 * <p>Quarantine, {@code <prefix>/_quarantine/<signal>/tenant=<t>/}, and dead letters, {@code <prefix>/_deadletter/},
 * have no event hour in their keys: an object there is deleted once S3 last wrote it at or before {@code now -
 * retention}, the tenant's for quarantine, the longest any tenant has for dead letters (whose tenant is in their body,
 * when known at all). So rows quarantined because their hour had already expired, or with a clock years off, do not
 * stay for ever.
 *
 * <p><b>What is never deleted.</b> Anything outside those folders: manifests and leases are never listed. Every
 * deleted key lies below a prefix rebuilt from a validated tenant id, date and hour, or below the dead-letter folder;
 * a folder whose name does not parse is logged and left alone, with everything below it.
 *
 * <p><b>Audit.</b> Each deleted partition is one line on the logger {@value #AUDIT_LOGGER}, once its objects are gone:
 * {@code action=retention-delete tenant=acme signal=traces partition=dt=2026-01-02/hour=03 objects=4 bytes=81920}
 * (signal {@code _index/traces} and {@code partition=dt=<day>} for an index day, {@code dt=<day>/hour=<HH>} for an hour
 * of one). Quarantine and dead letters get one line per folder a run deleted something in ({@code
 * signal=_quarantine/<signal>}, or {@code tenant=- signal=_deadletter}, and {@code partition=written-before=<cutoff>}).
 * When a delete fails, the line still comes, with the objects deleted before the failure and {@code error=}, and the
 * run stops with the exception.
 *
 * <p><b>One archiver at a time.</b> With a {@link Lease} of kind {@link Lease.Kind#RETENTION}, as every archiver has, a
 * run happens only in the archiver that holds it, and is skipped elsewhere ({@link RunResult#skipped()}); the holder
 * checks it again before it deletes each partition, and stops the run when another archiver has taken it over. So a
 * partition is deleted, and audited, by one archiver, not by every archiver with retention on.
 *
 * <p><b>Not covered.</b> Objects are deleted one by one, so readers may see an hour partly deleted while a run is in
 * it. A file written into an hour after the run listed it (very late data) stays until the next run. A run that fails
 * halfway leaves the rest for the next one: deleting is idempotent.
 */
final class Retention {
    static final String AUDIT_LOGGER = "otel-lake.audit";
    static final Duration DEFAULT_RETENTION = Duration.ofDays(90);
    /** A shorter retention would delete the hour still being written. */
    static final Duration MIN_RETENTION = Duration.ofHours(1);

    static final String ENV_DEFAULT = "OTEL_LAKE_RETENTION_DEFAULT";
    static final String ENV_TENANTS = "OTEL_LAKE_RETENTION_TENANTS";
    static final String ENV_INTERVAL = "OTEL_LAKE_RETENTION_INTERVAL";
    static final String ENV_ENABLED = "OTEL_LAKE_RETENTION_ENABLED";
    static final Duration DEFAULT_INTERVAL = Duration.ofHours(1);

    /** The signal folders below the lake prefix that hold hour partitions. */
    static final List<String> SIGNALS = List.of("traces", "logs", "metrics");

    static final String TRACE_INDEX = "_index/traces";
    static final String QUARANTINE = "_quarantine";
    static final String DEAD_LETTERS = "_deadletter";

    private static final Logger log = LoggerFactory.getLogger(Retention.class);
    private static final Logger audit = LoggerFactory.getLogger(AUDIT_LOGGER);
    private static final Pattern TENANT_FOLDER = Pattern.compile("tenant=([A-Za-z0-9_-]{1,64})/");
    private static final Pattern DAY_FOLDER = Pattern.compile("dt=(\\d{4}-\\d{2}-\\d{2})/");
    private static final Pattern HOUR_FOLDER = Pattern.compile("hour=(\\d{2})/");
    private static final DateTimeFormatter DATE =
            DateTimeFormatter.ofPattern("uuuu-MM-dd").withResolverStyle(ResolverStyle.STRICT);
    private static final Pattern AMOUNT = Pattern.compile("(\\d{1,6})([dh])");

    private final S3Store store;
    private final String root;
    private final RetentionPolicy policy;
    private final Clock clock;
    private final @Nullable Lease lease;
    private final @Nullable ArchiverMetrics metrics;

    /**
     * What one run deleted, and how many folders it left alone because their names do not parse; or, when {@code
     * skipped}, that another archiver holds the retention lease and this one did nothing.
     */
    record RunResult(
            int partitionsDeleted,
            int indexPartitionsDeleted,
            long objectsDeleted,
            long bytesDeleted,
            int malformed,
            boolean skipped) {
        static final RunResult SKIPPED = new RunResult(0, 0, 0, 0, 0, true);

        /** A run that took place. */
        RunResult(
                int partitionsDeleted,
                int indexPartitionsDeleted,
                long objectsDeleted,
                long bytesDeleted,
                int malformed) {
            this(partitionsDeleted, indexPartitionsDeleted, objectsDeleted, bytesDeleted, malformed, false);
        }
    }

    /**
     * @param defaultRetention how long a tenant without an override keeps its data; at least one hour
     * @param overrides retention per tenant id, each at least one hour (see {@link #parseOverrides})
     */
    Retention(
            S3Store store, LakeLayout layout, Duration defaultRetention, Map<String, Duration> overrides, Clock clock) {
        this(store, layout, defaultRetention, overrides, clock, null);
    }

    /**
     * The same, run only while holding {@code lease} (see the class comment); without one, every run takes place.
     */
    Retention(
            S3Store store,
            LakeLayout layout,
            Duration defaultRetention,
            Map<String, Duration> overrides,
            Clock clock,
            @Nullable Lease lease) {
        this(store, layout, defaultRetention, overrides, clock, lease, null);
    }

    /** The same, counting what it deletes in {@code metrics}, if any, as it deletes it. */
    Retention(
            S3Store store,
            LakeLayout layout,
            Duration defaultRetention,
            Map<String, Duration> overrides,
            Clock clock,
            @Nullable Lease lease,
            @Nullable ArchiverMetrics metrics) {
        this.lease = lease;
        this.metrics = metrics;
        this.store = Objects.requireNonNull(store, "store");
        this.root = layout.prefix().isEmpty() ? "" : layout.prefix() + "/";
        this.policy = new RetentionPolicy(defaultRetention, overrides);
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * One pass over every tenant of every signal, then over the trace index; throws when S3 fails, or when another
     * archiver took the lease over during the run.
     */
    RunResult run() {
        if (lease != null && !lease.hold()) {
            log.info("retention run skipped: another archiver holds the retention lease");
            return RunResult.SKIPPED;
        }
        Instant now = clock.instant();
        Tally tally = new Tally();
        for (String signal : SIGNALS) {
            String tenants = root + signal + "/tenant=";
            for (String tenantFolder : store.listFolders(tenants)) {
                Optional<String> tenant = tenant(tenantFolder, root + signal + "/", tally);
                if (tenant.isPresent()) {
                    Instant cutoff = now.minus(retentionOf(tenant.get()));
                    expireHours(signal, tenant.get(), tenantFolder, cutoff, tally);
                }
            }
        }
        for (String tenantFolder : store.listFolders(root + TRACE_INDEX + "/tenant=")) {
            Optional<String> tenant = tenant(tenantFolder, root + TRACE_INDEX + "/", tally);
            if (tenant.isPresent()) {
                Instant cutoff = now.minus(retentionOf(tenant.get()));
                expireIndexDays(tenant.get(), tenantFolder, cutoff, tally);
            }
        }
        for (String signal : SIGNALS) {
            String parent = root + QUARANTINE + "/" + signal + "/";
            for (String tenantFolder : store.listFolders(parent + "tenant=")) {
                Optional<String> tenant = tenant(tenantFolder, parent, tally);
                if (tenant.isPresent()) {
                    Instant cutoff = now.minus(retentionOf(tenant.get()));
                    expireOlderThan(tenantFolder, tenant.get(), QUARANTINE + "/" + signal, "quarantine", cutoff, tally);
                }
            }
        }
        expireOlderThan(
                root + DEAD_LETTERS + "/", "-", DEAD_LETTERS, "dead_letters", now.minus(policy.longest()), tally);
        RunResult result =
                new RunResult(tally.partitions, tally.indexPartitions, tally.objects, tally.bytes, tally.malformed);
        log.info("retention run as of {}: {}", now, result);
        return result;
    }

    private void expireHours(String signal, String tenant, String tenantFolder, Instant cutoff, Tally tally) {
        for (String dayFolder : store.listFolders(tenantFolder + "dt=")) {
            Optional<LocalDate> day = day(dayFolder, tenantFolder, tally);
            if (day.isEmpty()
                    || day.get().atTime(1, 0).toInstant(ZoneOffset.UTC).isAfter(cutoff)) {
                continue; // not even its first hour has expired
            }
            String dayPrefix = tenantFolder + "dt=" + day.get() + "/";
            tally.partitions += expireHoursOfDay(signal, tenant, dayPrefix, day.get(), cutoff, tally);
        }
    }

    /** Deletes the hour folders below {@code dayPrefix} that ended at or before {@code cutoff}; returns how many. */
    private int expireHoursOfDay(
            String signal, String tenant, String dayPrefix, LocalDate day, Instant cutoff, Tally tally) {
        int deleted = 0;
        for (String hourFolder : store.listFolders(dayPrefix + "hour=")) {
            Optional<Integer> hour = hour(hourFolder, dayPrefix, tally);
            if (hour.isEmpty()) {
                continue;
            }
            Instant end = day.atTime(hour.get(), 0).toInstant(ZoneOffset.UTC).plus(Duration.ofHours(1));
            if (!end.isAfter(cutoff)) {
                String hourName = "hour=" + twoDigits(hour.get());
                deleteAll(dayPrefix + hourName + "/", tenant, signal, "dt=" + day + "/" + hourName, tally);
                deleted++;
            }
        }
        return deleted;
    }

    private void expireIndexDays(String tenant, String tenantFolder, Instant cutoff, Tally tally) {
        for (String dayFolder : store.listFolders(tenantFolder + "dt=")) {
            Optional<LocalDate> day = day(dayFolder, tenantFolder, tally);
            if (day.isEmpty()) {
                continue;
            }
            if (!day.get().plusDays(1).atStartOfDay().toInstant(ZoneOffset.UTC).isAfter(cutoff)) {
                String partition = "dt=" + day.get();
                deleteAll(tenantFolder + partition + "/", tenant, TRACE_INDEX, partition, tally);
                tally.indexPartitions++;
            } else if (!day.get().atTime(1, 0).toInstant(ZoneOffset.UTC).isAfter(cutoff)) {
                // Part of the day has expired: the index files of its expired hours go with those hours, so that no
                // trace id outlives its spans by up to a day. A roll-up of the whole day (written once the day is
                // over) names every hour's traces, and goes with the day.
                String dayPrefix = tenantFolder + "dt=" + day.get() + "/";
                tally.indexPartitions += expireHoursOfDay(TRACE_INDEX, tenant, dayPrefix, day.get(), cutoff, tally);
            }
        }
    }

    /**
     * Deletes the objects below {@code prefix} that S3 last wrote at or before {@code cutoff}: quarantine and dead
     * letters have no event hour in their keys, so they go by age. The audit line, when anything was deleted (or a
     * delete failed), names {@code partition=written-before=<cutoff>}.
     */
    private void expireOlderThan(
            String prefix, String tenant, String folder, String kind, Instant cutoff, Tally tally) {
        delete(
                prefix,
                object -> !object.lastModified().isAfter(cutoff),
                new Audited(tenant, folder, "written-before=" + cutoff, kind, false),
                tally);
    }

    /** Deletes every object below {@code prefix}, then writes the audit line, also when a delete fails. */
    private void deleteAll(String prefix, String tenant, String signal, String partition, Tally tally) {
        String kind = signal.equals(TRACE_INDEX) ? "trace_index" : signal;
        delete(prefix, object -> true, new Audited(tenant, signal, partition, kind, true), tally);
    }

    /**
     * What an audit line names, and the metrics' kind.
     *
     * @param always whether the line comes also when nothing was deleted (a partition is listed because it has objects)
     */
    private record Audited(String tenant, String signal, String partition, String kind, boolean always) {}

    /** Deletes the objects below {@code prefix} that {@code expired} picks, then writes the audit line. */
    private void delete(String prefix, Predicate<S3Store.Listed> expired, Audited what, Tally tally) {
        if (lease != null && !lease.hold()) {
            throw new IllegalStateException("retention lease lost to another archiver before deleting " + prefix
                    + "; this run stops, the holder's runs go on");
        }
        long objects = 0;
        long bytes = 0;
        try {
            for (S3Store.Listed object : store.list(prefix)) {
                if (!object.key().startsWith(prefix)) {
                    throw new IllegalStateException(
                            "S3 listed " + object.key() + " under " + prefix + "; not deleting it");
                }
                if (!expired.test(object)) {
                    continue;
                }
                store.delete(object.key());
                objects++;
                bytes += object.size();
            }
        } catch (RuntimeException e) {
            audit.info(
                    "action=retention-delete tenant={} signal={} partition={} objects={} bytes={} error={}",
                    what.tenant(),
                    what.signal(),
                    what.partition(),
                    objects,
                    bytes,
                    e.getMessage());
            throw e;
        } finally {
            tally.objects += objects;
            tally.bytes += bytes;
            // here, not from the run's result: a run that fails later has deleted these all the same
            if (metrics != null) {
                metrics.retained(what.kind(), objects, bytes);
            }
        }
        if (objects > 0 || what.always()) {
            audit.info(
                    "action=retention-delete tenant={} signal={} partition={} objects={} bytes={}",
                    what.tenant(),
                    what.signal(),
                    what.partition(),
                    objects,
                    bytes);
        }
    }

    /**
     * Gives up the retention lease, if any (see {@link Lease#release()}), so that the next archiver, this one restarted
     * included, runs retention at once. Only once no run is going on or will start; S3 failures propagate.
     */
    void releaseLease() {
        if (lease != null) {
            lease.release();
        }
    }

    /** How long the tenant keeps its data. */
    Duration retentionOf(String tenant) {
        return policy.of(tenant);
    }

    private static Optional<String> tenant(String folder, String parent, Tally tally) {
        Matcher m = TENANT_FOLDER.matcher(folder.substring(parent.length()));
        if (m.matches()) {
            return Optional.of(m.group(1));
        }
        return malformed(folder, "tenant=<tenant id>/", tally);
    }

    private static Optional<LocalDate> day(String folder, String parent, Tally tally) {
        Matcher m = DAY_FOLDER.matcher(folder.substring(parent.length()));
        if (m.matches()) {
            try {
                return Optional.of(LocalDate.parse(m.group(1), DATE));
            } catch (DateTimeParseException e) {
                // falls through: dt=2026-02-30 and the like
            }
        }
        return malformed(folder, "dt=<yyyy-MM-dd>/", tally);
    }

    private static Optional<Integer> hour(String folder, String parent, Tally tally) {
        Matcher m = HOUR_FOLDER.matcher(folder.substring(parent.length()));
        if (m.matches() && Integer.parseInt(m.group(1)) <= 23) {
            return Optional.of(Integer.parseInt(m.group(1)));
        }
        return malformed(folder, "hour=<00-23>/", tally);
    }

    private static <T> Optional<T> malformed(String folder, String expected, Tally tally) {
        tally.malformed++;
        log.warn("retention: leaving {} alone, its name is not {}", folder, expected);
        return Optional.empty();
    }

    private static String twoDigits(int hour) {
        return hour < 10 ? "0" + hour : Integer.toString(hour);
    }

    /**
     * Parses per-tenant retentions, such as {@code acme=30d,globex=365d}: comma-separated {@code <tenant>=<n>d} (days)
     * or {@code <tenant>=<n>h} (hours). Empty or blank gives no overrides.
     *
     * @throws IllegalArgumentException naming {@value #ENV_TENANTS}, the entry at fault and what it should look like
     */
    static Map<String, Duration> parseOverrides(String text) {
        if (text == null || text.isBlank()) {
            return Map.of();
        }
        Map<String, Duration> out = new LinkedHashMap<>();
        for (String part : text.split(",", -1)) {
            String entry = part.strip();
            if (entry.isEmpty()) {
                throw new IllegalArgumentException(ENV_TENANTS + " has an empty entry in '" + text
                        + "'; separate entries with single commas, e.g. acme=30d,globex=365d");
            }
            int eq = entry.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException(ENV_TENANTS + " entry '" + entry
                        + "' must be <tenant>=<days>d or <tenant>=<hours>h, e.g. acme=30d");
            }
            String tenant = entry.substring(0, eq).strip();
            try {
                TenantId.of(tenant);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(ENV_TENANTS + " entry '" + entry + "': " + e.getMessage(), e);
            }
            Duration retention = parseRetention(
                    ENV_TENANTS + " entry '" + entry + "'",
                    entry.substring(eq + 1).strip());
            if (out.putIfAbsent(tenant, retention) != null) {
                throw new IllegalArgumentException(
                        ENV_TENANTS + " names tenant '" + tenant + "' twice; keep one entry per tenant");
            }
        }
        return Collections.unmodifiableMap(out);
    }

    /** Parses {@value #ENV_INTERVAL}, the pause between two runs (an ISO-8601 duration); blank gives one hour. */
    static Duration parseInterval(String text) {
        if (text == null || text.isBlank()) {
            return DEFAULT_INTERVAL;
        }
        try {
            Duration d = Duration.parse(text.strip());
            // runs are scheduled in whole milliseconds, and a period of 0 is refused by the executor
            if (d.compareTo(CompactionConfig.MIN_INTERVAL) < 0 || d.compareTo(CompactionConfig.MAX_DURATION) > 0) {
                throw new IllegalArgumentException(
                        ENV_INTERVAL + " must be from PT0.001S to P36500D, got '" + text + "'");
            }
            return d;
        } catch (java.time.format.DateTimeParseException e) {
            throw new IllegalArgumentException(
                    ENV_INTERVAL + " must be an ISO-8601 duration such as PT1H, got '" + text + "'");
        }
    }

    /** Parses {@value #ENV_ENABLED}: true (also when blank) or false. */
    static boolean parseEnabled(String text) {
        if (text == null || text.isBlank()) {
            return true;
        }
        return switch (text.strip()) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException(ENV_ENABLED + " must be true or false, got '" + text + "'");
        };
    }

    /**
     * Parses the default retention, such as {@code 90d} or {@code 36h}; empty or blank gives
     * {@link #DEFAULT_RETENTION}.
     *
     * @throws IllegalArgumentException naming {@value #ENV_DEFAULT} and what it should look like
     */
    static Duration parseDefault(String text) {
        if (text == null || text.isBlank()) {
            return DEFAULT_RETENTION;
        }
        return parseRetention(ENV_DEFAULT, text.strip());
    }

    private static Duration parseRetention(String what, String value) {
        Matcher m = AMOUNT.matcher(value);
        if (!m.matches()) {
            throw new IllegalArgumentException(what + ": the retention '" + value
                    + "' must be a whole number of days or hours (at most 6 digits), such as 90d or 36h");
        }
        long amount = Long.parseLong(m.group(1));
        Duration retention = m.group(2).equals("d") ? Duration.ofDays(amount) : Duration.ofHours(amount);
        return requireRetention(retention, what);
    }

    static Duration requireRetention(Duration retention, String what) {
        Objects.requireNonNull(retention, what);
        if (retention.compareTo(MIN_RETENTION) < 0) {
            throw new IllegalArgumentException(
                    what + " must be at least 1h, so that the hour being written is never deleted; got "
                            + (retention.isZero() ? "0" : retention.toString()));
        }
        return retention;
    }

    private static final class Tally {
        int partitions;
        /** Trace index days, and hours of index days not over yet. */
        int indexPartitions;

        long objects;
        long bytes;
        int malformed;
    }
}
