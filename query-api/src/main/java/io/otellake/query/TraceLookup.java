package io.otellake.query;

import io.otellake.schemas.Ids;
import io.otellake.schemas.LakeSchema;
import io.otellake.schemas.Partition;
import io.otellake.schemas.Signal;
import io.otellake.schemas.TenantId;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.duckdb.DuckDBStruct;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Service;

/**
 * Fetches every span of one trace of a tenant, oldest first, as lake rows. A trace's spans sit in the hour partitions
 * of their own start times: a lookup with a short range reads every hour of it; one with a longer range, or none,
 * asks the trace index which hours to read. The index names every hour whose span files hold the trace: the archiver
 * writes an index file with every span file, under the same commit.
 */
@Service
class TraceLookup {
    private static final Schema EVENT =
            LakeSchema.SPAN.getField("events").schema().getElementType();
    private static final Schema LINK =
            LakeSchema.SPAN.getField("links").schema().getElementType();
    private static final String TIME_COLUMNS = "epoch_ns(start_time) AS start_time, epoch_ns(end_time) AS end_time";

    /** The column {@link #whereTrace} compares with a range's start: a span's start, an index row's end. */
    private static final String SPANS = "start_time";

    private static final String INDEX_ROWS = "end_time";

    /** Ranges up to this long are read hour by hour; longer ones through the trace index. */
    static final Duration SCAN_UP_TO = Duration.ofHours(6);

    private final ArchiveFiles archive;
    private final QueryRunner runner;

    private final int maxSpans;

