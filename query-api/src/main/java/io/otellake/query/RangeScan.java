package io.otellake.query;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * The rows of a query's files in [start, end), as SQL: the time filter applies only to the files that need it.
 *
 * <p>Every row of an hour partition's file has its event time in that hour, so when a range covers an hour whole,
 * the filter would test every row of its files to keep them all. Only the files of a first or last hour that the
 * range cuts ({@link ArchiveFiles.Fetched#cut}) are filtered; the others are read as they are, and the two scans
 * are joined with {@code UNION ALL}. A day's query then costs what DuckDB costs over the same files without a
 * filter.
 *
 * <p>The SQL holds only this class's own text and {@code ?} parameters, bound by {@link #bind} in the order of
 * their appearance.
 */
final class RangeScan {
    private final List<Path> cut;
    private final List<Path> whole;
    private final long startNanos;
    private final long endNanos;

    /** @param fetched the files of the range, at least one */
    RangeScan(ArchiveFiles.Fetched fetched, long startNanos, long endNanos) {
        if (fetched.files().isEmpty()) {
            throw new IllegalArgumentException("a scan needs at least one file");
        }
        this.cut = fetched.cutFiles();
        this.whole = fetched.whole();
        this.startNanos = startNanos;
        this.endNanos = endNanos;
    }

    /**
     * {@code SELECT <columns> FROM read_parquet(?) WHERE <time> >= ? AND <time> < ?}, {@code UNION ALL} the same
     * without the filter over the whole hours' files, as needed.
     *
     * @param columns the select list, our own SQL text
     * @param time the event-time expression, our own SQL text
     */
    String sql(String columns, String time) {
        List<String> parts = new ArrayList<>(2);
        if (!cut.isEmpty()) {
            parts.add("SELECT " + columns + " FROM read_parquet(?) WHERE " + time
                    + " >= CAST(make_timestamp_ns(?) AS TIMESTAMPTZ_NS) AND " + time
                    + " < CAST(make_timestamp_ns(?) AS TIMESTAMPTZ_NS)");
        }
        if (!whole.isEmpty()) {
            parts.add("SELECT " + columns + " FROM read_parquet(?)");
        }
        return String.join(" UNION ALL ", parts);
    }

    /** Binds the parameters of {@link #sql} from {@code index} on; returns the index after them. */
    int bind(Connection c, PreparedStatement ps, int index) throws SQLException {
        int i = index;
        if (!cut.isEmpty()) {
            ps.setArray(i++, QueryRunner.files(c, cut));
            ps.setLong(i++, startNanos);
            ps.setLong(i++, endNanos);
        }
        if (!whole.isEmpty()) {
            ps.setArray(i++, QueryRunner.files(c, whole));
        }
        return i;
    }
}
