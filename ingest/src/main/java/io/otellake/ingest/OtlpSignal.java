package io.otellake.ingest;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** The OTLP signals ingest receives over HTTP, and how each request body is decoded and checked. */
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
                request = OtlpJson.parseTraces(utf8(body));
            }
            return new DecodedExport(request, ExportChecks.checkSpans(request));
        }

        @Override
        Message emptyResponse() {
            return ExportTraceServiceResponse.getDefaultInstance();
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
                request = OtlpJson.parseLogs(utf8(body));
            }
            return new DecodedExport(request, ExportChecks.checkLogRecords(request));
        }

        @Override
        Message emptyResponse() {
            return ExportLogsServiceResponse.getDefaultInstance();
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

    /** The answer to a fully accepted request. */
    abstract Message emptyResponse();

    InvalidExportException notProtobuf(InvalidProtocolBufferException e) {
        return new InvalidExportException("the body is not a valid protobuf " + requestType + ": " + e.getMessage());
    }

    static String utf8(byte[] body) throws InvalidExportException {
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(body))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new InvalidExportException("the body is not valid UTF-8, which OTLP/JSON requires");
        }
    }

    /**
     * A decoded export request.
     *
     * @param request the request, to be written to Kafka as protobuf
     * @param items how many spans or log records it holds; 0 means there is nothing to write
     */
    record DecodedExport(Message request, int items) {}
}
