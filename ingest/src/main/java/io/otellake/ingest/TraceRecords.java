package io.otellake.ingest;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Splits a trace export request into one Kafka record per trace id, keyed by the trace id's 16 bytes, so that every
 * span of a trace lands on the same partition however the client batched it (the archiver and any consumer that
 * assembles traces can rely on it).
 *
 * <p>Guarantees: each record is a valid {@link ExportTraceServiceRequest} holding exactly the spans of its trace,
 * under copies of their resource and scope (with schema URLs), in the order the request had them; records come in the
 * order of each trace's first span. A request of one trace is written as it is, byte for byte. Every span must already
 * have a 16-byte trace id ({@link ExportChecks} drops the others).
 *
 * <p>It works on the serialized request and copies spans, resources and scopes as the bytes they are, without
 * decoding them into messages and encoding them again: re-encoding (UTF-8 of every string, sizes of every nested
 * message) was the largest cost of ingest's trace path.
 */
final class TraceRecords {
    // ExportTraceServiceRequest.resource_spans, ResourceSpans.scope_spans, ScopeSpans.spans, Span.trace_id
    private static final int RESOURCE_SPANS = 1;
    private static final int SCOPE_SPANS = 2;
    private static final int SPANS = 2;
    private static final int TRACE_ID = 1;

    private TraceRecords() {}

    static List<KafkaPublisher.Payload> split(ExportTraceServiceRequest request) {
        return split(request.toByteArray(), request);
    }

    /**
     * Splits {@code request}, the bytes of {@code parsed}: the body it was parsed from, or its {@code toByteArray()}.
     * The trace ids are taken from {@code parsed} (spans come in the same order in both), which spares a second
     * decoding of every span.
     */
    static List<KafkaPublisher.Payload> split(byte[] request, ExportTraceServiceRequest parsed) {
        return plan(request, parsed).records();
    }

    /** {@link #split(byte[], ExportTraceServiceRequest)}, planned: its size is known before its records are made. */
    static Split plan(byte[] request, ExportTraceServiceRequest parsed) {
        List<ByteString> traceIds = new ArrayList<>();
        for (ResourceSpans resource : parsed.getResourceSpansList()) {
            for (ScopeSpans scope : resource.getScopeSpansList()) {
                for (Span span : scope.getSpansList()) {
                    traceIds.add(span.getTraceId());
                }
            }
        }
        return plan(request, traceIds);
    }

    /**
     * Splits {@code request}, a serialized request that parses, whose spans have the trace ids {@code traceIds} in
     * their order ({@link WireCheck} finds them without decoding the request).
     */
    static List<KafkaPublisher.Payload> split(byte[] request, List<ByteString> traceIds) {
        return plan(request, traceIds).records();
    }

    /** {@link #split(byte[], List)}, planned: its size is known before its records are made. */
    static Split plan(byte[] request, List<ByteString> traceIds) {
        try {
            return planBytes(request, traceIds);
        } catch (IOException e) {
            throw new IllegalStateException("an export request that parsed cannot be split: " + e.getMessage(), e);
        }
    }

    /**
     * A request cut by trace id, before its records are made. Each record carries a copy of its spans' resource and
     * scope, so the records of a request of many traces under a large resource can take many times the request's
     * size: {@link #copiedBytes()} says how much, so that it can be reserved first.
     */
    static final class Split {
        /**
         * Heap one record of a cut request takes besides its bytes, on the high side: this plan's maps, list and
         * slices for its trace (about 500 bytes), its key, and the producer's objects for one record (the record, its
         * headers, its future and callback) while Kafka has not acknowledged it.
         */
        static final int RECORD_OVERHEAD_BYTES = 1024;

        private final byte[] request;
        private final List<Parent<Parent<Slice>>> resources;
        private final Map<ByteString, Map<Integer, Map<Integer, List<Slice>>>> traces;
        /** Each trace's record size, in the order of {@link #traces}. */
        private final int[] sizes;

        private final long copiedBytes;

        private Split(
                byte[] request,
                List<Parent<Parent<Slice>>> resources,
                Map<ByteString, Map<Integer, Map<Integer, List<Slice>>>> traces,
                int[] sizes,
                long copiedBytes) {
            this.request = request;
            this.resources = resources;
            this.traces = traces;
            this.sizes = sizes;
            this.copiedBytes = copiedBytes;
        }

        /** The trace ids, one record each. */
        int traces() {
            return traces.size();
        }

