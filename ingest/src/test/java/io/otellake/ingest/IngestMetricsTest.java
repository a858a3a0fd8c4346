package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.otellake.schemas.TenantId;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class IngestMetricsTest {
    @Test
    void histogramsAreCumulativeWithSumAndCount() {
        IngestMetrics metrics = new IngestMetrics(() -> false);

        metrics.produced("t", true, TimeUnit.MILLISECONDS.toNanos(3));
        metrics.produced("t", true, TimeUnit.MILLISECONDS.toNanos(30));
        metrics.produced("t", true, TimeUnit.SECONDS.toNanos(11));

        assertThat(metrics.scrape().lines())
                .containsSubsequence(
                        "otel_lake_ingest_kafka_produce_duration_seconds_bucket{topic=\"t\",outcome=\"acknowledged\","
                                + "le=\"0.005\"} 1",
                        "otel_lake_ingest_kafka_produce_duration_seconds_bucket{topic=\"t\",outcome=\"acknowledged\","
                                + "le=\"0.025\"} 1",
                        "otel_lake_ingest_kafka_produce_duration_seconds_bucket{topic=\"t\",outcome=\"acknowledged\","
                                + "le=\"0.05\"} 2",
                        "otel_lake_ingest_kafka_produce_duration_seconds_bucket{topic=\"t\",outcome=\"acknowledged\","
                                + "le=\"10.0\"} 2",
                        "otel_lake_ingest_kafka_produce_duration_seconds_bucket{topic=\"t\",outcome=\"acknowledged\","
                                + "le=\"+Inf\"} 3",
                        "otel_lake_ingest_kafka_produce_duration_seconds_count{topic=\"t\",outcome=\"acknowledged\"} 3")
                .contains("otel_lake_ingest_kafka_reachable 0")
                .anyMatch(l -> l.matches("otel_lake_ingest_kafka_produce_duration_seconds_sum\\{topic=\"t\","
                        + "outcome=\"acknowledged\"} 11\\.03(2999|3)[0-9]*"));
    }

    @Test
    void tenantsBeyondTheCapAreCountedTogether() {
        IngestMetrics metrics = new IngestMetrics(() -> true);
        for (int i = 0; i < IngestMetrics.MAX_TENANTS; i++) {
            metrics.items(OtlpSignal.LOGS, TenantId.of("t" + i), 1, 0);
        }

        metrics.items(OtlpSignal.LOGS, TenantId.of("late-1"), 2, 1);
        metrics.items(OtlpSignal.LOGS, TenantId.of("late-2"), 3, 0);
        metrics.items(OtlpSignal.LOGS, TenantId.of("t7"), 4, 0);

        assertThat(metrics.scrape().lines())
                .contains(
                        "otel_lake_ingest_items_accepted_total{signal=\"logs\",tenant=\"~other\"} 5",
                        "otel_lake_ingest_items_rejected_total{signal=\"logs\",tenant=\"~other\"} 1",
                        "otel_lake_ingest_items_accepted_total{signal=\"logs\",tenant=\"t7\"} 5")
                .noneMatch(l -> l.contains("late-"));
    }

    @Test
    void inFlightBytesGoUpAndDown() {
        IngestMetrics metrics = new IngestMetrics(() -> true);

        metrics.received(OtlpSignal.TRACES, "grpc", 100);
        metrics.received(OtlpSignal.TRACES, "http", 50);
        long during = metrics.inFlightBytes();
        metrics.released(100);

        assertThat(during).isEqualTo(150);
        assertThat(metrics.inFlightBytes()).isEqualTo(50);
        assertThat(metrics.scrape().lines())
                .contains(
                        "otel_lake_ingest_received_bytes_total{signal=\"traces\",transport=\"grpc\"} 100",
                        "otel_lake_ingest_in_flight_bytes 50");
    }
}
