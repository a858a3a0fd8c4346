package io.otellake.query;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.springframework.stereotype.Component;

/**
 * Runs DuckDB statements with a time limit: a statement still running after {@code otel-lake.query-timeout} is
 * cancelled and the request answered 504.
 */
@Component
class QueryRunner implements AutoCloseable {
    private final DuckDb duckDb;
    private final Duration timeout;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "query-timeout");
        t.setDaemon(true);
        return t;
    });

    QueryRunner(DuckDb duckDb, LakeProperties props) {
        this.duckDb = duckDb;
        this.timeout = props.queryTimeout();
    }

    Connection connect() throws SQLException {
        return duckDb.connect();
    }

    ResultSet execute(PreparedStatement ps) throws SQLException {
        AtomicBoolean cancelled = new AtomicBoolean();
        ScheduledFuture<?> cancel = timer.schedule(
                () -> {
                    cancelled.set(true);
                    try {
                        ps.cancel();
                    } catch (SQLException e) {
                        // the statement finished meanwhile
                    }
                },
                timeout.toMillis(),
                TimeUnit.MILLISECONDS);
        try {
            return ps.executeQuery();
        } catch (SQLException e) {
            if (cancelled.get()) {
                throw new QueryTimeoutException("the query ran longer than " + timeout.toSeconds()
                        + " s and was stopped; narrow the time range or the filters");
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