        /** The bytes of the records that are not the request itself: 0 when it is written as it is. */
        long copiedBytes() {
            return copiedBytes;
        }

        /**
         * The heap the records take besides the request, until Kafka has them: their copies ({@link #copiedBytes()})
         * and, for a request cut into several records, {@link #RECORD_OVERHEAD_BYTES} a record. A body of many tiny
         * traces (8 MiB of one-span traces is about 280,000 of them) otherwise held many times its size in objects
         * the budget did not count.
         */
        long heldBytes() {
            return copiedBytes + (traces.size() > 1 ? (long) traces.size() * RECORD_OVERHEAD_BYTES : 0);
        }

        /** The records, in the order of each trace's first span. */
        List<KafkaPublisher.Payload> records() {
            if (traces.size() == 1 && traces.values().iterator().next().isEmpty()) { // one trace: the request as is
                return List.of(new KafkaPublisher.Payload(
                        traces.keySet().iterator().next().toByteArray(), request));
            }
            List<KafkaPublisher.Payload> payloads = new ArrayList<>(traces.size());
            try {
                int t = 0;
                for (Map.Entry<ByteString, Map<Integer, Map<Integer, List<Slice>>>> trace : traces.entrySet()) {
                    payloads.add(new KafkaPublisher.Payload(
                            trace.getKey().toByteArray(), write(request, resources, trace.getValue(), sizes[t++])));
                }
            } catch (IOException e) {
                throw new IllegalStateException("an export request that parsed cannot be split: " + e.getMessage(), e);
            }
            return payloads;
        }
    }

    /** A span's bytes within the request, and its trace id. */
    private record Slice(int offset, int length, ByteString traceId) {}

    /** A resource or scope: the bytes of its fields other than its children, and its children. */
    private static final class Parent<C> {
        final ByteString head;
        final List<C> children = new ArrayList<>();

        Parent(ByteString head) {
            this.head = head;
        }
    }

