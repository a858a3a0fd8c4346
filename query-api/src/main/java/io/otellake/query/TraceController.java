package io.otellake.query;

import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /api/v1/traces/{trace_id}}: every span of one trace. Without {@code start} and {@code end} it searches
 * the last {@code otel-lake.trace-lookback} (24 hours by default).
 */
@RestController
class TraceController {
    private final TraceLookup lookup;
    private final LakeProperties props;

    TraceController(TraceLookup lookup, LakeProperties props) {
        this.lookup = lookup;
        this.props = props;
    }

    @GetMapping(path = "/api/v1/traces/{traceId}", produces = MediaType.APPLICATION_JSON_VALUE)
    Map<String, Object> trace(
            @RequestHeader(name = Tenants.HEADER, required = false) @Nullable String tenant,
            @PathVariable String traceId,
            @RequestParam(required = false) @Nullable String start,
            @RequestParam(required = false) @Nullable String end)
            throws SQLException {
        String id = TraceLookup.traceId(traceId);
        LogController.TimeRange range = LogController.TimeRange.of(start, end, props.traceLookback(), props.maxRange());
        TraceLookup.Result result = lookup.lookup(Tenants.of(tenant), id, range.start(), range.end());
        if (result.spans().isEmpty()) {
            throw new NotFoundException("no trace " + id + " between " + range.start() + " and " + range.end());
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("trace_id", result.traceId());
        body.put("spans", result.spans());
        body.put("stats", result.stats());
        return body;
    }
}
