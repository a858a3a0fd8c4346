package io.otellake.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;

class QueryGateTest {
    static LakeProperties props(int concurrent, Duration queue) {
        return LakeProperties.defaults(
                        new LakeProperties.S3(
                                java.net.URI.create("http://127.0.0.1:1"), "us-east-1", "b", "lake", "", "", ""),
                        Path.of("target/gate-cache"))
                .withLimits(concurrent, queue, 1L << 30);
    }

    @Test
    void aQueryBeyondTheBoundWaitsThenIsRefusedAndAFinishedOneFreesItsTurn() throws Exception {
        QueryGate gate = new QueryGate(props(1, Duration.ofMillis(50)));
        MockHttpServletRequest first = new MockHttpServletRequest();
        MockHttpServletRequest second = new MockHttpServletRequest();
        MockHttpServletResponse response = new MockHttpServletResponse();

        assertThat(gate.preHandle(first, response, new Object())).isTrue();
        long started = System.nanoTime();
        assertThatThrownBy(() -> gate.preHandle(second, response, new Object()))
                .isInstanceOf(QueryGate.TooManyQueriesException.class);
        assertThat(System.nanoTime() - started).as("it waited for a turn").isGreaterThanOrEqualTo(40_000_000L);

        gate.afterCompletion(first, response, new Object(), null);
        gate.afterCompletion(second, response, new Object(), null); // never held a turn: must not free one
        assertThat(gate.available()).isEqualTo(1);
        assertThat(gate.preHandle(second, response, new Object())).isTrue();
    }
}