    private static Split planBytes(byte[] request, List<ByteString> traceIds) throws IOException {
        List<Parent<Parent<Slice>>> resources = new ArrayList<>();
        int spanCount = 0;
        @Nullable ByteString onlyTrace = null;
        boolean severalTraces = false;
        CodedInputStream in = CodedInputStream.newInstance(request);
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            if (!isMessage(tag, RESOURCE_SPANS)) {
                in.skipField(tag); // the builder-based split dropped unknown top-level fields too
                continue;
            }
            int resourceEnd = in.pushLimit(in.readRawVarint32());
            ByteString.Output resourceHead = ByteString.newOutput();
            CodedOutputStream resourceHeadOut = CodedOutputStream.newInstance(resourceHead);
            List<Parent<Slice>> scopes = new ArrayList<>();
            while (!in.isAtEnd()) {
                int resourceTag = in.readTag();
                if (!isMessage(resourceTag, SCOPE_SPANS)) {
                    in.skipField(resourceTag, resourceHeadOut);
                    continue;
                }
                int scopeEnd = in.pushLimit(in.readRawVarint32());
                ByteString.Output scopeHead = ByteString.newOutput();
                CodedOutputStream scopeHeadOut = CodedOutputStream.newInstance(scopeHead);
                List<Slice> spans = new ArrayList<>();
                while (!in.isAtEnd()) {
                    int scopeTag = in.readTag();
                    if (!isMessage(scopeTag, SPANS)) {
                        in.skipField(scopeTag, scopeHeadOut);
                        continue;
                    }
                    int length = in.readRawVarint32();
                    int offset = in.getTotalBytesRead();
                    in.skipRawBytes(length);
                    if (spanCount == traceIds.size()) {
                        throw new IOException("the bytes hold more spans than the parsed request");
                    }
                    ByteString traceId = traceIds.get(spanCount++);
                    spans.add(new Slice(offset, length, traceId));
                    if (onlyTrace == null) {
                        onlyTrace = traceId;
                    } else if (!onlyTrace.equals(traceId)) {
                        severalTraces = true;
                    }
                }
                in.popLimit(scopeEnd);
                scopeHeadOut.flush();
                Parent<Slice> scope = new Parent<>(scopeHead.toByteString());
                scope.children.addAll(spans);
                scopes.add(scope);
            }
            in.popLimit(resourceEnd);
            resourceHeadOut.flush();
            Parent<Parent<Slice>> resource = new Parent<>(resourceHead.toByteString());
            resource.children.addAll(scopes);
            resources.add(resource);
        }
        if (spanCount != traceIds.size()) {
            throw new IOException("the bytes hold fewer spans than the parsed request");
        }
        // trace id -> resource index -> scope index -> spans; insertion order keeps the request's order.
        Map<ByteString, Map<Integer, Map<Integer, List<Slice>>>> traces = new LinkedHashMap<>();
        if (onlyTrace == null) {
            return new Split(request, resources, traces, new int[0], 0);
        }
        if (!severalTraces) {
            traces.put(onlyTrace, Map.of()); // no spans listed: the request is the record
            return new Split(request, resources, traces, new int[0], 0);
        }
        for (int r = 0; r < resources.size(); r++) {
            List<Parent<Slice>> scopes = resources.get(r).children;
            for (int s = 0; s < scopes.size(); s++) {
                for (Slice span : scopes.get(s).children) {
                    int resource = r;
                    int scope = s;
                    traces.computeIfAbsent(span.traceId(), k -> new LinkedHashMap<>())
                            .computeIfAbsent(resource, k -> new LinkedHashMap<>())
                            .computeIfAbsent(scope, k -> new ArrayList<>())
                            .add(span);
                }
            }
        }
        int[] sizes = new int[traces.size()];
        long copied = 0;
        int t = 0;
        for (Map<Integer, Map<Integer, List<Slice>>> trace : traces.values()) {
            sizes[t] = size(resources, trace);
            copied += sizes[t++];
        }
        return new Split(request, resources, traces, sizes, copied);
    }

    /** One trace's record: its resources, each with its scopes, each with the trace's spans, copied as bytes. */
    private static byte[] write(
            byte[] request,
            List<Parent<Parent<Slice>>> resources,
            Map<Integer, Map<Integer, List<Slice>>> trace,
            int size)
            throws IOException {
        byte[] out = new byte[size];
        CodedOutputStream o = CodedOutputStream.newInstance(out);
        for (Map.Entry<Integer, Map<Integer, List<Slice>>> resourceSpans : trace.entrySet()) {
            Parent<Parent<Slice>> resource = resources.get(resourceSpans.getKey());
            o.writeTag(RESOURCE_SPANS, WireFormat.WIRETYPE_LENGTH_DELIMITED);
            o.writeUInt32NoTag(resourceSize(resource, resourceSpans.getValue()));
            o.writeRawBytes(resource.head);
            for (Map.Entry<Integer, List<Slice>> scopeSpans :
                    resourceSpans.getValue().entrySet()) {
                Parent<Slice> scope = resource.children.get(scopeSpans.getKey());
                o.writeTag(SCOPE_SPANS, WireFormat.WIRETYPE_LENGTH_DELIMITED);
                o.writeUInt32NoTag(scopeSize(scope, scopeSpans.getValue()));
                o.writeRawBytes(scope.head);
                for (Slice span : scopeSpans.getValue()) {
                    o.writeTag(SPANS, WireFormat.WIRETYPE_LENGTH_DELIMITED);
                    o.writeUInt32NoTag(span.length());
                    o.writeRawBytes(request, span.offset(), span.length());
                }
            }
        }
        o.checkNoSpaceLeft();
        return out;
    }

    /** The bytes of one trace's record. */
    private static int size(List<Parent<Parent<Slice>>> resources, Map<Integer, Map<Integer, List<Slice>>> trace) {
        int total = 0;
        for (Map.Entry<Integer, Map<Integer, List<Slice>>> resource : trace.entrySet()) {
            total += nested(RESOURCE_SPANS, resourceSize(resources.get(resource.getKey()), resource.getValue()));
        }
        return total;
    }

    private static int resourceSize(Parent<Parent<Slice>> resource, Map<Integer, List<Slice>> scopes) {
        int size = resource.head.size();
        for (Map.Entry<Integer, List<Slice>> scope : scopes.entrySet()) {
            size += nested(SCOPE_SPANS, scopeSize(resource.children.get(scope.getKey()), scope.getValue()));
        }
        return size;
    }

    private static int scopeSize(Parent<Slice> scope, List<Slice> spans) {
        int size = scope.head.size();
        for (Slice span : spans) {
            size += nested(SPANS, span.length());
        }
        return size;
    }

    /** The bytes of a length-delimited field of {@code length} bytes, with its tag and length. */
    private static int nested(int field, int length) {
        return CodedOutputStream.computeTagSize(field) + CodedOutputStream.computeUInt32SizeNoTag(length) + length;
    }

    private static boolean isMessage(int tag, int field) {
        return WireFormat.getTagFieldNumber(tag) == field
                && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED;
    }
}