    TraceLookup(ArchiveFiles archive, QueryRunner runner, LakeProperties props) {
        this.archive = archive;
        this.runner = runner;
        this.maxSpans = props.maxTraceSpans();
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

    /** The spans as lake rows ({@link LakeSchema#SPAN} records, times as epoch nanoseconds). */
    record Result(String traceId, List<GenericRecord> spans, QueryStats stats) {}

    /**
     * The spans of the trace that started in [start, end). A range of up to {@link #SCAN_UP_TO} is read hour by hour;
     * a longer one asks the trace index of its days which hours hold the trace, and reads only those.
     */
    Result lookup(TenantId tenant, String traceId, Instant start, Instant end) throws SQLException {
        long started = System.nanoTime();
        long[] range = {TimeParam.toNanos(start), TimeParam.toNanos(end)};
        if (Duration.between(start, end).compareTo(SCAN_UP_TO) <= 0) {
            ArchiveFiles.Fetched fetched = archive.fetch(Signal.TRACES, tenant, start, end);
            try {
                List<GenericRecord> spans = spans(fetched, traceId, range);
                return new Result(traceId, spans, QueryStats.of(fetched, runner.rowsIn(fetched), started));
            } finally {
                archive.release(fetched);
            }
        }
        return throughIndex(tenant, traceId, archive.fetchTraceIndex(tenant, start, end), range, started);
    }

    /**
     * The spans of the trace, wherever they are since {@code since}, with no time range: the tenant's trace index
     * names the hours that hold the trace, and only those hours are read. The stats count index days as partitions
     * and index files as files, next to the hours and span files read.
     */
    Result lookup(TenantId tenant, String traceId, Instant since) throws SQLException {
        long started = System.nanoTime();
        return throughIndex(tenant, traceId, archive.fetchTraceIndex(tenant, since), null, started);
    }

    /**
     * Reads the hours that the index files name for the trace (within the range, when there is one); releases
     * {@code index}.
     */
    private Result throughIndex(
            TenantId tenant, String traceId, ArchiveFiles.Fetched index, long @Nullable [] range, long started)
            throws SQLException {
        try {
            List<Partition> hours = new ArrayList<>();
            if (!index.files().isEmpty()) {
                String sql = "SELECT DISTINCT epoch_ns(start_time) // 3600000000000 AS hour FROM read_parquet(?)"
                        + whereTrace(range, INDEX_ROWS) + " ORDER BY hour";
                try (Connection c = runner.connect();
                        PreparedStatement ps = c.prepareStatement(sql)) {
                    bindTrace(ps, QueryRunner.files(c, index.files()), traceId, range);
                    try (ResultSet rs = runner.execute(ps)) {
                        while (rs.next()) {
                            hours.add(Partition.of(Signal.TRACES, tenant, rs.getLong(1) * 3_600_000_000_000L));
                        }
                    }
                }
            }
            ArchiveFiles.Fetched fetched = archive.fetch(Signal.TRACES, tenant, hours, index.archiveBytes());
            try {
                List<GenericRecord> spans = spans(fetched, traceId, range);
                QueryStats data = QueryStats.of(fetched, runner.rowsIn(fetched), started);
                QueryStats stats = new QueryStats(
                        index.partitions() + data.partitions(),
                        index.files().size() + data.files(),
                        runner.rowsIn(index) + data.rowsScanned(),
                        index.bytes() + data.bytesFetched(),
                        index.cacheHits() + data.cacheHits(),
                        data.elapsedMs());
                return new Result(traceId, spans, stats);
            } finally {
                archive.release(fetched);
            }
        } finally {
            archive.release(index);
        }
    }

    /**
     * The filter of a trace's rows that may hold a span starting in [start, end) (every row when there is no range):
     * {@code start_time < end} and {@code reach >= start}. For spans {@code reach} is {@link #SPANS}, their own start;
     * for index rows it is {@link #INDEX_ROWS}, their end, since a row covers spans starting from its {@code
     * start_time} up to at most its {@code end_time}: an hour whose row starts before the range still counts when the
     * row ends inside it. Its parameters are bound by {@link #bindTrace}.
     */
    private static String whereTrace(long @Nullable [] range, String reach) {
        return " WHERE trace_id = ?"
                + (range == null
                        ? ""
                        : " AND " + reach + " >= CAST(make_timestamp_ns(?) AS TIMESTAMPTZ_NS)"
                                + " AND start_time < CAST(make_timestamp_ns(?) AS TIMESTAMPTZ_NS)");
    }

    /** Binds {@code read_parquet(?)} and the parameters of {@link #whereTrace}. */
    private static void bindTrace(PreparedStatement ps, Array files, String traceId, long @Nullable [] range)
            throws SQLException {
        ps.setArray(1, files);
        ps.setString(2, traceId);
        if (range != null) {
            ps.setLong(3, range[0]);
            ps.setLong(4, range[1]);
        }
    }

    /** @param range start and end in epoch nanoseconds, or null for every span of the files */
    private List<GenericRecord> spans(ArchiveFiles.Fetched fetched, String traceId, long @Nullable [] range)
            throws SQLException {
        List<GenericRecord> spans = new ArrayList<>();
        if (fetched.files().isEmpty()) {
            return spans;
        }
        String sql = "SELECT * REPLACE (" + TIME_COLUMNS + ","
                + " list_transform(events, lambda e: {'time': epoch_ns(e.time), 'name': e.name,"
                + " 'attributes': e.attributes, 'attribute_types': e.attribute_types,"
                + " 'dropped_attributes_count': e.dropped_attributes_count}) AS events)"
                + " FROM read_parquet(?)" + whereTrace(range, SPANS) + " ORDER BY start_time, span_id"
                + " LIMIT " + (maxSpans + 1); // a number from the settings, not from the request
        try (Connection c = runner.connect();
                PreparedStatement ps = c.prepareStatement(sql)) {
            bindTrace(ps, QueryRunner.files(c, fetched.files()), traceId, range);
            try (ResultSet rs = runner.execute(ps)) {
                while (rs.next()) {
                    if (spans.size() == maxSpans) {
                        throw new ArchiveFiles.QueryTooLargeException("trace " + traceId + " has more than the "
                                + maxSpans + " spans one lookup may return (OTEL_LAKE_MAX_TRACE_SPANS)");
                    }
                    spans.add(row(rs));
                }
            }
        }
        return spans;
    }

    /** A result row back as a lake row, so that the schemas module's mapping can turn it into OTLP. */
    private static GenericRecord row(ResultSet rs) throws SQLException {
        GenericRecord r = new GenericData.Record(LakeSchema.SPAN);
        for (Schema.Field f : LakeSchema.SPAN.getFields()) {
            switch (f.name()) {
                case "events" -> r.put("events", nested(rs.getArray("events"), EVENT));
                case "links" -> r.put("links", nested(rs.getArray("links"), LINK));
                default -> r.put(f.name(), rs.getObject(f.name()));
            }
        }
        return r;
    }

    private static List<GenericRecord> nested(Array array, Schema schema) throws SQLException {
        List<GenericRecord> out = new ArrayList<>();
        if (array == null) {
            return out;
        }
        for (Object o : (Object[]) array.getArray()) {
            Map<String, Object> struct = ((DuckDBStruct) o).getMap();
            GenericRecord r = new GenericData.Record(schema);
            for (Schema.Field f : schema.getFields()) {
                r.put(f.name(), struct.get(f.name()));
            }
            out.add(r);
        }
        return out;
    }

    /** The REST view of a span: columns by name, times as RFC 3339, attributes with their OTLP types. */
    static Map<String, Object> view(GenericRecord r) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("trace_id", text(r.get("trace_id")));
        s.put("span_id", text(r.get("span_id")));
        s.put("parent_span_id", text(r.get("parent_span_id")));
        s.put("trace_state", text(r.get("trace_state")));
        s.put("flags", r.get("flags"));
        s.put("name", text(r.get("name")));
        s.put("kind", text(r.get("kind")));
        s.put("start_time", TimeParam.format(((Number) r.get("start_time")).longValue()));
        s.put("end_time", TimeParam.format(((Number) r.get("end_time")).longValue()));
        s.put("duration_ns", r.get("duration_ns"));
        s.put("status_code", text(r.get("status_code")));
        s.put("status_message", text(r.get("status_message")));
        s.put("service_name", text(r.get("service_name")));
        s.put("resource_attributes", attributes(r, "resource_"));
        s.put("scope_name", text(r.get("scope_name")));
        s.put("scope_version", text(r.get("scope_version")));
        s.put("attributes", attributes(r, ""));
        s.put("dropped_attributes_count", r.get("dropped_attributes_count"));
        List<Map<String, Object>> events = new ArrayList<>();
        for (Object o : (List<?>) r.get("events")) {
            GenericRecord e = (GenericRecord) o;
            Map<String, Object> event = new LinkedHashMap<>();
            event.put("time", TimeParam.format(((Number) e.get("time")).longValue()));
            event.put("name", text(e.get("name")));
            event.put("attributes", attributes(e, ""));
            event.put("dropped_attributes_count", e.get("dropped_attributes_count"));
            events.add(event);
        }
        s.put("events", events);
        s.put("dropped_events_count", r.get("dropped_events_count"));
        List<Map<String, Object>> links = new ArrayList<>();
        for (Object o : (List<?>) r.get("links")) {
            GenericRecord l = (GenericRecord) o;
            Map<String, Object> link = new LinkedHashMap<>();
            link.put("trace_id", text(l.get("trace_id")));
            link.put("span_id", text(l.get("span_id")));
            link.put("trace_state", text(l.get("trace_state")));
            link.put("flags", l.get("flags"));
            link.put("attributes", attributes(l, ""));
            link.put("dropped_attributes_count", l.get("dropped_attributes_count"));
            links.add(link);
        }
        s.put("links", links);
        s.put("dropped_links_count", r.get("dropped_links_count"));
        return s;
    }

    private static Map<String, Object> attributes(GenericRecord r, String prefix) {
        return TypedValues.attributes(
                LogSearch.stringMap((Map<?, ?>) r.get(prefix + "attributes")),
                LogSearch.stringMap((Map<?, ?>) r.get(prefix + "attribute_types")));
    }

    private static String text(Object o) {
        return o == null ? null : o.toString();
    }
}
