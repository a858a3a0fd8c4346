package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsPartialSuccess;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsPartialSuccess;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.ExportTracePartialSuccess;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.opentelemetry.proto.metrics.v1.Exemplar;
import io.opentelemetry.proto.metrics.v1.Gauge;
import io.opentelemetry.proto.metrics.v1.Histogram;
import io.opentelemetry.proto.metrics.v1.HistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.NumberDataPoint;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.otellake.infra.KafkaBroker;
import io.otellake.schemas.TenantTokens;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.zip.GZIPOutputStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The OTLP conformance cases, written once and run against every transport on a real ingest and a real Kafka broker
 * (the pattern of OpenTelemetry Java's abstract exporter tests): a subclass says how to send a request and how to read
 * the answer as a gRPC-style code. Cases that exist on one transport only (JSON, 404/405/415) live in that
 * transport's own test.
 *
 * <p>The test JVM's heap is capped (see the failsafe argLine in the module's pom), so the gzip bomb case would fail
 * with OutOfMemoryError, not 413, if ingest inflated the bomb into memory.
 */
abstract class OtlpConformanceIT {
    static final Duration KAFKA_TIMEOUT = Duration.ofSeconds(2);
    static final int MAX_BODY_BYTES = IngestConfig.DEFAULT_MAX_BODY_BYTES;

    /** 1 GiB of zeros, gzipped (about 1 MiB): computed once, for every transport. */
    private static byte @Nullable [] gzipBomb;

    static final String TEAM_A_TOKEN = "team-a-secret";
    static final String ADMIN_TOKEN = "admin-secret";

    static KafkaBroker kafka;
    static Ingest ingest;
    /** The same topics, behind authentication: team-a's token and an admin token. */
    static Ingest securedIngest;
    /** The same topics, with an in-flight byte budget as small as its body limit. */
    static Ingest budgetIngest;

    static final int BUDGET_BYTES = 64 * 1024;

    static Map<OtlpSignal, TopicReader> topics;

    /** The status of an answer, named as in gRPC; HTTP maps 200, 400, 413 and 503 to these. */
    enum Code {
        OK,
        INVALID_ARGUMENT,
        RESOURCE_EXHAUSTED,
        UNAVAILABLE,
        UNAUTHENTICATED,
        PERMISSION_DENIED,
        OTHER
    }

    /**
     * An answer.
     *
     * @param code the status
     * @param body the protobuf response when OK
     * @param message the error message when not OK
     * @param retryDelay when to retry, from Retry-After or RetryInfo; null if the answer did not say. A
     *     RESOURCE_EXHAUSTED answer without one is not to be retried: 413 over HTTP, where 429 always has one
     */
    record Answer(Code code, byte[] body, String message, @Nullable Duration retryDelay) {}

    @BeforeAll
    static void startIngest() {
        kafka = TestKafka.broker();
        IngestConfig config = TestKafka.ingestConfig()
                .tracesTopic("conformance-traces")
                .logsTopic("conformance-logs")
                .metricsTopic("conformance-metrics")
                .kafkaTimeout(KAFKA_TIMEOUT)
                // Redaction is off, except for tenant "redacted".
                .redaction(
                        RedactionConfig.fromEnvironment(Map.of(RedactionConfig.ENV_TENANTS, "redacted:enabled=true")))
                .build();
        ingest = Ingest.start(config);
        securedIngest = Ingest.start(config.toBuilder()
                .authEnabled(true)
                .authTokens("team-a=" + TenantTokens.hashOf(TEAM_A_TOKEN) + ", *=" + TenantTokens.hashOf(ADMIN_TOKEN))
                .build());
        budgetIngest = Ingest.start(config.toBuilder()
                .maxBodyBytes(BUDGET_BYTES)
                .maxInFlightBytes(BUDGET_BYTES)
                .build());
        topics = new EnumMap<>(OtlpSignal.class);
        for (OtlpSignal signal : OtlpSignal.values()) {
            topics.put(
                    signal,
                    new TopicReader(kafka.bootstrapServers(), ingest.config().topic(signal)));
        }
    }

    @AfterAll
    static void stopIngest() {
        topics.values().forEach(TopicReader::close);
        securedIngest.close();
        budgetIngest.close();
        ingest.close();
    }

    /**
     * Sends one export request's bytes as they are.
     *
     * @param tenant the tenant header (or metadata); none if null
     * @param body the serialized request, already gzipped if {@code gzipped}
     * @param gzipped whether to declare the body gzip-compressed
     */
    abstract Answer send(
            Ingest target,
            OtlpSignal signal,
            @Nullable String tenant,
            @Nullable String authorization,
            byte[] body,
            boolean gzipped);

    /** The transport's label in /metrics. */
    abstract String transport();

    /** The {@code status} label in /metrics of an answer with this code: the HTTP status, or the gRPC code. */
    abstract String statusLabel(Code code);

    /** Sends to the ingest without authentication, with no Authorization. */
    final Answer send(OtlpSignal signal, @Nullable String tenant, byte[] body, boolean gzipped) {
        return send(ingest, signal, tenant, null, body, gzipped);
    }

    /** Sends a trace request to the ingest with authentication. */
    final Answer sendSecured(@Nullable String tenant, @Nullable String authorization, Message request) {
        return send(securedIngest, OtlpSignal.TRACES, tenant, authorization, request.toByteArray(), false);
    }

    @Test
    void withAuthenticationAMissingOrUnknownTokenIsUnauthenticatedAndCounted() {
        long before = refused("unauthenticated");
        var mark = topics.get(OtlpSignal.TRACES).mark();

        Answer none = sendSecured("team-a", null, traces(1));
        Answer unknown = sendSecured("team-a", "Bearer not-a-token", traces(1));
        Answer basic = sendSecured(null, "Basic dGVhbS1hOnNlY3JldA==", traces(1));
        // who asks comes before what the tenant header says
        Answer badTenant = sendSecured("../team-a", null, traces(1));

        assertThat(List.of(none, unknown, basic, badTenant))
                .extracting(Answer::code)
                .containsOnly(Code.UNAUTHENTICATED);
        assertThat(none.message()).isEqualTo("a bearer token is required: Authorization: Bearer <token>");
        assertThat(unknown.message()).isEqualTo("the bearer token is not valid");
        assertThat(topics.get(OtlpSignal.TRACES).mark()).isEqualTo(mark);
        assertThat(refused("unauthenticated")).isEqualTo(before + 4);
    }

    @Test
    void withAuthenticationAMalformedBodyWithoutATokenIsUnauthenticatedNotInvalid() {
        long before = refused("unauthenticated");
        byte[] corrupt = gzip(traces(3).toByteArray());
        for (int i = 10; i < corrupt.length - 8; i++) {
            corrupt[i] ^= 0x5a;
        }

        Answer garbage = send(securedIngest, OtlpSignal.TRACES, "team-a", null, new byte[] {-1, -1, -1}, false);
        Answer badGzip = send(securedIngest, OtlpSignal.TRACES, "team-a", null, corrupt, true);

        assertThat(List.of(garbage, badGzip)).extracting(Answer::code).containsOnly(Code.UNAUTHENTICATED);
        assertThat(refused("unauthenticated")).isEqualTo(before + 2);
    }

