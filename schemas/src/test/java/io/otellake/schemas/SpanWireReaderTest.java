package io.otellake.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnknownFieldSet;
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
import io.otellake.schemas.bench.BenchData;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.Test;

/**
 * The wire path of {@link SpanFlattener#flatten(byte[])} against the message path, {@code
 * SpanFlattener.flatten(ExportTraceServiceRequest.parseFrom(bytes))}: the same rows (values, types, the order of map
 * entries) and event times, or the same exception.
 */
class SpanWireReaderTest {

    // --- what the wire reader reads itself, without falling back

    @Test
    void realSdkOutputGivesTheSameRows() throws Exception {
        assertWireReadsAlike(SpanFlattenerTest.sdkRequest().toByteArray());
    }

    @Test
    void handWrittenEdgeCasesGiveTheSameRows() throws Exception {
        List<FlatRow> rows = assertWireReadsAlike(SpanFlattenerTest.edgeCases().toByteArray());

        assertThat(rows).hasSize(4);
        assertThat(rows.get(0).record().get("start_time")).isEqualTo(1_700_000_000_123_456_789L);
        assertThat(rows.get(0).record().get("end_time")).isEqualTo(1_700_000_001_987_654_321L);
        assertThat(rows.get(1).record().get("trace_id")).isEqualTo("ffffff");
        assertThat(rows.get(1).record().get("span_id")).isEqualTo("");
        assertThat(rows.get(1).record().get("kind")).isEqualTo("42");
        assertThat(rows.get(1).record().get("status_code")).isEqualTo("9");
        assertThat(rows.get(2).record().get("parent_span_id")).isNull();
    }

