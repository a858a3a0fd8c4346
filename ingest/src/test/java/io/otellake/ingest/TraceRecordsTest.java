package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
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
    void aRequestWithoutSpansIsNoRecord() {
        assertThat(TraceRecords.split(ExportTraceServiceRequest.getDefaultInstance()))
                .isEmpty();
    }
}