    @Test
    void withAuthenticationATenantTokenUsedForAnotherTenantIsPermissionDenied() {
        long before = refused("forbidden");
        var mark = topics.get(OtlpSignal.TRACES).mark();

        Answer answer = sendSecured("team-b", "Bearer " + TEAM_A_TOKEN, traces(1));

        assertThat(answer.code()).isEqualTo(Code.PERMISSION_DENIED);
        assertThat(answer.message()).isEqualTo("this token may not write for tenant 'team-b'");
        assertThat(topics.get(OtlpSignal.TRACES).mark()).isEqualTo(mark);
        assertThat(refused("forbidden")).isEqualTo(before + 1);
    }

    @Test
    void withAuthenticationATenantTokenWritesForItsOwnTenantWithOrWithoutTheHeader() {
        for (String header : new String[] {null, "team-a"}) {
            var mark = topics.get(OtlpSignal.TRACES).mark();

            Answer answer = sendSecured(header, "Bearer " + TEAM_A_TOKEN, traces(2));

            assertThat(answer.code()).as("header %s", header).isEqualTo(Code.OK);
            assertThat(topics.get(OtlpSignal.TRACES).since(mark))
                    .singleElement()
                    .satisfies(r -> assertThat(IngestIT.tenants(r)).containsExactly("team-a"));
        }
    }

    @Test
    void withAuthenticationAnAdminTokenMustNameTheTenant() {
        long before = refused("invalid_tenant");
        var mark = topics.get(OtlpSignal.TRACES).mark();

        Answer unnamed = sendSecured(null, "Bearer " + ADMIN_TOKEN, traces(1));

        assertThat(unnamed.code()).isEqualTo(Code.INVALID_ARGUMENT);
        assertThat(unnamed.message()).isEqualTo("an admin token must name the tenant in X-Scope-OrgID");
        assertThat(topics.get(OtlpSignal.TRACES).mark()).isEqualTo(mark);
        assertThat(refused("invalid_tenant")).isEqualTo(before + 1);

        Answer named = sendSecured("team-c", "bearer " + ADMIN_TOKEN, traces(1));

        assertThat(named.code()).isEqualTo(Code.OK);
        assertThat(topics.get(OtlpSignal.TRACES).since(mark))
                .singleElement()
                .satisfies(r -> assertThat(IngestIT.tenants(r)).containsExactly("team-c"));
    }

    @Test
    void withAuthenticationOffTheTenantHeaderAloneDecides() {
        var mark = topics.get(OtlpSignal.TRACES).mark();

        Answer answer = send(
                ingest,
                OtlpSignal.TRACES,
                "team-x",
                "Bearer whatever",
                traces(1).toByteArray(),
                false);

        assertThat(answer.code()).isEqualTo(Code.OK);
        assertThat(topics.get(OtlpSignal.TRACES).since(mark))
                .singleElement()
                .satisfies(r -> assertThat(IngestIT.tenants(r)).containsExactly("team-x"));
    }

