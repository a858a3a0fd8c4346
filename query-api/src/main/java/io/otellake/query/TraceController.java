package io.otellake.query;

import io.otellake.schemas.TenantId;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.Parameters;
import io.swagger.v3.oas.annotations.enums.ParameterIn;
import io.swagger.v3.oas.annotations.media.Schema;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.util.MultiValueMap;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /api/v1/traces/{trace_id}}: every span of one trace, as lake columns or, with {@code format=otlp}, as an
 * OTLP/JSON {@code ExportTraceServiceRequest}. Without {@code start} and {@code end} it asks the tenant's trace index
 * which hours hold the trace, as far back as {@code otel-lake.trace-lookback} (90 days by default), and reads only
 * those; with either (the other end defaulting to 24 hours away), it reads every hour of a range up to 6 hours, and
 * asks the index of a longer range's days which of its hours to read. {@code GET /api/v1/traces}: trace summaries.
 */
@RestController
class TraceController {
    static final Set<String> LOOKUP_PARAMETERS = Set.of("start", "end", "format");
    static final Set<String> SEARCH_PARAMETERS =
            Set.of("start", "end", "service", "name", "min_duration", "max_duration", "status", "limit");
    private static final int DEFAULT_SEARCH_LIMIT = 20;
    private static final Duration DEFAULT_LOOKUP_RANGE = Duration.ofHours(24);
    private static final Pattern DURATION = Pattern.compile("(\\d+)(ns|us|µs|ms|s|m|h)?");

    private final TraceLookup lookup;
    private final TraceSearch search;
    private final LakeProperties props;

    TraceController(TraceLookup lookup, TraceSearch search, LakeProperties props) {
        this.lookup = lookup;
        this.search = search;
        this.props = props;
    }

