package io.otellake.query;

import io.otellake.schemas.Signal;
import io.otellake.schemas.TenantId;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Service;

/**
 * Searches and counts a tenant's log records in [start, end).
 *
 * <p>Guarantees: only the tenant's files in the hours overlapping the range are read; every value from the request
 * is bound as a parameter, never written into the SQL text; pages follow an order of event time, then content ({@link
 * LogCursor}), that does not depend on which file holds a record, so a cursor continues without repeats or gaps even
 * when compaction rewrites the files between two pages.
 */
@Service
class LogSearch {
    private static final String EVENT_TIME = LogFilter.EVENT_TIME;
    /** The columns a page returns, in {@link #row}'s order. */
    private static final String COLUMNS = "epoch_ns(timestamp), epoch_ns(observed_timestamp), trace_id, span_id,"
            + " trace_flags, severity_text, severity_number, service_name, body, body_type, resource_attributes,"
            + " resource_attribute_types, scope_name, scope_version, attributes, attribute_types, event_name";
    /**
     * A record's place among records of the same event time: a hash of everything a page returns of it, which stays
     * the same when compaction moves the record to another file (its file name and row number do not). Records with
     * the same hash and time look the same to a reader, so which of them a page returns does not matter, only how many
     * ({@link LogCursor#seen()}). 63 bits, so that it is a BIGINT. A map's entries are hashed in key order: compaction
     * reads rows back into hash maps and writes their entries in another order than the archiver did.
     */
    private static final String CONTENT = "CAST(hash(timestamp, observed_timestamp, trace_id, span_id, trace_flags,"
            + " severity_text, severity_number, service_name, body, body_type, " + entries("resource_attributes") + ", "
            + entries("resource_attribute_types") + ", scope_name, scope_version, " + entries("attributes") + ", "
            + entries("attribute_types") + ", event_name) >> 1 AS BIGINT)";
    /** The most records of one time and content a cursor may say were returned: beyond, it was not this API's. */
    static final long MAX_SEEN = 1_000_000_000L;
    /**
     * About the most characters of text (bodies, attributes, ids) one page holds: a page ends early, with a cursor to
     * the rest, once the next record would go over. 5000 records of multi-megabyte bodies would otherwise be held in
     * the service's heap, which DuckDB's memory limit does not cover, and sent as one answer. A page holds at least
     * one record, however large (ingest bounds a request's size).
     */
    static final long MAX_PAGE_CHARS = 16L << 20;
    /** How DuckDB's message begins when RE2 cannot compile a pattern. */
    private static final String INVALID_INPUT = "Invalid Input Error:";

    private final ArchiveFiles archive;
    private final QueryRunner runner;

    LogSearch(ArchiveFiles archive, QueryRunner runner) {
        this.archive = archive;
        this.runner = runner;
    }

    enum Direction {
        BACKWARD,
        FORWARD
    }

    record Query(
            TenantId tenant,
            Instant start,
            Instant end,
            LogFilter filter,
            int limit,
            Direction direction,
            @Nullable LogCursor cursor) {}

    record Result(List<Map<String, Object>> data, @Nullable LogCursor nextCursor, QueryStats stats) {}

    Result search(Query q) throws SQLException {
        long started = System.nanoTime();
        requireValidRegex(q.filter());
        Instant start = q.start();
        Instant end = q.end();
        if (q.cursor() != null) { // read only the hours the next page can come from
            Instant at = TimeParam.fromNanos(q.cursor().eventNanos());
            if (q.direction() == Direction.BACKWARD && at.plusNanos(1).isBefore(end)) {
                end = at.plusNanos(1);
            } else if (q.direction() == Direction.FORWARD && at.isAfter(start)) {
                start = at;
            }
        }
        ArchiveFiles.Fetched fetched = archive.fetch(Signal.LOGS, q.tenant(), start, end);
        try {
            if (fetched.files().isEmpty() || !end.isAfter(start)) {
                return new Result(List.of(), null, QueryStats.of(fetched, runner.rowsIn(fetched), started));
            }
            String order = q.direction() == Direction.BACKWARD ? "DESC" : "ASC";
            String after = q.direction() == Direction.BACKWARD ? "<" : ">";
            StringBuilder sql = new StringBuilder("SELECT * FROM (SELECT " + COLUMNS + ", epoch_ns(" + EVENT_TIME
                    + ") AS event_ns, " + CONTENT + " AS content FROM read_parquet(?) WHERE " + EVENT_TIME
                    + " >= CAST(make_timestamp_ns(?) AS TIMESTAMPTZ_NS) AND " + EVENT_TIME
                    + " < CAST(make_timestamp_ns(?) AS TIMESTAMPTZ_NS)");
            List<Object> params = new ArrayList<>();
            params.add(TimeParam.toNanos(q.start()));
            params.add(TimeParam.toNanos(q.end()));
            q.filter().appendTo(sql, params);
            sql.append(")");
            LogCursor cursor = q.cursor();
            if (cursor != null) {
                // the cursor's own time and content too: the records of it that were not returned yet come first
                sql.append(" WHERE event_ns " + after + " ? OR (event_ns = ? AND content " + after + "= ?)");
                params.add(cursor.eventNanos());
                params.add(cursor.eventNanos());
                params.add(cursor.content());
            }
            sql.append(" ORDER BY event_ns " + order + ", content " + order + " LIMIT ?");
            long skip = cursor == null ? 0 : cursor.seen(); // at most MAX_SEEN
            params.add(q.limit() + 1 + skip); // one more tells whether there is a next page

            List<Map<String, Object>> rows = new ArrayList<>();
            long pageChars = 0;
            LogCursor last = null;
            LogCursor next = null;
            try (Connection c = runner.connect();
                    PreparedStatement ps = c.prepareStatement(sql.toString())) {
                bind(ps, c, fetched, params);
                try (ResultSet rs = runner.execute(ps)) {
                    while (rs.next()) {
                        long eventNanos = rs.getLong(18);
                        long content = rs.getLong(19);
                        if (skip > 0 && eventNanos == cursor.eventNanos() && content == cursor.content()) {
                            skip--; // returned by an earlier page
                            continue;
                        }
                        if (rows.size() == q.limit()) {
                            next = last;
                            break;
                        }
                        Map<String, Object> row = row(rs);
                        long size = chars(row);
                        if (!rows.isEmpty() && pageChars + size > MAX_PAGE_CHARS) {
                            next = last;
                            break;
                        }
                        pageChars += size;
                        rows.add(row);
                        long seen = 1;
                        if (last != null && last.eventNanos() == eventNanos && last.content() == content) {
                            seen = last.seen() + 1;
                        } else if (cursor != null && cursor.eventNanos() == eventNanos && cursor.content() == content) {
                            seen = cursor.seen() + 1;
                        }
                        last = new LogCursor(eventNanos, content, seen);
                    }
                }
            }
            return new Result(rows, next, QueryStats.of(fetched, runner.rowsIn(fetched), started));
        } finally {
            archive.release(fetched);
        }
    }

