package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Descriptors.Descriptor;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.metrics.v1.Histogram;
import io.opentelemetry.proto.metrics.v1.HistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class DecodeCostTest {
    private static long message(Descriptor type) {
        return DecodeCost.MESSAGE + DecodeCost.PER_FIELD * type.getFields().size();
    }

    /** The request, one ResourceSpans and one ScopeSpans around the spans. */
    private static long envelope() {
        return message(ExportTraceServiceRequest.getDescriptor())
                + message(ResourceSpans.getDescriptor())
                + message(ScopeSpans.getDescriptor());
    }

    private static byte[] traces(Span.Builder... spans) {
        ScopeSpans.Builder scope = ScopeSpans.newBuilder();
        for (Span.Builder span : spans) {
            scope.addSpans(span);
        }
        return ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder().addScopeSpans(scope))
                .build()
                .toByteArray();
    }

    @Test
    void everyMessageCostsItsObjectAndEveryFieldOfItsType() {
        byte[] body = traces(Span.newBuilder(), Span.newBuilder(), Span.newBuilder());

        assertThat(DecodeCost.estimate(OtlpSignal.TRACES, OtlpEncoding.PROTOBUF, body))
                .isEqualTo(body.length + envelope() + 3 * message(Span.getDescriptor()));
    }

    @Test
    void stringsAndBytesCostAnObjectAndTheirBytes() {
        byte[] body = traces(Span.newBuilder()
                .setName("checkout")
                .setTraceId(ByteString.copyFrom(new byte[16]))
                .addAttributes(KeyValue.newBuilder()
                        .setKey("k")
                        .setValue(AnyValue.newBuilder().setStringValue("vv"))));

        assertThat(DecodeCost.estimate(OtlpSignal.TRACES, OtlpEncoding.PROTOBUF, body))
                .isEqualTo(body.length
                        + envelope()
                        + message(Span.getDescriptor())
                        + DecodeCost.STRING
                        + 8 // name
                        + DecodeCost.STRING
                        + 16 // trace id
                        + message(KeyValue.getDescriptor())
                        + DecodeCost.STRING
                        + 1 // key
                        + message(AnyValue.getDescriptor())
                        + DecodeCost.STRING
                        + 2);
    }

    @Test
    void scalarsCostNothingBeyondTheirMessage() {
        byte[] body = traces(
                Span.newBuilder().setStartTimeUnixNano(1).setEndTimeUnixNano(2).setKindValue(2));

        assertThat(DecodeCost.estimate(OtlpSignal.TRACES, OtlpEncoding.PROTOBUF, body))
                .isEqualTo(body.length + envelope() + message(Span.getDescriptor()));
    }

    @Test
    void packedRepeatedScalarsCostEachElement() {
        HistogramDataPoint point = HistogramDataPoint.newBuilder()
                .addBucketCounts(1) // fixed64
                .addBucketCounts(2)
                .addBucketCounts(3)
                .addExplicitBounds(0.5) // double
                .addExplicitBounds(1.5)
                .build();
        byte[] body = ExportMetricsServiceRequest.newBuilder()
                .addResourceMetrics(ResourceMetrics.newBuilder()
                        .addScopeMetrics(ScopeMetrics.newBuilder()
                                .addMetrics(Metric.newBuilder()
                                        .setHistogram(Histogram.newBuilder().addDataPoints(point)))))
                .build()
                .toByteArray();

        assertThat(DecodeCost.estimate(OtlpSignal.METRICS, OtlpEncoding.PROTOBUF, body))
                .isEqualTo(body.length
                        + message(ExportMetricsServiceRequest.getDescriptor())
                        + message(ResourceMetrics.getDescriptor())
                        + message(ScopeMetrics.getDescriptor())
                        + message(Metric.getDescriptor())
                        + message(Histogram.getDescriptor())
                        + message(HistogramDataPoint.getDescriptor())
                        + 5 * DecodeCost.REPEATED_SCALAR);
    }

    @Test
    void unknownFieldsCostTheMostPerField() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        out.writeUInt64(100, 7);
        out.writeUInt64(101, 7);
        out.writeBytes(102, ByteString.copyFromUtf8("abc"));
        out.flush();
        byte[] body = traces(Span.parseFrom(bytes.toByteArray()).toBuilder());

        assertThat(DecodeCost.estimate(OtlpSignal.TRACES, OtlpEncoding.PROTOBUF, body))
                .isEqualTo(body.length
                        + envelope()
                        + message(Span.getDescriptor())
                        + 3 * DecodeCost.UNKNOWN
                        + DecodeCost.STRING
                        + 3);
    }

    @Test
    void aMalformedBodyCostsWhatWasCountedBeforeTheFault() {
        byte[] valid = traces(Span.newBuilder());
        byte[] body = Arrays.copyOf(valid, valid.length + 1); // then a tag 0, which no message may have

        assertThat(DecodeCost.estimate(OtlpSignal.TRACES, OtlpEncoding.PROTOBUF, body))
                .isEqualTo(body.length + envelope() + message(Span.getDescriptor()));
    }

    @Test
    void jsonCostsItsBytesAndEveryValueMemberAndElement() {
        byte[] body = "{\"a\":[1,2,{}],\"b\":\"{[,:\\\"x\"}".getBytes(StandardCharsets.UTF_8);
        // counted: { : [ , , { , :  (the brackets, commas and colons inside the string are not)
        long tokens = 1 + 8;

        assertThat(DecodeCost.estimate(OtlpSignal.LOGS, OtlpEncoding.JSON, body))
                .isEqualTo(DecodeCost.JSON_BYTE * body.length + DecodeCost.JSON_TOKEN * tokens);
    }

    @Test
    void anEmptyAttributeCostsFarMoreThanItsTwoBytes() {
        Span.Builder span = Span.newBuilder();
        for (int i = 0; i < 10_000; i++) {
            span.addAttributes(KeyValue.getDefaultInstance());
        }
        byte[] body = traces(span);

        assertThat(DecodeCost.estimate(OtlpSignal.TRACES, OtlpEncoding.PROTOBUF, body))
                .isGreaterThan(25L * body.length);
    }
}
