package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.util.List;
import org.junit.jupiter.api.Test;

class TraceRecordsTest {
    @Test
    void aRequestOfOneTraceIsOneRecordKeyedByItsTraceIdAndUnchanged() {
        ExportTraceServiceRequest request = IngestIT.traces("checkout", 3);

        List<KafkaPublisher.Payload> payloads = TraceRecords.split(request);

        assertThat(payloads).singleElement().satisfies(p -> {
            assertThat(p.key())
                    .isEqualTo(request.getResourceSpans(0)
                            .getScopeSpans(0)
                            .getSpans(0)
                            .getTraceId()
                            .toByteArray());
            assertThat(p.value()).isEqualTo(request.toByteArray());
        });
    }

    @Test
    void aCutRequestHoldsItsCopiesAndAKibibyteARecordBesidesItsBytesAndAnUncutOneNothing() {
        ExportTraceServiceRequest one = IngestIT.traces("checkout", 3);
        TraceRecords.Split uncut = TraceRecords.plan(one.toByteArray(), one);
        assertThat(uncut.traces()).isEqualTo(1);
        assertThat(uncut.heldBytes()).isZero();

        ExportTraceServiceRequest three = ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .setResource(resource("checkout"))
                        .addScopeSpans(scope("http", span(traceId(1), 1), span(traceId(2), 2), span(traceId(3), 3))))
                .build();
        TraceRecords.Split cut = TraceRecords.plan(three.toByteArray(), three);
        assertThat(cut.traces()).isEqualTo(3);
        long records = cut.records().stream().mapToLong(p -> p.value().length).sum();
        assertThat(cut.copiedBytes()).as("every record is new bytes").isEqualTo(records);
        assertThat(cut.heldBytes()).isEqualTo(cut.copiedBytes() + 3 * TraceRecords.Split.RECORD_OVERHEAD_BYTES);
    }

    @Test
    void aRequestWithoutSpansIsNoRecord() {
        assertThat(TraceRecords.split(ExportTraceServiceRequest.getDefaultInstance()))
                .isEmpty();
    }

    @Test
    void spansAreGroupedByTraceUnderCopiesOfTheirResourceAndScopeInTheRequestsOrder() throws Exception {
        ByteString a = traceId(1);
        ByteString b = traceId(2);
        ByteString c = traceId(3);
        ResourceSpans checkout = ResourceSpans.newBuilder()
                .setResource(resource("checkout"))
                .setSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
                .addScopeSpans(scope("http", span(a, 1), span(b, 2), span(a, 3)))
                .addScopeSpans(scope("db", span(c, 4)))
                .build();
        ResourceSpans cart = ResourceSpans.newBuilder()
                .setResource(resource("cart"))
                .addScopeSpans(scope("http", span(b, 5), span(a, 6)))
                .build();
        ExportTraceServiceRequest request = ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(checkout)
                .addResourceSpans(cart)
                .build();

        List<KafkaPublisher.Payload> payloads = TraceRecords.split(request.toByteArray(), request);

        assertThat(payloads).extracting(p -> ByteString.copyFrom(p.key())).containsExactly(a, b, c);
        assertThat(payloads)
                .extracting(p -> parse(p.value()))
                .containsExactly(
                        ExportTraceServiceRequest.newBuilder()
                                .addResourceSpans(checkout.toBuilder()
                                        .clearScopeSpans()
                                        .addScopeSpans(scope("http", span(a, 1), span(a, 3))))
                                .addResourceSpans(
                                        cart.toBuilder().clearScopeSpans().addScopeSpans(scope("http", span(a, 6))))
                                .build(),
                        ExportTraceServiceRequest.newBuilder()
                                .addResourceSpans(
                                        checkout.toBuilder().clearScopeSpans().addScopeSpans(scope("http", span(b, 2))))
                                .addResourceSpans(
                                        cart.toBuilder().clearScopeSpans().addScopeSpans(scope("http", span(b, 5))))
                                .build(),
                        ExportTraceServiceRequest.newBuilder()
                                .addResourceSpans(
                                        checkout.toBuilder().clearScopeSpans().addScopeSpans(scope("db", span(c, 4))))
                                .build());
    }

    private static ExportTraceServiceRequest parse(byte[] value) {
        try {
            return ExportTraceServiceRequest.parseFrom(value);
        } catch (InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
    }

    private static ByteString traceId(int n) {
        byte[] id = new byte[16];
        id[15] = (byte) n;
        return ByteString.copyFrom(id);
    }

    private static Resource resource(String service) {
        return Resource.newBuilder()
                .addAttributes(KeyValue.newBuilder()
                        .setKey("service.name")
                        .setValue(AnyValue.newBuilder().setStringValue(service)))
                .build();
    }

    private static ScopeSpans scope(String name, Span... spans) {
        return ScopeSpans.newBuilder()
                .setScope(InstrumentationScope.newBuilder().setName(name).setVersion("1.0"))
                .setSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
                .addAllSpans(List.of(spans))
                .build();
    }

    private static Span span(ByteString traceId, int n) {
        return Span.newBuilder()
                .setTraceId(traceId)
                .setSpanId(ByteString.copyFrom(new byte[] {0, 0, 0, 0, 0, 0, 0, (byte) n}))
                .setName("span " + n + " ünïcode")
                .setStartTimeUnixNano(1_714_550_400_000_000_000L + n)
                .build();
    }
}
