package io.otellake.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class LogFormatTest {
    @Test
    void jsonIsJsonAndEverythingElseLogsAsTextWithUnknownValuesNamed() {
        assertThat(LogFormat.appender(Map.of())).isEqualTo("text");
        assertThat(LogFormat.appender(Map.of("OTEL_LAKE_LOG_FORMAT", ""))).isEqualTo("text");
        assertThat(LogFormat.appender(Map.of("OTEL_LAKE_LOG_FORMAT", "json"))).isEqualTo("json");
        assertThat(LogFormat.appender(Map.of("OTEL_LAKE_LOG_FORMAT", "JSON"))).isEqualTo("text");

        assertThat(LogFormat.problem(Map.of())).isEmpty();
        assertThat(LogFormat.problem(Map.of("OTEL_LAKE_LOG_FORMAT", ""))).isEmpty();
        assertThat(LogFormat.problem(Map.of("OTEL_LAKE_LOG_FORMAT", "text"))).isEmpty();
        assertThat(LogFormat.problem(Map.of("OTEL_LAKE_LOG_FORMAT", "json"))).isEmpty();
        assertThat(LogFormat.problem(Map.of("OTEL_LAKE_LOG_FORMAT", "JSON")))
                .hasValue("OTEL_LAKE_LOG_FORMAT must be text or json (lower case), got 'JSON'");
        assertThat(LogFormat.problem(Map.of("OTEL_LAKE_LOG_FORMAT", "xml"))).isPresent();
    }
}
