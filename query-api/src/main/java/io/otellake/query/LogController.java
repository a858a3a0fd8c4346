package io.otellake.query;

import io.otellake.schemas.TenantId;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.Parameters;
import io.swagger.v3.oas.annotations.enums.ParameterIn;
import io.swagger.v3.oas.annotations.media.ArraySchema;
import io.swagger.v3.oas.annotations.media.Schema;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;
import org.springframework.http.MediaType;
import org.springframework.util.MultiValueMap;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /api/v1/logs}: a tenant's log records in [start, end), newest first by default, page by page; {@code GET
 * /api/v1/logs/volume}: their counts per step and severity. An unknown parameter is a 400, so a typo never silently
 * widens a search, and so is one given twice (but {@code service}), so a second value is never silently dropped.
 */
@RestController
class LogController {
    static final Set<String> SEARCH_PARAMETERS =
            union(LogFilter.PARAMETERS, Set.of("start", "end", "limit", "direction", "cursor"));
    static final Set<String> VOLUME_PARAMETERS = union(LogFilter.PARAMETERS, Set.of("start", "end", "step"));
    private static final int MAX_BUCKETS = 10_000;
    /** The longest step whose nanoseconds fit a long. */
    private static final long MAX_STEP_DAYS = Long.MAX_VALUE / 86_400_000_000_000L;

    private final LogSearch search;
    private final LakeProperties props;

    LogController(LogSearch search, LakeProperties props) {
        this.search = search;
        this.props = props;
    }

    @Operation(
            summary = "Search log records",
            description = "A tenant's log records in [start, end). Besides the parameters below, attr.<key>=<value> and"
                    + " resource.<key>=<value> require a record or resource attribute to equal a value.")
    @LogFilterParameters
    @Parameters({
        @Parameter(
                name = "limit",
                in = ParameterIn.QUERY,
                description = "Records per page, 1-5000; default 100.",
                schema = @Schema(type = "integer", minimum = "1")),
        @Parameter(
                name = "direction",
                in = ParameterIn.QUERY,
                description = "backward (newest first, default) or forward."),
        @Parameter(name = "cursor", in = ParameterIn.QUERY, description = "next_cursor of the previous page.")
    })
    @GetMapping(path = "/api/v1/logs", produces = MediaType.APPLICATION_JSON_VALUE)
    Map<String, Object> logs(
            @Parameter(hidden = true) TenantId tenant,
            @Parameter(hidden = true) @RequestParam MultiValueMap<String, String> params)
            throws SQLException {
        RequestParams.requireKnown(
                params, SEARCH_PARAMETERS, LogFilter.REPEATABLE, LogFilter.ATTR_PREFIX, LogFilter.RESOURCE_PREFIX);
        String cursorText = params.getFirst("cursor");
        LogSearch.Direction direction = direction(params.getFirst("direction"));
        String query = LogCursor.query(tenant, direction, params);
        LogCursor cursor = cursorText == null || cursorText.isEmpty() ? null : LogCursor.decode(cursorText, query);
        TimeRange range = TimeRange.of(
                params.getFirst("start"),
                params.getFirst("end"),
                Duration.ofHours(1),
                props.maxRange(),
                cursor != null && cursor.hasRange() ? new TimeRange(cursor.rangeStart(), cursor.rangeEnd()) : null);
        LogSearch.Result result = search.search(new LogSearch.Query(
                tenant,
                range.start(),
                range.end(),
                LogFilter.parse(params),
                RequestParams.limit(params.getFirst("limit"), props.defaultLimit(), props.maxLimit()),
                direction,
                cursor));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("data", result.data());
        body.put(
                "next_cursor",
                result.nextCursor() == null
                        ? null
                        : result.nextCursor()
                                .inRange(range.start(), range.end())
                                .encode(query));
        body.put("stats", result.stats());
        return body;
    }

