package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonPrimitive;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.OneofDescriptor;
import com.google.protobuf.Message;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@link OtlpJson} reads every request as {@link OtlpJsonReference} (a Gson tree, ids rewritten, protobuf's
 * JsonFormat) does: the same message from what both accept, a refusal of what the reference refuses. The requests are
 * generated from the OTLP messages' descriptors, every field in every form the mapping allows (numbers as strings and
 * as decimals, enums as names, bytes with and without padding, snake_case keys, unknown fields, nulls), and then broken
 * in the ways a client breaks them (a value of the wrong type, out of range, a second member of a oneof, bad hex, half
 * a surrogate pair, an array where an object belongs). The one difference on purpose: a key twice in one object, which
 * the reference read as its last value, is refused.
 */
class OtlpJsonDifferentialTest {
    private static final List<Descriptor> REQUESTS = List.of(
            ExportTraceServiceRequest.getDescriptor(),
            ExportLogsServiceRequest.getDescriptor(),
            ExportMetricsServiceRequest.getDescriptor());

    private static final Set<String> HEX_IDS = Set.of(
            "opentelemetry.proto.trace.v1.Span.trace_id",
            "opentelemetry.proto.trace.v1.Span.span_id",
            "opentelemetry.proto.trace.v1.Span.parent_span_id",
            "opentelemetry.proto.trace.v1.Span.Link.trace_id",
            "opentelemetry.proto.trace.v1.Span.Link.span_id",
            "opentelemetry.proto.logs.v1.LogRecord.trace_id",
            "opentelemetry.proto.logs.v1.LogRecord.span_id",
            "opentelemetry.proto.metrics.v1.Exemplar.trace_id",
            "opentelemetry.proto.metrics.v1.Exemplar.span_id");

    /** The types whose values the reference reads from an array of one ({@code [1]}), as that element. */
    private static final Set<FieldDescriptor.JavaType> SCALARS = Set.of(
            FieldDescriptor.JavaType.INT,
            FieldDescriptor.JavaType.LONG,
            FieldDescriptor.JavaType.FLOAT,
            FieldDescriptor.JavaType.DOUBLE,
            FieldDescriptor.JavaType.STRING,
            FieldDescriptor.JavaType.BOOLEAN,
            FieldDescriptor.JavaType.BYTE_STRING);

    @Test
    void validRequestsInEveryFormTheMappingAllowsAreReadAlike() throws Exception {
        int spans = 0;
        for (int seed = 0; seed < 3000; seed++) {
            Generated request = generate(seed, 0.0);
            Message expected = reference(request.type, request.json);
            Message actual = parse(request.type, request.json);

            assertThat(actual).as("seed %d: %s", seed, request.json).isEqualTo(expected);
            if (actual instanceof ExportTraceServiceRequest traces) {
                spans += traces.getResourceSpansList().stream()
                        .flatMap(rs -> rs.getScopeSpansList().stream())
                        .mapToInt(ss -> ss.getSpansCount())
                        .sum();
            }
        }
        assertThat(spans).as("the generator writes spans").isGreaterThan(1000);
    }

    @Test
    void brokenRequestsAreRefusedByBothOrReadAlike() throws Exception {
        int refused = 0;
        int accepted = 0;
        int duplicates = 0;
        for (int seed = 0; seed < 6000; seed++) {
            Generated request = generate(seed, 0.03);
            Message expected;
            try {
                expected = reference(request.type, request.json);
            } catch (InvalidExportException e) {
                refused++;
                assertThatExceptionOfType(InvalidExportException.class)
                        .as("seed %d, refused by the reference (%s): %s", seed, e.getMessage(), request.json)
                        .isThrownBy(() -> parse(request.type, request.json));
                continue;
            }
            if (request.duplicateKey || request.arrayOfOne) {
                duplicates++;
                assertThatExceptionOfType(InvalidExportException.class)
                        .as("seed %d: %s", seed, request.json)
                        .isThrownBy(() -> parse(request.type, request.json));
                continue;
            }
            accepted++;
            assertThat(parse(request.type, request.json))
                    .as("seed %d: %s", seed, request.json)
                    .isEqualTo(expected);
        }
        assertThat(refused).as("refused").isGreaterThan(1000);
        assertThat(accepted).as("accepted").isGreaterThan(1000);
        assertThat(duplicates)
                .as("accepted by the reference with a key twice or [1] for a number")
                .isGreaterThan(10);
    }

