package io.otellake.query;

import io.otellake.schemas.Ids;
import io.otellake.schemas.Signal;
import io.otellake.schemas.TenantId;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.duckdb.DuckDBStruct;
import org.springframework.stereotype.Service;

/**
 * Fetches every span of one trace of a tenant, oldest first. A trace's spans sit in the hour partitions of their own
 * start times, so the lookup reads every hour of the range it is given.
 */
@Service
class TraceLookup {
    private final ArchiveFiles archive;
    private final QueryRunner runner;

    TraceLookup(ArchiveFiles archive, QueryRunner runner) {
        this.archive = archive;
        this.runner = runner;
    }

    /** Validates and normalizes a trace id: 32 hex digits, either case, to lowercase. */
    static String traceId(String text) {
        if (!Ids.isHex(text, 32)) {
            throw new BadRequestException("trace_id must be 32 hex characters, got '"
                    + (text.length() > 64 ? text.substring(0, 64) + "..." : text) + "'");
        }
        if (text.chars().allMatch(ch -> ch == '0')) {
            throw new BadRequestException("trace_id must not be all zeros (the OTLP invalid trace id)");
        }
        return text.toLowerCase(Locale.ROOT);
    }

    record Result(String traceId, List<Map<String, Object>> spans, QueryStats stats) {}

    Result lookup(TenantId tenant, String traceId, Instant start, Instant end) throws SQLException {
        long started = System.nanoTime();
        ArchiveFiles.Fetched fetched = archive.fetch(Signal.TRACES, tenant, start, end);
        List<Map<String, Object>> spans = new ArrayList<>();
        if (!fetched.files().isEmpty()) {
            String sql = "SELECT trace_id, span_id, parent_span_id, trace_state, flags, name, kind,"
                    + " epoch_ns(start_time), epoch_ns(end_time), duration_ns, status_code, status_message,"
                    + " service_name, resource_attributes, resource_attribute_types, scope_name, scope_version,"
                    + " attributes, attribute_types, dropped_attributes_count,"
                    + " list_transform(events, lambda e: {'time': epoch_ns(e.time), 'name': e.name,"
                    + " 'attributes': e.attributes, 'attribute_types': e.attribute_types,"
                    + " 'dropped_attributes_count': e.dropped_attributes_count}),"
                    + " dropped_events_count, links, dropped_links_count"
                    + " FROM read_parquet(?) WHERE trace_id = ? AND start_time >= CAST(make_timestamp_ns(?) AS TIMESTAMPTZ_NS)"
                    + " AND start_time < CAST(make_timestamp_ns(?) AS TIMESTAMPTZ_NS) ORDER BY start_time, span_id";
            try (Connection c = runner.connect();
                    PreparedStatement ps = c.prepareStatement(sql)) {
                Array files = c.createArrayOf(
                        "VARCHAR",
                        fetched.files().stream().map(Object::toString).toArray());
                ps.setArray(1, files);
                ps.setString(2, traceId);
                ps.setLong(3, TimeParam.toNanos(start));
                ps.setLong(4, TimeParam.toNanos(end));
                try (ResultSet rs = runner.execute(ps)) {
                    while (rs.next()) {
                        spans.add(span(rs));
                    }
                }
            }
        }
        return new Result(traceId, spans, QueryStats.of(fetched, started));
    }

    private static Map<String, Object> span(ResultSet rs) throws SQLException {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("trace_id", rs.getString(1));
        s.put("span_id", rs.getString(2));
        s.put("parent_span_id", rs.getString(3));
        s.put("trace_state", rs.getString(4));
        s.put("flags", rs.getLong(5));
        s.put("name", rs.getString(6));
        s.put("kind", rs.getString(7));
        s.put("start_time", TimeParam.format(rs.getLong(8)));
        s.put("end_time", TimeParam.format(rs.getLong(9)));
        s.put("duration_ns", rs.getLong(10));
        s.put("status_code", rs.getString(11));
        s.put("status_message", rs.getString(12));
        s.put("service_name", rs.getString(13));
        s.put("resource_attributes", TypedValues.attributes(LogSearch.map(rs, 14), LogSearch.map(rs, 15)));
        s.put("scope_name", rs.getString(16));
        s.put("scope_version", rs.getString(17));
        s.put("attributes", TypedValues.attributes(LogSearch.map(rs, 18), LogSearch.map(rs, 19)));
        s.put("dropped_attributes_count", rs.getLong(20));
        List<Map<String, Object>> events = new ArrayList<>();
        for (Map<String, Object> e : structs(rs.getArray(21))) {
            Map<String, Object> event = new LinkedHashMap<>();
            event.put("time", TimeParam.format(((Number) e.get("time")).longValue()));
            event.put("name", String.valueOf(e.get("name")));
            event.put("attributes", attributes(e));
            event.put("dropped_attributes_count", e.get("dropped_attributes_count"));
            events.add(event);
        }
        s.put("events", events);
        s.put("dropped_events_count", rs.getLong(22));
        List<Map<String, Object>> links = new ArrayList<>();
        for (Map<String, Object> l : structs(rs.getArray(23))) {
            Map<String, Object> link = new LinkedHashMap<>();
            link.put("trace_id", String.valueOf(l.get("trace_id")));
            link.put("span_id", String.valueOf(l.get("span_id")));
            link.put(
                    "trace_state",
                    l.get("trace_state") == null ? null : l.get("trace_state").toString());
            link.put("flags", l.get("flags"));
            link.put("attributes", attributes(l));
            link.put("dropped_attributes_count", l.get("dropped_attributes_count"));
            links.add(link);
        }
        s.put("links", links);
        s.put("dropped_links_count", rs.getLong(24));
        return s;
    }

    private static Map<String, Object> attributes(Map<String, Object> struct) {
        return TypedValues.attributes(
                LogSearch.stringMap((Map<?, ?>) struct.get("attributes")),
                LogSearch.stringMap((Map<?, ?>) struct.get("attribute_types")));
    }

    private static List<Map<String, Object>> structs(Array array) throws SQLException {
        List<Map<String, Object>> out = new ArrayList<>();
        if (array == null) {
            return out;
        }
        for (Object o : (Object[]) array.getArray()) {
            out.add(((DuckDBStruct) o).getMap());
        }
        return out;
    }
}