    @Operation(
            summary = "Count log records per step and severity",
            description = "Takes the filters of the log search, attr.<key> and resource.<key> included.")
    @LogFilterParameters
    @Parameter(name = "step", in = ParameterIn.QUERY, description = "Bucket size: 30s, 5m, 1h, 1d or seconds.")
    @GetMapping(path = "/api/v1/logs/volume", produces = MediaType.APPLICATION_JSON_VALUE)
    Map<String, Object> volume(
            @Parameter(hidden = true) TenantId tenant,
            @Parameter(hidden = true) @RequestParam MultiValueMap<String, String> params)
            throws SQLException {
        RequestParams.requireKnown(
                params, VOLUME_PARAMETERS, LogFilter.REPEATABLE, LogFilter.ATTR_PREFIX, LogFilter.RESOURCE_PREFIX);
        TimeRange range =
                TimeRange.of(params.getFirst("start"), params.getFirst("end"), Duration.ofHours(1), props.maxRange());
        Duration step = step(params.getFirst("step"), range);
        LogSearch.Volume volume = search.volume(tenant, range.start(), range.end(), LogFilter.parse(params), step);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("data", volume.data());
        body.put("step_seconds", step.toSeconds());
        body.put("stats", volume.stats());
        return body;
    }

    private static LogSearch.Direction direction(@Nullable String text) {
        if (text == null || text.isBlank() || text.equalsIgnoreCase("backward")) {
            return LogSearch.Direction.BACKWARD;
        }
        if (text.equalsIgnoreCase("forward")) {
            return LogSearch.Direction.FORWARD;
        }
        throw new BadRequestException("direction must be backward (newest first) or forward, got '" + text + "'");
    }

