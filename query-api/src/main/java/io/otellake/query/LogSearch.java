package io.otellake.query;

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
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Service;

/**
 * Searches a tenant's log records in [start, end), newest first.
 *
 * <p>Guarantees: only the tenant's files in the hours overlapping the range are read; every value from the request
 * is bound as a parameter, never written into the SQL text.
 */
@Service
class LogSearch {
    /** The record's event time: its time, or its observed time when the producer set none. */
    private static final String EVENT_TIME = "coalesce(timestamp, observed_timestamp)";

    private final ArchiveFiles archive;
    private final DuckDb duckDb;

    LogSearch(ArchiveFiles archive, DuckDb duckDb) {
        this.archive = archive;
        this.duckDb = duckDb;
    }

    record Query(
            TenantId tenant, Instant start, Instant end, @Nullable String contains, List<String> services, int limit) {}

    record Result(List<Map<String, Object>> data, QueryStats stats) {}

    Result search(Query q) throws SQLException {
        long started = System.nanoTime();
        ArchiveFiles.Fetched fetched = archive.fetch(Signal.LOGS, q.tenant(), q.start(), q.end());
        if (fetched.files().isEmpty()) {
            return new Result(List.of(), QueryStats.of(fetched, started));
        }
        StringBuilder sql = new StringBuilder("SELECT epoch_ns(timestamp), epoch_ns(observed_timestamp), trace_id,"
                + " span_id, trace_flags, severity_text, severity_number, service_name, body, body_type,"
                + " resource_attributes, resource_attribute_types, scope_name, scope_version, attributes,"
                + " attribute_types, event_name FROM read_parquet(?) WHERE " + EVENT_TIME
                + " >= CAST(make_timestamp_ns(?) AS TIMESTAMPTZ_NS)"
                + " AND " + EVENT_TIME + " < CAST(make_timestamp_ns(?) AS TIMESTAMPTZ_NS)");
        List<Object> params = new ArrayList<>();
        params.add(TimeParam.toNanos(q.start()));
        params.add(TimeParam.toNanos(q.end()));
        if (q.contains() != null && !q.contains().isEmpty()) {
            sql.append(" AND contains(lower(body), ?)");
            params.add(q.contains().toLowerCase(Locale.ROOT));
        }
        if (!q.services().isEmpty()) {
            sql.append(" AND service_name IN (")
                    .append(String.join(
                            ", ", java.util.Collections.nCopies(q.services().size(), "?")))
                    .append(")");
            params.addAll(q.services());
        }
        sql.append(" ORDER BY " + EVENT_TIME + " DESC LIMIT ?");
        params.add(q.limit());

        List<Map<String, Object>> rows = new ArrayList<>();
        try (Connection c = duckDb.connect();
                PreparedStatement ps = c.prepareStatement(sql.toString())) {
            Array files = c.createArrayOf(
                    "VARCHAR", fetched.files().stream().map(Object::toString).toArray());
            ps.setArray(1, files);
            for (int i = 0; i < params.size(); i++) {
                ps.setObject(i + 2, params.get(i));
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.add(row(rs));
                }
            }
        }
        return new Result(rows, QueryStats.of(fetched, started));
    }

    private static Map<String, Object> row(ResultSet rs) throws SQLException {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("timestamp", TimeParam.format(nullableLong(rs, 1)));
        r.put("observed_timestamp", TimeParam.format(nullableLong(rs, 2)));
        r.put("trace_id", rs.getString(3));
        r.put("span_id", rs.getString(4));
        r.put("trace_flags", rs.getLong(5));
        r.put("severity_text", rs.getString(6));
        r.put("severity_number", rs.getInt(7));
        r.put("service_name", rs.getString(8));
        r.put("body", TypedValues.value(rs.getString(9), rs.getString(10)));
        r.put("body_type", rs.getString(10));
        r.put("resource_attributes", TypedValues.attributes(map(rs, 11), map(rs, 12)));
        r.put("scope_name", rs.getString(13));
        r.put("scope_version", rs.getString(14));
        r.put("attributes", TypedValues.attributes(map(rs, 15), map(rs, 16)));
        r.put("event_name", rs.getString(17));
        return r;
    }

    @Nullable
    static Long nullableLong(ResultSet rs, int column) throws SQLException {
        long v = rs.getLong(column);
        return rs.wasNull() ? null : v;
    }

    @SuppressWarnings("unchecked")
    static Map<String, String> map(ResultSet rs, int column) throws SQLException {
        Object o = rs.getObject(column);
        return o == null ? Map.of() : stringMap((Map<Object, Object>) o);
    }

    static Map<String, String> stringMap(@Nullable Map<?, ?> raw) {
        if (raw == null) {
            return Map.of();
        }
        Map<String, String> out = new LinkedHashMap<>();
        raw.forEach((k, v) -> out.put(String.valueOf(k), v == null ? "" : v.toString()));
        return out;
    }
}
