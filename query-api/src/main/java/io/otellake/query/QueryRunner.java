package io.otellake.query;

import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.springframework.stereotype.Component;

/**
 * Runs DuckDB statements with a time limit: a statement still running when its request's {@code
 * otel-lake.query-timeout} is up ({@link RequestDeadline}) is cancelled and the request answered 504.
 */
@Component
class QueryRunner implements AutoCloseable {
    private final DuckDb duckDb;
    private final ArchiveFiles archive;
    private final Duration timeout;
    /** Row counts of cached files; a cached file's name is derived from its key and ETag, so it never changes. */
    private final Map<Path, Long> rowCounts = new ConcurrentHashMap<>();

    private static final int MAX_ROW_COUNTS = 100_000;
    /**
     * How often a statement past its deadline is cancelled again; short, so that a statement that started just after
     * a cancel it dropped is stopped within milliseconds instead of running to its end (it runs on the timer thread
     * only for statements already over the limit).
     */
    private static final long RECANCEL_MILLIS = 2;

    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "query-timeout");
        t.setDaemon(true);
        return t;
    });

    QueryRunner(DuckDb duckDb, ArchiveFiles archive, LakeProperties props) {
        this.duckDb = duckDb;
        this.archive = archive;
        this.timeout = props.queryTimeout();
    }

    /** The rows in the fetched files, from their Parquet footers; counted once per cached file. */
    long rowsIn(ArchiveFiles.Fetched fetched) throws SQLException {
        List<String> unknown = new ArrayList<>();
        long rows = 0;
        for (Path file : fetched.files()) {
            Long n = rowCounts.get(file);
            if (n == null) {
                unknown.add(file.toString());
            } else {
                rows += n;
            }
        }
        if (!unknown.isEmpty()) {
            try (Connection c = connect();
                    PreparedStatement ps =
                            c.prepareStatement("SELECT file_name, num_rows FROM parquet_file_metadata(?)")) {
                ps.setArray(1, c.createArrayOf("VARCHAR", unknown.toArray()));
                try (ResultSet rs = execute(ps)) {
                    while (rs.next()) {
                        long n = rs.getLong(2);
                        if (rowCounts.size() > MAX_ROW_COUNTS) {
                            rowCounts.clear();
                        }
                        rowCounts.put(Path.of(rs.getString(1)), n);
                        rows += n;
                    }
                }
            }
        }
        return rows;
    }

    /** {@code files} as the VARCHAR list that {@code read_parquet(?)} takes. */
    static Array files(Connection c, List<Path> files) throws SQLException {
        return c.createArrayOf("VARCHAR", files.stream().map(Path::toString).toArray());
    }

    Connection connect() throws SQLException {
        return duckDb.connect();
    }

    /**
     * Runs {@code ps} within what remains of the request's time ({@link RequestDeadline}); a statement still running
     * then is cancelled, and one whose request has no time left is not run: both are answered 504. A statement that
     * fails on an archive file DuckDB cannot read throws {@link ArchiveFiles.ArchiveUnreadableException}.
     */
    ResultSet execute(PreparedStatement ps) throws SQLException {
        long remaining = RequestDeadline.remainingNanos(timeout);
        if (remaining <= 0) {
            throw RequestDeadline.exceeded(timeout.toMillis());
        }
        AtomicBoolean cancelled = new AtomicBoolean();
        // Cancelled again and again from the deadline on until it returns: DuckDB drops a cancel that comes before the
        // statement has started to run, and one cancel that came a moment too early let a query run to its end.
        ScheduledFuture<?> cancel = timer.scheduleWithFixedDelay(
                () -> {
                    cancelled.set(true);
                    try {
                        ps.cancel();
                    } catch (SQLException e) {
                        // the statement finished meanwhile
                    }
                },
                remaining,
                TimeUnit.MILLISECONDS.toNanos(RECANCEL_MILLIS),
                TimeUnit.NANOSECONDS);
        try {
            return ps.executeQuery();
        } catch (SQLException e) {
            if (cancelled.get()) {
                throw RequestDeadline.exceeded(timeout.toMillis());
            }
            ArchiveFiles.ArchiveUnreadableException unreadable = archive.unreadable(e);
            if (unreadable != null) {
                throw unreadable;
            }
            throw e;
        } finally {
            cancel.cancel(false);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }

    /** A query stopped at the time limit. */
    static final class QueryTimeoutException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        QueryTimeoutException(String message) {
            super(message);
        }
    }
}
