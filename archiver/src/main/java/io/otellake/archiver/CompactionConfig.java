package io.otellake.archiver;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Objects;

/**
 * When and how the compactor merges closed hour partitions. Every field can be set by an environment variable (see
 * {@link #fromEnvironment}).
 *
 * @param enabled whether this archiver runs the compactor; in a group of several archivers, enable it on one
 * @param interval pause between two compaction passes
 * @param grace an hour partition is compacted only once it ended this long ago, and a day's trace index is rolled up
 *     only once the day ended this long ago
 * @param lookback how far back a pass looks for hours to compact; older hours that receive late data keep their small
 *     files
 * @param targetBytes a compacted file holds input files up to this many bytes in all
 * @param zstdLevel zstd's level for the compacted files, the ones that are kept (1-19; the archiver's own small files
 *     use 3). Higher is smaller and slower: see docs/benchmarks.md for what each level costs and saves
 */
public record CompactionConfig(
        boolean enabled, Duration interval, Duration grace, Duration lookback, long targetBytes, int zstdLevel) {
    public static final Duration DEFAULT_INTERVAL = Duration.ofMinutes(5);
    public static final Duration DEFAULT_GRACE = Duration.ofMinutes(30);
    public static final Duration DEFAULT_LOOKBACK = Duration.ofDays(3);
    public static final long DEFAULT_TARGET_BYTES = 128L * 1024 * 1024;
    public static final int DEFAULT_ZSTD_LEVEL = 10;
    /** The shortest interval, one millisecond: passes are scheduled in whole milliseconds. */
    public static final Duration MIN_INTERVAL = Duration.ofMillis(1);
    /** The longest interval, grace or lookback: 100 years, as for the archiver's other durations. */
    public static final Duration MAX_DURATION = Duration.ofDays(36_500);

    public static final String ENV_ENABLED = "OTEL_LAKE_COMPACTION_ENABLED";
    public static final String ENV_INTERVAL = "OTEL_LAKE_COMPACTION_INTERVAL";
    public static final String ENV_GRACE = "OTEL_LAKE_COMPACTION_GRACE";
    public static final String ENV_LOOKBACK = "OTEL_LAKE_COMPACTION_LOOKBACK";
    public static final String ENV_TARGET_BYTES = "OTEL_LAKE_COMPACTION_TARGET_BYTES";
    public static final String ENV_ZSTD_LEVEL = "OTEL_LAKE_COMPACTION_ZSTD_LEVEL";

    public CompactionConfig {
        Objects.requireNonNull(interval, "interval");
        Objects.requireNonNull(grace, "grace");
        Objects.requireNonNull(lookback, "lookback");
        // passes are scheduled in whole milliseconds, and a delay of 0 is refused by the executor
        if (interval.compareTo(MIN_INTERVAL) < 0 || interval.compareTo(MAX_DURATION) > 0) {
            throw new IllegalArgumentException(ENV_INTERVAL + " must be from PT0.001S to P36500D, got " + interval);
        }
        if (grace.isNegative()) {
            throw new IllegalArgumentException(ENV_GRACE + " must not be negative, got " + grace);
        }
        if (lookback.compareTo(Duration.ofHours(1)) < 0 || lookback.compareTo(MAX_DURATION) > 0) {
            throw new IllegalArgumentException(ENV_LOOKBACK + " must be from PT1H to P36500D, got " + lookback);
        }
        if (grace.compareTo(lookback) >= 0) {
            throw new IllegalArgumentException(ENV_GRACE + " (" + grace + ") must be shorter than " + ENV_LOOKBACK
                    + " (" + lookback + "), or no hour is ever closed long enough and recent enough to be compacted");
        }
        if (targetBytes < 1024 * 1024) {
            throw new IllegalArgumentException(ENV_TARGET_BYTES + " must be at least 1 MiB, got " + targetBytes);
        }
        if (zstdLevel < 1 || zstdLevel > 19) {
            throw new IllegalArgumentException(ENV_ZSTD_LEVEL + " must be between 1 and 19, got " + zstdLevel);
        }
    }

    public static CompactionConfig defaults() {
        return new CompactionConfig(
                true, DEFAULT_INTERVAL, DEFAULT_GRACE, DEFAULT_LOOKBACK, DEFAULT_TARGET_BYTES, DEFAULT_ZSTD_LEVEL);
    }

    /** Reads the settings from environment variables, with the defaults for those not set. */
    public static CompactionConfig fromEnvironment(Map<String, String> env) {
        String enabledText = env.get(ENV_ENABLED);
        String enabled = enabledText == null || enabledText.isBlank() ? "true" : enabledText.strip();
        if (!enabled.equals("true") && !enabled.equals("false")) {
            throw new IllegalArgumentException(ENV_ENABLED + " must be true or false, got '" + enabled + "'");
        }
        String target = env.get(ENV_TARGET_BYTES);
        long targetBytes;
        try {
            targetBytes = target == null || target.isBlank() ? DEFAULT_TARGET_BYTES : Long.parseLong(target.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(ENV_TARGET_BYTES + " must be a number of bytes, got '" + target + "'");
        }
        String level = env.get(ENV_ZSTD_LEVEL);
        int zstdLevel;
        try {
            zstdLevel = level == null || level.isBlank() ? DEFAULT_ZSTD_LEVEL : Integer.parseInt(level.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    ENV_ZSTD_LEVEL + " must be a whole number from 1 to 19, got '" + level + "'");
        }
        return new CompactionConfig(
                Boolean.parseBoolean(enabled),
                duration(env, ENV_INTERVAL, DEFAULT_INTERVAL),
                duration(env, ENV_GRACE, DEFAULT_GRACE),
                duration(env, ENV_LOOKBACK, DEFAULT_LOOKBACK),
                targetBytes,
                zstdLevel);
    }

    private static Duration duration(Map<String, String> env, String key, Duration fallback) {
        String text = env.get(key);
        if (text == null || text.isBlank()) {
            return fallback;
        }
        try {
            return Duration.parse(text.strip());
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(
                    key + " must be an ISO-8601 duration such as PT30M or P3D, got '" + text + "'");
        }
    }
}
