package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.SeverityNumber;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class OtlpJsonTest {
    private static final String TRACE_ID = "5b8efff798038103d269b633813fc60c";
    private static final String SPAN_ID = "eee19b7ec3c1b174";
    private static final String PARENT_ID = "eee19b7ec3c1b173";

    @Test
    void hexIdsOfSpansAndLinksBecomeTheirBytesInEitherCase() throws Exception {
        ExportTraceServiceRequest request = parseTraces(
                """
                {"resourceSpans":[{"scopeSpans":[{"spans":[{
                  "traceId":"%s","spanId":"%s","parentSpanId":"%s","name":"op",
                  "links":[{"traceId":"%s","spanId":"%s"}]
                }]}]}]}"""
                        .formatted(
                                TRACE_ID.toUpperCase(),
                                SPAN_ID,
                                PARENT_ID.toUpperCase(),
                                TRACE_ID,
                                SPAN_ID.toUpperCase()));

        Span span = request.getResourceSpans(0).getScopeSpans(0).getSpans(0);
        assertThat(span.getTraceId()).isEqualTo(bytes(TRACE_ID));
        assertThat(span.getSpanId()).isEqualTo(bytes(SPAN_ID));
        assertThat(span.getParentSpanId()).isEqualTo(bytes(PARENT_ID));
        assertThat(span.getName()).isEqualTo("op");
        assertThat(span.getLinks(0).getTraceId()).isEqualTo(bytes(TRACE_ID));
        assertThat(span.getLinks(0).getSpanId()).isEqualTo(bytes(SPAN_ID));
    }

    @Test
    void hexIdsOfLogRecordsBecomeTheirBytes() throws Exception {
        ExportLogsServiceRequest request = parseLogs(
                """
                {"resourceLogs":[{"scopeLogs":[{"logRecords":[
                  {"traceId":"%s","spanId":"%s","body":{"stringValue":"hello"}},
                  {"body":{"stringValue":"no trace"}}
                ]}]}]}"""
                        .formatted(TRACE_ID.toUpperCase(), SPAN_ID));

        LogRecord first = request.getResourceLogs(0).getScopeLogs(0).getLogRecords(0);
        LogRecord second = request.getResourceLogs(0).getScopeLogs(0).getLogRecords(1);
        assertThat(first.getTraceId()).isEqualTo(bytes(TRACE_ID));
        assertThat(first.getSpanId()).isEqualTo(bytes(SPAN_ID));
        assertThat(first.getBody().getStringValue()).isEqualTo("hello");
        assertThat(second.getTraceId()).isEqualTo(ByteString.EMPTY);
    }

    @Test
    void emptyIdsStayEmpty() throws Exception {
        ExportTraceServiceRequest request = parseTraces(
                """
                {"resourceSpans":[{"scopeSpans":[{"spans":[
                  {"traceId":"%s","spanId":"%s","parentSpanId":""}
                ]}]}]}"""
                        .formatted(TRACE_ID, SPAN_ID));

        assertThat(request.getResourceSpans(0).getScopeSpans(0).getSpans(0).getParentSpanId())
                .isEqualTo(ByteString.EMPTY);
    }

    @Test
    void integersOf64BitsMayBeStringsOrNumbers() throws Exception {
        ExportTraceServiceRequest request = parseTraces(
                """
                {"resourceSpans":[{"scopeSpans":[{"spans":[{
                  "startTimeUnixNano":"1700000000000000001",
                  "endTimeUnixNano":1700000000000000002,
                  "attributes":[{"key":"n","value":{"intValue":"-9007199254740993"}}]
                }]}]}]}""");

        Span span = request.getResourceSpans(0).getScopeSpans(0).getSpans(0);
        assertThat(span.getStartTimeUnixNano()).isEqualTo(1_700_000_000_000_000_001L);
        assertThat(span.getEndTimeUnixNano()).isEqualTo(1_700_000_000_000_000_002L);
        assertThat(span.getAttributes(0).getValue().getIntValue()).isEqualTo(-9_007_199_254_740_993L);
    }

    @Test
    void enumsAreIntegers() throws Exception {
        Span span = parseTraces(
                        """
                        {"resourceSpans":[{"scopeSpans":[{"spans":[
                          {"kind":2,"status":{"code":2,"message":"boom"}}
                        ]}]}]}""")
                .getResourceSpans(0)
                .getScopeSpans(0)
                .getSpans(0);
        LogRecord log = parseLogs(
                        """
                        {"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":9}]}]}]}""")
                .getResourceLogs(0)
                .getScopeLogs(0)
                .getLogRecords(0);

        assertThat(span.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_SERVER);
        assertThat(span.getStatus().getCode()).isEqualTo(Status.StatusCode.STATUS_CODE_ERROR);
        assertThat(log.getSeverityNumber()).isEqualTo(SeverityNumber.SEVERITY_NUMBER_INFO);
    }

    @Test
    void unknownFieldsAreIgnoredAtEveryLevel() throws Exception {
        ExportTraceServiceRequest request = parseTraces(
                """
                {"newTopLevel":{"x":[1,2]},
                 "resourceSpans":[{"someday":true,"scopeSpans":[{"spans":[
                   {"name":"op","flagsV2":"x","traceId":"%s"}
                 ]}]}]}"""
                        .formatted(TRACE_ID));

        assertThat(request)
                .isEqualTo(ExportTraceServiceRequest.newBuilder()
                        .addResourceSpans(ResourceSpans.newBuilder()
                                .addScopeSpans(ScopeSpans.newBuilder()
                                        .addSpans(
                                                Span.newBuilder().setName("op").setTraceId(bytes(TRACE_ID)))))
                        .build());
    }

    @Test
    void bytesAttributesStayBase64() throws Exception {
        ExportTraceServiceRequest request = parseTraces(
                """
                {"resourceSpans":[{"scopeSpans":[{"spans":[
                  {"attributes":[{"key":"b","value":{"bytesValue":"AQID"}}]}
                ]}]}]}""");

        KeyValue attribute =
                request.getResourceSpans(0).getScopeSpans(0).getSpans(0).getAttributes(0);
        assertThat(attribute.getValue())
                .isEqualTo(AnyValue.newBuilder()
                        .setBytesValue(ByteString.copyFrom(new byte[] {1, 2, 3}))
                        .build());
    }

    @Test
    void snakeCaseKeysAreReadAndTheirIdsAreHexToo() throws Exception {
        ExportTraceServiceRequest request = parseTraces(
                """
                {"resource_spans":[{"scope_spans":[{"spans":[
                  {"trace_id":"%s","span_id":"%s"}
                ]}]}]}"""
                        .formatted(TRACE_ID, SPAN_ID));

        Span span = request.getResourceSpans(0).getScopeSpans(0).getSpans(0);
        assertThat(span.getTraceId()).isEqualTo(bytes(TRACE_ID));
        assertThat(span.getSpanId()).isEqualTo(bytes(SPAN_ID));
    }

    @Test
    void badHexSaysWhereAndWhat() {
        assertThatThrownBy(
                        () -> parseTraces(
                                """
                        {"resourceSpans":[{"scopeSpans":[{"spans":[{},{"traceId":"not-hex"}]}]}]}"""))
                .isInstanceOf(InvalidExportException.class)
                .hasMessage("resourceSpans[0].scopeSpans[0].spans[1].traceId must be 32 hex characters (or empty);"
                        + " got \"not-hex\"");
    }

    @Test
    void base64IdsAreRefusedRatherThanMisread() {
        // 24 base64 characters of a 16-byte id: the protobuf JSON mapping's form, which OTLP/JSON does not use.
        assertThatThrownBy(
                        () -> parseLogs(
                                """
                        {"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"W47/95gDgQPSabYzgT/GDA=="}]}]}]}"""))
                .isInstanceOf(InvalidExportException.class)
                .hasMessage("resourceLogs[0].scopeLogs[0].logRecords[0].traceId must be 32 hex characters (or empty);"
                        + " got \"W47/95gDgQPSabYzgT/GDA==\"");
    }

    @Test
    void hexOfTheWrongLengthIsDecodedForTheChecksAndAnIdOfTheWrongTypeIsRefused() throws Exception {
        // The item is dropped later, by ExportChecks, so that the rest of the request is still taken.
        assertThat(parseTraces(
                                """
                        {"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"eee19b7ec3c1b1"}]}]}]}""")
                        .getResourceSpans(0)
                        .getScopeSpans(0)
                        .getSpans(0)
                        .getSpanId())
                .isEqualTo(bytes("eee19b7ec3c1b1"));
        assertThatThrownBy(
                        () -> parseTraces(
                                """
                        {"resourceSpans":[{"scopeSpans":[{"spans":[{"links":[{"spanId":12}]}]}]}]}"""))
                .hasMessage("resourceSpans[0].scopeSpans[0].spans[0].links[0].spanId must be 16 hex characters (or"
                        + " empty); got 12");
    }

    @Test
    void brokenJsonSaysWhere() {
        assertThatThrownBy(() -> parseTraces("{\"resourceSpans\":[{]}"))
                .isInstanceOf(InvalidExportException.class)
                .hasMessage("the body is not valid JSON: Unexpected close marker ']': expected '}' at line 1 column 20"
                        + " (in resourceSpans[0])");
        assertThatThrownBy(() -> parseTraces("{\"resourceSpans\":[}"))
                .hasMessageStartingWith("the body is not valid JSON: ");
        assertThatThrownBy(() -> parseTraces("{\"resourceSpans\":[\n"))
                .hasMessage("the body is not valid JSON: Unexpected end-of-input: expected close marker for Array"
                        + " opened at line 1 column 18 at line 2 column 1 (in resourceSpans[0])");
        assertThatThrownBy(() -> parseTraces("{'resourceSpans':[]}"))
                .hasMessage("the body is not valid JSON: Unexpected character (''' (code 39)): was expecting"
                        + " double-quote to start field name at line 1 column 2");
        assertThatThrownBy(() -> parseTraces("{} {}"))
                .hasMessage("the body is not valid JSON: more follows the first JSON value");
        assertThatThrownBy(() -> parseTraces("{}x"))
                .hasMessage("the body is not valid JSON: more follows the first JSON value");
        assertThatThrownBy(() -> parseTraces("")).hasMessage("the body must be a JSON object; got nothing");
        assertThatThrownBy(() -> parseTraces(" \n")).hasMessage("the body must be a JSON object; got nothing");
        assertThatThrownBy(() -> parseTraces("[]")).hasMessage("the body must be a JSON object; got an array");
        assertThatThrownBy(() -> parseTraces("42")).hasMessage("the body must be a JSON object; got 42");
    }

    @Test
    void aBodyThatIsNotUtf8IsRefusedWhereverTheBadBytesAre() {
        byte[] prefix = "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"stringValue\":\""
                .getBytes(StandardCharsets.UTF_8);
        byte[] suffix = "\"}}]}]}]}".getBytes(StandardCharsets.UTF_8);
        for (byte[] bad : List.of(
                new byte[] {(byte) 0xE9}, // Latin-1
                new byte[] {(byte) 0xC0, (byte) 0xAF}, // an overlong '/'
                new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, // a surrogate
                new byte[] {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80})) { // above U+10FFFF
            byte[] body = new byte[prefix.length + bad.length + suffix.length];
            System.arraycopy(prefix, 0, body, 0, prefix.length);
            System.arraycopy(bad, 0, body, prefix.length, bad.length);
            System.arraycopy(suffix, 0, body, prefix.length + bad.length, suffix.length);

            assertThatThrownBy(() -> OtlpJson.parseLogs(body))
                    .isInstanceOf(InvalidExportException.class)
                    .hasMessage("the body is not valid UTF-8, which OTLP/JSON requires");
        }
        // UTF-16, which a JSON parser could recognize by its zero bytes, is not OTLP/JSON either
        assertThatThrownBy(() -> OtlpJson.parseLogs("{}".getBytes(StandardCharsets.UTF_16LE)))
                .hasMessage("the body is not valid UTF-8, which OTLP/JSON requires");
    }

    @Test
    void theUtf8CheckAcceptsWhatTheJdksDecoderAccepts() {
        // random short sequences, weighted towards the bytes where UTF-8's rules are
        int[] interesting = {
            0x00, 0x41, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0x90, 0x9F,
            0xA0
        };
        Random random = new Random(7);
        int valid = 0;
        for (int i = 0; i < 200_000; i++) {
            byte[] bytes = new byte[random.nextInt(12)];
            for (int b = 0; b < bytes.length; b++) {
                bytes[b] = (byte)
                        (random.nextBoolean() ? interesting[random.nextInt(interesting.length)] : random.nextInt());
            }
            boolean jdk;
            try {
                StandardCharsets.UTF_8
                        .newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(bytes));
                jdk = true;
            } catch (CharacterCodingException e) {
                jdk = false;
            }
            assertThat(OtlpJson.isUtf8(bytes))
                    .as(HexFormat.of().formatHex(bytes))
                    .isEqualTo(jdk);
            valid += jdk ? 1 : 0;
        }
        assertThat(valid).isBetween(10_000, 190_000);
    }

    @Test
    void wrongShapesAreReportedByTheProtobufMapping() {
        assertThatThrownBy(() -> parseTraces("{\"resourceSpans\":{}}"))
                .isInstanceOf(InvalidExportException.class)
                .hasMessageStartingWith("the body is not a valid OTLP/JSON ExportTraceServiceRequest: ");
        assertThatThrownBy(
                        () -> parseTraces(
                                """
                        {"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"soon"}]}]}]}"""))
                .hasMessageStartingWith("the body is not a valid OTLP/JSON ExportTraceServiceRequest: ")
                .hasMessageContaining("soon");
    }

    @Test
    void aNumberOfAMillionDigitsIsRefusedAtOnceWhateverTheFieldsType() {
        String digits = "1".repeat(1_000_000);
        for (String value : List.of(
                "\"timeUnixNano\":\"" + digits + "\"",
                "\"severityNumber\":\"" + digits + "\"",
                "\"droppedAttributesCount\":\"" + digits + "\"",
                "\"attributes\":[{\"key\":\"d\",\"value\":{\"doubleValue\":\"" + digits + "\"}}]",
                "\"body\":{\"arrayValue\":{\"values\":[{\"intValue\":\"" + digits + "\"}]}}")) {
            String json = "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{" + value + "}]}]}]}";
            long start = System.nanoTime();

            assertThatThrownBy(() -> parseLogs(json))
                    .isInstanceOf(InvalidExportException.class)
                    .hasMessageStartingWith("resourceLogs[0].scopeLogs[0].logRecords[0].")
                    .hasMessageEndingWith(" must be a number of at most 1024 characters; got 1000000 characters");
            // JsonFormat alone took 13 s for each: BigDecimal's parsing is quadratic in the digits
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(1));
        }
    }

    @Test
    void aNumberWithAHugeExponentIsReadAtOnce() throws Exception {
        // JsonFormat computed the billion digits of 1e999999999 before finding that it fits no integer field
        for (String value : List.of("1e999999999", "\"1e999999999\"", "1e-999999999", "\"-1E+999999999\"")) {
            for (String field : List.of(
                    "\"timeUnixNano\":" + value,
                    "\"flags\":" + value,
                    "\"severityNumber\":" + value,
                    "\"attributes\":[{\"key\":\"i\",\"value\":{\"intValue\":" + value + "}}]")) {
                String json = "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{" + field + "}]}]}]}";
                long start = System.nanoTime();

                assertThatThrownBy(() -> parseLogs(json)).as(field).isInstanceOf(InvalidExportException.class);
                assertThat(Duration.ofNanos(System.nanoTime() - start))
                        .as(field)
                        .isLessThan(Duration.ofSeconds(1));
            }
        }
        // a double that small is 0, as JsonFormat reads it; that large, out of range
        assertThat(parseLogs("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"attributes\":[{\"key\":\"d\","
                                + "\"value\":{\"doubleValue\":1e-999999999}}]}]}]}]}")
                        .getResourceLogs(0)
                        .getScopeLogs(0)
                        .getLogRecords(0)
                        .getAttributes(0)
                        .getValue()
                        .getDoubleValue())
                .isEqualTo(0.0);
        assertThatThrownBy(() -> parseLogs("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"attributes\":[{"
                        + "\"key\":\"d\",\"value\":{\"doubleValue\":1e999999999}}]}]}]}]}"))
                .hasMessageEndingWith("doubleValue must be a number within the range of a double; got 1e999999999");
    }

    @Test
    void numbersOfUpTo1024CharactersAreReadAsJsonFormatReadsThem() throws Exception {
        LogRecord log = parseLogs(
                        """
                        {"resourceLogs":[{"scopeLogs":[{"logRecords":[
                          {"timeUnixNano":"%s1700000000000000000","severityNumber":9}
                        ]}]}]}"""
                                .formatted("0".repeat(1000)))
                .getResourceLogs(0)
                .getScopeLogs(0)
                .getLogRecords(0);

        assertThat(log.getTimeUnixNano()).isEqualTo(1_700_000_000_000_000_000L);
        assertThat(log.getSeverityNumber()).isEqualTo(SeverityNumber.SEVERITY_NUMBER_INFO);
    }

    @Test
    void anEnumValueThatIsNeitherAnIntegerNorANameIsRefusedRatherThanDropped() {
        for (String value : List.of("1.5", "\"SEVERITY_NUMBER_NOPE\"", "true", "[9]", "{}", "1e400", "99999999999")) {
            assertThatThrownBy(
                            () -> parseLogs("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"severityNumber\":"
                                    + value + "}]}]}]}"))
                    .as(value)
                    .isInstanceOf(InvalidExportException.class)
                    .hasMessage("resourceLogs[0].scopeLogs[0].logRecords[0].severityNumber must be an integer (a value"
                            + " of enum SeverityNumber); got " + value);
        }
        assertThatThrownBy(
                        () -> parseTraces(
                                """
                        {"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":2,"status":{"code":1.5}}]}]}]}"""))
                .hasMessage("resourceSpans[0].scopeSpans[0].spans[0].status.code must be an integer (a value of enum"
                        + " StatusCode); got 1.5");
        assertThatThrownBy(
                        () -> parseMetrics(
                                """
                        {"resourceMetrics":[{"scopeMetrics":[{"metrics":[
                          {"name":"m","sum":{"aggregationTemporality":"CUMULATIVE","dataPoints":[{"asInt":"1"}]}}
                        ]}]}]}"""))
                .hasMessage("resourceMetrics[0].scopeMetrics[0].metrics[0].sum.aggregationTemporality must be an"
                        + " integer (a value of enum AggregationTemporality); got \"CUMULATIVE\"");
    }

    @Test
    void anEnumValueMayBeAnyIntegerOrTheNameOfAValue() throws Exception {
        for (String value : List.of("9", "9.0", "\"9\"", "\"SEVERITY_NUMBER_INFO\"")) {
            assertThat(parseLogs("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"severityNumber\":" + value
                                    + "}]}]}]}")
                            .getResourceLogs(0)
                            .getScopeLogs(0)
                            .getLogRecords(0)
                            .getSeverityNumber())
                    .as(value)
                    .isEqualTo(SeverityNumber.SEVERITY_NUMBER_INFO);
        }
        // a number the enum does not name (a later version's) is kept, as protobuf keeps it
        assertThat(parseLogs("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"severityNumber\":42}]}]}]}")
                        .getResourceLogs(0)
                        .getScopeLogs(0)
                        .getLogRecords(0)
                        .getSeverityNumberValue())
                .isEqualTo(42);
        assertThat(parseLogs("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"severityNumber\":null}]}]}]}")
                        .getResourceLogs(0)
                        .getScopeLogs(0)
                        .getLogRecords(0)
                        .getSeverityNumber())
                .isEqualTo(SeverityNumber.SEVERITY_NUMBER_UNSPECIFIED);
    }

    @Test
    void halfOfASurrogatePairInAStringIsRefusedRatherThanWrittenAsAQuestionMark() throws Exception {
        assertThatThrownBy(
                        () -> parseLogs(
                                """
                        {"resourceLogs":[{"scopeLogs":[{"logRecords":[
                          {"attributes":[{"key":"a","value":{"stringValue":"ok \\ud800"}}]}
                        ]}]}]}"""))
                .isInstanceOf(InvalidExportException.class)
                .hasMessage("resourceLogs[0].scopeLogs[0].logRecords[0].attributes[0].value.stringValue is not valid"
                        + " Unicode: character 3 is \\ud800, half of a surrogate pair");
        assertThatThrownBy(
                        () -> parseTraces(
                                """
                        {"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"\\udc00\\ud800"}]}]}]}"""))
                .hasMessage("resourceSpans[0].scopeSpans[0].spans[0].name is not valid Unicode: character 0 is \\udc00,"
                        + " half of a surrogate pair");
        // a whole pair is one character, written as its 4 bytes of UTF-8
        assertThat(parseLogs(
                                """
                        {"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"\\ud83d\\ude00"}}]}]}]}""")
                        .getResourceLogs(0)
                        .getScopeLogs(0)
                        .getLogRecords(0)
                        .getBody()
                        .getStringValue())
                .isEqualTo("\uD83D\uDE00");
    }

    private static ByteString bytes(String hex) {
        return ByteString.copyFrom(HexFormat.of().parseHex(hex));
    }

    private static ExportTraceServiceRequest parseTraces(String json) throws InvalidExportException {
        return OtlpJson.parseTraces(json.getBytes(StandardCharsets.UTF_8));
    }

    private static ExportLogsServiceRequest parseLogs(String json) throws InvalidExportException {
        return OtlpJson.parseLogs(json.getBytes(StandardCharsets.UTF_8));
    }

    private static ExportMetricsServiceRequest parseMetrics(String json) throws InvalidExportException {
        return OtlpJson.parseMetrics(json.getBytes(StandardCharsets.UTF_8));
    }
}
