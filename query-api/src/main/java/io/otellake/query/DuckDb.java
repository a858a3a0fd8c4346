package io.otellake.query;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import org.duckdb.DuckDBConnection;
import org.springframework.stereotype.Component;

/**
 * One in-process DuckDB database, locked down before any query runs: no extension is installed or loaded, no file
 * outside the cache directory can be read or written, memory and threads are bounded, and the configuration is
 * locked so that no query can undo any of this.
 */
@Component
class DuckDb implements AutoCloseable {
    private final DuckDBConnection root;

    DuckDb(LakeProperties props, ArchiveFiles archive) throws SQLException {
        this.root = (DuckDBConnection) DriverManager.getConnection("jdbc:duckdb:");
        String cacheDir = archive.cacheDir().toString() + "/";
        try (Statement s = root.createStatement()) {
            s.execute("SET autoinstall_known_extensions = false");
            s.execute("SET autoload_known_extensions = false");
            s.execute("SET TimeZone = 'UTC'");
            s.execute("SET memory_limit = '" + sqlString(props.duckdbMemoryLimit()) + "'");
            s.execute("SET threads = " + props.duckdbThreads());
            s.execute("SET allowed_directories = ['" + sqlString(cacheDir) + "']");
            s.execute("SET enable_external_access = false");
            s.execute("SET lock_configuration = true");
        }
    }

    /** A new connection to the shared database; close it after the query. */
    Connection connect() throws SQLException {
        return root.duplicate();
    }

    @Override
    public void close() throws SQLException {
        root.close();
    }

    /** Whether {@code e} says that a statement needed more memory than {@code memory_limit} allows. */
    static boolean outOfMemory(SQLException e) {
        String message = e.getMessage();
        return message != null && message.contains("Out of Memory Error");
    }

    /** Quotes configuration values, which come from our own validated settings, never from a request. */
    private static String sqlString(String value) {
        return value.replace("'", "''");
    }
}