    /** {@code 30s}, {@code 5m}, {@code 1h}, {@code 1d} or seconds; by default about 100 buckets over the range. */
    static Duration step(@Nullable String text, TimeRange range) {
        Duration span = Duration.between(range.start(), range.end());
        Duration step;
        if (text == null || text.isBlank()) {
            step = Duration.ofSeconds(Math.max(1, span.toSeconds() / 100));
        } else {
            String t = text.trim().toLowerCase(Locale.ROOT);
            try {
                char unit = t.charAt(t.length() - 1);
                boolean seconds = unit >= '0' && unit <= '9';
                long n = RequestParams.parseAsciiLong(seconds ? t : t.substring(0, t.length() - 1));
                if (n < 0 || t.startsWith("-")) {
                    throw new NumberFormatException("negative");
                }
                step = switch (unit) {
                    case 's' -> Duration.ofSeconds(n);
                    case 'm' -> Duration.ofMinutes(n);
                    case 'h' -> Duration.ofHours(n);
                    case 'd' -> Duration.ofDays(n);
                    default -> {
                        if (!seconds) {
                            throw new NumberFormatException();
                        }
                        yield Duration.ofSeconds(n);
                    }
                };
                step.toNanos(); // the volume query counts in nanoseconds
            } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
                throw new BadRequestException(
                        "step must look like 30s, 5m, 1h, 1d or a number of seconds; got '" + text + "'");
            } catch (ArithmeticException e) {
                throw new BadRequestException("step must be at most " + MAX_STEP_DAYS + " days; got '" + text + "'");
            }
            if (step.toSeconds() < 1) {
                throw new BadRequestException("step must be at least 1 second");
            }
        }
        if (span.dividedBy(step) > MAX_BUCKETS) {
            throw new BadRequestException("step " + step.toSeconds() + " s gives more than " + MAX_BUCKETS
                    + " buckets over this range; use a larger step");
        }
        return step;
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> out = new TreeSet<>(a);
        out.addAll(b);
        return Set.copyOf(out);
    }

    /** A validated [start, end) range. */
    record TimeRange(Instant start, Instant end) {
        static TimeRange of(
                @Nullable String startText, @Nullable String endText, Duration defaultSpan, Duration maxRange) {
            return of(startText, endText, defaultSpan, maxRange, null);
        }

        /**
         * The range of {@code start} and {@code end}, or, when neither is given, {@code pinned} (the range a cursor's
         * first page searched, which this page continues) if there is one, else the {@code defaultSpan} before now.
         * Either way checked against the bounds and {@code maxRange}: a cursor is not signed.
         */
        static TimeRange of(
                @Nullable String startText,
                @Nullable String endText,
                Duration defaultSpan,
                Duration maxRange,
                @Nullable TimeRange pinned) {
            Instant end = TimeParam.parse("end", endText);
            Instant start = TimeParam.parse("start", startText);
            if (start == null && end == null && pinned != null) {
                start = pinned.start();
                end = pinned.end();
            }
            if (defaultSpan.compareTo(maxRange) > 0) {
                defaultSpan = maxRange; // an OTEL_LAKE_MAX_RANGE below the default must not refuse every default query
            }
            if (end == null) {
                end = start == null ? Instant.now() : start.plus(defaultSpan);
            }
            if (start == null) {
                start = end.minus(defaultSpan);
            }
            TimeParam.requireInBounds("start", start); // a default one end away from the other may not be
            TimeParam.requireInBounds("end", end);
            if (!end.isAfter(start)) {
                throw new BadRequestException("end must be after start");
            }
            if (Duration.between(start, end).compareTo(maxRange) > 0) {
                throw new BadRequestException(
                        "the time range is longer than the allowed " + describe(maxRange) + "; narrow start and end");
            }
            AuditLog.range(start, end);
            return new TimeRange(start, end);
        }

        /**
         * {@code OTEL_LAKE_MAX_RANGE} as a person reads it: in days, hours or minutes when it is a whole number of
         * them (a limit of 12 hours was named "0 days", one of 36 hours "1 days"), else as ISO-8601.
         */
        private static String describe(Duration d) {
            if (d.getNano() == 0) {
                long seconds = d.getSeconds();
                if (seconds % 86_400 == 0) {
                    return plural(seconds / 86_400, "day");
                }
                if (seconds % 3_600 == 0) {
                    return plural(seconds / 3_600, "hour");
                }
                if (seconds % 60 == 0) {
                    return plural(seconds / 60, "minute");
                }
                return plural(seconds, "second");
            }
            return d.toString();
        }

        private static String plural(long n, String unit) {
            return n + " " + unit + (n == 1 ? "" : "s");
        }
    }

    /** The OpenAPI description of the parameters log search and log volume share: {@link LogFilter}'s and the range. */
    @Target(ElementType.METHOD)
    @Retention(RetentionPolicy.RUNTIME)
    @Parameters({
        @Parameter(name = "q", in = ParameterIn.QUERY, description = "Case-insensitive substring of the body."),
        @Parameter(name = "regex", in = ParameterIn.QUERY, description = "RE2 regular expression the body must match."),
        @Parameter(
                name = "service",
                in = ParameterIn.QUERY,
                description = "Service name; may repeat (any of them matches).",
                array = @ArraySchema(schema = @Schema(type = "string"))),
        @Parameter(
                name = "severity_min",
                in = ParameterIn.QUERY,
                description = "Lowest severity: TRACE, DEBUG, INFO, WARN, ERROR, FATAL (with 2-4) or 1-24."),
        @Parameter(name = "trace_id", in = ParameterIn.QUERY, description = "32 hex characters."),
        @Parameter(name = "span_id", in = ParameterIn.QUERY, description = "16 hex characters."),
        @Parameter(
                name = "start",
                in = ParameterIn.QUERY,
                description = "Inclusive start, RFC 3339 or Unix epoch nanoseconds; default end - 1 h."),
        @Parameter(
                name = "end",
                in = ParameterIn.QUERY,
                description =
                        "Exclusive end, RFC 3339 or Unix epoch nanoseconds; default start + 1 h, or now without start.")
    })
    @interface LogFilterParameters {}
}
