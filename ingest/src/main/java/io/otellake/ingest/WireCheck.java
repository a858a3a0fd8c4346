package io.otellake.ingest;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.UnsafeByteOperations;
import com.google.protobuf.WireFormat;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * Checks a protobuf trace or log export request as bytes, without decoding it into messages: every length, tag and
 * nested message is well formed, every string is valid UTF-8, and every id that {@link ExportChecks} checks has its
 * length. When nothing needs the decoded request (the tenant's redaction is off), the body is then written to Kafka as
 * it is; decoding it into messages (chiefly turning every string into a {@code String}) was the largest cost of
 * ingest.
 *
 * <p>Guarantee: it returns a result only if the generated parser would parse the body and {@link ExportChecks} would
 * reject none of its items; the result's item count and trace ids are those the parsed request would have. It returns
 * null whenever it is not sure (anything malformed, an invalid id, a group, a packed field, a repeated id field, deep
 * nesting): the caller then parses and checks as before, which gives the exact answer.
 */
final class WireCheck {
    /** Below the parser's default recursion limit of 100. */
    private static final int MAX_DEPTH = 90;

    private static final Map<Descriptor, FieldKind[]> FIELDS = new ConcurrentHashMap<>();

    private WireCheck() {}

    /**
     * What the body holds.
     *
     * @param items spans or log records
     * @param traceIds for a trace request, each span's trace id in the order of the request; empty for logs
     */
    record Checked(int items, List<ByteString> traceIds) {}

    static @Nullable Checked traces(byte[] body) {
        return check(body, ExportTraceServiceRequest.getDescriptor(), Span.getDescriptor(), true);
    }

    static @Nullable Checked logs(byte[] body) {
        return check(body, ExportLogsServiceRequest.getDescriptor(), LogRecord.getDescriptor(), false);
    }

    private static @Nullable Checked check(byte[] body, Descriptor request, Descriptor item, boolean traces) {
        Walk walk = new Walk(body, item, traces);
        try {
            CodedInputStream in = CodedInputStream.newInstance(body);
            return walk.message(in, request, 0) ? new Checked(walk.items, walk.traceIds) : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** How a field number of a message type is read. */
    record FieldKind(FieldDescriptor field, int wireType, @Nullable Descriptor message, boolean string, int idBytes) {}

    /** A message type's fields by number (null where it has none), cached; {@link DecodeCost} walks with them too. */
    static FieldKind[] fields(Descriptor type) {
        return FIELDS.computeIfAbsent(type, t -> {
            int max = t.getFields().stream()
                    .mapToInt(FieldDescriptor::getNumber)
                    .max()
                    .orElse(0);
            FieldKind[] kinds = new FieldKind[max + 1];
            for (FieldDescriptor f : t.getFields()) {
                boolean message = f.getJavaType() == FieldDescriptor.JavaType.MESSAGE;
                kinds[f.getNumber()] = new FieldKind(
                        f,
                        f.getLiteType().getWireType(),
                        message ? f.getMessageType() : null,
                        f.getType() == FieldDescriptor.Type.STRING,
                        idBytes(t, f.getName()));
            }
            return kinds;
        });
    }

    /** The ids ExportChecks checks: a span's, its links', a log record's. */
    private static int idBytes(Descriptor type, String field) {
        boolean span = type.equals(Span.getDescriptor());
        boolean link = type.equals(Span.Link.getDescriptor());
        boolean log = type.equals(LogRecord.getDescriptor());
        if ((span || link || log) && field.equals("trace_id")) {
            return OtlpJson.TRACE_ID_BYTES;
        }
        if ((span || link || log) && field.equals("span_id") || span && field.equals("parent_span_id")) {
            return OtlpJson.SPAN_ID_BYTES;
        }
        return 0;
    }

    private static final class Walk {
        private final byte[] body;
        private final Descriptor item;
        private final boolean traces;
        private final List<ByteString> traceIds = new ArrayList<>();
        private int items;

        Walk(byte[] body, Descriptor item, boolean traces) {
            this.body = body;
            this.item = item;
            this.traces = traces;
        }

        /** Reads one message up to the stream's limit; false when not sure. */
        boolean message(CodedInputStream in, Descriptor type, int depth) throws IOException {
            if (depth > MAX_DEPTH) {
                return false;
            }
            boolean isItem = type.equals(item);
            if (isItem) {
                items++;
            }
            FieldKind[] kinds = fields(type);
            long idsSeen = 0; // bit per field number: an id field seen twice is left to the parser (last one wins)
            @Nullable ByteString traceId = null;
            boolean spanIdSeen = false;
            while (!in.isAtEnd()) {
                int tag = in.readTag();
                int number = WireFormat.getTagFieldNumber(tag);
                int wireType = WireFormat.getTagWireType(tag);
                if (wireType == WireFormat.WIRETYPE_START_GROUP || wireType == WireFormat.WIRETYPE_END_GROUP) {
                    return false;
                }
                FieldKind kind = number < kinds.length ? kinds[number] : null;
                if (kind == null || kind.wireType() != wireType) {
                    if (kind != null && kind.field().isRepeated()) {
                        return false; // packed or unpacked: the parser accepts both, this does not try
                    }
                    in.skipField(tag); // an unknown field, which the parser keeps as unknown too
                    continue;
                }
                if (kind.message() != null) {
                    int limit = in.pushLimit(in.readRawVarint32());
                    if (!message(in, kind.message(), depth + 1)) {
                        return false;
                    }
                    in.popLimit(limit);
                } else if (kind.string()) {
                    int length = in.readRawVarint32();
                    int offset = in.getTotalBytesRead();
                    in.skipRawBytes(length);
                    if (!UnsafeByteOperations.unsafeWrap(body, offset, length).isValidUtf8()) {
                        return false;
                    }
                } else if (kind.idBytes() > 0) {
                    if (number >= 64 || (idsSeen & (1L << number)) != 0) {
                        return false;
                    }
                    idsSeen |= 1L << number;
                    int length = in.readRawVarint32();
                    if (length != 0 && length != kind.idBytes()) {
                        return false;
                    }
                    int offset = in.getTotalBytesRead();
                    in.skipRawBytes(length);
                    if (isItem && traces && kind.field().getName().equals("trace_id")) {
                        traceId = ByteString.copyFrom(body, offset, length);
                    } else if (isItem && traces && kind.field().getName().equals("span_id")) {
                        if (length == 0
                                || ExportChecks.allZero(UnsafeByteOperations.unsafeWrap(body, offset, length))) {
                            return false;
                        }
                        spanIdSeen = true;
                    }
                } else {
                    in.skipField(tag);
                }
            }
            if (isItem && traces) {
                // a span's own ids are required (ExportChecks): without them, or all zeros, the parser decides
                if (traceId == null || traceId.isEmpty() || ExportChecks.allZero(traceId) || !spanIdSeen) {
                    return false;
                }
                traceIds.add(traceId);
            }
            return true;
        }
    }
}