    /** An exponent of 4 digits or more: JsonFormat computes 10 to its power for an integer field. */
    private static final Pattern HUGE_EXPONENT = Pattern.compile("[0-9][eE][+-]?[0-9]{4,}");

    @Test
    void requestsWithBrokenSyntaxAreRefusedByBothOrReadAlike() throws Exception {
        String significant = "{}[],:\"\\ 0123456789.eE+-tfnulx";
        int refused = 0;
        int accepted = 0;
        for (int seed = 0; seed < 6000; seed++) {
            Generated request = generate(seed, 0.0);
            Random random = new Random(seed);
            StringBuilder json = new StringBuilder(request.json);
            for (int edit = 0, edits = 1 + random.nextInt(3); edit < edits; edit++) {
                int at = random.nextInt(json.length() + 1);
                char c = significant.charAt(random.nextInt(significant.length()));
                switch (random.nextInt(3)) {
                    case 0 -> json.delete(at, Math.min(at + 1, json.length()));
                    case 1 -> json.insert(at, c);
                    default -> json.replace(at, Math.min(at + 1, json.length()), String.valueOf(c));
                }
            }
            String broken = json.toString();
            if (HUGE_EXPONENT.matcher(broken).find()) {
                continue; // the reference takes minutes on these (OtlpJsonTest has them)
            }
            Message expected;
            try {
                expected = reference(request.type, broken);
            } catch (InvalidExportException e) {
                refused++;
                assertThatExceptionOfType(InvalidExportException.class)
                        .as("seed %d, refused by the reference (%s): %s", seed, e.getMessage(), broken)
                        .isThrownBy(() -> parse(request.type, broken));
                continue;
            }
            if (hasKeyTwice(broken)) {
                continue; // the edit made a key appear twice: the reference read the last, OtlpJson refuses
            }
            accepted++;
            assertThat(parse(request.type, broken))
                    .as("seed %d: %s", seed, broken)
                    .isEqualTo(expected);
        }
        assertThat(refused).as("refused").isGreaterThan(1000);
        assertThat(accepted).as("accepted").isGreaterThan(300);
    }

    /** Whether OtlpJson refuses the text for a key twice in one object. */
    private static boolean hasKeyTwice(String json) {
        try {
            parse(ExportTraceServiceRequest.getDescriptor(), json);
            return false;
        } catch (InvalidExportException e) {
            return e.getMessage().contains(" a second time in one object");
        }
    }

    @Test
    void jsonNestedUpToGsonsLimitIsReadAlikeAndDeeperIsRefusedByBoth() throws Exception {
        // an unknown field's value: no messages, only JSON arrays, so only the JSON nesting limit applies
        for (int arrays = 250; arrays <= 260; arrays++) {
            String json = "{\"unknown\":" + "[".repeat(arrays) + "]".repeat(arrays) + "}";
            Message expected;
            try {
                expected = reference(ExportTraceServiceRequest.getDescriptor(), json);
            } catch (InvalidExportException e) {
                assertThat(arrays + 1).as("levels with the object").isGreaterThan(OtlpJson.MAX_JSON_DEPTH);
                int depth = arrays;
                assertThatExceptionOfType(InvalidExportException.class)
                        .as("%d arrays", depth)
                        .isThrownBy(() -> parse(ExportTraceServiceRequest.getDescriptor(), json))
                        .withMessageStartingWith(
                                "the body is not valid JSON: Document nesting depth (256) exceeds the maximum"
                                        + " allowed (255) (in unknown[0][0][0]");
                continue;
            }
            assertThat(parse(ExportTraceServiceRequest.getDescriptor(), json))
                    .as("%d arrays", arrays)
                    .isEqualTo(expected);
        }
    }