    @Operation(summary = "Fetch every span of a trace")
    @Parameters({
        @Parameter(
                name = "start",
                in = ParameterIn.QUERY,
                description = "Inclusive start; default end - 24 h. Without start and end, the trace index is used."),
        @Parameter(
                name = "end",
                in = ParameterIn.QUERY,
                description = "Exclusive end; default start + 24 h, or now without start."),
        @Parameter(
                name = "format",
                in = ParameterIn.QUERY,
                description = "lake (columns, default) or otlp (OTLP/JSON ExportTraceServiceRequest).")
    })
    @GetMapping(path = "/api/v1/traces/{traceId}", produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<?> trace(
            @Parameter(hidden = true) TenantId tenant,
            @Parameter(description = "32 hex characters") @PathVariable String traceId,
            @Parameter(hidden = true) @RequestParam MultiValueMap<String, String> params)
            throws SQLException {
        RequestParams.requireKnown(params, LOOKUP_PARAMETERS, Set.of());
        String id = TraceLookup.traceId(traceId);
        String format = params.getFirst("format");
        if (format != null && !format.isEmpty() && !format.equals("otlp") && !format.equals("lake")) {
            throw new BadRequestException("format must be lake (the default) or otlp, got '" + format + "'");
        }
        TraceLookup.Result result;
        if (blankToNull(params.getFirst("start")) == null && blankToNull(params.getFirst("end")) == null) {
            Instant now = Instant.now();
            Instant since = now.minus(props.traceLookback());
            AuditLog.range(since, now);
            result = lookup.lookup(tenant, id, since);
            if (result.spans().isEmpty()) {
                throw new NotFoundException("no trace " + id + " in the trace index since " + since);
            }
        } else {
            LogController.TimeRange range = LogController.TimeRange.of(
                    params.getFirst("start"), params.getFirst("end"), DEFAULT_LOOKUP_RANGE, props.maxRange());
            result = lookup.lookup(tenant, id, range.start(), range.end());
            if (result.spans().isEmpty()) {
                throw new NotFoundException("no trace " + id + " between " + range.start() + " and " + range.end());
            }
        }
        if ("otlp".equals(format)) {
            return ResponseEntity.ok()
                    .contentType(MediaType.APPLICATION_JSON)
                    .body(OtlpTraceJson.json(OtlpTraceJson.request(result.spans())));
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("trace_id", result.traceId());
        body.put("spans", result.spans().stream().map(TraceLookup::view).toList());
        body.put("stats", result.stats());
        return ResponseEntity.ok(body);
    }

    @Operation(summary = "Search traces", description = "Summaries of traces with a span matching every filter.")
    @Parameters({
        @Parameter(name = "start", in = ParameterIn.QUERY, description = "Inclusive start; default end - 1 h."),
        @Parameter(
                name = "end",
                in = ParameterIn.QUERY,
                description = "Exclusive end; default start + 1 h, or now without start."),
        @Parameter(name = "service", in = ParameterIn.QUERY, description = "Service of a matching span."),
        @Parameter(name = "name", in = ParameterIn.QUERY, description = "Name of a matching span."),
        @Parameter(name = "min_duration", in = ParameterIn.QUERY, description = "Shortest span: 250ms, 2s, 1m."),
        @Parameter(name = "max_duration", in = ParameterIn.QUERY, description = "Longest span: 250ms, 2s, 1m."),
        @Parameter(name = "status", in = ParameterIn.QUERY, description = "error: a span with status ERROR."),
        @Parameter(
                name = "limit",
                in = ParameterIn.QUERY,
                description = "Traces, 1-5000; default 20.",
                schema = @Schema(type = "integer", minimum = "1"))
    })
    @GetMapping(path = "/api/v1/traces", produces = MediaType.APPLICATION_JSON_VALUE)
    Map<String, Object> traces(
            @Parameter(hidden = true) TenantId tenant,
            @Parameter(hidden = true) @RequestParam MultiValueMap<String, String> params)
            throws SQLException {
        RequestParams.requireKnown(params, SEARCH_PARAMETERS, Set.of());
        LogController.TimeRange range = LogController.TimeRange.of(
                params.getFirst("start"), params.getFirst("end"), Duration.ofHours(1), props.maxRange());
        String status = params.getFirst("status");
        if (status != null && !status.isEmpty() && !status.equalsIgnoreCase("error")) {
            throw new BadRequestException("status may only be 'error', got '" + status + "'");
        }
        Long minDuration = duration("min_duration", params.getFirst("min_duration"));
        Long maxDuration = duration("max_duration", params.getFirst("max_duration"));
        if (minDuration != null && maxDuration != null && minDuration > maxDuration) {
            throw new BadRequestException("min_duration must not be longer than max_duration");
        }
        TraceSearch.Result result = search.search(new TraceSearch.Query(
                tenant,
                range.start(),
                range.end(),
                blankToNull(params.getFirst("service")),
                blankToNull(params.getFirst("name")),
                minDuration,
                maxDuration,
                status != null && !status.isEmpty(),
                RequestParams.limit(params.getFirst("limit"), DEFAULT_SEARCH_LIMIT, props.maxLimit())));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("data", result.data());
        body.put("stats", result.stats());
        return body;
    }

    /** {@code 250ms}, {@code 2s}, {@code 1m}, or nanoseconds without a unit. */
    @Nullable
    static Long duration(String name, @Nullable String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        Matcher m = DURATION.matcher(text.trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new BadRequestException(
                    name + " must look like 250ms, 2s, 1m or a number of nanoseconds; got '" + text + "'");
        }
        String unit = m.group(2) == null ? "ns" : m.group(2);
        long factor =
                switch (unit) {
                    case "ns" -> 1L;
                    case "us", "µs" -> 1_000L;
                    case "ms" -> 1_000_000L;
                    case "s" -> 1_000_000_000L;
                    case "m" -> 60_000_000_000L;
                    default -> 3_600_000_000_000L;
                };
        try {
            return Math.multiplyExact(RequestParams.parseAsciiLong(m.group(1)), factor);
        } catch (NumberFormatException | ArithmeticException e) { // more digits than a long holds, or overflow
            throw new BadRequestException(name + " is too large: " + text);
        }
    }

    @Nullable
    private static String blankToNull(@Nullable String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
