package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import org.junit.jupiter.api.Test;

class ExportChecksTest {
    private static final ByteString TRACE_ID = ByteString.copyFrom(new byte[16]);
    private static final ByteString SPAN_ID = ByteString.copyFrom(new byte[8]);

    @Test
    void countsSpansAndLogRecords() throws Exception {
        ExportTraceServiceRequest traces = ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .addScopeSpans(ScopeSpans.newBuilder()
                                .addSpans(Span.newBuilder().setTraceId(TRACE_ID).setSpanId(SPAN_ID))
                                .addSpans(Span.getDefaultInstance()))
                        .addScopeSpans(ScopeSpans.newBuilder().addSpans(Span.getDefaultInstance())))
                .addResourceSpans(ResourceSpans.getDefaultInstance())
                .build();
        ExportLogsServiceRequest logs = ExportLogsServiceRequest.newBuilder()
                .addResourceLogs(ResourceLogs.newBuilder()
                        .addScopeLogs(ScopeLogs.newBuilder().addLogRecords(LogRecord.getDefaultInstance())))
                .build();

        assertThat(ExportChecks.checkSpans(traces)).isEqualTo(3);
        assertThat(ExportChecks.checkLogRecords(logs)).isEqualTo(1);
        assertThat(ExportChecks.checkSpans(ExportTraceServiceRequest.getDefaultInstance()))
                .isZero();
    }

    @Test
    void idsOfTheWrongLengthAreRefused() {
        ExportTraceServiceRequest link = ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .addScopeSpans(ScopeSpans.newBuilder()
                                .addSpans(Span.newBuilder()
                                        .setTraceId(TRACE_ID)
                                        .addLinks(Span.Link.newBuilder()
                                                .setTraceId(TRACE_ID)
                                                .setSpanId(ByteString.copyFrom(new byte[3]))))))
                .build();
        ExportLogsServiceRequest log = ExportLogsServiceRequest.newBuilder()
                .addResourceLogs(ResourceLogs.newBuilder()
                        .addScopeLogs(ScopeLogs.newBuilder()
                                .addLogRecords(LogRecord.getDefaultInstance())
                                .addLogRecords(LogRecord.newBuilder().setTraceId(SPAN_ID))))
                .build();

        assertThatThrownBy(() -> ExportChecks.checkSpans(link))
                .isInstanceOf(InvalidExportException.class)
                .hasMessage(
                        "resourceSpans[0].scopeSpans[0].spans[0].links[0].spanId must be 8 bytes (or empty); got 3 bytes");
        assertThatThrownBy(() -> ExportChecks.checkLogRecords(log))
                .hasMessage(
                        "resourceLogs[0].scopeLogs[0].logRecords[1].traceId must be 16 bytes (or empty); got 8 bytes");
    }
}
