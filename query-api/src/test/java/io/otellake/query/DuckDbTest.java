package io.otellake.query;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.http.ProblemDetail;

/** The query API's DuckDB, itself: locked down as its Javadoc says, and out of memory is the client's 422. */
class DuckDbTest {
    @TempDir
    Path cache;

    @TempDir
    Path outside;

    @Test
    void noQueryCanReadOutsideTheCacheInstallExtensionsOrLiftTheLimits() throws Exception {
        Path inside = cache.resolve("inside.csv");
        Files.writeString(inside, "a\n1\n");
        Path secret = outside.resolve("secret.csv");
        Files.writeString(secret, "a\n2\n");
        try (ArchiveFiles archive = new ArchiveFiles(props("1GB"));
                DuckDb duckDb = new DuckDb(props("1GB"), archive);
                Connection c = duckDb.connect();
                Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT a FROM read_csv('" + inside + "')")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).as("a file in the cache is read").isEqualTo(1);
            }
            assertThat(failure(c, "SELECT a FROM read_csv('" + secret + "')")).contains("Permission Error");
            // refused by the lock-down itself, not by a missing network or extension file
            assertThat(failure(c, "INSTALL httpfs")).startsWith("Permission Error");
            assertThat(failure(c, "LOAD httpfs")).startsWith("Permission Error");
            for (String undo : new String[] {
                "SET memory_limit = '100GB'",
                "SET threads = 64",
                "SET enable_external_access = true",
                "SET allowed_directories = ['/']",
                "SET lock_configuration = false"
            }) {
                assertThat(failure(c, undo)).as(undo).contains("locked");
            }
            try (ResultSet rs = s.executeQuery("SELECT current_setting('memory_limit'), current_setting('threads')")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("953.6 MiB"); // 1GB, as DuckDB prints it
                assertThat(rs.getLong(2)).isEqualTo(2);
            }
        }
    }

    @Test
    void aQueryThatNeedsMoreMemoryThanTheLimitIsAnswered422() throws Exception {
        SQLException failure;
        try (ArchiveFiles archive = new ArchiveFiles(props("32MB"));
                DuckDb duckDb = new DuckDb(props("32MB"), archive);
                Connection c = duckDb.connect();
                Statement s = c.createStatement()) {
            failure = org.assertj.core.api.Assertions.catchThrowableOfType(SQLException.class, () -> c.createStatement()
                    .executeQuery("SELECT list(i) FROM range(100000000) t(i)"));
            assertThat((Throwable) failure).as("DuckDB refused the query").isNotNull();
            try (ResultSet rs = c.createStatement().executeQuery("SELECT 42")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).as("and serves the next one").isEqualTo(42);
            }
        }
        assertThat(DuckDb.outOfMemory(failure)).as(failure.getMessage()).isTrue();

        ProblemDetail problem = new ApiErrors().queryFailed(failure);

        assertThat(problem.getStatus()).isEqualTo(422);
        assertThat(problem.getDetail())
                .isEqualTo("the query needs more memory than DuckDB may use (OTEL_LAKE_DUCKDB_MEMORY_LIMIT); narrow"
                        + " the time range or the filters");
        assertThat(new ApiErrors()
                        .queryFailed(new SQLException("Binder Error: no such column"))
                        .getStatus())
                .as("any other failure of DuckDB is unexpected")
                .isEqualTo(500);
    }

    /** The message of the failure of {@code sql}, which must fail. */
    private static String failure(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            return e.getMessage();
        }
        throw new AssertionError("ran: " + sql);
    }

    private LakeProperties props(String memoryLimit) {
        LakeProperties d = LakeProperties.defaults(
                new LakeProperties.S3(URI.create("http://127.0.0.1:1"), "us-east-1", "b", "lake", "", "", ""), cache);
        return QueryApiIT.with(d, d.cacheMaxBytes(), memoryLimit, d.maxTraceSpans());
    }
}