    @Test
    void spansOfSeveralTracesBecomeOneRecordPerTraceKeyedByItsId() throws Exception {
        ByteString t1 = traceId(1);
        ByteString t2 = traceId(2);
        ByteString t3 = traceId(3);
        ScopeSpans s1 = ScopeSpans.newBuilder()
                .setScope(InstrumentationScope.newBuilder().setName("s1"))
                .setSchemaUrl("https://opentelemetry.io/schemas/1.21.0")
                .build();
        ScopeSpans s2 = s1.toBuilder()
                .setScope(InstrumentationScope.newBuilder().setName("s2"))
                .build();
        ScopeSpans s3 = s1.toBuilder()
                .setScope(InstrumentationScope.newBuilder().setName("s3"))
                .build();
        ResourceSpans a = ResourceSpans.newBuilder().setResource(resource("a")).build();
        ResourceSpans b = ResourceSpans.newBuilder().setResource(resource("b")).build();
        Span t1a = span(t1, 1);
        Span t2a = span(t2, 2);
        Span t1b = span(t1, 3);
        Span t3a = span(t3, 4);
        Span t2b = span(t2, 5);
        Span t3b = span(t3, 6);
        ExportTraceServiceRequest request = ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(a.toBuilder()
                        .addScopeSpans(
                                s1.toBuilder().addSpans(t1a).addSpans(t2a).addSpans(t1b))
                        .addScopeSpans(s2.toBuilder().addSpans(t3a)))
                .addResourceSpans(
                        b.toBuilder().addScopeSpans(s3.toBuilder().addSpans(t2b).addSpans(t3b)))
                .build();
        Map<ByteString, ExportTraceServiceRequest> expected = Map.of(
                t1,
                ExportTraceServiceRequest.newBuilder()
                        .addResourceSpans(a.toBuilder()
                                .addScopeSpans(s1.toBuilder().addSpans(t1a).addSpans(t1b)))
                        .build(),
                t2,
                ExportTraceServiceRequest.newBuilder()
                        .addResourceSpans(
                                a.toBuilder().addScopeSpans(s1.toBuilder().addSpans(t2a)))
                        .addResourceSpans(
                                b.toBuilder().addScopeSpans(s3.toBuilder().addSpans(t2b)))
                        .build(),
                t3,
                ExportTraceServiceRequest.newBuilder()
                        .addResourceSpans(
                                a.toBuilder().addScopeSpans(s2.toBuilder().addSpans(t3a)))
                        .addResourceSpans(
                                b.toBuilder().addScopeSpans(s3.toBuilder().addSpans(t3b)))
                        .build());
        var mark = topics.get(OtlpSignal.TRACES).mark();

        Answer answer = send(OtlpSignal.TRACES, "team-k", request.toByteArray(), false);

        assertThat(answer.code()).isEqualTo(Code.OK);
        assertThat(answer.body()).isEqualTo(OtlpSignal.TRACES.response(0, "").toByteArray());
        List<ConsumerRecord<byte[], byte[]>> written =
                topics.get(OtlpSignal.TRACES).since(mark);
        assertThat(written).hasSize(3);
        Map<ByteString, ExportTraceServiceRequest> byKey = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : written) {
            assertThat(IngestIT.tenants(r)).containsExactly("team-k");
            byKey.put(ByteString.copyFrom(r.key()), ExportTraceServiceRequest.parseFrom(r.value()));
        }
        assertThat(byKey).isEqualTo(expected);
    }

    @Test
    void spansOfOneTraceSentInSeparateRequestsLandOnOnePartition() {
        ByteString trace = traceId(42);
        var mark = topics.get(OtlpSignal.TRACES).mark();

        for (int i = 0; i < 4; i++) {
            ExportTraceServiceRequest request = ExportTraceServiceRequest.newBuilder()
                    .addResourceSpans(ResourceSpans.newBuilder()
                            .setResource(resource("svc-" + i))
                            .addScopeSpans(ScopeSpans.newBuilder()
                                    .addSpans(span(trace, 10 + i))
                                    .addSpans(span(traceId(100 + i), 20 + i))))
                    .build();
            assertThat(send(OtlpSignal.TRACES, null, request.toByteArray(), false)
                            .code())
                    .isEqualTo(Code.OK);
        }

        List<ConsumerRecord<byte[], byte[]>> written =
                topics.get(OtlpSignal.TRACES).since(mark);
        assertThat(written).hasSize(8);
        List<ConsumerRecord<byte[], byte[]>> ofTrace = written.stream()
                .filter(r -> ByteString.copyFrom(r.key()).equals(trace))
                .toList();
        assertThat(ofTrace).hasSize(4);
        assertThat(ofTrace)
                .extracting(ConsumerRecord::partition)
                .containsOnly(ofTrace.get(0).partition());
    }

    @Test
    void aTenantWithRedactionHasLogBodiesAndSpanAttributesRedactedBeforeKafka() throws Exception {
        long before = redactions(ingest, "logs", "email");
        ExportLogsServiceRequest.Builder logs = logs(1).toBuilder();
        logs.getResourceLogsBuilder(0)
                .getScopeLogsBuilder(0)
                .getLogRecordsBuilder(0)
                .setBody(AnyValue.newBuilder().setStringValue("reset link sent to jane@example.com"));
        ExportTraceServiceRequest.Builder traces = traces(1).toBuilder();
        traces.getResourceSpansBuilder(0)
                .getScopeSpansBuilder(0)
                .getSpansBuilder(0)
                .addAttributes(KeyValue.newBuilder()
                        .setKey("payment.card")
                        .setValue(AnyValue.newBuilder().setStringValue("5555 5555 5555 4444")));
        var logsMark = topics.get(OtlpSignal.LOGS).mark();
        var tracesMark = topics.get(OtlpSignal.TRACES).mark();

        assertThat(send(OtlpSignal.LOGS, "redacted", logs.build().toByteArray(), false)
                        .code())
                .isEqualTo(Code.OK);
        assertThat(send(OtlpSignal.TRACES, "redacted", traces.build().toByteArray(), false)
                        .code())
                .isEqualTo(Code.OK);
        // Another tenant's identical request is written as sent.
        assertThat(send(OtlpSignal.LOGS, "team-a", logs.build().toByteArray(), false)
                        .code())
                .isEqualTo(Code.OK);

        List<ConsumerRecord<byte[], byte[]>> writtenLogs =
                topics.get(OtlpSignal.LOGS).since(logsMark);
        assertThat(writtenLogs).hasSize(2);
        for (ConsumerRecord<byte[], byte[]> r : writtenLogs) {
            String body = ExportLogsServiceRequest.parseFrom(r.value())
                    .getResourceLogs(0)
                    .getScopeLogs(0)
                    .getLogRecords(0)
                    .getBody()
                    .getStringValue();
            assertThat(body)
                    .isEqualTo(
                            IngestIT.tenants(r).equals(List.of("redacted"))
                                    ? "reset link sent to ****"
                                    : "reset link sent to jane@example.com");
        }
        assertThat(topics.get(OtlpSignal.TRACES).since(tracesMark))
                .singleElement()
                .satisfies(r -> {
                    Span span = ExportTraceServiceRequest.parseFrom(r.value())
                            .getResourceSpans(0)
                            .getScopeSpans(0)
                            .getSpans(0);
                    assertThat(span.getAttributesList())
                            .extracting(KeyValue::getKey, a -> a.getValue().getStringValue())
                            .contains(org.assertj.core.groups.Tuple.tuple("payment.card", "****"));
                });
        assertThat(redactions(ingest, "logs", "email")).isEqualTo(before + 1);
    }

    @Test
    void everyAnswerIsCountedByStatusAndTimed() throws InterruptedException {
        String ok = requestsSeries("logs", statusLabel(Code.OK));
        String invalid = requestsSeries("logs", statusLabel(Code.INVALID_ARGUMENT));
        String timed =
                "otel_lake_ingest_request_duration_seconds_count{signal=\"logs\",transport=\"" + transport() + "\"} ";
        long okBefore = metric(ingest, ok);
        long invalidBefore = metric(ingest, invalid);
        long timedBefore = metric(ingest, timed);

        assertThat(send(OtlpSignal.LOGS, null, logs(1).toByteArray(), false).code())
                .isEqualTo(Code.OK);
        assertThat(send(OtlpSignal.LOGS, null, new byte[] {(byte) 0xff}, false).code())
                .isEqualTo(Code.INVALID_ARGUMENT);

        // gRPC counts a call once its stream is closed, which may be just after the client has its answer.
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (metric(ingest, timed) < timedBefore + 2 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(metric(ingest, ok)).as(ok).isEqualTo(okBefore + 1);
        assertThat(metric(ingest, invalid)).as(invalid).isEqualTo(invalidBefore + 1);
        assertThat(metric(ingest, timed)).as(timed).isEqualTo(timedBefore + 2);
    }

    private String requestsSeries(String signal, String status) {
        return "otel_lake_ingest_requests_total{signal=\"" + signal + "\",transport=\"" + transport() + "\",status=\""
                + status + "\"} ";
    }

    /** The metrics of {@code target}, read with the admin token (which authentication on requires). */
    static String scrape(Ingest target) {
        return new String(
                new OtlpHttp(target.uri())
                        .send(java.net.http.HttpRequest.newBuilder(target.uri().resolve("/metrics"))
                                .header("Authorization", "Bearer " + ADMIN_TOKEN)
                                .GET()
                                .build())
                        .body(),
                StandardCharsets.UTF_8);
    }

    /** The value of one series of a counter (0 while it has none), as scraped from /metrics. */
    private static long metric(Ingest target, String series) {
        String metrics = scrape(target);
        return metrics.lines()
                .filter(line -> line.startsWith(series))
                .mapToLong(line -> Long.parseLong(line.substring(series.length())))
                .findFirst()
                .orElse(0);
    }

    @Test
    void logRecordsAreWrittenWithoutAKey() {
        var mark = topics.get(OtlpSignal.LOGS).mark();

        assertThat(send(OtlpSignal.LOGS, null, logs(2).toByteArray(), false).code())
                .isEqualTo(Code.OK);

        assertThat(topics.get(OtlpSignal.LOGS).since(mark)).singleElement().satisfies(r -> assertThat(r.key())
                .isNull());
    }

    /**
     * The in-flight byte budget, exactly at its bound: while an HTTP request whose body is only partly sent holds
     * part of it, a request one byte larger than the rest is refused at once with the retryable throttling answer
     * (HTTP 429 with Retry-After, gRPC RESOURCE_EXHAUSTED with RetryInfo) and counted as overloaded, a request of
     * exactly the rest is taken, and the refused one is taken once the first is answered.
     */
    @Test
    void aRequestThatDoesNotFitTheInFlightBudgetIsThrottledUntilItFits() throws Exception {
        byte[] holder = logsOfSize(40_000, "holder").toByteArray();
        int sent = 30_000;
        long overloadedBefore = overloaded();
        try (Socket socket = holdPartOfTheBudget(holder, sent)) {
            long held = budgetIngest.bytesInFlight(); // the room allocated for what arrived: 30,000 bytes or more
            int free = (int) (BUDGET_BYTES - held);
            byte[] late = logsOfSize(free + 1, "late").toByteArray();
            byte[] exact = logsOfSize(free, "exact").toByteArray();

            Answer refused = send(budgetIngest, OtlpSignal.LOGS, null, null, late, false);
            assertThat(refused.code()).isEqualTo(Code.RESOURCE_EXHAUSTED);
            assertThat(refused.retryDelay()).isEqualTo(Duration.ofSeconds(1));
            assertThat(refused.message())
                    .isEqualTo("ingest holds its limit of " + BUDGET_BYTES + " request bytes in flight; retry later");
            assertThat(overloaded()).isEqualTo(overloadedBefore + 1);
            awaitBytesInFlight(held); // the refused request gave back what it had reserved

            assertThat(send(budgetIngest, OtlpSignal.LOGS, null, null, exact, false)
                            .code())
                    .isEqualTo(Code.OK);

            sendTheRest(socket, holder, sent);
            awaitBytesInFlight(0);
            assertThat(send(budgetIngest, OtlpSignal.LOGS, null, null, late, false)
                            .code())
                    .isEqualTo(Code.OK);
        }
    }

    /**
     * A request that is decoded into messages (every metrics request is) is held in the budget for what its decoding
     * may take ({@link DecodeCost}), not only for its bytes: a few kilobytes of empty data points decode into many
     * objects. One that could not fit even in the idle budget is refused as too large, without retry advice; one
     * that does not fit while another request holds part of the budget is throttled, and taken once it fits.
     */
    @Test
    void aDecodedRequestIsHeldForWhatItsDecodingTakesNotOnlyForItsBytes() throws Exception {
        byte[] huge = emptyGaugePoints(5_000).toByteArray();
        assertThat(huge.length).isLessThan(BUDGET_BYTES / 4);

        Answer tooLarge = send(budgetIngest, OtlpSignal.METRICS, null, null, huge, false);

        assertThat(tooLarge.code()).isEqualTo(Code.RESOURCE_EXHAUSTED);
        assertThat(tooLarge.retryDelay()).as("never fits: not to be retried").isNull();
        assertThat(tooLarge.message())
                .startsWith("decoding the request would take about ")
                .endsWith(" MiB of memory, more than ingest's in-flight limit of 0.1 MiB (it holds many small values):"
                        + " send smaller batches");
        awaitBytesInFlight(0);

        byte[] holder = logsOfSize(40_000, "holder").toByteArray();
        int sent = 30_000;
        Socket socket = holdPartOfTheBudget(holder, sent);
        long held = budgetIngest.bytesInFlight(); // the room allocated for what arrived: 30,000 bytes or more
        int free = (int) (BUDGET_BYTES - held);
        byte[] medium = null;
        for (int points = 1; medium == null; points++) {
            byte[] body = emptyGaugePoints(points).toByteArray();
            long needs = body.length + DecodeCost.estimate(OtlpSignal.METRICS, OtlpEncoding.PROTOBUF, body);
            if (needs > free + 5_000) {
                medium = body;
                assertThat(needs).as("fits in the idle budget").isLessThan(BUDGET_BYTES);
            }
        }
        assertThat(medium.length).as("its bytes alone would fit").isLessThan(free / 4);
        long overloadedBefore = overloaded(OtlpSignal.METRICS);
        try (socket) {

            Answer throttled = send(budgetIngest, OtlpSignal.METRICS, null, null, medium, false);
            assertThat(throttled.code()).isEqualTo(Code.RESOURCE_EXHAUSTED);
            assertThat(throttled.retryDelay()).isEqualTo(Duration.ofSeconds(1));
            assertThat(overloaded(OtlpSignal.METRICS)).isEqualTo(overloadedBefore + 1);
            awaitBytesInFlight(held); // the refused request gave back what it had reserved

            sendTheRest(socket, holder, sent);
        }
        awaitBytesInFlight(0);
        assertThat(send(budgetIngest, OtlpSignal.METRICS, null, null, medium, false)
                        .code())
                .isEqualTo(Code.OK);
    }

    /**
     * A trace request is written as one record per trace id, each with a copy of its spans' resource and scope
     * ({@link TraceRecords}), so a body of many traces under a large resource would take many times its size in heap
     * and in Kafka. Those copies are held in the budget too: a request whose copies could not fit even in the idle
     * budget is refused as too large and nothing of it is written; one whose copies fit is taken.
     */
    @Test
    void theCopiesOfASplitTraceRequestAreHeldInTheBudget() throws Exception {
        Resource large = resource("copied").toBuilder()
                .addAttributes(KeyValue.newBuilder()
                        .setKey("large")
                        .setValue(AnyValue.newBuilder().setStringValue("r".repeat(10_000))))
                .build();
        byte[] tenTraces = tracesUnder(large, 10).toByteArray();
        assertThat(tenTraces.length).as("the body alone fits").isLessThan(BUDGET_BYTES / 5);
        var mark = topics.get(OtlpSignal.TRACES).mark();

        Answer tooLarge = send(budgetIngest, OtlpSignal.TRACES, null, null, tenTraces, false);

        assertThat(tooLarge.code()).isEqualTo(Code.RESOURCE_EXHAUSTED);
        assertThat(tooLarge.retryDelay()).as("never fits: not to be retried").isNull();
        assertThat(tooLarge.message())
                .startsWith("writing the request as one Kafka record per trace id would take about ")
                .endsWith(" MiB of memory, more than ingest's in-flight limit of 0.1 MiB (each of its 10 traces carries"
                        + " a copy of its resource and scope): send smaller batches");
        assertThat(topics.get(OtlpSignal.TRACES).mark()).as("nothing written").isEqualTo(mark);
        awaitBytesInFlight(0);

        byte[] threeTraces = tracesUnder(large, 3).toByteArray();
        assertThat(send(budgetIngest, OtlpSignal.TRACES, null, null, threeTraces, false)
                        .code())
                .isEqualTo(Code.OK);
        assertThat(topics.get(OtlpSignal.TRACES).since(mark)).hasSize(3);
        awaitBytesInFlight(0);
    }

    /**
     * A request of a tenant with redaction is decoded, then copied where it is redacted; the copy is held in the budget
     * too. A request whose decoding fits the idle budget but whose decoding and copy would not is refused as too large
     * for that tenant, and taken for a tenant without redaction (whose request is checked as bytes, not decoded).
     */
    @Test
    void theRedactedCopyOfARequestIsHeldInTheBudget() throws Exception {
        byte[] body = null;
        for (int attributes = 1; body == null; attributes++) {
            byte[] candidate = logWithAttributes(attributes).toByteArray();
            long decoding = DecodeCost.estimate(OtlpSignal.LOGS, OtlpEncoding.PROTOBUF, candidate);
            if (candidate.length + 2 * decoding > BUDGET_BYTES) {
                assertThat(candidate.length + decoding)
                        .as("decoding alone fits")
                        .isLessThanOrEqualTo(BUDGET_BYTES);
                body = candidate;
            }
        }

        Answer tooLarge = send(budgetIngest, OtlpSignal.LOGS, "redacted", null, body, false);

        assertThat(tooLarge.code()).isEqualTo(Code.RESOURCE_EXHAUSTED);
        assertThat(tooLarge.retryDelay()).as("never fits: not to be retried").isNull();
        assertThat(tooLarge.message())
                .startsWith("redacting the request would take about ")
                .endsWith("(it is copied as it is redacted): send smaller batches");
        awaitBytesInFlight(0);
        assertThat(send(budgetIngest, OtlpSignal.LOGS, "team-a", null, body, false)
                        .code())
                .isEqualTo(Code.OK);
        awaitBytesInFlight(0);
    }

    /** One log record with {@code attributes} short string attributes. */
    private static ExportLogsServiceRequest logWithAttributes(int attributes) {
        LogRecord.Builder record =
                LogRecord.newBuilder().setBody(AnyValue.newBuilder().setStringValue("copied"));
        for (int i = 0; i < attributes; i++) {
            record.addAttributes(KeyValue.newBuilder()
                    .setKey("k" + i)
                    .setValue(AnyValue.newBuilder().setStringValue("v")));
        }
        return ExportLogsServiceRequest.newBuilder()
                .addResourceLogs(ResourceLogs.newBuilder()
                        .addScopeLogs(ScopeLogs.newBuilder().addLogRecords(record)))
                .build();
    }

    /** One span in each of {@code traces} traces, under one resource. */
    private static ExportTraceServiceRequest tracesUnder(Resource resource, int traces) {
        ScopeSpans.Builder scope = ScopeSpans.newBuilder();
        for (int i = 0; i < traces; i++) {
            scope.addSpans(span(traceId(1000 + i), i));
        }
        return ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(
                        ResourceSpans.newBuilder().setResource(resource).addScopeSpans(scope))
                .build();
    }

    /** A gauge of {@code points} empty data points: two bytes each on the wire. */
    private static ExportMetricsServiceRequest emptyGaugePoints(int points) {
        Gauge.Builder gauge = Gauge.newBuilder();
        for (int i = 0; i < points; i++) {
            gauge.addDataPoints(NumberDataPoint.getDefaultInstance());
        }
        return ExportMetricsServiceRequest.newBuilder()
                .addResourceMetrics(ResourceMetrics.newBuilder()
                        .addScopeMetrics(ScopeMetrics.newBuilder()
                                .addMetrics(Metric.newBuilder().setName("empty").setGauge(gauge))))
                .build();
    }

    /**
     * Starts an OTLP/HTTP log export of {@code holder} on the budget ingest and sends only its first {@code sent}
     * bytes, so that the request holds the room allocated for them in the budget until {@link #sendTheRest}.
     */
    static Socket holdPartOfTheBudget(byte[] holder, int sent) throws Exception {
        Socket socket = new Socket("127.0.0.1", budgetIngest.port());
        socket.setSoTimeout(30_000);
        OutputStream out = socket.getOutputStream();
        out.write(("POST /v1/logs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
                        + "Content-Length: " + holder.length + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.write(holder, 0, sent);
        out.flush();
        // every byte sent has arrived once the room stops growing and holds them all
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        long seen = -1;
        while (budgetIngest.bytesInFlight() < sent || budgetIngest.bytesInFlight() != seen) {
            seen = budgetIngest.bytesInFlight();
            assertThat(System.nanoTime()).as("the held bytes arrive").isLessThan(deadline);
            Thread.sleep(100);
        }
        assertThat(seen).as("room for at most the declared body").isLessThanOrEqualTo(holder.length);
        return socket;
    }

    /** Sends the rest of a request {@link #holdPartOfTheBudget} began; it is answered 200. */
    static void sendTheRest(Socket socket, byte[] holder, int sent) throws IOException {
        OutputStream out = socket.getOutputStream();
        out.write(holder, sent, holder.length - sent);
        out.flush();
        String statusLine = new String(socket.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
        assertThat(statusLine).isEqualTo("HTTP/1.1 200");
    }

    /** One log record whose request is exactly {@code size} bytes. */
    static ExportLogsServiceRequest logsOfSize(int size, String tag) {
        for (int pad = size; pad > 0; pad--) {
            ExportLogsServiceRequest request = ExportLogsServiceRequest.newBuilder()
                    .addResourceLogs(ResourceLogs.newBuilder()
                            .addScopeLogs(ScopeLogs.newBuilder()
                                    .addLogRecords(LogRecord.newBuilder()
                                            .setBody(AnyValue.newBuilder()
                                                    .setStringValue(tag + "-" + "x".repeat(pad))))))
                    .build();
            if (request.getSerializedSize() == size) {
                return request;
            }
        }
        throw new IllegalArgumentException("no log request of exactly " + size + " bytes");
    }

    /** One log record whose body is {@code letters} random letters, which gzip compresses to about 60 %. */
    static ExportLogsServiceRequest randomLogs(int letters) {
        Random random = new Random(letters);
        StringBuilder text = new StringBuilder(letters);
        for (int i = 0; i < letters; i++) {
            text.append((char) ('a' + random.nextInt(26)));
        }
        return ExportLogsServiceRequest.newBuilder()
                .addResourceLogs(ResourceLogs.newBuilder()
                        .addScopeLogs(ScopeLogs.newBuilder()
                                .addLogRecords(LogRecord.newBuilder()
                                        .setBody(AnyValue.newBuilder().setStringValue(text.toString())))))
                .build();
    }

    static void awaitBytesInFlight(long bytes) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (budgetIngest.bytesInFlight() != bytes) {
            assertThat(System.nanoTime())
                    .as("bytes in flight reach %d (now %d)", bytes, budgetIngest.bytesInFlight())
                    .isLessThan(deadline);
            Thread.sleep(5);
        }
    }

    /** The budget ingest's refused-as-overloaded counter, for this transport's log exports. */
    long overloaded() {
        return overloaded(OtlpSignal.LOGS);
    }

    /** The budget ingest's refused-as-overloaded counter, for this transport's exports of the signal. */
    private long overloaded(OtlpSignal signal) {
        String series = "otel_lake_ingest_requests_refused_total{signal=\""
                + signal.name().toLowerCase(Locale.ROOT)
                + "\",transport=\"" + transport()
                + "\",reason=\"overloaded\"} ";
        String metrics = scrape(budgetIngest);
        return metrics.lines()
                .filter(line -> line.startsWith(series))
                .mapToLong(line -> Long.parseLong(line.substring(series.length())))
                .findFirst()
                .orElse(0);
    }

    /** The refused-requests counter of the secured ingest, for this transport's trace exports. */
    private long refused(String reason) {
        String series = "otel_lake_ingest_requests_refused_total{signal=\"traces\",transport=\"" + transport()
                + "\",reason=\"" + reason + "\"} ";
        String metrics = scrape(securedIngest);
        return metrics.lines()
                .filter(line -> line.startsWith(series))
                .mapToLong(line -> Long.parseLong(line.substring(series.length())))
                .findFirst()
                .orElse(0);
    }

    private static long redactions(Ingest target, String signal, String rule) {
        String series = "otel_lake_ingest_redactions_total{signal=\"" + signal + "\",rule=\"" + rule + "\"} ";
        String metrics = scrape(target);
        return metrics.lines()
                .filter(line -> line.startsWith(series))
                .mapToLong(line -> Long.parseLong(line.substring(series.length())))
                .findFirst()
                .orElse(0);
    }

    static ByteString traceId(int n) {
        byte[] id = new byte[16];
        id[0] = 0x7f;
        id[15] = (byte) n;
        id[14] = (byte) (n >> 8);
        return ByteString.copyFrom(id);
    }

    private static Span span(ByteString traceId, int n) {
        return Span.newBuilder()
                .setTraceId(traceId)
                .setSpanId(ByteString.copyFrom(new byte[] {1, 2, 3, 4, 5, 6, 7, (byte) n}))
                .setName("op-" + n)
                .setStartTimeUnixNano(1_700_000_000_000_000_000L + n)
                .setEndTimeUnixNano(1_700_000_000_500_000_000L + n)
                .build();
    }

    @Test
    void eachSignalIsWrittenExactlyAsSentWithTheTenant() throws Exception {
        for (Message request : List.of(traces(2), logs(3), metrics())) {
            OtlpSignal signal = signalOf(request);
            var mark = topics.get(signal).mark();

            Answer answer = send(signal, "team-a", request.toByteArray(), false);

            assertThat(answer.code()).as(signal.name()).isEqualTo(Code.OK);
            assertThat(answer.body())
                    .as(signal.name())
                    .isEqualTo(signal.response(0, "").toByteArray());
            List<ConsumerRecord<byte[], byte[]>> written = topics.get(signal).since(mark);
            assertThat(written).as(signal.name()).singleElement().satisfies(r -> {
                assertThat(r.value()).isEqualTo(request.toByteArray());
                assertThat(IngestIT.tenants(r)).containsExactly("team-a");
            });
        }
    }

    @Test
    void gzipRequestsAreWrittenDecompressed() {
        for (Message request : List.of(traces(4), logs(1), metrics())) {
            OtlpSignal signal = signalOf(request);
            var mark = topics.get(signal).mark();

            Answer answer = send(signal, null, gzip(request.toByteArray()), true);

            assertThat(answer.code()).as(signal.name()).isEqualTo(Code.OK);
            List<ConsumerRecord<byte[], byte[]>> written = topics.get(signal).since(mark);
            assertThat(written).as(signal.name()).singleElement().satisfies(r -> {
                assertThat(r.value()).isEqualTo(request.toByteArray());
                assertThat(IngestIT.tenants(r)).containsExactly("default");
            });
        }
    }

    @Test
    void spansWithIdsOfTheWrongLengthAreDroppedAndCounted() throws Exception {
        ExportTraceServiceRequest request = traces(4);
        ExportTraceServiceRequest.Builder sent = request.toBuilder();
        ScopeSpans.Builder scope = sent.getResourceSpansBuilder(0).getScopeSpansBuilder(0);
        scope.getSpansBuilder(1).setTraceId(ByteString.copyFromUtf8("short"));
        scope.getSpansBuilder(3).setSpanId(ByteString.copyFrom(new byte[3]));
        // A second resource whose only span is invalid disappears from what is written.
        sent.addResourceSpans(ResourceSpans.newBuilder()
                .setResource(resource("gone"))
                .addScopeSpans(ScopeSpans.newBuilder()
                        .addSpans(Span.newBuilder().setName("bad").setParentSpanId(ByteString.copyFrom(new byte[9])))));
        var mark = topics.get(OtlpSignal.TRACES).mark();

        Answer answer = send(OtlpSignal.TRACES, null, sent.build().toByteArray(), false);

        assertSpansRejectedAndTheRestWritten(
                answer,
                mark,
                3,
                "3 of 5 spans rejected; the first: resourceSpans[0].scopeSpans[0].spans[1].traceId must be 16 bytes;"
                        + " got 5 bytes",
                request,
                0,
                2);
    }

    @Test
    void spansWithoutTheirOwnTraceIdOrSpanIdOrWithAllZeroIdsAreDroppedAndCounted() throws Exception {
        ExportTraceServiceRequest request = traces(5);
        ExportTraceServiceRequest.Builder sent = request.toBuilder();
        ScopeSpans.Builder scope = sent.getResourceSpansBuilder(0).getScopeSpansBuilder(0);
        scope.getSpansBuilder(0).clearTraceId();
        scope.getSpansBuilder(1).clearSpanId();
        scope.getSpansBuilder(2).setTraceId(ByteString.copyFrom(new byte[16]));
        scope.getSpansBuilder(4).setSpanId(ByteString.copyFrom(new byte[8]));
        var mark = topics.get(OtlpSignal.TRACES).mark();

        Answer answer = send(OtlpSignal.TRACES, null, sent.build().toByteArray(), false);

        assertSpansRejectedAndTheRestWritten(
                answer,
                mark,
                4,
                "4 of 5 spans rejected; the first: resourceSpans[0].scopeSpans[0].spans[0].traceId must be 16 bytes;"
                        + " got 0 bytes",
                request,
                3);
    }

    /**
     * The answer is OK with a partial success of {@code rejected} spans and {@code message}, and the one record written
     * since {@code mark} holds the spans of the first scope of {@code request} at {@code kept}, in that order.
     */
    private void assertSpansRejectedAndTheRestWritten(
            Answer answer,
            Map<TopicPartition, Long> mark,
            int rejected,
            String message,
            ExportTraceServiceRequest request,
            int... kept)
            throws Exception {
        assertThat(answer.code()).isEqualTo(Code.OK);
        assertThat(ExportTraceServiceResponse.parseFrom(answer.body()))
                .isEqualTo(ExportTraceServiceResponse.newBuilder()
                        .setPartialSuccess(ExportTracePartialSuccess.newBuilder()
                                .setRejectedSpans(rejected)
                                .setErrorMessage(message))
                        .build());
        ScopeSpans.Builder expectedScope =
                request.getResourceSpans(0).getScopeSpans(0).toBuilder().clearSpans();
        for (int k : kept) {
            expectedScope.addSpans(request.getResourceSpans(0).getScopeSpans(0).getSpans(k));
        }
        ExportTraceServiceRequest expected = ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(request.getResourceSpans(0).toBuilder().setScopeSpans(0, expectedScope))
                .build();
        assertThat(topics.get(OtlpSignal.TRACES).since(mark)).singleElement().satisfies(r -> assertThat(
                        ExportTraceServiceRequest.parseFrom(r.value()))
                .isEqualTo(expected));
    }

    @Test
    void logRecordsWithIdsOfTheWrongLengthAreDroppedAndCounted() throws Exception {
        ExportLogsServiceRequest request = logs(3);
        ExportLogsServiceRequest.Builder sent = request.toBuilder();
        sent.getResourceLogsBuilder(0)
                .getScopeLogsBuilder(0)
                .getLogRecordsBuilder(0)
                .setSpanId(ByteString.copyFrom(new byte[16]));
        var mark = topics.get(OtlpSignal.LOGS).mark();

        Answer answer = send(OtlpSignal.LOGS, "team-b", sent.build().toByteArray(), false);

        assertThat(answer.code()).isEqualTo(Code.OK);
        assertThat(ExportLogsServiceResponse.parseFrom(answer.body()))
                .isEqualTo(ExportLogsServiceResponse.newBuilder()
                        .setPartialSuccess(ExportLogsPartialSuccess.newBuilder()
                                .setRejectedLogRecords(1)
                                .setErrorMessage("1 of 3 log records rejected; the first:"
                                        + " resourceLogs[0].scopeLogs[0].logRecords[0].spanId must be 8 bytes (or"
                                        + " empty); got 16 bytes"))
                        .build());
        ExportLogsServiceRequest.Builder expected = request.toBuilder();
        expected.getResourceLogsBuilder(0).getScopeLogsBuilder(0).removeLogRecords(0);
        assertThat(topics.get(OtlpSignal.LOGS).since(mark)).singleElement().satisfies(r -> {
            assertThat(ExportLogsServiceRequest.parseFrom(r.value())).isEqualTo(expected.build());
            assertThat(IngestIT.tenants(r)).containsExactly("team-b");
        });
    }

    /**
     * A metric whose data is of a type this version does not know (a later OTLP's, which the parser keeps as an unknown
     * field) used to be acknowledged and then archived as nothing: now it is dropped and reported, and the rest kept.
     */
    @Test
    void aMetricWithDataOfATypeIngestDoesNotKnowIsRejectedAndCounted() throws Exception {
        ExportMetricsServiceRequest request = metrics();
        Metric later = Metric.newBuilder()
                .setName("queue.depth")
                .setUnknownFields(com.google.protobuf.UnknownFieldSet.newBuilder()
                        .addField(
                                14,
                                com.google.protobuf.UnknownFieldSet.Field.newBuilder()
                                        .addLengthDelimited(ByteString.copyFrom(new byte[] {0x0a, 0x00}))
                                        .build())
                        .build())
                .build();
        ExportMetricsServiceRequest.Builder sent = request.toBuilder();
        sent.getResourceMetricsBuilder(0).getScopeMetricsBuilder(0).addMetrics(1, later);
        var mark = topics.get(OtlpSignal.METRICS).mark();

        Answer answer = send(OtlpSignal.METRICS, null, sent.build().toByteArray(), false);

        assertThat(answer.code()).isEqualTo(Code.OK);
        int points = request.getResourceMetrics(0).getScopeMetrics(0).getMetricsList().stream()
                .mapToInt(ExportChecks::dataPointCount)
                .sum();
        assertThat(ExportMetricsServiceResponse.parseFrom(answer.body()))
                .isEqualTo(ExportMetricsServiceResponse.newBuilder()
                        .setPartialSuccess(ExportMetricsPartialSuccess.newBuilder()
                                .setRejectedDataPoints(1)
                                .setErrorMessage("1 of " + (points + 1) + " data points rejected; the first:"
                                        + " resourceMetrics[0].scopeMetrics[0].metrics[1].data is of a type otel-lake"
                                        + " does not know (it stores gauge, sum, histogram, exponentialHistogram and"
                                        + " summary)"))
                        .build());
        assertThat(topics.get(OtlpSignal.METRICS).since(mark)).singleElement().satisfies(r -> assertThat(
                        ExportMetricsServiceRequest.parseFrom(r.value()))
                .isEqualTo(request));
    }

    @Test
    void dataPointsWithExemplarIdsOfTheWrongLengthAreDroppedAndCounted() throws Exception {
        ExportMetricsServiceRequest request = metrics();
        ExportMetricsServiceRequest.Builder sent = request.toBuilder();
        // The gauge's second point, and the histogram's only point (so the histogram metric disappears).
        sent.getResourceMetricsBuilder(0)
                .getScopeMetricsBuilder(0)
                .getMetricsBuilder(0)
                .getGaugeBuilder()
                .getDataPointsBuilder(1)
                .addExemplars(Exemplar.newBuilder().setAsInt(1).setTraceId(ByteString.copyFrom(new byte[8])));
        sent.getResourceMetricsBuilder(0)
                .getScopeMetricsBuilder(0)
                .getMetricsBuilder(1)
                .getHistogramBuilder()
                .getDataPointsBuilder(0)
                .addExemplars(Exemplar.newBuilder().setAsDouble(2).setSpanId(ByteString.copyFrom(new byte[4])));
        var mark = topics.get(OtlpSignal.METRICS).mark();

        Answer answer = send(OtlpSignal.METRICS, null, sent.build().toByteArray(), false);

        assertThat(answer.code()).isEqualTo(Code.OK);
        assertThat(ExportMetricsServiceResponse.parseFrom(answer.body()))
                .isEqualTo(ExportMetricsServiceResponse.newBuilder()
                        .setPartialSuccess(ExportMetricsPartialSuccess.newBuilder()
                                .setRejectedDataPoints(2)
                                .setErrorMessage("2 of 3 data points rejected; the first:"
                                        + " resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[1]"
                                        + ".exemplars[0].traceId must be 16 bytes (or empty); got 8 bytes"))
                        .build());
        ExportMetricsServiceRequest.Builder expected = request.toBuilder();
        ScopeMetrics.Builder scope = expected.getResourceMetricsBuilder(0).getScopeMetricsBuilder(0);
        scope.getMetricsBuilder(0).getGaugeBuilder().removeDataPoints(1);
        scope.removeMetrics(1);
        assertThat(topics.get(OtlpSignal.METRICS).since(mark)).singleElement().satisfies(r -> assertThat(
                        ExportMetricsServiceRequest.parseFrom(r.value()))
                .isEqualTo(expected.build()));
    }

    @Test
    void whenEveryItemIsInvalidNothingIsWritten() throws Exception {
        ExportTraceServiceRequest sent = ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .addScopeSpans(ScopeSpans.newBuilder()
                                .addSpans(Span.newBuilder().setTraceId(ByteString.copyFrom(new byte[17])))
                                .addSpans(Span.newBuilder().setSpanId(ByteString.copyFrom(new byte[1])))))
                .build();
        var mark = topics.get(OtlpSignal.TRACES).mark();

        Answer answer = send(OtlpSignal.TRACES, null, sent.toByteArray(), false);

        assertThat(answer.code()).isEqualTo(Code.OK);
        assertThat(ExportTraceServiceResponse.parseFrom(answer.body())
                        .getPartialSuccess()
                        .getRejectedSpans())
                .isEqualTo(2);
        assertThat(topics.get(OtlpSignal.TRACES).mark()).isEqualTo(mark);
    }

    @Test
    void malformedProtobufIsInvalidArgument() {
        var mark = topics.get(OtlpSignal.LOGS).mark();

        Answer answer = send(OtlpSignal.LOGS, null, new byte[] {(byte) 0xff, (byte) 0xff, 0x01}, false);

        assertThat(answer.code()).isEqualTo(Code.INVALID_ARGUMENT);
        assertThat(answer.message()).startsWith("the body is not a valid protobuf ExportLogsServiceRequest: ");
        assertThat(answer.retryDelay()).isNull();
        assertThat(topics.get(OtlpSignal.LOGS).mark()).isEqualTo(mark);
    }

    @Test
    void corruptGzipIsInvalidArgument() {
        byte[] corrupt = gzip(traces(3).toByteArray());
        for (int i = 10; i < corrupt.length - 8; i++) {
            corrupt[i] ^= 0x5a;
        }
        var mark = topics.get(OtlpSignal.TRACES).mark();

        Answer answer = send(OtlpSignal.TRACES, null, corrupt, true);

        assertThat(answer.code()).isEqualTo(Code.INVALID_ARGUMENT);
        assertThat(topics.get(OtlpSignal.TRACES).mark()).isEqualTo(mark);
    }

    /**
     * A gzip body may hold several members (RFC 1952), and all of them are the request. Anything after a member that is
     * not a whole valid member is refused, never skipped: skipping a damaged second member would lose its data while
     * the client is told the request was taken (what {@link java.util.zip.GZIPInputStream}, and gRPC's gzip with it,
     * do).
     */
    @Test
    void everyGzipMemberIsReadAndBytesAfterTheLastAreRefused() {
        byte[] request = logs(4).toByteArray();
        byte[] first = gzip(Arrays.copyOfRange(request, 0, request.length / 2));
        byte[] second = gzip(Arrays.copyOfRange(request, request.length / 2, request.length));
        var mark = topics.get(OtlpSignal.LOGS).mark();

        assertThat(send(OtlpSignal.LOGS, null, concat(first, second), true).code())
                .isEqualTo(Code.OK);
        assertThat(topics.get(OtlpSignal.LOGS).since(mark)).singleElement().satisfies(r -> assertThat(r.value())
                .isEqualTo(request));

        byte[] damagedSecond = second.clone();
        damagedSecond[2] = 7; // compression method
        byte[] whole = gzip(request);
        mark = topics.get(OtlpSignal.LOGS).mark();
        for (byte[] body : List.of(
                concat(first, damagedSecond),
                concat(whole, "GARBAGE".getBytes(StandardCharsets.US_ASCII)),
                concat(whole, new byte[8]))) {
            Answer answer = send(OtlpSignal.LOGS, null, body, true);

            assertThat(answer.code()).isEqualTo(Code.INVALID_ARGUMENT);
            assertThat(answer.message()).contains("not valid gzip: ");
        }
        Answer truncated = send(OtlpSignal.LOGS, null, concat(whole, Arrays.copyOf(whole, 12)), true);
        assertThat(truncated.code()).isEqualTo(Code.INVALID_ARGUMENT);
        assertThat(truncated.message()).contains("ends too early");
        assertThat(topics.get(OtlpSignal.LOGS).mark()).as("nothing written").isEqualTo(mark);
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] both = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }

    @Test
    void anInvalidTenantIsInvalidArgument() {
        Answer answer = send(OtlpSignal.TRACES, "../etc", traces(1).toByteArray(), false);

        assertThat(answer.code()).isEqualTo(Code.INVALID_ARGUMENT);
        assertThat(answer.message())
                .endsWith("tenant id must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'; got" + " '../etc'");
    }

    @Test
    void aRequestOverTheLimitIsResourceExhausted() {
        ExportLogsServiceRequest request = logs(1).toBuilder()
                .setUnknownFields(com.google.protobuf.UnknownFieldSet.newBuilder()
                        .addField(
                                1000,
                                com.google.protobuf.UnknownFieldSet.Field.newBuilder()
                                        .addLengthDelimited(ByteString.copyFrom(new byte[MAX_BODY_BYTES]))
                                        .build())
                        .build())
                .build();
        var mark = topics.get(OtlpSignal.LOGS).mark();

        Answer answer = send(OtlpSignal.LOGS, null, request.toByteArray(), false);

        assertThat(answer.code()).isEqualTo(Code.RESOURCE_EXHAUSTED);
        assertThat(answer.retryDelay()).as("too large: not to be retried").isNull();
        assertThat(topics.get(OtlpSignal.LOGS).mark()).isEqualTo(mark);
    }

    @Test
    void aGzipBombIsResourceExhaustedQuickly() {
        byte[] bomb = gzipBomb();
        assertThat(bomb.length).isLessThan(2 * 1024 * 1024);
        var mark = topics.get(OtlpSignal.TRACES).mark();
        long start = System.nanoTime();

        Answer answer = send(OtlpSignal.TRACES, null, bomb, true);

        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertThat(answer.code()).isEqualTo(Code.RESOURCE_EXHAUSTED);
        assertThat(answer.retryDelay()).as("too large: not to be retried").isNull();
        assertThat(answer.message()).endsWith("; the limit is " + MAX_BODY_BYTES + " bytes: send smaller batches");
        assertThat(took).isLessThan(Duration.ofSeconds(5));
        assertThat(topics.get(OtlpSignal.TRACES).mark()).isEqualTo(mark);
    }

    /**
     * A gzip bomb sent to an ingest whose budget is as small as its body limit: it could never be taken, so it is
     * refused as too large, without retry advice. OTLP/HTTP, which holds the compressed bytes while it inflates them,
     * once answered the retryable 429 when they and the inflated ones ran out of budget, so clients retried for ever.
     */
    @Test
    void aGzipBombThatCouldNeverFitTheBudgetIsTooLargeNotThrottled() throws Exception {
        byte[] bomb = gzip(new byte[16 * 1024 * 1024]);
        assertThat(bomb.length).as("compressed, it fits the limit").isLessThan(BUDGET_BYTES / 2);
        var mark = topics.get(OtlpSignal.LOGS).mark();

        Answer answer = send(budgetIngest, OtlpSignal.LOGS, null, null, bomb, true);

        assertThat(answer.code()).isEqualTo(Code.RESOURCE_EXHAUSTED);
        assertThat(answer.retryDelay()).as("never fits: not to be retried").isNull();
        assertThat(topics.get(OtlpSignal.LOGS).mark()).as("nothing written").isEqualTo(mark);
        awaitBytesInFlight(0);
    }

    @Test
    void whenKafkaDoesNotAcknowledgeTheAnswerIsUnavailableWithARetryDelay() {
        ExportTraceServiceRequest during = traces(1);
        Answer answer;
        Duration took;
        kafka.stop();
        try {
            long start = System.nanoTime();
            answer = send(OtlpSignal.TRACES, null, during.toByteArray(), false);
            took = Duration.ofNanos(System.nanoTime() - start);
        } finally {
            kafka.start();
            awaitKafkaAcknowledges();
        }

        assertThat(answer.code()).isEqualTo(Code.UNAVAILABLE);
        assertThat(answer.message()).isEqualTo("Kafka did not acknowledge the request in time; retry later");
        assertThat(answer.retryDelay()).isEqualTo(Duration.ofSeconds(OtlpHttpHandler.RETRY_AFTER_SECONDS));
        assertThat(took).isLessThan(KAFKA_TIMEOUT.plusSeconds(3));
    }

    /** After a restart the producer reconnects on its own; until then a request may still be refused. */
    private void awaitKafkaAcknowledges() {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (send(OtlpSignal.TRACES, null, traces(1).toByteArray(), false).code() != Code.OK) {
            assertThat(System.nanoTime()).as("Kafka is back").isLessThan(deadline);
        }
    }

    static OtlpSignal signalOf(Message request) {
        if (request instanceof ExportTraceServiceRequest) {
            return OtlpSignal.TRACES;
        }
        return request instanceof ExportLogsServiceRequest ? OtlpSignal.LOGS : OtlpSignal.METRICS;
    }

    static ExportTraceServiceRequest traces(int spans) {
        return IngestIT.traces("conformance", spans);
    }

    static ExportLogsServiceRequest logs(int records) {
        ScopeLogs.Builder scope = ScopeLogs.newBuilder();
        for (int i = 0; i < records; i++) {
            scope.addLogRecords(LogRecord.newBuilder()
                    .setTimeUnixNano(1_700_000_000_000_000_000L + i)
                    .setBody(AnyValue.newBuilder().setStringValue("record " + i))
                    .setTraceId(ByteString.copyFrom(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}))
                    .setSpanId(ByteString.copyFrom(new byte[] {1, 2, 3, 4, 5, 6, 7, (byte) i})));
        }
        return ExportLogsServiceRequest.newBuilder()
                .addResourceLogs(ResourceLogs.newBuilder()
                        .setResource(resource("logger"))
                        .addScopeLogs(scope))
                .build();
    }

    /** A gauge with two points and a histogram with one: three data points. */
    static ExportMetricsServiceRequest metrics() {
        Metric gauge = Metric.newBuilder()
                .setName("queue.depth")
                .setGauge(Gauge.newBuilder()
                        .addDataPoints(NumberDataPoint.newBuilder()
                                .setTimeUnixNano(1_700_000_000_000_000_000L)
                                .setAsInt(7))
                        .addDataPoints(NumberDataPoint.newBuilder()
                                .setTimeUnixNano(1_700_000_001_000_000_000L)
                                .setAsInt(9)))
                .build();
        Metric histogram = Metric.newBuilder()
                .setName("http.server.duration")
                .setHistogram(Histogram.newBuilder()
                        .addDataPoints(HistogramDataPoint.newBuilder()
                                .setTimeUnixNano(1_700_000_000_000_000_000L)
                                .setCount(3)
                                .setSum(12.5)
                                .addBucketCounts(1)
                                .addBucketCounts(2)
                                .addExplicitBounds(5.0)))
                .build();
        return ExportMetricsServiceRequest.newBuilder()
                .addResourceMetrics(ResourceMetrics.newBuilder()
                        .setResource(resource("meter"))
                        .addScopeMetrics(
                                ScopeMetrics.newBuilder().addMetrics(gauge).addMetrics(histogram)))
                .build();
    }

    static Resource resource(String service) {
        return Resource.newBuilder()
                .addAttributes(KeyValue.newBuilder()
                        .setKey("service.name")
                        .setValue(AnyValue.newBuilder().setStringValue(service)))
                .build();
    }

    static byte[] gzip(byte[] bytes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(out)) {
            gzip.write(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    static synchronized byte[] gzipBomb() {
        if (gzipBomb == null) {
            ByteArrayOutputStream out = new ByteArrayOutputStream(2 * 1024 * 1024);
            byte[] zeros = new byte[1024 * 1024];
            try (GZIPOutputStream gzip = new GZIPOutputStream(out, 64 * 1024)) {
                for (int i = 0; i < 1024; i++) {
                    gzip.write(zeros);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            gzipBomb = out.toByteArray();
        }
        return gzipBomb;
    }
}
