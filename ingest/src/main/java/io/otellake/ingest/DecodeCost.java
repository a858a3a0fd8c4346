package io.otellake.ingest;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.WireFormat;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import java.io.IOException;
import org.jspecify.annotations.Nullable;

/**
 * How much heap decoding a request body may hold at its peak, found from the body in one counting pass, without
 * decoding it. The in-flight budget holds a body's bytes while it is read; a body that is then decoded into messages
 * also holds this much more until it is answered, because a few bytes on the wire can become many objects: an empty
 * attribute is 2 bytes of protobuf ({@code {}} and a comma in JSON) and about 60 bytes of heap. Before this was
 * counted, 64 MiB of such bodies, within the byte budget, needed gigabytes of heap.
 *
 * <p>Guarantee: the estimate is at least the heap that {@link OtlpSignal#decode} holds at its peak for the body, as
 * measured by the smallest {@code -Xmx} that decodes it (docs/operations.md, "Memory"), with a margin of about a
 * third or more, for realistic bodies and for hostile ones (empty messages, unknown fields, deep arrays, JSON of
 * {@code {}}, one huge string): the constants below are those measurements, rounded up. {@code DecodeCostTest} checks the counting.
 */
final class DecodeCost {
    // Protobuf, as protobuf-java's generated parsers hold it:
    /** A message: its object, the slot in a repeated field's list; plus {@link #PER_FIELD} per field of its type. */
    static final long MESSAGE = 48;
    /** Per field declared by a message's type (its object has a slot for each, memoized sizes and all). */
    static final long PER_FIELD = 8;
    /** A string or bytes field, besides one byte per byte of it (a String keeps Latin-1 as bytes). */
    static final long STRING = 48;
    /** A field of a number the type does not have, or of another wire type: an entry of an UnknownFieldSet. */
    static final long UNKNOWN = 400;
    /** An element of a repeated scalar field: a slot in a primitive list that grows by half. */
    static final long REPEATED_SCALAR = 16;

    // JSON, as OtlpJson holds it: the messages (a value, member or element is at most one, and the largest message
    // of OTLP, an empty span {} between commas, is two tokens), and the longest string: Jackson collects it as chars
    // (2 bytes each) in segments, merges them into one array, and it becomes a String and then UTF-8 bytes.
    /** Per byte of the body: the longest string's copies. */
    static final long JSON_BYTE = 10;
    /** Per JSON value, object member or array element (counted by the brackets, commas and colons before them). */
    static final long JSON_TOKEN = 100;

    /** The parser's default recursion limit: deeper bodies fail to parse, after allocating no more than this much. */
    private static final int MAX_DEPTH = 100;

    private static final WireCheck.FieldKind[] NO_FIELDS = {};

    private DecodeCost() {}

    /** The heap decoding {@code body} as {@code signal} in {@code encoding} may take, in bytes. */
    static long estimate(OtlpSignal signal, OtlpEncoding encoding, byte[] body) {
        return encoding == OtlpEncoding.JSON ? json(body) : protobuf(request(signal), body);
    }

    private static Descriptor request(OtlpSignal signal) {
        return switch (signal) {
            case TRACES -> ExportTraceServiceRequest.getDescriptor();
            case LOGS -> ExportLogsServiceRequest.getDescriptor();
            case METRICS -> ExportMetricsServiceRequest.getDescriptor();
        };
    }

    static long json(byte[] body) {
        long tokens = 1;
        boolean inString = false;
        for (int i = 0; i < body.length; i++) {
            byte b = body[i];
            if (inString) {
                if (b == '\\') {
                    i++;
                } else if (b == '"') {
                    inString = false;
                }
            } else if (b == '"') {
                inString = true;
            } else if (b == '{' || b == '[' || b == ',' || b == ':') {
                tokens++;
            }
        }
        return JSON_BYTE * body.length + JSON_TOKEN * tokens;
    }

    static long protobuf(Descriptor request, byte[] body) {
        Walk walk = new Walk();
        try {
            walk.message(CodedInputStream.newInstance(body), request, 0);
        } catch (IOException | RuntimeException e) {
            // Malformed: the parser fails at the same place, having allocated no more than was counted up to it.
        }
        // the records written to Kafka: the request encoded again, or split by trace
        return walk.cost + body.length;
    }

    private static final class Walk {
        long cost;

        /** Counts one message up to the stream's limit, or a group up to its end when {@code type} is null. */
        void message(CodedInputStream in, @Nullable Descriptor type, int depth) throws IOException {
            if (depth > MAX_DEPTH) {
                throw new IOException("nested too deeply");
            }
            WireCheck.FieldKind[] fields = type == null ? NO_FIELDS : WireCheck.fields(type);
            cost += MESSAGE + PER_FIELD * (type == null ? 0 : type.getFields().size());
            while (!in.isAtEnd()) {
                int tag = in.readTag();
                int number = WireFormat.getTagFieldNumber(tag);
                int wireType = WireFormat.getTagWireType(tag);
                if (wireType == WireFormat.WIRETYPE_END_GROUP) {
                    return;
                }
                FieldDescriptor field =
                        number < fields.length && fields[number] != null ? fields[number].field() : null;
                if (field == null) {
                    unknown(in, tag, depth);
                } else if (field.getJavaType() == FieldDescriptor.JavaType.MESSAGE
                        && wireType == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    int limit = in.pushLimit(in.readRawVarint32());
                    message(in, field.getMessageType(), depth + 1);
                    in.popLimit(limit);
                } else if (wireType == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    int length = in.readRawVarint32();
                    if (field.getJavaType() == FieldDescriptor.JavaType.STRING
                            || field.getJavaType() == FieldDescriptor.JavaType.BYTE_STRING) {
                        in.skipRawBytes(length);
                        cost += STRING + length;
                    } else {
                        cost += REPEATED_SCALAR * packedElements(in, field, length);
                    }
                } else if (wireType == field.getLiteType().getWireType()) {
                    in.skipField(tag);
                    cost += field.isRepeated() ? REPEATED_SCALAR : 0;
                } else {
                    unknown(in, tag, depth);
                }
            }
        }

        /** The elements of a packed repeated field, read past. */
        private static long packedElements(CodedInputStream in, FieldDescriptor field, int length) throws IOException {
            switch (field.getLiteType().getWireType()) {
                case WireFormat.WIRETYPE_FIXED64 -> {
                    in.skipRawBytes(length);
                    return length / 8;
                }
                case WireFormat.WIRETYPE_FIXED32 -> {
                    in.skipRawBytes(length);
                    return length / 4;
                }
                default -> {
                    long elements = 0; // a varint ends at each byte without its high bit
                    for (int i = 0; i < length; i++) {
                        if (in.readRawByte() >= 0) {
                            elements++;
                        }
                    }
                    return elements;
                }
            }
        }

        private void unknown(CodedInputStream in, int tag, int depth) throws IOException {
            cost += UNKNOWN;
            if (WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_START_GROUP) {
                message(in, null, depth + 1);
            } else if (WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                int length = in.readRawVarint32();
                in.skipRawBytes(length);
                cost += STRING + length;
            } else {
                in.skipField(tag);
            }
        }
    }
}
