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
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Service;

/**
 * Finds traces with at least one span matching every given filter (service, span name, duration bounds, error
 * status) among spans starting in [start, end), newest first, and summarizes each: root service and span, start,
 * duration, span count, error count, services. A trace with no root span in the range is summarized from its
 * earliest span there.
 */
@Service
class TraceSearch {
    private final ArchiveFiles archive;
    private final QueryRunner runner;

    TraceSearch(ArchiveFiles archive, QueryRunner runner) {
        this.archive = archive;
        this.runner = runner;
    }

    record Query(
            TenantId tenant,
            Instant start,
            Instant end,
            @Nullable String service,
            @Nullable String name,
            @Nullable Long minDurationNs,
            @Nullable Long maxDurationNs,
            boolean errorsOnly,
            int limit) {}

    record Result(List<Map<String, Object>> data, QueryStats stats) {}

    Result search(Query q) throws SQLException {
        long started = System.nanoTime();
        ArchiveFiles.Fetched fetched = archive.fetch(Signal.TRACES, q.tenant(), q.start(), q.end());
        try {
            List<Map<String, Object>> data = new ArrayList<>();
            if (fetched.files().isEmpty()) {
                return new Result(data, QueryStats.of(fetched, runner.rowsIn(fetched), started));
            }
            StringBuilder match = new StringBuilder("TRUE");
            List<Object> params = new ArrayList<>();
            if (q.service() != null) {
                match.append(" AND service_name = ?");
                params.add(q.service());
            }
            if (q.name() != null) {
                match.append(" AND name = ?");
                params.add(q.name());
            }
            if (q.minDurationNs() != null) {
                match.append(" AND duration_ns >= ?");
                params.add(q.minDurationNs());
            }
            if (q.maxDurationNs() != null) {
                match.append(" AND duration_ns <= ?");
                params.add(q.maxDurationNs());
            }
            if (q.errorsOnly()) {
                match.append(" AND status_code = 'ERROR'");
            }
            RangeScan scan = new RangeScan(fetched, TimeParam.toNanos(q.start()), TimeParam.toNanos(q.end()));
            String sql = "WITH spans AS ("
                    + scan.sql(
                            "trace_id, parent_span_id, service_name, name, start_time, end_time, duration_ns, status_code",
                            "start_time")
                    + "),"
                    + " matching AS (SELECT DISTINCT trace_id FROM spans WHERE " + match + ")"
                    + " SELECT trace_id,"
                    + " coalesce(arg_min(service_name, start_time) FILTER (WHERE parent_span_id IS NULL),"
                    + " arg_min(service_name, start_time)),"
                    + " coalesce(arg_min(name, start_time) FILTER (WHERE parent_span_id IS NULL), arg_min(name, start_time)),"
                    + " epoch_ns(min(start_time)), epoch_ns(max(end_time)) - epoch_ns(min(start_time)), count(*),"
                    + " count(*) FILTER (WHERE status_code = 'ERROR'),"
                    + " list_sort(list_distinct(list(service_name)))"
                    + " FROM spans SEMI JOIN matching USING (trace_id)"
                    + " GROUP BY trace_id ORDER BY min(start_time) DESC, trace_id LIMIT ?";
            try (Connection c = runner.connect();
                    PreparedStatement ps = c.prepareStatement(sql)) {
                int i = scan.bind(c, ps, 1);
                for (Object p : params) {
                    ps.setObject(i++, p);
                }
                ps.setInt(i, q.limit());
                try (ResultSet rs = runner.execute(ps)) {
                    while (rs.next()) {
                        Map<String, Object> t = new LinkedHashMap<>();
                        t.put("trace_id", rs.getString(1));
                        t.put("root_service", rs.getString(2));
                        t.put("root_span", rs.getString(3));
                        t.put("start_time", TimeParam.format(rs.getLong(4)));
                        t.put("duration_ns", rs.getLong(5));
                        t.put("span_count", rs.getLong(6));
                        t.put("error_count", rs.getLong(7));
                        Array services = rs.getArray(8);
                        t.put(
                                "services",
                                services == null
                                        ? List.of()
                                        : Arrays.stream((Object[]) services.getArray())
                                                .filter(java.util.Objects::nonNull)
                                                .map(Object::toString)
                                                .toList());
                        data.add(t);
                    }
                }
            }
            return new Result(data, QueryStats.of(fetched, runner.rowsIn(fetched), started));
        } finally {
            archive.release(fetched);
        }
    }
}
