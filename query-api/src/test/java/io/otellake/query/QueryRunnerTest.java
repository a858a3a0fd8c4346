package io.otellake.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;

/** A request's time limit covers all its statements together, from the turn the query gate gives it. */
class QueryRunnerTest {
    /** Billions of hashes: minutes of work, far past every limit here. */
    static final String ENDLESS = "SELECT sum(hash(i)) FROM range(100000000000) t(i)";

    @TempDir
    Path cache;

    @AfterEach
    void clear() {
        RequestDeadline.clear();
    }

    @Test
    void aStatementOfARequestWhoseTimeIsSpentIsNotRunAndAnswered504() throws Exception {
        try (ArchiveFiles archive = new ArchiveFiles(props());
                DuckDb duckDb = new DuckDb(props(), archive);
                QueryRunner runner = new QueryRunner(duckDb, archive, props());
                Connection c = runner.connect();
                PreparedStatement ps = c.prepareStatement("SELECT 1")) {
            RequestDeadline.start(Duration.ofMillis(100));
            Thread.sleep(200); // spent fetching, or in statements before this one

            assertThatThrownBy(() -> runner.execute(ps))
                    .isInstanceOf(QueryRunner.QueryTimeoutException.class)
                    .hasMessage("the query ran longer than 30000 ms and was stopped; narrow the time range or the"
                            + " filters");

            RequestDeadline.clear();
            try (ResultSet rs = runner.execute(ps)) {
                assertThat(rs.next())
                        .as("without a request, a statement gets the whole limit")
                        .isTrue();
            }
        }
    }

    @Test
    void aStatementRunningWhenItsRequestsTimeIsUpIsCancelled() throws Exception {
        try (ArchiveFiles archive = new ArchiveFiles(props());
                DuckDb duckDb = new DuckDb(props(), archive);
                QueryRunner runner = new QueryRunner(duckDb, archive, props());
                Connection c = runner.connect();
                PreparedStatement ps = c.prepareStatement(ENDLESS)) {
            RequestDeadline.start(Duration.ofMillis(300));
            long started = System.nanoTime();

            assertThatThrownBy(() -> runner.execute(ps)).isInstanceOf(QueryRunner.QueryTimeoutException.class);

            assertThat(Duration.ofNanos(System.nanoTime() - started))
                    .as("stopped at the request's limit, not at the statement limit of 30 s")
                    .isLessThan(Duration.ofSeconds(10));
        }
    }

    @Test
    void theQueryGateStartsTheRequestsTimeAtItsTurnAndEndsItAfter() throws Exception {
        QueryGate gate = new QueryGate(props());
        MockHttpServletRequest request = new MockHttpServletRequest();
        MockHttpServletResponse response = new MockHttpServletResponse();
        Duration limit = props().queryTimeout();

        assertThat(RequestDeadline.remainingNanos(limit)).isEqualTo(limit.toNanos());
        gate.preHandle(request, response, new Object());
        assertThat(RequestDeadline.remainingNanos(limit)).isLessThan(limit.toNanos());
        gate.afterCompletion(request, response, new Object(), null);
        assertThat(RequestDeadline.remainingNanos(limit))
                .as("the thread's next request starts afresh")
                .isEqualTo(limit.toNanos());
    }

    private LakeProperties props() {
        return LakeProperties.defaults(
                new LakeProperties.S3(URI.create("http://127.0.0.1:1"), "us-east-1", "b", "lake", "", "", ""), cache);
    }
}
