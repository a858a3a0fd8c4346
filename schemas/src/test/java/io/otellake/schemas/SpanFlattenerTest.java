package io.otellake.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.exporter.internal.otlp.traces.TraceRequestMarshaler;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.ArrayValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.common.v1.KeyValueList;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.Test;

class SpanFlattenerTest {

    static KeyValue kv(String key, AnyValue value) {
        return KeyValue.newBuilder().setKey(key).setValue(value).build();
    }

    static AnyValue str(String s) {
        return AnyValue.newBuilder().setStringValue(s).build();
    }

    static ByteString bytes(int n, int fill) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) fill);
        return ByteString.copyFrom(b);
    }

    /** Every field set, every value type, the extremes of every number. */
    static ExportTraceServiceRequest edgeCases() {
        AnyValue deep = AnyValue.newBuilder()
                .setKvlistValue(KeyValueList.newBuilder()
                        .addValues(kv(
                                "bytes",
                                AnyValue.newBuilder()
                                        .setBytesValue(bytes(3, 0xAB))
                                        .build()))
                        .addValues(kv(
                                "list",
                                AnyValue.newBuilder()
                                        .setArrayValue(ArrayValue.newBuilder()
                                                .addValues(AnyValue.newBuilder().setDoubleValue(Double.NaN))
                                                .addValues(AnyValue.newBuilder().setDoubleValue(-0.0))
                                                .addValues(AnyValue.getDefaultInstance())
                                                .addValues(str("ünïcödé \"quoted\"")))
                                        .build())))
                .build();
        Span full = Span.newBuilder()
                .setTraceId(ByteString.fromHex("0af7651916cd43dd8448eb211c80319c"))
                .setSpanId(ByteString.fromHex("b7ad6b7169203331"))
                .setParentSpanId(ByteString.fromHex("00f067aa0ba902b7"))
                .setTraceState("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
                .setFlags(0x80000301)
                .setName("GET /users/{id}")
                .setKind(Span.SpanKind.SPAN_KIND_SERVER)
                .setStartTimeUnixNano(1_700_000_000_123_456_789L)
                .setEndTimeUnixNano(1_700_000_001_987_654_321L)
                .addAttributes(kv("http.route", str("/users/{id}")))
                .addAttributes(kv(
                        "http.status_code",
                        AnyValue.newBuilder().setIntValue(Long.MIN_VALUE).build()))
                .addAttributes(
                        kv("ratio", AnyValue.newBuilder().setDoubleValue(-0.0).build()))
                .addAttributes(kv("ok", AnyValue.newBuilder().setBoolValue(true).build()))
                .addAttributes(kv("deep", deep))
                .addAttributes(kv("empty-string", str("")))
                .addAttributes(kv("", str("empty key")))
                .setDroppedAttributesCount(-1) // uint32 max
                .addEvents(Span.Event.newBuilder()
                        .setTimeUnixNano(1_700_000_000_500_000_001L)
                        .setName("exception")
                        .addAttributes(kv("exception.type", str("java.lang.IllegalStateException")))
                        .setDroppedAttributesCount(2))
                .addEvents(Span.Event.newBuilder().setName("no time"))
                .setDroppedEventsCount(3)
                .addLinks(Span.Link.newBuilder()
                        .setTraceId(bytes(16, 0x11))
                        .setSpanId(bytes(8, 0x22))
                        .setTraceState("k=v")
                        .setFlags(1)
                        .addAttributes(kv(
                                "link.kind",
                                AnyValue.newBuilder().setIntValue(3).build()))
                        .setDroppedAttributesCount(4))
                .setDroppedLinksCount(5)
                .setStatus(Status.newBuilder()
                        .setCode(Status.StatusCode.STATUS_CODE_ERROR)
                        .setMessage("boom"))
                .build();
        Span odd = Span.newBuilder()
                .setTraceId(bytes(3, 0xFF)) // not 16 bytes: invalid, but must not be lost or mangled
                .setSpanId(ByteString.EMPTY)
                .setKindValue(42) // a kind this proto version does not know
                .setStatus(Status.newBuilder().setCodeValue(9))
                .build();
        Span minimal = Span.newBuilder()
                .setTraceId(bytes(16, 0x01))
                .setSpanId(bytes(8, 0x02))
                .setName("internal")
                .setKind(Span.SpanKind.SPAN_KIND_INTERNAL)
                .build();
        return ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .setResource(Resource.newBuilder()
                                .addAttributes(kv("service.name", str("checkout")))
                                .addAttributes(kv(
                                        "host.cpu",
                                        AnyValue.newBuilder().setIntValue(8).build()))
                                .setDroppedAttributesCount(1))
                        .setSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
                        .addScopeSpans(ScopeSpans.newBuilder()
                                .setScope(InstrumentationScope.newBuilder()
                                        .setName("io.opentelemetry.jdbc")
                                        .setVersion("2.1.0")
                                        .addAttributes(kv("scope.attr", str("x")))
                                        .setDroppedAttributesCount(7))
                                .setSchemaUrl("https://opentelemetry.io/schemas/1.24.0")
                                .addSpans(full)
                                .addSpans(odd))
                        .addScopeSpans(ScopeSpans.newBuilder().addSpans(minimal)))
                .addResourceSpans(ResourceSpans.newBuilder()
                        .addScopeSpans(ScopeSpans.newBuilder().addSpans(minimal)))
                .build();
    }

    @Test
    void handWrittenEdgeCasesSurviveTheRoundTrip() {
        assertRoundTrip(edgeCases());
    }

    @Test
    void realSdkOutputSurvivesTheRoundTrip() throws Exception {
        ExportTraceServiceRequest request = sdkRequest();

        assertThat(request.getResourceSpans(0).getScopeSpans(0).getSpansCount()).isEqualTo(2);
        assertRoundTrip(request);
    }

    /** Two spans as the OpenTelemetry Java SDK exports them: arrays, events, an exception, a link, a status. */
    static ExportTraceServiceRequest sdkRequest() throws Exception {
        InMemorySpanExporter exporter = InMemorySpanExporter.create();
        List<io.opentelemetry.sdk.trace.data.SpanData> items;
        try (SdkTracerProvider provider = SdkTracerProvider.builder()
                .setResource(io.opentelemetry.sdk.resources.Resource.getDefault().toBuilder()
                        .put("service.name", "cart")
                        .put(AttributeKey.longArrayKey("ports"), List.of(80L, 443L))
                        .build())
                .addSpanProcessor(SimpleSpanProcessor.create(exporter))
                .build()) {
            Tracer tracer = provider.get("io.otellake.test", "1.2.3");
            io.opentelemetry.api.trace.Span parent = tracer.spanBuilder("checkout")
                    .setSpanKind(SpanKind.SERVER)
                    .setAttribute("http.request.method", "POST")
                    .setAttribute("http.response.status_code", 500L)
                    .setAttribute("sampling.ratio", 0.5)
                    .setAttribute("retry", true)
                    .setAttribute(AttributeKey.stringArrayKey("tags"), List.of("a", "b"))
                    .setAttribute(AttributeKey.booleanArrayKey("bools"), List.of(true, false))
                    .setAttribute(AttributeKey.doubleArrayKey("doubles"), List.of(1.5, -2.25))
                    .startSpan();
            parent.addEvent("cache miss", Attributes.of(AttributeKey.longKey("attempt"), 2L));
            parent.recordException(new IllegalStateException("out of stock"));
            parent.setStatus(StatusCode.ERROR, "out of stock");
            io.opentelemetry.api.trace.Span child = tracer.spanBuilder("SELECT cart")
                    .setParent(io.opentelemetry.context.Context.current().with(parent))
                    .setSpanKind(SpanKind.CLIENT)
                    .addLink(
                            SpanContext.create(
                                    "0af7651916cd43dd8448eb211c80319c",
                                    "b7ad6b7169203331",
                                    TraceFlags.getSampled(),
                                    TraceState.builder().put("vendor", "x").build()),
                            Attributes.of(AttributeKey.stringKey("link"), "batch"))
                    .startSpan();
            child.end();
            parent.end();
            provider.forceFlush().join(5, TimeUnit.SECONDS);
            // read before close: shutting the provider down empties the in-memory exporter
            items = exporter.getFinishedSpanItems();
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        TraceRequestMarshaler.create(items).writeBinaryTo(out);
        return ExportTraceServiceRequest.parseFrom(out.toByteArray());
    }

    @Test
    void columnsHoldWhatDocsSchemaMdPromises() {
        List<FlatRow> rows = SpanFlattener.flatten(edgeCases());
        GenericRecord full = rows.get(0).record();

        assertThat(rows).hasSize(4);
        assertThat(rows.get(0).eventTimeNanos()).isEqualTo(1_700_000_000_123_456_789L);
        assertThat(full.get("trace_id")).isEqualTo("0af7651916cd43dd8448eb211c80319c");
        assertThat(full.get("span_id")).isEqualTo("b7ad6b7169203331");
        assertThat(full.get("parent_span_id")).isEqualTo("00f067aa0ba902b7");
        assertThat(full.get("kind")).isEqualTo("SERVER");
        assertThat(full.get("status_code")).isEqualTo("ERROR");
        assertThat(full.get("service_name")).isEqualTo("checkout");
        assertThat(full.get("duration_ns")).isEqualTo(1_864_197_532L);
        assertThat(full.get("flags")).isEqualTo(0x80000301L);
        assertThat(full.get("dropped_attributes_count")).isEqualTo(4_294_967_295L);
        assertThat(rows.get(1).record().get("trace_id")).isEqualTo("ffffff");
        assertThat(rows.get(1).record().get("kind")).isEqualTo("42");
        assertThat(rows.get(2).record().get("parent_span_id")).isNull();
        assertThat(rows.get(3).record().get("service_name")).isNull();
    }

    @Test
    void serviceNameIsTheServiceNameAttributeThatWins() {
        // duplicate keys: the last one wins in resource_attributes, so service_name must hold the same value
        ExportTraceServiceRequest request = ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .setResource(Resource.newBuilder()
                                .addAttributes(kv("service.name", str("first")))
                                .addAttributes(kv("service.name", str("last"))))
                        .addScopeSpans(ScopeSpans.newBuilder().addSpans(Span.getDefaultInstance())))
                .addResourceSpans(ResourceSpans.newBuilder()
                        .setResource(Resource.newBuilder()
                                .addAttributes(kv("service.name", str("a string")))
                                .addAttributes(kv(
                                        "service.name",
                                        AnyValue.newBuilder().setIntValue(7).build())))
                        .addScopeSpans(ScopeSpans.newBuilder().addSpans(Span.getDefaultInstance())))
                .build();

        List<FlatRow> rows = SpanFlattener.flatten(request);

        GenericRecord last = rows.get(0).record();
        assertThat(last.get("resource_attributes")).isEqualTo(java.util.Map.of("service.name", "last"));
        assertThat(last.get("service_name")).isEqualTo("last");
        GenericRecord notAString = rows.get(1).record();
        assertThat(notAString.get("resource_attribute_types")).isEqualTo(java.util.Map.of("service.name", "int"));
        assertThat(notAString.get("service_name")).isNull();
    }

    static void assertRoundTrip(ExportTraceServiceRequest request) {
        List<ResourceSpans> expected = OtlpNormalizer.explode(request.getResourceSpansList());
        List<ResourceSpans> restored = SpanFlattener.flatten(request).stream()
                .map(row -> SpanFlattener.restore(AvroRoundTrip.through(row.record())))
                .map(OtlpNormalizer::normalize)
                .toList();

        assertThat(restored).hasSize(expected.size());
        for (int i = 0; i < expected.size(); i++) {
            assertThat(restored.get(i)).as("span %d", i).isEqualTo(expected.get(i));
        }
    }
}
