package io.otellake.schemas;

/**
 * The contract between ingest and the archiver on Kafka.
 *
 * <ul>
 *   <li>Each record's value is one serialized OTLP export request: {@code ExportTraceServiceRequest} on the traces
 *       topic, {@code ExportLogsServiceRequest} on the logs topic, {@code ExportMetricsServiceRequest} on the metrics
 *       topic, always protobuf, whatever the client sent.
 *   <li>Header {@link #TENANT_HEADER} holds the tenant id (UTF-8), already validated by ingest. A record without it,
 *       or with an invalid one, is a poison record.
 * </ul>
 */
public final class OtlpTopics {
    public static final String DEFAULT_TRACES_TOPIC = "otlp-traces";
    public static final String DEFAULT_LOGS_TOPIC = "otlp-logs";
    public static final String DEFAULT_METRICS_TOPIC = "otlp-metrics";
    public static final String TENANT_HEADER = "otel-lake-tenant";

    private OtlpTopics() {}
}