    @Test
    void messagesNestedUpToTheLimitAreReadAlikeAndOneMoreIsRefusedByBoth() throws Exception {
        // resourceLogs[0].scopeLogs[0].logRecords[0] is 3 messages deep, its body 4, each array value 2 more
        for (int depth = 94; depth <= 106; depth += 2) {
            StringBuilder value = new StringBuilder("{\"stringValue\":\"leaf\"}");
            for (int d = 4; d + 2 <= depth; d += 2) {
                value.insert(0, "{\"arrayValue\":{\"values\":[").append("]}}");
            }
            String json = "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":" + value + "}]}]}]}";
            Message expected;
            try {
                expected = reference(ExportLogsServiceRequest.getDescriptor(), json);
            } catch (InvalidExportException e) {
                assertThatThrownBy(() -> parse(ExportLogsServiceRequest.getDescriptor(), json))
                        .as("depth %d", depth)
                        .hasMessageEndingWith(" is nested more than 100 messages deep");
                continue;
            }
            assertThat(depth).isLessThanOrEqualTo(OtlpJson.MAX_MESSAGE_DEPTH);
            assertThat(parse(ExportLogsServiceRequest.getDescriptor(), json))
                    .as("depth %d", depth)
                    .isEqualTo(expected);
        }
    }

    /** The reference's reading of the body that {@code json} is sent as: its UTF-8 bytes, decoded again. */
    private static Message reference(Descriptor type, String json) throws InvalidExportException {
        String body;
        try {
            body = StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(json.getBytes(StandardCharsets.UTF_8)))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new InvalidExportException("the body is not valid UTF-8, which OTLP/JSON requires");
        }
        return referenceOfText(type, body);
    }

    private static Message referenceOfText(Descriptor type, String json) throws InvalidExportException {
        if (type == ExportTraceServiceRequest.getDescriptor()) {
            return OtlpJsonReference.parseTraces(json);
        }
        if (type == ExportLogsServiceRequest.getDescriptor()) {
            return OtlpJsonReference.parseLogs(json);
        }
        return OtlpJsonReference.parseMetrics(json);
    }

    private static Message parse(Descriptor type, String json) throws InvalidExportException {
        byte[] utf8 = json.getBytes(StandardCharsets.UTF_8);
        if (type == ExportTraceServiceRequest.getDescriptor()) {
            return OtlpJson.parseTraces(utf8);
        }
        if (type == ExportLogsServiceRequest.getDescriptor()) {
            return OtlpJson.parseLogs(utf8);
        }
        return OtlpJson.parseMetrics(utf8);
    }

    private record Generated(Descriptor type, String json, boolean duplicateKey, boolean arrayOfOne) {}

    private static Generated generate(long seed, double breakRate) {
        Random random = new Random(seed);
        Descriptor type = REQUESTS.get(random.nextInt(REQUESTS.size()));
        Writer writer = new Writer(random, breakRate);
        writer.message(type, 0);
        return new Generated(type, writer.out.toString(), writer.duplicateKey, writer.arrayOfOne);
    }

    /** Writes a random request of a type as OTLP/JSON, breaking a value now and then at {@code breakRate}. */
    private static final class Writer {
        private final Random random;
        private final double breakRate;
        private final StringBuilder out = new StringBuilder();
        private boolean duplicateKey;
        /**
         * Whether a scalar field got {@code [1]}: Gson's tree reads an array of one element as that element, so the
         * reference takes it (a string field as "1"); OtlpJson does not.
         */
        private boolean arrayOfOne;

        Writer(Random random, double breakRate) {
            this.random = random;
            this.breakRate = breakRate;
        }

        private boolean breakNow() {
            return random.nextDouble() < breakRate;
        }

        void message(Descriptor type, int depth) {
            out.append('{');
            List<FieldDescriptor> fields = new ArrayList<>(type.getFields());
            Collections.shuffle(fields, random);
            List<OneofDescriptor> oneofsSet = new ArrayList<>();
            boolean first = true;
            for (FieldDescriptor field : fields) {
                if (random.nextDouble() > (depth < 4 ? 0.8 : 0.45)) {
                    continue;
                }
                if (field.getJavaType() == FieldDescriptor.JavaType.MESSAGE && depth > 7) {
                    continue;
                }
                OneofDescriptor oneof = field.getContainingOneof();
                if (oneof != null && oneofsSet.contains(oneof) && !breakNow()) {
                    continue;
                }
                if (oneof != null) {
                    oneofsSet.add(oneof);
                }
                first = separator(first);
                if (random.nextInt(20) == 0) {
                    unknownField();
                    out.append(',');
                }
                key(field);
                fieldValue(field, depth);
                if (breakNow()) {
                    duplicateKey = true;
                    out.append(',');
                    key(field);
                    fieldValue(field, depth);
                }
            }
            if (random.nextInt(10) == 0) {
                separator(first);
                unknownField();
            }
            out.append('}');
        }

        private boolean separator(boolean first) {
            if (!first) {
                out.append(',');
            }
            return false;
        }

        private void key(FieldDescriptor field) {
            String key = random.nextInt(4) == 0 ? field.getName() : field.getJsonName();
            out.append('"').append(key).append("\":");
        }

        private void unknownField() {
            out.append("\"").append(random.nextBoolean() ? "futureField" : "x_").append(random.nextInt(100));
            out.append("\":");
            anyJson(0);
        }

        /** Any JSON value, for unknown fields. */
        private void anyJson(int depth) {
            switch (depth > 2 ? random.nextInt(4) : random.nextInt(6)) {
                case 0 -> out.append(random.nextLong());
                case 1 -> out.append(new JsonPrimitive("s\\\"\u00e9" + random.nextInt()));
                case 2 -> out.append(random.nextBoolean());
                case 3 -> out.append("null");
                case 4 -> {
                    out.append('[');
                    for (int i = 0, n = random.nextInt(3); i < n; i++) {
                        if (i > 0) {
                            out.append(',');
                        }
                        anyJson(depth + 1);
                    }
                    out.append(']');
                }
                default -> {
                    out.append("{\"traceId\":");
                    anyJson(depth + 1);
                    out.append('}');
                }
            }
        }

        private void fieldValue(FieldDescriptor field, int depth) {
            if (random.nextInt(30) == 0) {
                out.append("null");
                return;
            }
            if (!field.isRepeated()) {
                if (breakNow()) {
                    boolean one = random.nextBoolean();
                    out.append(one ? "[1]" : "[]"); // an array for one value
                    arrayOfOne |=
                            one && SCALARS.contains(field.getJavaType()) && !HEX_IDS.contains(field.getFullName());
                    return;
                }
                value(field, depth);
                return;
            }
            if (breakNow()) {
                value(field, depth); // one value where an array belongs
                return;
            }
            out.append('[');
            int n = field.getJavaType() == FieldDescriptor.JavaType.MESSAGE
                    ? random.nextInt(depth < 3 ? 4 : 3)
                    : random.nextInt(5);
            for (int i = 0; i < n; i++) {
                if (i > 0) {
                    out.append(',');
                }
                if (breakNow()) {
                    out.append("null");
                } else {
                    value(field, depth);
                }
            }
            out.append(']');
        }

        private void value(FieldDescriptor field, int depth) {
            if (breakNow()) {
                wrongShape(field);
                return;
            }
            if (HEX_IDS.contains(field.getFullName())) {
                hexId(field.getName().equals("trace_id") ? 16 : 8);
                return;
            }
            switch (field.getType()) {
                case MESSAGE -> message(field.getMessageType(), depth + 1);
                case INT32, SINT32, SFIXED32 -> integer(BigInteger.valueOf(random.nextInt()));
                case INT64, SINT64, SFIXED64 -> integer(BigInteger.valueOf(random.nextLong()));
                case UINT32, FIXED32 -> integer(BigInteger.valueOf(random.nextInt() & 0xFFFF_FFFFL));
                case UINT64, FIXED64 -> integer(new BigInteger(64, random));
                case DOUBLE, FLOAT -> doubleValue();
                case BOOL -> {
                    boolean b = random.nextBoolean();
                    out.append(random.nextInt(4) == 0 ? "\"" + b + "\"" : b);
                }
                case STRING -> string();
                case BYTES -> bytes();
                case ENUM -> enumValue(field);
                default -> throw new IllegalStateException(field.getType().toString());
            }
        }

        /** A value of the wrong type, or of the right type out of range: always wrong for the field. */
        private void wrongShape(FieldDescriptor field) {
            List<String> wrong = new ArrayList<>(List.of("{}", "[]", "{\"a\":1}"));
            switch (field.getJavaType()) {
                case MESSAGE -> wrong.addAll(List.of("1", "\"x\"", "true"));
                case INT, LONG -> wrong.addAll(List.of("1.5", "\"abc\"", "true", "\"\"", "1e30", "\" 1\""));
                case DOUBLE, FLOAT -> wrong.addAll(List.of("\"abc\"", "true", "1e400", "\"-1e999\"", "\"\""));
                case BOOLEAN -> wrong.addAll(List.of("1", "\"yes\"", "\"TRUE\""));
                case STRING -> wrong.addAll(List.of("\"a\\ud800\"", "\"\\udc00b\""));
                case BYTE_STRING ->
                    wrong.addAll(
                            HEX_IDS.contains(field.getFullName())
                                    ? List.of("\"abc\"", "\"xyzw\"", "12", "true", "\"AAECAwQFBgc=\"")
                                    : List.of("\"a\"", "\"ab*d\"", "\"AB+_\"", "true"));
                case ENUM -> wrong.addAll(List.of("1.5", "\"NOPE\"", "true", "1e12", "\"\""));
                default -> {
                    // no other types in OTLP
                }
            }
            if (field.getType() == FieldDescriptor.Type.UINT64
                    || field.getType() == FieldDescriptor.Type.FIXED64
                    || field.getType() == FieldDescriptor.Type.UINT32
                    || field.getType() == FieldDescriptor.Type.FIXED32) {
                wrong.addAll(List.of("-1", "\"18446744073709551616\"", "4294967296e10"));
            }
            out.append(wrong.get(random.nextInt(wrong.size())));
        }

        private void hexId(int bytes) {
            int length = random.nextInt(8) == 0 ? random.nextInt(3) * 4 : bytes; // sometimes empty or short
            byte[] id = new byte[length];
            random.nextBytes(id);
            String hex = HexFormat.of().formatHex(id);
            out.append('"')
                    .append(random.nextBoolean() ? hex : hex.toUpperCase())
                    .append('"');
        }

        private void integer(BigInteger value) {
            String digits = value.toString();
            switch (random.nextInt(6)) {
                case 0, 1 -> out.append(digits);
                case 2, 3 -> out.append('"').append(digits).append('"');
                case 4 -> out.append(digits).append(".0"); // an integer written as a decimal
                default -> out.append('"').append(digits).append("e0\"");
            }
        }

        private void doubleValue() {
            switch (random.nextInt(9)) {
                case 0 -> out.append(random.nextInt(1000));
                case 1 -> out.append('"').append(random.nextGaussian()).append('"');
                case 2 ->
                    out.append(
                            List.of("\"NaN\"", "\"Infinity\"", "\"-Infinity\"").get(random.nextInt(3)));
                case 3 ->
                    out.append(List.of("-0", "-0.0", "0.0", "1E-400", "-1e-400").get(random.nextInt(5)));
                case 4 -> out.append(random.nextDouble() * 1e300);
                case 5 -> out.append(Double.MIN_VALUE * random.nextInt(1000));
                default -> out.append(random.nextGaussian() * 1000);
            }
        }

        private void string() {
            switch (random.nextInt(8)) {
                case 0 -> out.append(random.nextInt()); // JsonFormat reads a number as its text
                case 1 -> out.append(random.nextBoolean());
                case 2 -> out.append("\"\\u0041\\ud83d\\ude00\\n\\t\\\"\\\\/\"");
                default -> {
                    StringBuilder s = new StringBuilder();
                    String pool = "abcXYZ019 -_./:\"\\\u00e9\u4e2d\n\u0001\ud83d\ude00";
                    for (int i = 0, n = random.nextInt(12); i < n; i++) {
                        int at = random.nextInt(pool.length() - 1);
                        char c = pool.charAt(at);
                        s.append(c);
                        if (Character.isHighSurrogate(c)) {
                            s.append(pool.charAt(at + 1));
                        }
                    }
                    out.append(new JsonPrimitive(s.toString()));
                }
            }
        }

        private void bytes() {
            byte[] value = new byte[random.nextInt(10)];
            random.nextBytes(value);
            String base64 = random.nextBoolean()
                    ? Base64.getEncoder().encodeToString(value)
                    : Base64.getUrlEncoder().encodeToString(value);
            out.append('"')
                    .append(random.nextBoolean() ? base64 : base64.replace("=", ""))
                    .append('"');
        }

        private void enumValue(FieldDescriptor field) {
            List<EnumValueDescriptor> values = field.getEnumType().getValues();
            EnumValueDescriptor value = values.get(random.nextInt(values.size()));
            switch (random.nextInt(6)) {
                case 0 -> out.append('"').append(value.getName()).append('"');
                case 1 -> out.append('"').append(value.getNumber()).append('"');
                case 2 -> out.append(value.getNumber()).append(".0");
                case 3 -> out.append(random.nextInt(100) + 50); // a number a later version may name
                default -> out.append(value.getNumber());
            }
        }
    }

    @Test
    void theGeneratorReachesEveryKindOfAnyValue() {
        // AnyValue is where most of a request's values are; a generator that missed a kind would test little.
        Set<String> kinds = new java.util.HashSet<>();
        for (int seed = 0; seed < 300; seed++) {
            Generated request = generate(seed, 0.0);
            for (FieldDescriptor f : AnyValue.getDescriptor().getFields()) {
                if (request.json.contains("\"" + f.getJsonName() + "\"")) {
                    kinds.add(f.getJsonName());
                }
            }
        }
        assertThat(kinds)
                .containsExactlyInAnyOrder(
                        "stringValue",
                        "boolValue",
                        "intValue",
                        "doubleValue",
                        "arrayValue",
                        "kvlistValue",
                        "bytesValue",
                        "stringValueStrindex");
    }
}
