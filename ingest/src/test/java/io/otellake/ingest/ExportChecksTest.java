package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;

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
    private static final ByteString TRACE_ID = ByteString.fromHex("5b8efff798038103d269b633813fc60c");
    private static final ByteString SPAN_ID = ByteString.fromHex("eee19b7ec3c1b174");
    private static final Span SPAN =
            Span.newBuilder().setTraceId(TRACE_ID).setSpanId(SPAN_ID).build();

    @Test
    void aValidRequestIsKeptAsItIsAndCounted() {
        ExportTraceServiceRequest traces = ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .addScopeSpans(ScopeSpans.newBuilder()
                                .addSpans(SPAN)
                                .addSpans(SPAN.toBuilder().setParentSpanId(SPAN_ID)))
                        .addScopeSpans(ScopeSpans.newBuilder().addSpans(SPAN)))
                .addResourceSpans(ResourceSpans.getDefaultInstance())
                .build();
        ExportLogsServiceRequest logs = ExportLogsServiceRequest.newBuilder()
                .addResourceLogs(ResourceLogs.newBuilder()
                        .addScopeLogs(ScopeLogs.newBuilder().addLogRecords(LogRecord.getDefaultInstance())))
                .build();

        assertThat(ExportChecks.checkSpans(traces)).isEqualTo(new OtlpSignal.DecodedExport(traces, 3, 0, ""));
        assertThat(ExportChecks.checkLogRecords(logs)).isEqualTo(new OtlpSignal.DecodedExport(logs, 1, 0, ""));
        assertThat(ExportChecks.checkSpans(ExportTraceServiceRequest.getDefaultInstance())
                        .items())
                .isZero();
    }

    @Test
    void itemsWithIdsOfTheWrongLengthAreDropped() {
        ExportTraceServiceRequest link = ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .addScopeSpans(ScopeSpans.newBuilder()
                                .addSpans(SPAN.toBuilder()
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

        assertThat(ExportChecks.checkSpans(link))
                .isEqualTo(new OtlpSignal.DecodedExport(
                        ExportTraceServiceRequest.getDefaultInstance(),
                        0,
                        1,
                        "1 of 1 spans rejected; the first: resourceSpans[0].scopeSpans[0].spans[0].links[0].spanId must"
                                + " be 8 bytes (or empty); got 3 bytes"));
        assertThat(ExportChecks.checkLogRecords(log))
                .isEqualTo(new OtlpSignal.DecodedExport(
                        ExportLogsServiceRequest.newBuilder()
                                .addResourceLogs(ResourceLogs.newBuilder()
                                        .addScopeLogs(
                                                ScopeLogs.newBuilder().addLogRecords(LogRecord.getDefaultInstance())))
                                .build(),
                        1,
                        1,
                        "1 of 2 log records rejected; the first: resourceLogs[0].scopeLogs[0].logRecords[1].traceId"
                                + " must be 16 bytes (or empty); got 8 bytes"));
    }

    @Test
    void aSpanWithoutItsOwnTraceIdOrSpanIdOrWithAllZeroIdsIsDropped() {
        ExportTraceServiceRequest request = ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .addScopeSpans(ScopeSpans.newBuilder()
                                .addSpans(SPAN)
                                .addSpans(SPAN.toBuilder().clearTraceId())
                                .addSpans(SPAN.toBuilder().clearSpanId())
                                .addSpans(SPAN.toBuilder().setTraceId(ByteString.copyFrom(new byte[16])))
                                .addSpans(SPAN.toBuilder().setSpanId(ByteString.copyFrom(new byte[8])))))
                .build();

        assertThat(ExportChecks.checkSpans(request))
                .isEqualTo(new OtlpSignal.DecodedExport(
                        ExportTraceServiceRequest.newBuilder()
                                .addResourceSpans(ResourceSpans.newBuilder()
                                        .addScopeSpans(ScopeSpans.newBuilder().addSpans(SPAN)))
                                .build(),
                        1,
                        4,
                        "4 of 5 spans rejected; the first: resourceSpans[0].scopeSpans[0].spans[1].traceId must be 16"
                                + " bytes; got 0 bytes"));
        assertThat(ExportChecks.checkSpans(ExportTraceServiceRequest.newBuilder()
                                .addResourceSpans(ResourceSpans.newBuilder()
                                        .addScopeSpans(ScopeSpans.newBuilder()
                                                .addSpans(SPAN.toBuilder()
                                                        .setTraceId(ByteString.copyFrom(new byte[16])))))
                                .build())
                        .rejectionMessage())
                .isEqualTo("1 of 1 spans rejected; the first: resourceSpans[0].scopeSpans[0].spans[0].traceId must not"
                        + " be all zeros");
    }
}