    @Test
    void theBenchmarkDataGivesTheSameRows() throws Exception {
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 20; i++) {
            assertWireReadsAlike(BenchData.traceRequest(random).toByteArray());
        }
    }

    @Test
    void randomSpansGiveTheSameRows() throws Exception {
        SplittableRandom random = new SplittableRandom(42);
        int spans = 0;
        while (spans < 5_000) {
            ExportTraceServiceRequest request = randomRequest(random);
            spans += assertWireReadsAlike(request.toByteArray()).size();
        }
    }

    @Test
    void everyValueTypeDuplicateKeysAndManyAttributes() throws Exception {
        Span.Builder span = Span.newBuilder()
                .setTraceId(id(16, 1))
                .setSpanId(id(8, 2))
                .addAttributes(kv("s", str("text")))
                .addAttributes(kv("b", AnyValue.newBuilder().setBoolValue(false).build()))
                .addAttributes(kv("i", AnyValue.newBuilder().setIntValue(-1).build()))
                .addAttributes(
                        kv("d", AnyValue.newBuilder().setDoubleValue(1e300).build()))
                .addAttributes(kv(
                        "nan", AnyValue.newBuilder().setDoubleValue(Double.NaN).build()))
                .addAttributes(kv(
                        "bytes",
                        AnyValue.newBuilder().setBytesValue(id(5, 0xfe)).build()))
                .addAttributes(kv(
                        "no bytes",
                        AnyValue.newBuilder().setBytesValue(ByteString.EMPTY).build()))
                .addAttributes(kv(
                        "array",
                        AnyValue.newBuilder()
                                .setArrayValue(ArrayValue.newBuilder()
                                        .addValues(str("x"))
                                        .addValues(AnyValue.getDefaultInstance()))
                                .build()))
                .addAttributes(kv(
                        "kvlist",
                        AnyValue.newBuilder()
                                .setKvlistValue(KeyValueList.newBuilder().addValues(kv("k", str("v"))))
                                .build()))
                .addAttributes(kv("empty", AnyValue.getDefaultInstance()))
                .addAttributes(KeyValue.newBuilder().setKey("no value").build())
                .addAttributes(kv(
                        "strindex",
                        AnyValue.newBuilder().setStringValueStrindex(-7).build()))
                .addAttributes(kv("", str("")))
                // duplicates: a string over a typed value and back, the last one wins in the first one's place
                .addAttributes(kv("i", str("now a string")))
                .addAttributes(kv("s", AnyValue.newBuilder().setIntValue(3).build()))
                .addAttributes(kv("b", AnyValue.newBuilder().setBoolValue(true).build()));
        ExportTraceServiceRequest small = request(span.build());
        List<FlatRow> rows = assertWireReadsAlike(small.toByteArray());
        assertThat(rows.get(0).record().get("attribute_types"))
                .isEqualTo(Map.ofEntries(
                        Map.entry("s", "int"),
                        Map.entry("b", "bool"),
                        Map.entry("d", "double"),
                        Map.entry("nan", "double"),
                        Map.entry("bytes", "bytes"),
                        Map.entry("no bytes", "bytes"),
                        Map.entry("array", "array"),
                        Map.entry("kvlist", "kvlist"),
                        Map.entry("empty", "empty"),
                        Map.entry("no value", "empty"),
                        Map.entry("strindex", "strindex")));

        for (int i = 0; i < 40; i++) { // past the array-backed maps' limit of 32, with duplicates
            span.addAttributes(kv(
                    "k" + i % 35,
                    i % 3 == 0
                            ? str("v" + i)
                            : AnyValue.newBuilder().setIntValue(i).build()));
        }
        assertWireReadsAlike(request(span.build()).toByteArray());
    }

    /**
     * Spans whose non-string attributes have the same keys and types in the same order share one types map (the
     * archiver holds rows until it writes them); in another order, or with other types, a span keeps its own, and every
     * row still equals the message path's, order of entries included.
     */
    @Test
    void spansWithTheSameTypesInTheSameOrderShareOneTypesMap() throws Exception {
        AnyValue one = AnyValue.newBuilder().setIntValue(1).build();
        AnyValue two = AnyValue.newBuilder().setIntValue(2).build();
        AnyValue half = AnyValue.newBuilder().setDoubleValue(0.5).build();
        AnyValue text = AnyValue.newBuilder().setStringValue("x").build();
        List<List<KeyValue>> attributes = List.of(
                List.of(kv("server.port", one), kv("http.response.status_code", two)),
                List.of(kv("server.port", two), kv("url.path", text), kv("http.response.status_code", one)),
                List.of(kv("http.response.status_code", one), kv("server.port", two)), // another order
                List.of(kv("server.port", half), kv("http.response.status_code", two)), // another type
                List.of(kv("server.port", one), kv("http.response.status_code", two)));
        List<FlatRow> rows = assertWireReadsAlike(spansOfOneTrace(attributes, 0x301));

        List<Object> types =
                rows.stream().map(r -> r.record().get("attribute_types")).toList();
        assertThat(types.get(0)).isSameAs(types.get(1)).isEqualTo(types.get(4));
        assertThat(types.get(2)).isNotSameAs(types.get(0));
        assertThat(List.copyOf(((Map<?, ?>) types.get(2)).keySet()))
                .isEqualTo(List.of("http.response.status_code", "server.port"));
        assertThat(types.get(3))
                .isNotSameAs(types.get(0))
                .isEqualTo(Map.of("server.port", "double", "http.response.status_code", "int"));
        assertThat(rows).allSatisfy(r -> assertThat(r.record().get("flags")).isEqualTo(0x301L));
    }

    /**
     * Spans whose attribute keys repeat in the same order share one array of keys, each with its own values; a span with
     * a key twice, or the keys in another order, builds its own map; every row equals the message path's, in the order
     * of its entries too.
     */
    @Test
    void spansWithTheSameKeysShareTheirKeys() throws Exception {
        AnyValue three = AnyValue.newBuilder().setIntValue(3).build();
        List<List<KeyValue>> attributes = List.of(
                List.of(
                        kv("a", str("1")),
                        kv("b", AnyValue.newBuilder().setIntValue(2).build())),
                List.of(kv("a", str("x")), kv("b", three)),
                List.of(kv("a", str("y")), kv("b", str("s"))),
                List.of(kv("a", str("z")), kv("b", str("w")), kv("a", three)), // a key twice
                List.of(kv("a", str("z")), kv("b", str("w"))),
                List.of(kv("b", str("1")), kv("a", str("2")))); // another order
        List<FlatRow> rows = assertWireReadsAlike(spansOfOneTrace(attributes, 0));

        List<AttributeMap> values = rows.stream()
                .map(r -> (AttributeMap) r.record().get("attributes"))
                .toList();
        assertThat(values.get(1).sharesKeysWith(values.get(0))).isTrue();
        assertThat(values.get(2).sharesKeysWith(values.get(0))).isTrue();
        assertThat(values.get(4).sharesKeysWith(values.get(0))).isTrue();
        assertThat(values.get(3).sharesKeysWith(values.get(0))).isFalse();
        assertThat(values.get(5).sharesKeysWith(values.get(0))).isFalse();
        assertThat(List.copyOf(values.get(1).entrySet())).containsExactly(Map.entry("a", "x"), Map.entry("b", "3"));
        assertThat(List.copyOf(values.get(3).entrySet())).containsExactly(Map.entry("a", "3"), Map.entry("b", "w"));
        assertThat(List.copyOf(values.get(5).keySet())).containsExactly("b", "a");
        List<Object> types =
                rows.stream().map(r -> r.record().get("attribute_types")).toList();
        assertThat(types.get(1)).isEqualTo(Map.of("b", "int")).isSameAs(types.get(0));
        assertThat(types.get(2)).isEqualTo(Map.of());
        assertThat(types.get(3)).isEqualTo(Map.of("a", "int"));
    }

    /** A request of one span per list of attributes, in one scope, all of one trace and with these flags. */
    private static byte[] spansOfOneTrace(List<List<KeyValue>> attributes, int flags) {
        ScopeSpans.Builder scope = ScopeSpans.newBuilder();
        for (int i = 0; i < attributes.size(); i++) {
            scope.addSpans(Span.newBuilder()
                    .setTraceId(ByteString.copyFrom(new byte[16]))
                    .setSpanId(ByteString.copyFrom(new byte[] {0, 0, 0, 0, 0, 0, 0, (byte) i}))
                    .setFlags(flags)
                    .addAllAttributes(attributes.get(i)));
        }
        return ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder().addScopeSpans(scope))
                .build()
                .toByteArray();
    }

    /** The check that lets ASCII text skip UTF-8 decoding: a byte of 0x80 or more anywhere, at any offset. */
    @Test
    void asciiCheckFindsAHighByteAtEveryPosition() {
        byte[] b = new byte[40];
        Arrays.fill(b, (byte) 'a');
        for (int offset = 0; offset < 9; offset++) {
            for (int length = 0; offset + length <= 30; length++) {
                assertThat(SpanWireReader.ascii(b, offset, length)).isTrue();
                for (int at = 0; at < length; at++) {
                    for (byte high : new byte[] {(byte) 0x80, (byte) 0xc3, (byte) 0xff}) {
                        b[offset + at] = high;
                        assertThat(SpanWireReader.ascii(b, offset, length)).isFalse();
                        b[offset + at] = 'a';
                    }
                }
                // a high byte just outside the range does not count
                if (offset > 0) {
                    b[offset - 1] = (byte) 0xff;
                }
                b[offset + length] = (byte) 0xff;
                assertThat(SpanWireReader.ascii(b, offset, length)).isTrue();
                Arrays.fill(b, (byte) 'a');
            }
        }
    }

    @Test
    void nonAsciiStrings() throws Exception {
        Span span = Span.newBuilder()
                .setName("ünïcödé 😀")
                .setTraceState("k=ü")
                .addAttributes(kv("ключ", str("значение 😀")))
                .addAttributes(kv("ключ2", str("日本語")))
                .setStatus(Status.newBuilder().setMessage("échec"))
                .build();
        assertWireReadsAlike(request(span, span).toByteArray());
    }

    @Test
    void missingStatusAndStatusCodesAndKindsNoEnumKnows() throws Exception {
        for (int number : new int[] {-1, 0, 1, 2, 3, 5, 6, 42, Integer.MAX_VALUE, Integer.MIN_VALUE}) {
            Span span = Span.newBuilder()
                    .setKindValue(number)
                    .setStatus(Status.newBuilder().setCodeValue(number))
                    .build();
            List<FlatRow> rows = assertWireReadsAlike(
                    request(span, Span.getDefaultInstance()).toByteArray());
            assertThat(rows.get(1).record().get("status_code")).isEqualTo("UNSET");
            assertThat(rows.get(1).record().get("status_message")).isNull();
        }
    }

    @Test
    void emptyRequestsScopesAndResources() throws Exception {
        assertThat(assertWireReadsAlike(new byte[0])).isEmpty();
        assertWireReadsAlike(ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.getDefaultInstance())
                .addResourceSpans(ResourceSpans.newBuilder().addScopeSpans(ScopeSpans.getDefaultInstance()))
                .addResourceSpans(ResourceSpans.newBuilder()
                        .addScopeSpans(ScopeSpans.newBuilder().addSpans(Span.getDefaultInstance())))
                .build()
                .toByteArray());
    }

    @Test
    void repeatedFieldsLastWinsAndMessagesMerge() throws Exception {
        Span first = Span.newBuilder()
                .setTraceId(id(16, 1))
                .setSpanId(id(8, 2))
                .setParentSpanId(id(8, 3))
                .setName("first")
                .setKind(Span.SpanKind.SPAN_KIND_SERVER)
                .setStartTimeUnixNano(10)
                .setEndTimeUnixNano(20)
                .setFlags(1)
                .addAttributes(kv("a", str("1")))
                .addEvents(Span.Event.newBuilder().setName("e1"))
                .setStatus(Status.newBuilder().setCode(Status.StatusCode.STATUS_CODE_ERROR))
                .build();
        Span second = Span.newBuilder()
                .setTraceId(id(16, 4))
                .setParentSpanId(id(3, 5))
                .setName("second")
                .setStartTimeUnixNano(11)
                .addAttributes(kv("a", AnyValue.newBuilder().setIntValue(2).build()))
                .addEvents(Span.Event.newBuilder().setName("e2"))
                .setStatus(Status.newBuilder().setMessage("merged"))
                .build();
        // a message's bytes twice over parse as the two merged
        byte[] merged = concat(first.toByteArray(), second.toByteArray());
        List<FlatRow> rows = assertWireReadsAlike(scopeOf(field(2, merged)));
        GenericRecord row = rows.get(0).record();
        assertThat(row.get("trace_id")).isEqualTo("04040404040404040404040404040404");
        assertThat(row.get("parent_span_id")).isEqualTo("050505");
        assertThat(row.get("name")).isEqualTo("second");
        assertThat(row.get("status_code")).isEqualTo("ERROR");
        assertThat(row.get("status_message")).isEqualTo("merged");
        assertThat(rows.get(0).eventTimeNanos()).isEqualTo(11);

        // an attribute's value twice: scalars replace each other, arrays and kvlists merge as protobuf merges them
        AnyValue array1 = AnyValue.newBuilder()
                .setArrayValue(ArrayValue.newBuilder().addValues(str("x")))
                .build();
        AnyValue array2 = AnyValue.newBuilder()
                .setArrayValue(ArrayValue.newBuilder().addValues(str("y")))
                .build();
        AnyValue string = str("s");
        AnyValue integer = AnyValue.newBuilder().setIntValue(5).build();
        AnyValue[][] pairs = {
            {string, integer},
            {integer, string},
            {array1, array2},
            {array1, string},
            {string, array1},
            {integer, AnyValue.getDefaultInstance()},
            {AnyValue.getDefaultInstance(), integer}
        };
        for (AnyValue[] pair : pairs) {
            byte[] keyValue = concat(
                    KeyValue.newBuilder().setKey("k").setValue(pair[0]).build().toByteArray(),
                    KeyValue.newBuilder().setValue(pair[1]).build().toByteArray(),
                    KeyValue.newBuilder().setKey("k2").build().toByteArray());
            assertWireReadsAlike(scopeOf(field(2, field(9, keyValue))));
        }

        // resource and scope twice, scope spans before the resource
        byte[] scopeSpans = concat(
                field(2, Span.newBuilder().setName("s").build().toByteArray()),
                field(
                        1,
                        InstrumentationScope.newBuilder()
                                .setName("scope1")
                                .build()
                                .toByteArray()),
                field(
                        1,
                        InstrumentationScope.newBuilder()
                                .setVersion("2")
                                .build()
                                .toByteArray()),
                field(3, "https://schema/ss".getBytes(StandardCharsets.UTF_8)));
        byte[] resourceSpans = concat(
                field(2, scopeSpans),
                field(
                        1,
                        Resource.newBuilder()
                                .addAttributes(kv("service.name", str("a")))
                                .build()
                                .toByteArray()),
                field(3, "https://schema/1".getBytes(StandardCharsets.UTF_8)),
                field(
                        1,
                        Resource.newBuilder()
                                .addAttributes(kv("x", str("b")))
                                .setDroppedAttributesCount(3)
                                .build()
                                .toByteArray()),
                field(3, "https://schema/2".getBytes(StandardCharsets.UTF_8)));
        GenericRecord r = assertWireReadsAlike(field(1, resourceSpans)).get(0).record();
        assertThat(r.get("service_name")).isEqualTo("a");
        assertThat(r.get("scope_name")).isEqualTo("scope1");
        assertThat(r.get("scope_version")).isEqualTo("2");
        assertThat(r.get("resource_schema_url")).isEqualTo("https://schema/2");
    }

    @Test
    void unknownFieldsAndFieldsOfAnotherWireTypeAreSkipped() throws Exception {
        UnknownFieldSet unknown = UnknownFieldSet.newBuilder()
                .addField(
                        100,
                        UnknownFieldSet.Field.newBuilder()
                                .addVarint(-1)
                                .addFixed32(7)
                                .addFixed64(8)
                                .addLengthDelimited(ByteString.copyFrom(new byte[] {(byte) 0xff, 0x00}))
                                .build())
                .build();
        Span span = Span.newBuilder()
                .setName("n")
                .addAttributes(KeyValue.newBuilder()
                        .setKey("k")
                        .setValue(AnyValue.newBuilder().setStringValue("v").setUnknownFields(unknown))
                        .setUnknownFields(unknown))
                .setStatus(Status.newBuilder().setMessage("m").setUnknownFields(unknown))
                .setUnknownFields(unknown)
                .build();
        ExportTraceServiceRequest request = ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .addScopeSpans(ScopeSpans.newBuilder().addSpans(span).setUnknownFields(unknown))
                        .setUnknownFields(unknown))
                .setUnknownFields(unknown)
                .build();
        assertWireReadsAlike(request.toByteArray());

        // known field numbers with another wire type: protobuf-java keeps them as unknown fields
        byte[] odd = concat(
                varintField(5, 7), // name as a varint
                fixed64Field(6, 9), // kind as fixed64
                field(7, new byte[] {1, 2}), // start time as bytes
                varintField(16, 3), // flags as a varint
                field(15, varintField(2, 1)), // status message as a varint
                field(9, concat(varintField(1, 1), field(2, fixed64Field(3, 4)))), // key as varint, int as fixed64
                field(9, concat(field(1, "kk".getBytes(StandardCharsets.UTF_8)), varintField(3, 12))), // key_strindex
                field(5, "name".getBytes(StandardCharsets.UTF_8)));
        assertWireReadsAlike(scopeOf(field(2, odd)));
    }

    @Test
    void eventsAndLinksWithAttributes() throws Exception {
        Span span = Span.newBuilder()
                .addEvents(Span.Event.newBuilder()
                        .setName("e")
                        .setTimeUnixNano(5)
                        .addAttributes(
                                kv("a", AnyValue.newBuilder().setIntValue(1).build()))
                        .addAttributes(kv(
                                "b",
                                AnyValue.newBuilder()
                                        .setArrayValue(ArrayValue.newBuilder().addValues(str("x")))
                                        .build())))
                .addEvents(Span.Event.getDefaultInstance())
                .addLinks(Span.Link.newBuilder()
                        .setTraceId(id(16, 9))
                        .setSpanId(id(8, 8))
                        .setTraceState("t=1")
                        .setFlags(0x300)
                        .addAttributes(kv("l", str("v")))
                        .setDroppedAttributesCount(2))
                .addLinks(Span.Link.getDefaultInstance())
                .build();
        List<FlatRow> rows = assertWireReadsAlike(request(span).toByteArray());
        assertThat((List<?>) rows.get(0).record().get("events")).hasSize(2);
        assertThat((List<?>) rows.get(0).record().get("links")).hasSize(2);
    }

    // --- where protobuf-java decides: the same rows or the same exception

    @Test
    void invalidUtf8ThrowsWhatParseFromThrows() throws Exception {
        byte[][] invalid = {
            {(byte) 0xc3, 0x28}, // a lead byte without its continuation
            {(byte) 0xc0, (byte) 0x80}, // overlong NUL
            {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, // a surrogate
            {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, // past U+10FFFF
            {'a', (byte) 0x80}, // a lone continuation byte
        };
        for (byte[] bad : invalid) {
            List<byte[]> requests = List.of(
                    scopeOf(field(2, field(5, bad))), // name
                    scopeOf(field(2, field(3, bad))), // trace state
                    scopeOf(field(2, field(15, field(2, bad)))), // status message
                    scopeOf(field(2, field(9, field(1, bad)))), // attribute key
                    scopeOf(field(2, field(9, field(2, field(1, bad))))), // attribute value
                    scopeOf(field(2, field(11, field(2, bad)))), // event name
                    field(1, field(3, bad)), // resource schema url
                    field(1, field(1, field(1, field(1, bad))))); // resource attribute key
            for (byte[] request : requests) {
                assertThatThrownBy(() -> SpanFlattener.flatten(request))
                        .isInstanceOf(InvalidProtocolBufferException.class);
                assertSameOutcome(request);
            }
            // in an unknown field, any bytes go
            assertWireReadsAlike(scopeOf(field(2, field(99, bad))));
        }
    }

    @Test
    void truncatedRequestsThrowWhatParseFromThrows() throws Exception {
        byte[] request = concat(
                SpanFlattenerTest.edgeCases().toByteArray(),
                SpanFlattenerTest.sdkRequest().toByteArray());
        int thrown = 0;
        for (int length = 0; length < request.length; length++) {
            byte[] prefix = Arrays.copyOf(request, length);
            if (assertSameOutcome(prefix) instanceof String) {
                thrown++;
            }
        }
        assertThat(thrown).isGreaterThan(request.length / 2);
        assertThatThrownBy(() -> SpanFlattener.flatten(Arrays.copyOf(request, request.length - 1)))
                .isInstanceOf(InvalidProtocolBufferException.class);
    }

    @Test
    void corruptedBytesGiveTheSameRowsOrTheSameException() throws Exception {
        SplittableRandom random = new SplittableRandom(3);
        List<byte[]> requests = List.of(
                SpanFlattenerTest.edgeCases().toByteArray(),
                SpanFlattenerTest.sdkRequest().toByteArray(),
                request(randomSpan(random, ByteString.EMPTY), randomSpan(random, ByteString.EMPTY))
                        .toByteArray());
        for (byte[] original : requests) {
            for (int i = 0; i < 2_000; i++) {
                byte[] corrupt = original.clone();
                for (int n = 1 + random.nextInt(3); n > 0; n--) {
                    int at = random.nextInt(corrupt.length);
                    corrupt[at] = switch (random.nextInt(4)) {
                        case 0 -> (byte) random.nextInt(256);
                        case 1 -> (byte) (corrupt[at] ^ (1 << random.nextInt(8)));
                        case 2 -> (byte) 0x80;
                        default -> (byte) (corrupt[at] + 1);
                    };
                }
                assertSameOutcome(corrupt);
            }
        }
    }

    @Test
    void reshuffledFieldsGiveTheSameRowsOrTheSameException() throws Exception {
        // valid protobuf, re-encoded the way other encoders may write it: fields dropped, repeated, moved, split into
        // two occurrences that merge, followed by one of another wire type or an unknown one, tags and lengths in
        // varints longer than needed; at every level, strings and bytes included (they may parse as messages too)
        SplittableRandom random = new SplittableRandom(19);
        int readByWire = 0;
        int rounds = 6_000;
        for (int i = 0; i < rounds; i++) {
            byte[] original =
                    switch (i % 3) {
                        case 0 -> SpanFlattenerTest.edgeCases().toByteArray();
                        case 1 ->
                            request(randomSpan(random, ByteString.EMPTY), randomSpan(random, ByteString.EMPTY))
                                    .toByteArray();
                        default -> SpanFlattenerTest.sdkRequest().toByteArray();
                    };
            byte[] reshuffled = reshuffle(original, random, 0);
            try {
                SpanWireReader.read(reshuffled);
                readByWire++;
            } catch (SpanWireReader.Unread e) {
                // the message path decides; assertSameOutcome checks that it does
            }
            assertSameOutcome(reshuffled);
        }
        assertThat(readByWire).as("requests the wire reader read itself").isGreaterThan(rounds * 3 / 4);
    }

    /** One field as it was on the wire: a varint, fixed32 or fixed64 in {@code bits}, or length-delimited bytes. */
    private record WireField(int number, int wireType, long bits, byte[] bytes) {}

    /** The fields of a message, or null when the bytes are no message this can re-encode (groups, truncation). */
    private static List<WireField> wireFields(byte[] message) {
        try {
            CodedInputStream in = CodedInputStream.newInstance(message);
            List<WireField> fields = new ArrayList<>();
            while (!in.isAtEnd()) {
                int tag = in.readTag();
                int number = tag >>> 3;
                switch (tag & 7) {
                    case 0 -> fields.add(new WireField(number, 0, in.readRawVarint64(), null));
                    case 1 -> fields.add(new WireField(number, 1, in.readRawLittleEndian64(), null));
                    case 2 -> fields.add(new WireField(number, 2, 0, in.readByteArray()));
                    case 5 -> fields.add(new WireField(number, 5, in.readRawLittleEndian32(), null));
                    default -> {
                        return null;
                    }
                }
            }
            return fields;
        } catch (IOException e) {
            return null;
        }
    }

    private static byte[] reshuffle(byte[] message, SplittableRandom random, int depth) {
        List<WireField> fields = depth > 8 ? null : wireFields(message);
        if (fields == null) {
            return message;
        }
        List<WireField> out = new ArrayList<>();
        for (WireField f : fields) {
            WireField g = f.wireType() == 2 && random.nextInt(3) > 0
                    ? new WireField(f.number(), 2, 0, reshuffle(f.bytes(), random, depth + 1))
                    : f;
            List<WireField> inner = g.wireType() == 2 ? wireFields(g.bytes()) : null;
            switch (random.nextInt(40)) {
                case 0 -> {} // dropped
                case 1 -> out.addAll(List.of(g, g)); // twice: a scalar's last one wins, a message merges
                case 2 -> out.add(0, g); // moved to the front
                case 3 -> out.addAll(List.of(g, new WireField(17 + random.nextInt(100), 0, random.nextLong(), null)));
                case 4 -> out.addAll(List.of(g, new WireField(g.number(), 0, random.nextInt(300) - 100L, null)));
                case 5 -> out.addAll(List.of(g, new WireField(g.number(), 1, random.nextLong(), null)));
                case 6 -> out.addAll(List.of(g, new WireField(g.number(), 5, random.nextInt(), null)));
                case 7 -> out.addAll(List.of(g, new WireField(g.number(), 2, 0, new byte[0])));
                case 8 -> {
                    if (inner != null && inner.size() > 1) { // a message in two parts, which merge into one
                        int at = 1 + random.nextInt(inner.size() - 1);
                        out.add(new WireField(g.number(), 2, 0, encode(inner.subList(0, at), random)));
                        out.add(new WireField(g.number(), 2, 0, encode(inner.subList(at, inner.size()), random)));
                    } else {
                        out.add(g);
                    }
                }
                default -> out.add(g);
            }
        }
        return encode(out, random);
    }

    private static byte[] encode(List<WireField> fields, SplittableRandom random) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (WireField f : fields) {
            paddedVarint(out, (long) f.number() << 3 | f.wireType(), random);
            switch (f.wireType()) {
                case 0 -> paddedVarint(out, f.bits(), random);
                case 1 -> out.writeBytes(write(o -> o.writeFixed64NoTag(f.bits())));
                case 5 -> out.writeBytes(write(o -> o.writeFixed32NoTag((int) f.bits())));
                default -> {
                    paddedVarint(out, f.bytes().length, random);
                    out.writeBytes(f.bytes());
                }
            }
        }
        return out.toByteArray();
    }

    /** A varint, one time in eight with up to four redundant bytes, as protobuf accepts them (at most ten in all). */
    private static void paddedVarint(ByteArrayOutputStream out, long value, SplittableRandom random) {
        int extra = random.nextInt(8) == 0 ? 1 + random.nextInt(4) : 0;
        long v = value;
        int written = 0;
        while ((v & ~0x7fL) != 0 || extra > 0) {
            if ((v & ~0x7fL) == 0) {
                extra--;
            }
            out.write((int) (v & 0x7f | 0x80));
            v >>>= 7;
            written++;
            if (written == 9) {
                break;
            }
        }
        out.write((int) v);
    }

    @Test
    void groupsOddVarintsAndFieldNumberZero() throws Exception {
        byte[] group = {(byte) (100 << 3 | 3), 0x01, (byte) (1 << 3 | 0), 0x05, (byte) (100 << 3 | 4), 0x01};
        byte[] endGroup = {(byte) (100 << 3 | 4), 0x01};
        byte[][] spans = {
            concat(field(5, "n".getBytes(StandardCharsets.UTF_8)), group), // an unknown group: protobuf skips it
            concat(field(5, "n".getBytes(StandardCharsets.UTF_8)), endGroup), // a stray end group
            {(byte) (6 << 3), (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0x7f}, // kind past 32 bits
            {(byte) (6 << 3), (byte) 0x81, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x00}, // redundant
            {(byte) (10 << 3), (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0x1f}, // uint32 too wide
            {(byte) (10 << 3), (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x01},
            {(byte) (12 << 3), (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0x0f}, // uint32 max
            {0x00, 0x00}, // field number 0
            {(byte) (99 << 3 | 6), 0x00}, // wire type 6
            {(byte) (99 << 3 | 7), 0x00},
            {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x01, 0x00}, // a tag of 36 bits
            concat(field(9, field(2, varintField(8, -1))), field(9, field(2, varintField(8, 1L << 33)))),
            concat(field(9, field(2, new byte[] {(byte) (3 << 3), -1, -1, -1, -1, -1, -1, -1, -1, -1, 0x7f}))),
        };
        for (byte[] span : spans) {
            assertSameOutcome(scopeOf(field(2, span)));
            assertSameOutcome(concat(scopeOf(field(2, span)), span));
        }
    }

    @Test
    void nestedValuesMeetTheSameRecursionLimit() throws Exception {
        // an attribute value of a span, of an event, of a resource and of a scope, nested ever deeper: the wire path
        // reads the deepest request protobuf-java accepts itself, and leaves the first one it rejects to it
        for (int where = 0; where < 4; where++) {
            int accepted = -1;
            for (int depth = 1; depth < 120; depth++) {
                ExportTraceServiceRequest request = nestedRequest(where, depth);
                byte[] bytes = request.toByteArray();
                boolean parses;
                try {
                    ExportTraceServiceRequest.parseFrom(bytes);
                    parses = true;
                } catch (InvalidProtocolBufferException e) {
                    parses = false;
                }
                if (parses) {
                    accepted = depth;
                    continue;
                }
                assertThat(accepted).as("place %d", where).isPositive();
                assertWireReadsAlike(nestedRequest(where, accepted).toByteArray());
                assertThatThrownBy(() -> SpanWireReader.read(bytes)).isInstanceOf(SpanWireReader.Unread.class);
                assertSameOutcome(bytes);
                break;
            }
        }
    }

    // --- comparing

    /** Asserts that the wire reader reads the request itself, to the message path's rows; returns them. */
    static List<FlatRow> assertWireReadsAlike(byte[] request) throws Exception {
        List<FlatRow> expected = SpanFlattener.flatten(ExportTraceServiceRequest.parseFrom(request));
        List<FlatRow> wire = SpanWireReader.read(request);
        assertThat(deep(wire)).isEqualTo(deep(expected));
        assertThat(wire).isEqualTo(expected); // GenericRecord.equals and the event times
        assertThat(deep(SpanFlattener.flatten(request))).isEqualTo(deep(expected));
        return wire;
    }

    /** Asserts that both paths give the same rows or throw the same; returns the rows, or the exception as text. */
    static Object assertSameOutcome(byte[] request) {
        Object expected;
        try {
            expected = deep(SpanFlattener.flatten(ExportTraceServiceRequest.parseFrom(request)));
        } catch (Exception e) {
            expected = e.getClass().getName() + ": " + e.getMessage();
        }
        Object actual;
        try {
            actual = deep(SpanFlattener.flatten(request));
        } catch (Exception e) {
            actual = e.getClass().getName() + ": " + e.getMessage();
        }
        assertThat(actual).isEqualTo(expected);
        return actual;
    }

    /** Rows as nested lists: every column by name, the entries of maps in their order, leaves with their class. */
    static Object deep(Object value) {
        if (value instanceof FlatRow row) {
            return List.of(row.eventTimeNanos(), deep(row.record()));
        }
        if (value instanceof GenericRecord record) {
            List<Object> out = new ArrayList<>();
            for (Schema.Field f : record.getSchema().getFields()) {
                out.add(f.name() + "=" + deep(record.get(f.pos())));
            }
            return out;
        }
        if (value instanceof Map<?, ?> map) {
            List<Object> out = new ArrayList<>();
            map.forEach((k, v) -> out.add(List.of(deep(k), deep(v))));
            List<Object> viaEntries = new ArrayList<>();
            map.entrySet().forEach(e -> viaEntries.add(List.of(deep(e.getKey()), deep(e.getValue()))));
            assertThat(viaEntries).isEqualTo(out);
            return out;
        }
        if (value instanceof List<?> list) {
            return list.stream().map(SpanWireReaderTest::deep).toList();
        }
        return value == null ? "null" : value.getClass().getSimpleName() + ":" + value;
    }

    // --- building requests

    static KeyValue kv(String key, AnyValue value) {
        return KeyValue.newBuilder().setKey(key).setValue(value).build();
    }

    static AnyValue str(String s) {
        return AnyValue.newBuilder().setStringValue(s).build();
    }

    static ByteString id(int length, int fill) {
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) fill);
        return ByteString.copyFrom(b);
    }

    static ExportTraceServiceRequest request(Span... spans) {
        return ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .setResource(Resource.newBuilder().addAttributes(kv("service.name", str("svc"))))
                        .addScopeSpans(ScopeSpans.newBuilder()
                                .setScope(InstrumentationScope.newBuilder().setName("scope"))
                                .addAllSpans(List.of(spans))))
                .build();
    }

    /** A request of one resource and one scope whose content is the given raw bytes of a ScopeSpans. */
    static byte[] scopeOf(byte[] scopeSpansContent) {
        return field(1, field(2, scopeSpansContent));
    }

    static byte[] field(int number, byte[] content) {
        return write(out -> out.writeByteArray(number, content));
    }

    static byte[] varintField(int number, long value) {
        return write(out -> out.writeUInt64(number, value));
    }

    static byte[] fixed64Field(int number, long value) {
        return write(out -> out.writeFixed64(number, value));
    }

    interface Writing {
        void to(CodedOutputStream out) throws IOException;
    }

    static byte[] write(Writing writing) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            CodedOutputStream out = CodedOutputStream.newInstance(bytes);
            writing.to(out);
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /** A request with one value nested {@code depth} arrays deep, in the attributes of a span, event, resource, scope. */
    static ExportTraceServiceRequest nestedRequest(int where, int depth) {
        AnyValue value = str("leaf");
        for (int i = 0; i < depth; i++) {
            value = AnyValue.newBuilder()
                    .setArrayValue(ArrayValue.newBuilder().addValues(value))
                    .build();
        }
        KeyValue deep = kv("deep", value);
        Span.Builder span = Span.newBuilder().setName("s");
        Resource.Builder resource = Resource.newBuilder();
        InstrumentationScope.Builder scope = InstrumentationScope.newBuilder();
        switch (where) {
            case 0 -> span.addAttributes(deep);
            case 1 -> span.addEvents(Span.Event.newBuilder().addAttributes(deep));
            case 2 -> resource.addAttributes(deep);
            default -> scope.addAttributes(deep);
        }
        return ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .setResource(resource)
                        .addScopeSpans(ScopeSpans.newBuilder().setScope(scope).addSpans(span)))
                .build();
    }

    static ByteString randomId(SplittableRandom r, int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) r.nextInt(256);
        }
        return ByteString.copyFrom(b);
    }

    private static final String[] STRINGS = {
        "",
        "a",
        "GET /api",
        "http.route",
        "ünïcödé",
        "😀",
        "日本語",
        "k=v,x=y",
        "service.name",
        "\u0000",
        "long " + "x".repeat(200)
    };

    static String randomString(SplittableRandom r) {
        if (r.nextInt(4) == 0) {
            StringBuilder s = new StringBuilder();
            for (int i = r.nextInt(12); i > 0; i--) {
                s.append((char) (r.nextInt(5) == 0 ? 0x80 + r.nextInt(0x700) : 0x20 + r.nextInt(0x5f)));
            }
            return s.toString();
        }
        return STRINGS[r.nextInt(STRINGS.length)];
    }

    static AnyValue randomValue(SplittableRandom r, int depth) {
        AnyValue.Builder v = AnyValue.newBuilder();
        switch (r.nextInt(depth > 1 ? 7 : 10)) {
            case 0, 1 -> v.setStringValue(randomString(r));
            case 2 -> v.setBoolValue(r.nextBoolean());
            case 3 -> v.setIntValue(r.nextBoolean() ? r.nextInt(1000) : r.nextLong());
            case 4 ->
                v.setDoubleValue(new double[] {0.25, -0.0, Double.NaN, Double.POSITIVE_INFINITY, 1e300, r.nextDouble()}
                        [r.nextInt(6)]);
            case 5 -> v.setBytesValue(randomId(r, r.nextInt(5)));
            case 6 -> {} // empty
            case 7 -> {
                ArrayValue.Builder a = ArrayValue.newBuilder();
                for (int i = r.nextInt(3); i > 0; i--) {
                    a.addValues(randomValue(r, depth + 1));
                }
                v.setArrayValue(a);
            }
            case 8 -> {
                KeyValueList.Builder l = KeyValueList.newBuilder();
                for (int i = r.nextInt(3); i > 0; i--) {
                    l.addValues(kv(randomString(r), randomValue(r, depth + 1)));
                }
                v.setKvlistValue(l);
            }
            default -> v.setStringValueStrindex(r.nextInt());
        }
        return v.build();
    }

    static List<KeyValue> randomAttributes(SplittableRandom r) {
        List<KeyValue> out = new ArrayList<>();
        int n = r.nextInt(10) == 0 ? 30 + r.nextInt(10) : r.nextInt(8);
        for (int i = 0; i < n; i++) {
            String key = r.nextInt(3) == 0 ? randomString(r) : "key" + r.nextInt(n + 1);
            out.add(kv(key, randomValue(r, 0)));
        }
        return out;
    }

    static Span randomSpan(SplittableRandom r, ByteString previousTrace) {
        int[] idLengths = {16, 16, 16, 8, 0, 3, 17};
        Span.Builder span = Span.newBuilder()
                .setTraceId(r.nextBoolean() ? previousTrace : randomId(r, idLengths[r.nextInt(idLengths.length)]))
                .setSpanId(randomId(r, idLengths[r.nextInt(idLengths.length)]))
                .setParentSpanId(randomId(r, idLengths[r.nextInt(idLengths.length)]))
                .setTraceState(r.nextInt(4) == 0 ? randomString(r) : "")
                .setFlags(r.nextInt(3) == 0 ? r.nextInt() : 0x101)
                .setName(randomString(r))
                .setKindValue(r.nextInt(10) == 0 ? r.nextInt() : r.nextInt(8) - 1)
                .setStartTimeUnixNano(r.nextLong())
                .setEndTimeUnixNano(r.nextLong())
                .addAllAttributes(randomAttributes(r))
                .setDroppedAttributesCount(r.nextInt(4) == 0 ? r.nextInt() : 0)
                .setDroppedEventsCount(r.nextInt(4) == 0 ? r.nextInt() : 0)
                .setDroppedLinksCount(r.nextInt(4) == 0 ? r.nextInt() : 0);
        if (r.nextBoolean()) {
            span.setStatus(Status.newBuilder().setCodeValue(r.nextInt(5) - 1).setMessage(randomString(r)));
        }
        for (int i = r.nextInt(6) == 0 ? 1 + r.nextInt(2) : 0; i > 0; i--) {
            span.addEvents(Span.Event.newBuilder()
                    .setName(randomString(r))
                    .setTimeUnixNano(r.nextLong())
                    .addAllAttributes(randomAttributes(r))
                    .setDroppedAttributesCount(r.nextInt(3)));
        }
        for (int i = r.nextInt(6) == 0 ? 1 + r.nextInt(2) : 0; i > 0; i--) {
            span.addLinks(Span.Link.newBuilder()
                    .setTraceId(randomId(r, 16))
                    .setSpanId(randomId(r, 8))
                    .setTraceState(randomString(r))
                    .setFlags(r.nextInt())
                    .addAllAttributes(randomAttributes(r))
                    .setDroppedAttributesCount(r.nextInt(3)));
        }
        if (r.nextInt(10) == 0) {
            span.setUnknownFields(UnknownFieldSet.newBuilder()
                    .addField(
                            1000 + r.nextInt(10),
                            UnknownFieldSet.Field.newBuilder()
                                    .addVarint(r.nextLong())
                                    .addLengthDelimited(randomId(r, 3))
                                    .build())
                    .build());
        }
        return span.build();
    }

    static ExportTraceServiceRequest randomRequest(SplittableRandom r) {
        ExportTraceServiceRequest.Builder request = ExportTraceServiceRequest.newBuilder();
        ByteString trace = randomId(r, 16);
        for (int i = 1 + r.nextInt(3); i > 0; i--) {
            ResourceSpans.Builder rs = ResourceSpans.newBuilder()
                    .setSchemaUrl(r.nextBoolean() ? "https://opentelemetry.io/schemas/1.26.0" : "");
            if (r.nextInt(4) > 0) {
                rs.setResource(Resource.newBuilder()
                        .addAllAttributes(randomAttributes(r))
                        .addAttributes(kv("service.name", randomValue(r, 0)))
                        .setDroppedAttributesCount(r.nextInt(3)));
            }
            for (int j = r.nextInt(4); j > 0; j--) {
                ScopeSpans.Builder ss = ScopeSpans.newBuilder().setSchemaUrl(r.nextBoolean() ? "s" : "");
                if (r.nextInt(4) > 0) {
                    ss.setScope(InstrumentationScope.newBuilder()
                            .setName(randomString(r))
                            .setVersion(randomString(r))
                            .addAllAttributes(randomAttributes(r)));
                }
                for (int k = r.nextInt(60); k > 0; k--) {
                    Span span = randomSpan(r, trace);
                    trace = span.getTraceId();
                    ss.addSpans(span);
                }
                rs.addScopeSpans(ss);
            }
            request.addResourceSpans(rs);
        }
        return request.build();
    }
}
