package io.otellake.ingest;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsPartialSuccess;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsPartialSuccess;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.ExportTracePartialSuccess;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import org.jspecify.annotations.Nullable;

/** The OTLP signals ingest receives, and how each request body is decoded and checked. */
enum OtlpSignal {
    TRACES("/v1/traces", ExportTraceServiceRequest.getDescriptor().getName()) {
        @Override
        DecodedExport decode(OtlpEncoding encoding, byte[] body) throws InvalidExportException {
            ExportTraceServiceRequest request;
            if (encoding == OtlpEncoding.PROTOBUF) {
                try {
                    request = ExportTraceServiceRequest.parseFrom(body);
                } catch (InvalidProtocolBufferException e) {
                    throw notProtobuf(e);
                }
            } else {
                request = OtlpJson.parseTraces(body);
            }
            return ExportChecks.checkSpans(request);
        }

        @Override
        Message response(int rejected, String message) {
            return rejected == 0 && message.isEmpty()
                    ? ExportTraceServiceResponse.getDefaultInstance()
                    : ExportTraceServiceResponse.newBuilder()
                            .setPartialSuccess(ExportTracePartialSuccess.newBuilder()
                                    .setRejectedSpans(rejected)
                                    .setErrorMessage(message))
                            .build();
        }
    },

    LOGS("/v1/logs", ExportLogsServiceRequest.getDescriptor().getName()) {
        @Override
        DecodedExport decode(OtlpEncoding encoding, byte[] body) throws InvalidExportException {
            ExportLogsServiceRequest request;
            if (encoding == OtlpEncoding.PROTOBUF) {
                try {
                    request = ExportLogsServiceRequest.parseFrom(body);
                } catch (InvalidProtocolBufferException e) {
                    throw notProtobuf(e);
                }
            } else {
                request = OtlpJson.parseLogs(body);
            }
            return ExportChecks.checkLogRecords(request);
        }

        @Override
        Message response(int rejected, String message) {
            return rejected == 0 && message.isEmpty()
                    ? ExportLogsServiceResponse.getDefaultInstance()
                    : ExportLogsServiceResponse.newBuilder()
                            .setPartialSuccess(ExportLogsPartialSuccess.newBuilder()
                                    .setRejectedLogRecords(rejected)
                                    .setErrorMessage(message))
                            .build();
        }
    },

    METRICS("/v1/metrics", ExportMetricsServiceRequest.getDescriptor().getName()) {
        @Override
        DecodedExport decode(OtlpEncoding encoding, byte[] body) throws InvalidExportException {
            ExportMetricsServiceRequest request;
            if (encoding == OtlpEncoding.PROTOBUF) {
                try {
                    request = ExportMetricsServiceRequest.parseFrom(body);
                } catch (InvalidProtocolBufferException e) {
                    throw notProtobuf(e);
                }
            } else {
                request = OtlpJson.parseMetrics(body);
            }
            return ExportChecks.checkDataPoints(request);
        }

        @Override
        Message response(int rejected, String message) {
            return rejected == 0 && message.isEmpty()
                    ? ExportMetricsServiceResponse.getDefaultInstance()
                    : ExportMetricsServiceResponse.newBuilder()
                            .setPartialSuccess(ExportMetricsPartialSuccess.newBuilder()
                                    .setRejectedDataPoints(rejected)
                                    .setErrorMessage(message))
                            .build();
        }
    };

    private final String path;
    private final String requestType;

    OtlpSignal(String path, String requestType) {
        this.path = path;
        this.requestType = requestType;
    }

    /** The URL path of the specification, such as {@code /v1/traces}. */
    String path() {
        return path;
    }

    /**
     * Parses and checks an export request.
     *
     * @throws InvalidExportException saying what is wrong with the body
     */
    abstract DecodedExport decode(OtlpEncoding encoding, byte[] body) throws InvalidExportException;

    /**
     * The answer to an accepted request: empty when every item was taken, otherwise with {@code partial_success}
     * carrying how many items were rejected and why.
     */
    abstract Message response(int rejected, String message);

    InvalidExportException notProtobuf(InvalidProtocolBufferException e) {
        return new InvalidExportException("the body is not a valid protobuf " + requestType + ": " + e.getMessage());
    }

    /**
     * A decoded export request.
     *
     * @param request the request without its invalid items, to be written to Kafka as protobuf; null when the body
     *     was checked as bytes ({@link WireCheck}) and written as it is, without being decoded
     * @param items how many spans, log records or data points it holds; 0 means there is nothing to write
     * @param rejected how many items were invalid and dropped
     * @param rejectionMessage why, for the client; empty when nothing was rejected
     */
    record DecodedExport(@Nullable Message request, int items, int rejected, String rejectionMessage) {}
}
