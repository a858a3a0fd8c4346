package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class OtlpEncodingTest {
    @ParameterizedTest
    @ValueSource(
            strings = {
                "application/x-protobuf",
                "APPLICATION/X-PROTOBUF",
                " application/x-protobuf ",
                "application/x-protobuf; proto=opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest"
            })
    void protobuf(String contentType) {
        assertThat(OtlpEncoding.fromContentType(contentType)).contains(OtlpEncoding.PROTOBUF);
    }

    @ParameterizedTest
    @ValueSource(strings = {"application/json", "Application/JSON; charset=utf-8", "application/json;charset=UTF-8"})
    void json(String contentType) {
        assertThat(OtlpEncoding.fromContentType(contentType)).contains(OtlpEncoding.JSON);
    }

    @ParameterizedTest
    @NullAndEmptySource
    @ValueSource(
            strings = {
                "text/plain",
                "application/protobuf+json",
                "application/jsonx",
                "application/x-protobuf2",
                "json",
                ";application/json"
            })
    void unsupported(String contentType) {
        assertThat(OtlpEncoding.fromContentType(contentType)).isEmpty();
    }
}
