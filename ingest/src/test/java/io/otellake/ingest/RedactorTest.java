package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.google.protobuf.ByteString;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.ArrayValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.common.v1.KeyValueList;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.opentelemetry.proto.metrics.v1.Exemplar;
import io.opentelemetry.proto.metrics.v1.ExponentialHistogram;
import io.opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Gauge;
import io.opentelemetry.proto.metrics.v1.Histogram;
import io.opentelemetry.proto.metrics.v1.HistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.NumberDataPoint;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.opentelemetry.proto.metrics.v1.Sum;
import io.opentelemetry.proto.metrics.v1.Summary;
import io.opentelemetry.proto.metrics.v1.SummaryDataPoint;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.otellake.schemas.TenantId;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RedactorTest {
    private static final TenantId ACME = TenantId.of("acme");
    private static final String CARD = "4111 1111 1111 1111"; // a test Visa number; passes Luhn
    private static final String AWS_KEY = "AKIAIOSFODNN7EXAMPLE";

    private final IngestMetrics metrics = new IngestMetrics(() -> true);

    private Redactor redactor(Map<String, String> env) {
        return new Redactor(RedactionConfig.fromEnvironment(env), metrics);
    }

    @Test
    void everyBuiltInRuleMasksOnlyTheMatchInSpanEventLinkAndResourceAttributes() {
        ExportTraceServiceRequest request = ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .setResource(Resource.newBuilder().addAttributes(kv("owner", "ops@example.com")))
                        .addScopeSpans(ScopeSpans.newBuilder()
                                .addSpans(Span.newBuilder()
                                        .addAttributes(kv("card", "paid with " + CARD + " today"))
                                        .addAttributes(kv("order.id", "1700000000000000001"))
                                        .addEvents(Span.Event.newBuilder()
                                                .addAttributes(kv("header", "Authorization: Bearer abc.def-123")))
                                        .addLinks(Span.Link.newBuilder().addAttributes(kv("key", "id=" + AWS_KEY))))))
                .build();

        ExportTraceServiceRequest redacted = (ExportTraceServiceRequest)
                redactor(Map.of("OTEL_LAKE_REDACTION_ENABLED", "true")).redact(OtlpSignal.TRACES, ACME, request);

        ResourceSpans resource = redacted.getResourceSpans(0);
        Span span = resource.getScopeSpans(0).getSpans(0);
        assertThat(resource.getResource().getAttributes(0).getValue().getStringValue())
                .isEqualTo("****");
        assertThat(span.getAttributes(0).getValue().getStringValue()).isEqualTo("paid with **** today");
        // 19 digits, but not a card number: the checksum fails, so it is kept.
        assertThat(span.getAttributes(1).getValue().getStringValue()).isEqualTo("1700000000000000001");
        assertThat(span.getEvents(0).getAttributes(0).getValue().getStringValue())
                .isEqualTo("Authorization: ****");
        assertThat(span.getLinks(0).getAttributes(0).getValue().getStringValue())
                .isEqualTo("id=****");
        assertThat(metrics.scrape())
                .contains(
                        "otel_lake_ingest_redactions_total{signal=\"traces\",rule=\"card_number\"} 1",
                        "otel_lake_ingest_redactions_total{signal=\"traces\",rule=\"email\"} 1",
                        "otel_lake_ingest_redactions_total{signal=\"traces\",rule=\"bearer_token\"} 1",
                        "otel_lake_ingest_redactions_total{signal=\"traces\",rule=\"cloud_key\"} 1");
    }

    @Test
    void logBodiesAndLogAttributesAreRedactedIncludingNestedValues() {
        ExportLogsServiceRequest request = logs(
                LogRecord.newBuilder()
                        .setBody(AnyValue.newBuilder().setStringValue("mail to jane.doe@example.org failed"))
                        .addAttributes(KeyValue.newBuilder()
                                .setKey("list")
                                .setValue(AnyValue.newBuilder()
                                        .setArrayValue(ArrayValue.newBuilder()
                                                .addValues(AnyValue.newBuilder().setStringValue("a@b.io"))
                                                .addValues(AnyValue.newBuilder().setIntValue(7)))))
                        .build(),
                LogRecord.newBuilder()
                        .setBody(AnyValue.newBuilder()
                                .setKvlistValue(KeyValueList.newBuilder().addValues(kv("to", "x@y.com"))))
                        .build());

        ExportLogsServiceRequest redacted = (ExportLogsServiceRequest)
                redactor(Map.of("OTEL_LAKE_REDACTION_ENABLED", "true")).redact(OtlpSignal.LOGS, ACME, request);

        ScopeLogs scope = redacted.getResourceLogs(0).getScopeLogs(0);
        assertThat(scope.getLogRecords(0).getBody().getStringValue()).isEqualTo("mail to **** failed");
        assertThat(scope.getLogRecords(0)
                        .getAttributes(0)
                        .getValue()
                        .getArrayValue()
                        .getValuesList())
                .containsExactly(
                        AnyValue.newBuilder().setStringValue("****").build(),
                        AnyValue.newBuilder().setIntValue(7).build());
        assertThat(scope.getLogRecords(1).getBody().getKvlistValue().getValues(0))
                .isEqualTo(kv("to", "****"));
        assertThat(metrics.scrape()).contains("otel_lake_ingest_redactions_total{signal=\"logs\",rule=\"email\"} 3");
    }

    @Test
    void metricResourceScopeDataPointAndExemplarAttributesAreRedactedForEveryKindOfMetric() {
        Exemplar exemplar = Exemplar.newBuilder()
                .addFilteredAttributes(kv("user", "jane@example.com"))
                .build();
        ExportMetricsServiceRequest request = ExportMetricsServiceRequest.newBuilder()
                .addResourceMetrics(ResourceMetrics.newBuilder()
                        .setResource(Resource.newBuilder().addAttributes(kv("owner", "ops@example.com")))
                        .addScopeMetrics(ScopeMetrics.newBuilder()
                                .setScope(InstrumentationScope.newBuilder().addAttributes(kv("k", "id=" + AWS_KEY)))
                                .addMetrics(Metric.newBuilder()
                                        .setName("g")
                                        .setGauge(Gauge.newBuilder()
                                                .addDataPoints(NumberDataPoint.newBuilder()
                                                        .addAttributes(kv("card", CARD))
                                                        .addExemplars(exemplar))))
                                .addMetrics(Metric.newBuilder()
                                        .setName("s")
                                        .setSum(Sum.newBuilder()
                                                .addDataPoints(NumberDataPoint.newBuilder()
                                                        .addAttributes(kv("to", "a@b.io")))))
                                .addMetrics(Metric.newBuilder()
                                        .setName("h")
                                        .setHistogram(Histogram.newBuilder()
                                                .addDataPoints(HistogramDataPoint.newBuilder()
                                                        .addAttributes(kv("to", "c@d.io"))
                                                        .addExemplars(exemplar))))
                                .addMetrics(Metric.newBuilder()
                                        .setName("e")
                                        .setExponentialHistogram(ExponentialHistogram.newBuilder()
                                                .addDataPoints(ExponentialHistogramDataPoint.newBuilder()
                                                        .addAttributes(kv("to", "e@f.io"))
                                                        .addExemplars(exemplar))))
                                .addMetrics(Metric.newBuilder()
                                        .setName("q")
                                        .setSummary(Summary.newBuilder()
                                                .addDataPoints(SummaryDataPoint.newBuilder()
                                                        .addAttributes(kv("to", "g@h.io")))))))
                .build();

        ExportMetricsServiceRequest redacted = (ExportMetricsServiceRequest)
                redactor(Map.of("OTEL_LAKE_REDACTION_ENABLED", "true")).redact(OtlpSignal.METRICS, ACME, request);

        ResourceMetrics resource = redacted.getResourceMetrics(0);
        ScopeMetrics scope = resource.getScopeMetrics(0);
        assertThat(resource.getResource().getAttributes(0)).isEqualTo(kv("owner", "****"));
        assertThat(scope.getScope().getAttributes(0)).isEqualTo(kv("k", "id=****"));
        NumberDataPoint gauge = scope.getMetrics(0).getGauge().getDataPoints(0);
        assertThat(gauge.getAttributes(0)).isEqualTo(kv("card", "****"));
        assertThat(gauge.getExemplars(0).getFilteredAttributes(0)).isEqualTo(kv("user", "****"));
        assertThat(scope.getMetrics(1).getSum().getDataPoints(0).getAttributes(0))
                .isEqualTo(kv("to", "****"));
        HistogramDataPoint histogram = scope.getMetrics(2).getHistogram().getDataPoints(0);
        assertThat(histogram.getAttributes(0)).isEqualTo(kv("to", "****"));
        assertThat(histogram.getExemplars(0).getFilteredAttributes(0)).isEqualTo(kv("user", "****"));
        ExponentialHistogramDataPoint exponential =
                scope.getMetrics(3).getExponentialHistogram().getDataPoints(0);
        assertThat(exponential.getAttributes(0)).isEqualTo(kv("to", "****"));
        assertThat(exponential.getExemplars(0).getFilteredAttributes(0)).isEqualTo(kv("user", "****"));
        assertThat(scope.getMetrics(4).getSummary().getDataPoints(0).getAttributes(0))
                .isEqualTo(kv("to", "****"));
        assertThat(metrics.scrape())
                .contains(
                        "otel_lake_ingest_redactions_total{signal=\"metrics\",rule=\"email\"} 8",
                        "otel_lake_ingest_redactions_total{signal=\"metrics\",rule=\"card_number\"} 1",
                        "otel_lake_ingest_redactions_total{signal=\"metrics\",rule=\"cloud_key\"} 1");
    }

    @Test
    void scopeAttributesOfSpansAndLogsAreRedacted() {
        ExportTraceServiceRequest traces = ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .addScopeSpans(ScopeSpans.newBuilder()
                                .setScope(InstrumentationScope.newBuilder().addAttributes(kv("k", "a@b.io")))
                                .addSpans(Span.newBuilder().setName("s"))))
                .build();
        ExportLogsServiceRequest logs = ExportLogsServiceRequest.newBuilder()
                .addResourceLogs(ResourceLogs.newBuilder()
                        .addScopeLogs(ScopeLogs.newBuilder()
                                .setScope(InstrumentationScope.newBuilder().addAttributes(kv("k", "c@d.io")))
                                .addLogRecords(LogRecord.newBuilder())))
                .build();
        Redactor redactor = redactor(Map.of("OTEL_LAKE_REDACTION_ENABLED", "true"));

        ExportTraceServiceRequest redactedTraces =
                (ExportTraceServiceRequest) redactor.redact(OtlpSignal.TRACES, ACME, traces);
        ExportLogsServiceRequest redactedLogs = (ExportLogsServiceRequest) redactor.redact(OtlpSignal.LOGS, ACME, logs);

        assertThat(redactedTraces
                        .getResourceSpans(0)
                        .getScopeSpans(0)
                        .getScope()
                        .getAttributes(0))
                .isEqualTo(kv("k", "****"));
        assertThat(redactedLogs.getResourceLogs(0).getScopeLogs(0).getScope().getAttributes(0))
                .isEqualTo(kv("k", "****"));
    }

    /** A long run of local-part characters without an '@' (a hex dump) once cost the email rule minutes of CPU. */
    @Test
    void theEmailRuleTakesLinearTimeOnALongValue() {
        String hexDump = "0123456789abcdef".repeat(16 * 1024);
        ExportLogsServiceRequest request = logs(LogRecord.newBuilder()
                .setBody(AnyValue.newBuilder().setStringValue(hexDump + " sent to jane@example.com"))
                .build());
        Redactor redactor = redactor(Map.of("OTEL_LAKE_REDACTION_ENABLED", "true"));

        ExportLogsServiceRequest redacted = assertTimeoutPreemptively(Duration.ofSeconds(10), () ->
                (ExportLogsServiceRequest) redactor.redact(OtlpSignal.LOGS, ACME, request));

        assertThat(redacted.getResourceLogs(0)
                        .getScopeLogs(0)
                        .getLogRecords(0)
                        .getBody()
                        .getStringValue())
                .isEqualTo(hexDump + " sent to ****");
    }

    /**
     * A domain of many labels once overflowed the stack in the email rule: the StackOverflowError killed the handling
     * thread, so the client got no answer at all and retried for ever.
     */
    @Test
    void theEmailRuleDoesNotOverflowTheStackOnADomainOfManyLabels() {
        ExportLogsServiceRequest request = logs(LogRecord.newBuilder()
                .setBody(AnyValue.newBuilder().setStringValue("to jane@" + "a.".repeat(50_000) + "com, failed"))
                .build());

        ExportLogsServiceRequest redacted = (ExportLogsServiceRequest)
                redactor(Map.of("OTEL_LAKE_REDACTION_ENABLED", "true")).redact(OtlpSignal.LOGS, ACME, request);

        assertThat(redacted.getResourceLogs(0)
                        .getScopeLogs(0)
                        .getLogRecords(0)
                        .getBody()
                        .getStringValue())
                .isEqualTo("to ****, failed");
    }

    /**
     * A configured rule whose group repeats once per character overflows Java's regex stack on a long value; the
     * StackOverflowError once escaped, killing the handling thread without an answer. The value is replaced whole.
     */
    @Test
    void aValueOnWhichAConfiguredRuleOverflowsTheStackIsReplacedWhole() {
        String refs = "refs ORD-" + "1-".repeat(100_000);
        ExportLogsServiceRequest request = logs(LogRecord.newBuilder()
                .setBody(AnyValue.newBuilder().setStringValue(refs))
                .addAttributes(kv("order", "ORD-12-34"))
                .build());

        ExportLogsServiceRequest redacted = (ExportLogsServiceRequest) redactor(Map.of(
                        "OTEL_LAKE_REDACTION_ENABLED", "true",
                        "OTEL_LAKE_REDACTION_BLOCKED_VALUE_ORDER_REF", "(?:ORD|INV)-(?:\\d|-)+"))
                .redact(OtlpSignal.LOGS, ACME, request);

        LogRecord record = redacted.getResourceLogs(0).getScopeLogs(0).getLogRecords(0);
        assertThat(record.getBody().getStringValue()).isEqualTo("****");
        assertThat(record.getAttributes(0).getValue().getStringValue()).isEqualTo("****");
        assertThat(metrics.scrape())
                .contains("otel_lake_ingest_redactions_total{signal=\"logs\",rule=\"order_ref\"} 2");
    }

    @Test
    void theEmailRuleMasksAddressesWithALocalPartOfAtMost64Characters() {
        Redactor redactor = redactor(Map.of("OTEL_LAKE_REDACTION_ENABLED", "true"));
        Map<String, String> expected = Map.of(
                "<jane@EXAMPLE.ORG>, bob@ex-ample.io;",
                "<****>, ****;",
                "mail jane.doe+x@mail.example.co.uk.",
                "mail ****.",
                "a@b.com.x@c.org",
                "********",
                "user@host and x@y.c",
                "user@host and x@y.c",
                ("x".repeat(70)) + "@example.com",
                "xxxxxx****");
        expected.forEach((value, masked) -> {
            ExportLogsServiceRequest redacted = (ExportLogsServiceRequest) redactor.redact(
                    OtlpSignal.LOGS,
                    ACME,
                    logs(LogRecord.newBuilder()
                            .setBody(AnyValue.newBuilder().setStringValue(value))
                            .build()));
            assertThat(redacted.getResourceLogs(0)
                            .getScopeLogs(0)
                            .getLogRecords(0)
                            .getBody()
                            .getStringValue())
                    .as(value)
                    .isEqualTo(masked);
        });
    }

    /**
     * A card number once leaked whenever more digits or a word character touched it: the regex wanted a word boundary
     * on both sides, and after a failed checksum it retried from the next digit, which is never at one.
     */
    @Test
    void theCardNumberRuleFindsACardNextToLettersAndInsideALongerRunOfGroups() {
        Map<String, String> expected = Map.of(
                "card 4111 1111 1111 1111 123", "card **** 123",
                "4111 1111 1111 1111 12/26", "**** 12/26",
                "cc 4111-1111-1111-1111-12", "cc ****-12",
                "card_4111111111111111", "card_****",
                "ref4111111111111111x", "ref****x",
                "order 12 4111 1111 1111 1111 paid", "order 12 **** paid",
                "amex 3782 822463 10005;visa 4111111111111111", "amex ****;visa ****");
        Redactor redactor = redactor(Map.of("OTEL_LAKE_REDACTION_ENABLED", "true"));
        expected.forEach(
                (value, masked) -> assertThat(body(redactor, value)).as(value).isEqualTo(masked));
        assertThat(metrics.scrape())
                .contains("otel_lake_ingest_redactions_total{signal=\"logs\",rule=\"card_number\"} 8");
    }

    /**
     * The checksum passes one number in ten, so the rule tries only numbers that start and end at a group's edge: a
     * long number is not searched for card-like windows (this 22-digit one holds the test Visa number, glued to other
     * digits), and order ids, timestamps and phone numbers are left alone.
     */
    @Test
    void theCardNumberRuleLeavesOrdinaryNumbersAlone() {
        Redactor redactor = redactor(Map.of("OTEL_LAKE_REDACTION_ENABLED", "true"));
        for (String value : List.of(
                "order 1700000000000000001 shipped",
                "ts=1733232000000000000",
                "at 1733232000000000000 1733232000000000001 1733232000000000002",
                "call +1 415-555-2671 or +44 20 7946 0958",
                "2024-12-03 10:15:42.123456789",
                "id 9841111111111111117654",
                "v1.2.3-4111 build 20241203101542")) {
            assertThat(body(redactor, value)).as(value).isEqualTo(value);
        }
    }

    /** Values of 256 KiB of digits and separators, in the shapes that give the scan the most candidates. */
    @Test
    void theCardNumberRuleTakesLinearTimeOnLongRunsOfDigits() {
        Redactor redactor = redactor(Map.of("OTEL_LAKE_REDACTION_ENABLED", "true"));
        String ones = "1 ".repeat(128 * 1024) + "1";
        String digits = "1".repeat(256 * 1024);
        String groups = "1234-".repeat(52 * 1024) + "1234";

        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            assertThat(body(redactor, ones)).isEqualTo(ones);
            assertThat(body(redactor, digits)).isEqualTo(digits);
            assertThat(body(redactor, groups)).isEqualTo(groups);
            assertThat(body(redactor, digits + " 4111 1111 1111 1111")).isEqualTo(digits + " ****");
        });
    }

    /** Bytes values once skipped redaction; text in them is redacted, and binary data is left as it is. */
    @Test
    void bytesValuesThatAreUtf8TextAreRedactedAndStayBytes() {
        byte[] binary = ("\u00ff\u00fe jane@example.com").getBytes(StandardCharsets.ISO_8859_1); // 0xff: not UTF-8
        ExportLogsServiceRequest request = logs(LogRecord.newBuilder()
                .setBody(bytes("paid with " + CARD + " by jane@example.com"))
                .addAttributes(KeyValue.newBuilder().setKey("payload").setValue(bytes("to jöhn@example.com, ok")))
                .addAttributes(KeyValue.newBuilder().setKey("binary").setValue(bytes(binary)))
                .addAttributes(KeyValue.newBuilder().setKey("clean").setValue(bytes("nothing here")))
                .build());

        ExportLogsServiceRequest redacted = (ExportLogsServiceRequest)
                redactor(Map.of("OTEL_LAKE_REDACTION_ENABLED", "true")).redact(OtlpSignal.LOGS, ACME, request);

        LogRecord record = redacted.getResourceLogs(0).getScopeLogs(0).getLogRecords(0);
        assertThat(record.getBody()).isEqualTo(bytes("paid with **** by ****"));
        assertThat(record.getAttributesList())
                .extracting(KeyValue::getValue)
                .containsExactly(bytes("to jö****, ok"), bytes(binary), bytes("nothing here"));
        assertThat(metrics.scrape())
                .contains(
                        "otel_lake_ingest_redactions_total{signal=\"logs\",rule=\"card_number\"} 1",
                        "otel_lake_ingest_redactions_total{signal=\"logs\",rule=\"email\"} 2");
    }

    private static AnyValue bytes(String text) {
        return bytes(text.getBytes(StandardCharsets.UTF_8));
    }

    private static AnyValue bytes(byte[] value) {
        return AnyValue.newBuilder().setBytesValue(ByteString.copyFrom(value)).build();
    }

    @Test
    void deniedKeysAreReplacedWholeAllowedKeysAreKeptAndHashingKeepsEqualValuesEqual() {
        ExportLogsServiceRequest request = logs(LogRecord.newBuilder()
                .addAttributes(kv("Password", "hunter2"))
                .addAttributes(KeyValue.newBuilder()
                        .setKey("pin")
                        .setValue(AnyValue.newBuilder().setIntValue(1234)))
                .addAttributes(kv("user.email", "kept@example.com"))
                .addAttributes(kv("cc", CARD))
                .addAttributes(kv("cc2", CARD.replace(' ', '-')))
                .build());

        ExportLogsServiceRequest redacted = (ExportLogsServiceRequest) redactor(Map.of(
                        "OTEL_LAKE_REDACTION_ENABLED", "true",
                        "OTEL_LAKE_REDACTION_DENIED_KEYS", "password, pin",
                        "OTEL_LAKE_REDACTION_ALLOWED_KEYS", "user.email",
                        "OTEL_LAKE_REDACTION_MODE", "hash"))
                .redact(OtlpSignal.LOGS, ACME, request);

        LogRecord record = redacted.getResourceLogs(0).getScopeLogs(0).getLogRecords(0);
        assertThat(record.getAttributesList())
                .extracting(a -> a.getValue().getStringValue())
                .containsExactly(
                        Redactor.hash("hunter2"),
                        record.getAttributes(1).getValue().getStringValue(),
                        "kept@example.com",
                        Redactor.hash(CARD),
                        Redactor.hash(CARD.replace(' ', '-')));
        assertThat(record.getAttributes(1).getValue().getStringValue())
                .startsWith("sha256:")
                .hasSize(23);
        assertThat(Redactor.hash("hunter2")).isEqualTo("sha256:f52fbd32b2b3b86f");
    }

    @Test
    void perTenantOverridesReplaceTheDefaultsAndRulesCanBeSwitchedOff() {
        Redactor redactor = redactor(Map.of(
                "OTEL_LAKE_REDACTION_ENABLED", "true",
                "OTEL_LAKE_REDACTION_RULES", "email,order_ref",
                "OTEL_LAKE_REDACTION_BLOCKED_VALUE_ORDER_REF", "ORD-\\d{6}",
                "OTEL_LAKE_REDACTION_TENANTS", "globex:enabled=false; initech:rules=card_number,mode=hash"));
        ExportLogsServiceRequest request = logs(LogRecord.newBuilder()
                .setBody(AnyValue.newBuilder().setStringValue("a@b.io ORD-123456 " + CARD))
                .build());

        assertThat(body(redactor.redact(OtlpSignal.LOGS, ACME, request))).isEqualTo("**** **** " + CARD);
        assertThat(redactor.redact(OtlpSignal.LOGS, TenantId.of("globex"), request))
                .isSameAs(request);
        assertThat(body(redactor.redact(OtlpSignal.LOGS, TenantId.of("initech"), request)))
                .isEqualTo("a@b.io ORD-123456 " + Redactor.hash(CARD));
        assertThat(metrics.scrape())
                .contains("otel_lake_ingest_redactions_total{signal=\"logs\",rule=\"order_ref\"} 1");
    }

    @Test
    void offByDefaultAndNothingChangesWhenNothingMatches() {
        ExportLogsServiceRequest request = logs(LogRecord.newBuilder()
                .setBody(AnyValue.newBuilder().setStringValue("a@b.io"))
                .build());
        ExportLogsServiceRequest clean = logs(LogRecord.newBuilder()
                .setBody(AnyValue.newBuilder().setStringValue("nothing to see"))
                .build());

        assertThat(redactor(Map.of()).redact(OtlpSignal.LOGS, ACME, request)).isSameAs(request);
        assertThat(redactor(Map.of("OTEL_LAKE_REDACTION_ENABLED", "true")).redact(OtlpSignal.LOGS, ACME, clean))
                .isSameAs(clean);
    }

    @Test
    void invalidSettingsAreRefusedWithTheVariable() {
        assertThatThrownBy(() -> RedactionConfig.fromEnvironment(Map.of("OTEL_LAKE_REDACTION_RULES", "emial")))
                .hasMessage("redaction rule 'emial' is neither built in [card_number, email, bearer_token, cloud_key]"
                        + " nor configured with OTEL_LAKE_REDACTION_BLOCKED_VALUE_EMIAL (OTEL_LAKE_REDACTION_RULES,"
                        + " OTEL_LAKE_REDACTION_TENANTS)");
        assertThatThrownBy(() -> RedactionConfig.fromEnvironment(Map.of("OTEL_LAKE_REDACTION_BLOCKED_VALUE_X", "(")))
                .hasMessageStartingWith("OTEL_LAKE_REDACTION_BLOCKED_VALUE_X is not a valid regular expression");
        assertThatThrownBy(() -> RedactionConfig.fromEnvironment(Map.of("OTEL_LAKE_REDACTION_MODE", "erase")))
                .hasMessage("OTEL_LAKE_REDACTION_MODE must be mask or hash; got 'erase'");
        assertThatThrownBy(
                        () -> RedactionConfig.fromEnvironment(Map.of("OTEL_LAKE_REDACTION_TENANTS", "acme:colour=red")))
                .hasMessage("OTEL_LAKE_REDACTION_TENANTS: unknown setting 'colour'; use enabled, rules, denied_keys,"
                        + " allowed_keys or mode");
    }

    /** The body of a log record with the string body {@code value}, redacted. */
    private static String body(Redactor redactor, String value) {
        return body(redactor.redact(
                OtlpSignal.LOGS,
                ACME,
                logs(LogRecord.newBuilder()
                        .setBody(AnyValue.newBuilder().setStringValue(value))
                        .build())));
    }

    private static String body(com.google.protobuf.Message request) {
        return ((ExportLogsServiceRequest) request)
                .getResourceLogs(0)
                .getScopeLogs(0)
                .getLogRecords(0)
                .getBody()
                .getStringValue();
    }

    private static ExportLogsServiceRequest logs(LogRecord... records) {
        ScopeLogs.Builder scope = ScopeLogs.newBuilder();
        for (LogRecord r : records) {
            scope.addLogRecords(r);
        }
        return ExportLogsServiceRequest.newBuilder()
                .addResourceLogs(ResourceLogs.newBuilder().addScopeLogs(scope))
                .build();
    }

    private static KeyValue kv(String key, String value) {
        return KeyValue.newBuilder()
                .setKey(key)
                .setValue(AnyValue.newBuilder().setStringValue(value))
                .build();
    }
}
