package io.otellake.ingest;

import com.google.protobuf.ByteString;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;

/**
 * What ingest checks in a parsed export request before Kafka sees it: every trace id is 16 bytes and every span id 8
 * bytes, or empty (proto3's "absent"). The archiver turns ids into hex columns; an id of another length would be a
 * row nobody can join on, so it is refused here, at the edge, where the client still hears about it.
 */
final class ExportChecks {
    private ExportChecks() {}

    /** Checks the ids and returns the number of spans. */
    static int checkSpans(ExportTraceServiceRequest request) throws InvalidExportException {
        int spans = 0;
        for (int i = 0; i < request.getResourceSpansCount(); i++) {
            ResourceSpans rs = request.getResourceSpans(i);
            for (int j = 0; j < rs.getScopeSpansCount(); j++) {
                ScopeSpans ss = rs.getScopeSpans(j);
                for (int k = 0; k < ss.getSpansCount(); k++) {
                    Span span = ss.getSpans(k);
                    checkTraceId(span.getTraceId(), i, j, k, "traceId");
                    checkSpanId(span.getSpanId(), i, j, k, "spanId");
                    checkSpanId(span.getParentSpanId(), i, j, k, "parentSpanId");
                    for (int l = 0; l < span.getLinksCount(); l++) {
                        Span.Link link = span.getLinks(l);
                        checkTraceId(link.getTraceId(), i, j, k, "links[" + l + "].traceId");
                        checkSpanId(link.getSpanId(), i, j, k, "links[" + l + "].spanId");
                    }
                }
                spans += ss.getSpansCount();
            }
        }
        return spans;
    }

    /** Checks the ids and returns the number of log records. */
    static int checkLogRecords(ExportLogsServiceRequest request) throws InvalidExportException {
        int records = 0;
        for (int i = 0; i < request.getResourceLogsCount(); i++) {
            ResourceLogs rl = request.getResourceLogs(i);
            for (int j = 0; j < rl.getScopeLogsCount(); j++) {
                ScopeLogs sl = rl.getScopeLogs(j);
                for (int k = 0; k < sl.getLogRecordsCount(); k++) {
                    LogRecord log = sl.getLogRecords(k);
                    checkId(log.getTraceId(), OtlpJson.TRACE_ID_BYTES, logPath(i, j, k, "traceId"));
                    checkId(log.getSpanId(), OtlpJson.SPAN_ID_BYTES, logPath(i, j, k, "spanId"));
                }
                records += sl.getLogRecordsCount();
            }
        }
        return records;
    }

    private static void checkTraceId(ByteString id, int i, int j, int k, String field) throws InvalidExportException {
        if (!id.isEmpty() && id.size() != OtlpJson.TRACE_ID_BYTES) {
            fail(id, OtlpJson.TRACE_ID_BYTES, spanPath(i, j, k, field));
        }
    }

    private static void checkSpanId(ByteString id, int i, int j, int k, String field) throws InvalidExportException {
        if (!id.isEmpty() && id.size() != OtlpJson.SPAN_ID_BYTES) {
            fail(id, OtlpJson.SPAN_ID_BYTES, spanPath(i, j, k, field));
        }
    }

    private static void checkId(ByteString id, int bytes, String path) throws InvalidExportException {
        if (!id.isEmpty() && id.size() != bytes) {
            fail(id, bytes, path);
        }
    }

    private static void fail(ByteString id, int bytes, String path) throws InvalidExportException {
        throw new InvalidExportException(path + " must be " + bytes + " bytes (or empty); got " + id.size() + " bytes");
    }

    private static String spanPath(int i, int j, int k, String field) {
        return "resourceSpans[" + i + "].scopeSpans[" + j + "].spans[" + k + "]." + field;
    }

    private static String logPath(int i, int j, int k, String field) {
        return "resourceLogs[" + i + "].scopeLogs[" + j + "].logRecords[" + k + "]." + field;
    }
}
