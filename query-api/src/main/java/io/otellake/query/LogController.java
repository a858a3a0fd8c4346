package io.otellake.query;

import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** {@code GET /api/v1/logs}: a tenant's log records in [start, end), newest first. */
@RestController
class LogController {
    private final LogSearch search;
    private final LakeProperties props;

    LogController(LogSearch search, LakeProperties props) {
        this.search = search;
        this.props = props;
    }

    @GetMapping(path = "/api/v1/logs", produces = MediaType.APPLICATION_JSON_VALUE)
    Map<String, Object> logs(
            @RequestHeader(name = Tenants.HEADER, required = false) @Nullable String tenant,
            @RequestParam(required = false) @Nullable String start,
            @RequestParam(required = false) @Nullable String end,
            @RequestParam(required = false) @Nullable String q,
            @RequestParam(required = false) @Nullable List<String> service,
            @RequestParam(required = false) @Nullable String limit)
            throws SQLException {
        TimeRange range = TimeRange.of(start, end, Duration.ofHours(1), props.maxRange());
        LogSearch.Result result = search.search(new LogSearch.Query(
                Tenants.of(tenant),
                range.start(),
                range.end(),
                q,
                service == null
                        ? List.of()
                        : service.stream().filter(s -> !s.isEmpty()).toList(),
                limit(limit)));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("data", result.data());
        body.put("stats", result.stats());
        return body;
    }

    private int limit(@Nullable String text) {
        if (text == null || text.isBlank()) {
            return props.defaultLimit();
        }
        try {
            int n = Integer.parseInt(text.trim());
            if (n < 1 || n > props.maxLimit()) {
                throw new BadRequestException("limit must be between 1 and " + props.maxLimit() + ", got " + n);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new BadRequestException("limit must be a whole number, got '" + text + "'");
        }
    }

    /** A validated [start, end) range. */
    record TimeRange(Instant start, Instant end) {
        static TimeRange of(
                @Nullable String startText, @Nullable String endText, Duration defaultSpan, Duration maxRange) {
            Instant end = TimeParam.parse("end", endText);
            Instant start = TimeParam.parse("start", startText);
            if (end == null) {
                end = start == null ? Instant.now() : start.plus(defaultSpan);
            }
            if (start == null) {
                start = end.minus(defaultSpan);
            }
            if (!end.isAfter(start)) {
                throw new BadRequestException("end must be after start");
            }
            if (Duration.between(start, end).compareTo(maxRange) > 0) {
                throw new BadRequestException("the time range is longer than the allowed " + maxRange.toDays()
                        + " days; narrow start and end");
            }
            return new TimeRange(start, end);
        }
    }
}
