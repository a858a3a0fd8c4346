package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.ArrayValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.common.v1.KeyValueList;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class WireCheckTest {
    private static final int CASES = 3000;

    @Test
    void validRequestsPassWithTheParsersItemCountAndTraceIds() throws Exception {
        SplittableRandom random = new SplittableRandom(1);
        for (int i = 0; i < 200; i++) {
            ExportTraceServiceRequest traces = traces(random);
            WireCheck.Checked checked = WireCheck.traces(traces.toByteArray());
            assertThat(checked).isNotNull();
            assertThat(checked.items())
                    .isEqualTo(ExportChecks.checkSpans(traces).items());
            assertThat(checked.traceIds()).isEqualTo(traceIds(traces));

            ExportLogsServiceRequest logs = logs(random);
            WireCheck.Checked checkedLogs = WireCheck.logs(logs.toByteArray());
            assertThat(checkedLogs).isNotNull();
            assertThat(checkedLogs.items())
                    .isEqualTo(ExportChecks.checkLogRecords(logs).items());
        }
    }

    @Test
    void anEmptyRequestHasNoItems() {
        assertThat(WireCheck.traces(new byte[0])).isEqualTo(new WireCheck.Checked(0, List.of()));
        assertThat(WireCheck.logs(new byte[0])).isEqualTo(new WireCheck.Checked(0, List.of()));
    }

    @Test
    void invalidIdsAndInvalidUtf8AreLeftToTheParser() {
        ExportTraceServiceRequest shortId = ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .addScopeSpans(ScopeSpans.newBuilder()
                                .addSpans(Span.newBuilder()
                                        .setTraceId(ByteString.copyFrom(new byte[5]))
                                        .setSpanId(ByteString.copyFrom(new byte[8])))))
                .build();
        assertThat(WireCheck.traces(shortId.toByteArray())).isNull();
        Span valid = Span.newBuilder()
                .setTraceId(ByteString.fromHex("5b8efff798038103d269b633813fc60c"))
                .setSpanId(ByteString.fromHex("eee19b7ec3c1b174"))
                .build();
        for (Span withoutItsIds : List.of(
                valid.toBuilder().clearTraceId().build(),
                valid.toBuilder().clearSpanId().build(),
                valid.toBuilder().setTraceId(ByteString.copyFrom(new byte[16])).build(),
                valid.toBuilder().setSpanId(ByteString.copyFrom(new byte[8])).build())) {
            ExportTraceServiceRequest request = ExportTraceServiceRequest.newBuilder()
                    .addResourceSpans(ResourceSpans.newBuilder()
                            .addScopeSpans(
                                    ScopeSpans.newBuilder().addSpans(valid).addSpans(withoutItsIds)))
                    .build();
            assertThat(WireCheck.traces(request.toByteArray()))
                    .as(withoutItsIds.toString())
                    .isNull();
        }

        byte[] name = "name-xx".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        ExportLogsServiceRequest logs = ExportLogsServiceRequest.newBuilder()
                .addResourceLogs(ResourceLogs.newBuilder()
                        .addScopeLogs(ScopeLogs.newBuilder()
                                .addLogRecords(LogRecord.newBuilder()
                                        .setBody(AnyValue.newBuilder().setStringValue("name-xx")))))
                .build();
        byte[] bytes = logs.toByteArray();
        int at = indexOf(bytes, name) + 5;
        bytes[at] = (byte) 0xC0; // an overlong encoding: not UTF-8
        bytes[at + 1] = (byte) 0x80;
        assertThat(WireCheck.logs(bytes)).isNull();
        assertThat(parses(bytes, false)).isFalse();
    }

    /**
     * The guarantee, against the parser: whatever the bytes, a body WireCheck passes is one the parser parses and
     * ExportChecks accepts whole, with the same items and trace ids.
     */
    @Test
    void whatPassesParsesWithNothingRejected() throws Exception {
        SplittableRandom random = new SplittableRandom(2);
        int passed = 0;
        for (int i = 0; i < CASES; i++) {
            boolean traces = random.nextBoolean();
            byte[] bytes = mutate(
                    random, traces ? traces(random).toByteArray() : logs(random).toByteArray());
            WireCheck.Checked checked = traces ? WireCheck.traces(bytes) : WireCheck.logs(bytes);
            if (checked == null) {
                continue;
            }
            passed++;
            if (traces) {
                ExportTraceServiceRequest parsed = ExportTraceServiceRequest.parseFrom(bytes);
                OtlpSignal.DecodedExport expected = ExportChecks.checkSpans(parsed);
                assertThat(expected.rejected()).isZero();
                assertThat(checked.items()).isEqualTo(expected.items());
                assertThat(checked.traceIds()).isEqualTo(traceIds(parsed));
            } else {
                OtlpSignal.DecodedExport expected =
                        ExportChecks.checkLogRecords(ExportLogsServiceRequest.parseFrom(bytes));
                assertThat(expected.rejected()).isZero();
                assertThat(checked.items()).isEqualTo(expected.items());
            }
        }
        assertThat(passed).as("mutations that still pass").isGreaterThan(CASES / 10);
    }

    private static byte[] mutate(SplittableRandom r, byte[] b) {
        byte[] out = b.clone();
        switch (r.nextInt(6)) {
            case 0 -> {
                return out; // unchanged
            }
            case 1 -> out[r.nextInt(out.length)] = (byte) r.nextInt(256);
            case 2 -> {
                for (int i = 0; i < 4; i++) {
                    out[r.nextInt(out.length)] ^= (byte) (1 << r.nextInt(8));
                }
            }
            case 3 -> {
                return Arrays.copyOf(out, r.nextInt(out.length));
            }
            case 4 -> {
                // a high byte into a string-heavy region: often invalid UTF-8 with the framing intact
                out[r.nextInt(out.length)] = (byte) (0x80 | r.nextInt(128));
            }
            default -> {
                int at = r.nextInt(out.length);
                byte[] longer = new byte[out.length + 3];
                System.arraycopy(out, 0, longer, 0, at);
                longer[at] = (byte) r.nextInt(256);
                longer[at + 1] = (byte) r.nextInt(256);
                longer[at + 2] = (byte) r.nextInt(256);
                System.arraycopy(out, at, longer, at + 3, out.length - at);
                return longer;
            }
        }
        return out;
    }

    private static boolean parses(byte[] bytes, boolean traces) {
        try {
            if (traces) {
                ExportTraceServiceRequest.parseFrom(bytes);
            } else {
                ExportLogsServiceRequest.parseFrom(bytes);
            }
            return true;
        } catch (InvalidProtocolBufferException e) {
            return false;
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        throw new AssertionError("not found");
    }

    private static List<ByteString> traceIds(ExportTraceServiceRequest request) {
        List<ByteString> ids = new ArrayList<>();
        request.getResourceSpansList().forEach(rs -> rs.getScopeSpansList()
                .forEach(ss -> ss.getSpansList().forEach(s -> ids.add(s.getTraceId()))));
        return ids;
    }

    private static ByteString id(SplittableRandom r, int bytes) {
        byte[] b = new byte[bytes];
        for (int i = 0; i < bytes; i++) {
            b[i] = (byte) r.nextInt(256);
        }
        return ByteString.copyFrom(b);
    }

    private static KeyValue kv(String key, AnyValue value) {
        return KeyValue.newBuilder().setKey(key).setValue(value).build();
    }

    private static AnyValue str(String s) {
        return AnyValue.newBuilder().setStringValue(s).build();
    }

    private static AnyValue value(SplittableRandom r, int depth) {
        return switch (depth > 2 ? r.nextInt(5) : r.nextInt(7)) {
            case 0 -> str("välue-" + r.nextInt(1000) + " ✓");
            case 1 -> AnyValue.newBuilder().setIntValue(r.nextLong()).build();
            case 2 -> AnyValue.newBuilder().setDoubleValue(r.nextDouble()).build();
            case 3 -> AnyValue.newBuilder().setBoolValue(r.nextBoolean()).build();
            case 4 -> AnyValue.newBuilder().setBytesValue(id(r, r.nextInt(5))).build();
            case 5 ->
                AnyValue.newBuilder()
                        .setArrayValue(ArrayValue.newBuilder()
                                .addValues(value(r, depth + 1))
                                .addValues(value(r, depth + 1)))
                        .build();
            default ->
                AnyValue.newBuilder()
                        .setKvlistValue(KeyValueList.newBuilder().addValues(kv("nested", value(r, depth + 1))))
                        .build();
        };
    }

    private static Resource resource(SplittableRandom r) {
        return Resource.newBuilder()
                .addAttributes(kv("service.name", str("svc-" + r.nextInt(4))))
                .addAttributes(kv("host.name", str("node-" + r.nextInt(40))))
                .build();
    }

    static ExportTraceServiceRequest traces(SplittableRandom r) {
        ExportTraceServiceRequest.Builder request = ExportTraceServiceRequest.newBuilder();
        for (int res = 1 + r.nextInt(2); res > 0; res--) {
            ResourceSpans.Builder rs =
                    ResourceSpans.newBuilder().setResource(resource(r)).setSchemaUrl("https://x/1.26.0");
            for (int sc = 1 + r.nextInt(2); sc > 0; sc--) {
                ScopeSpans.Builder ss = ScopeSpans.newBuilder()
                        .setScope(InstrumentationScope.newBuilder()
                                .setName("scope")
                                .setVersion("1"));
                ByteString trace = id(r, 16);
                for (int s = r.nextInt(6); s > 0; s--) {
                    if (r.nextInt(3) == 0) {
                        trace = id(r, 16);
                    }
                    Span.Builder span = Span.newBuilder()
                            .setTraceId(trace)
                            .setSpanId(id(r, 8))
                            .setParentSpanId(r.nextBoolean() ? ByteString.EMPTY : id(r, 8))
                            .setName("GET /api/ordérs/" + r.nextInt(1000))
                            .setKind(Span.SpanKind.SPAN_KIND_SERVER)
                            .setStartTimeUnixNano(r.nextLong())
                            .setEndTimeUnixNano(r.nextLong())
                            .addAttributes(kv("attr", value(r, 0)))
                            .addAttributes(kv("http.route", str("/api/orders/{id}")));
                    if (r.nextInt(4) == 0) {
                        span.addEvents(Span.Event.newBuilder()
                                        .setName("exception")
                                        .addAttributes(kv("exception.message", str("boom " + r.nextInt()))))
                                .addLinks(Span.Link.newBuilder()
                                        .setTraceId(id(r, 16))
                                        .setSpanId(id(r, 8))
                                        .addAttributes(kv("k", value(r, 0))))
                                .setStatus(Status.newBuilder()
                                        .setCode(Status.StatusCode.STATUS_CODE_ERROR)
                                        .setMessage("failed"));
                    }
                    ss.addSpans(span);
                }
                rs.addScopeSpans(ss);
            }
            request.addResourceSpans(rs);
        }
        return request.build();
    }

    static ExportLogsServiceRequest logs(SplittableRandom r) {
        ExportLogsServiceRequest.Builder request = ExportLogsServiceRequest.newBuilder();
        for (int res = 1 + r.nextInt(2); res > 0; res--) {
            ResourceLogs.Builder rl = ResourceLogs.newBuilder().setResource(resource(r));
            for (int sc = 1 + r.nextInt(2); sc > 0; sc--) {
                ScopeLogs.Builder sl = ScopeLogs.newBuilder()
                        .setScope(InstrumentationScope.newBuilder().setName("s"));
                for (int l = r.nextInt(6); l > 0; l--) {
                    LogRecord.Builder log = LogRecord.newBuilder()
                            .setTimeUnixNano(r.nextLong())
                            .setSeverityNumberValue(r.nextInt(25))
                            .setSeverityText("INFO")
                            .setBody(r.nextInt(3) == 0 ? value(r, 0) : str("order=" + r.nextInt() + " ünïcode"))
                            .addAttributes(kv("thread.id", value(r, 0)));
                    if (r.nextBoolean()) {
                        log.setTraceId(id(r, 16)).setSpanId(id(r, 8)).setFlags(1);
                    }
                    sl.addLogRecords(log);
                }
                rl.addScopeLogs(sl);
            }
            request.addResourceLogs(rl);
        }
        return request.build();
    }
}