    /** A map column's entries in key order, so that its hash does not depend on the order they were written in. */
    private static String entries(String column) {
        return "list_sort(map_entries(" + column + "))";
    }

    record Bucket(String time, String severity, long count) {}

    record Volume(List<Bucket> data, Duration step, QueryStats stats) {}

    /** Counts per step and severity group, oldest first; empty buckets are left out. */
    Volume volume(TenantId tenant, Instant start, Instant end, LogFilter filter, Duration step) throws SQLException {
        long started = System.nanoTime();
        requireValidRegex(filter);
        ArchiveFiles.Fetched fetched = archive.fetch(Signal.LOGS, tenant, start, end);
        try {
            List<Bucket> buckets = new ArrayList<>();
            if (!fetched.files().isEmpty()) {
                long stepNanos = step.toNanos();
                StringBuilder sql = new StringBuilder("SELECT (epoch_ns(" + EVENT_TIME + ") // ?) * ? AS bucket, "
                        + LogFilter.severityGroupSql() + " AS severity, count(*) FROM read_parquet(?) WHERE "
                        + EVENT_TIME
                        + " >= CAST(make_timestamp_ns(?) AS TIMESTAMPTZ_NS) AND " + EVENT_TIME
                        + " < CAST(make_timestamp_ns(?) AS TIMESTAMPTZ_NS)");
                List<Object> params = new ArrayList<>();
                params.add(TimeParam.toNanos(start));
                params.add(TimeParam.toNanos(end));
                filter.appendTo(sql, params);
                sql.append(" GROUP BY ALL ORDER BY bucket, severity");
                try (Connection c = runner.connect();
                        PreparedStatement ps = c.prepareStatement(sql.toString())) {
                    ps.setLong(1, stepNanos);
                    ps.setLong(2, stepNanos);
                    ps.setArray(3, QueryRunner.files(c, fetched.files()));
                    for (int i = 0; i < params.size(); i++) {
                        ps.setObject(i + 4, params.get(i));
                    }
                    try (ResultSet rs = runner.execute(ps)) {
                        while (rs.next()) {
                            buckets.add(new Bucket(TimeParam.format(rs.getLong(1)), rs.getString(2), rs.getLong(3)));
                        }
                    }
                }
            }
            return new Volume(buckets, step, QueryStats.of(fetched, runner.rowsIn(fetched), started));
        } finally {
            archive.release(fetched);
        }
    }

    /**
     * Refuses a {@code regex} that DuckDB's RE2 cannot compile ({@code (}, {@code a{1001}}, {@code (?<name>x)},
     * {@code \1}): asked of DuckDB itself, before any file is fetched, so that the answer is the same 400 whether or
     * not the range holds data.
     */
    private void requireValidRegex(LogFilter filter) throws SQLException {
        if (filter.regex() == null) {
            return;
        }
        try (Connection c = runner.connect();
                PreparedStatement ps = c.prepareStatement("SELECT regexp_matches('', ?)")) {
            ps.setString(1, filter.regex());
            runner.execute(ps).close();
        } catch (SQLException e) {
            String message = String.valueOf(e.getMessage());
            if (message.startsWith(INVALID_INPUT)) {
                throw new BadRequestException("regex is not a valid RE2 expression: "
                        + message.substring(INVALID_INPUT.length()).trim());
            }
            throw e;
        }
    }

    private static void bind(PreparedStatement ps, Connection c, ArchiveFiles.Fetched fetched, List<Object> params)
            throws SQLException {
        ps.setArray(1, QueryRunner.files(c, fetched.files()));
        for (int i = 0; i < params.size(); i++) {
            ps.setObject(i + 2, params.get(i));
        }
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

    /** The characters of text in a row, its keys' and values', as a page's budget counts them. */
    static long chars(@Nullable Object value) {
        if (value instanceof CharSequence text) {
            return text.length();
        }
        if (value instanceof Map<?, ?> map) {
            long n = 0;
            for (Map.Entry<?, ?> e : map.entrySet()) {
                n += chars(e.getKey()) + chars(e.getValue());
            }
            return n;
        }
        if (value instanceof Iterable<?> list) {
            long n = 0;
            for (Object element : list) {
                n += chars(element);
            }
            return n;
        }
        return value == null ? 0 : 8; // a number or a boolean
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
