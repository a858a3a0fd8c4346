package io.otellake.ingest;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.opentelemetry.proto.metrics.v1.Exemplar;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.otellake.schemas.TenantId;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Redacts trace, log and metric export requests before they are written, by the policy of the request's tenant
 * ({@link RedactionConfig}).
 *
 * <p>Guarantees: with the tenant's policy on, no string value of a span, span event, span link, log record, metric data
 * point, exemplar, metric metadata, instrumentation scope or resource attribute, and no string log body (nor any string
 * nested in an array or key-value list within them) that matches an applied rule reaches Kafka: the matching part is
 * replaced by {@code ****} or its hash. A bytes value (or body) that is valid UTF-8 is matched as that text, and where
 * anything was replaced it becomes the UTF-8 of the redacted text, still a bytes value; bytes that are not valid UTF-8
 * (binary data) are not matched. The value of a denied key is replaced whole, whatever its type; an allowed key's value
 * is left as it is. Keys, names, ids and metric values are not redacted. With the policy off, the request is returned
 * as it is. Each replacement is counted by rule ({@code denied_key} for denied keys).
 *
 * <p>Card numbers ({@code card_number}) are found by a scan, not a regex. Digits, with single spaces or dashes between
 * them, form a run, and the separators split it into groups: {@code 4111 1111 1111 1111 123} is a run of five
 * groups. A candidate starts at the first digit of a group (so also right after a letter, {@code _} or any other
 * character) and ends at the last digit of a group, holds 13 to 19 digits, and passes the Luhn checksum; every such
 * candidate is replaced, candidates that overlap as one part. So a card number is found next to letters and inside a
 * longer run of groups (a card number followed by a CVV or an expiry). It is not found inside a group: digits glued
 * to it without a separator make another, longer number. That is deliberate: the checksum passes one number in ten,
 * so trying every window of 13 to 19 digits in a long number (an id, a nanosecond timestamp, a decimal dump) would
 * mask most of them; a group of more than 19 digits is never masked, and one of 13 to 19 is masked only when it passes
 * the checksum as a whole. The scan tries at most 19 digits from each group's first: linear in the value's length.
 */
final class Redactor {
    static final String MASK = "****";
    static final String DENIED_KEY = "denied_key";

    private final RedactionConfig config;
    private final Map<String, BlockedValue> rules = new LinkedHashMap<>();
    private final IngestMetrics metrics;

    /** A rule: finds the parts of a value it blocks. */
    @FunctionalInterface
    private interface BlockedValue {
        /** Reports every part of {@code value} this rule blocks, in order and without overlaps. */
        void find(String value, Found found);
    }

    /** Receives the parts a rule blocks. */
    @FunctionalInterface
    private interface Found {
        /** The part from {@code start} (inclusive) to {@code end} (exclusive) is blocked. */
        void part(int start, int end);
    }

    Redactor(RedactionConfig config, IngestMetrics metrics) {
        this.config = config;
        this.metrics = metrics;
        rules.put("card_number", Redactor::cardNumbers);
        // Linear in the value's length, and without a repeated group. An unbounded local part made every start in a
        // long run of such characters (a hex dump) scan to the run's end: quadratic, minutes for 256 KiB. A group
        // repeated per domain label recursed once per label: "a@a.a.a…" overflowed the stack, and the request got no
        // answer. The local part is at most 64 characters, as RFC 5321 allows (of a longer run before '@', the last 64
        // are replaced); the domain is one character class, which takes empty labels ("a@b..com") too.
        rules.put("email", regex("[A-Za-z0-9._%+-]{1,64}+@[A-Za-z0-9-][A-Za-z0-9.-]*\\.[A-Za-z]{2,}"));
        rules.put("bearer_token", regex("(?i)\\bbearer\\s+[A-Za-z0-9\\-._~+/]+=*"));
        rules.put(
                "cloud_key",
                regex("\\b(?:(?:AKIA|ASIA)[0-9A-Z]{16}|AIza[0-9A-Za-z_\\-]{35}"
                        + "|gh[pousr]_[A-Za-z0-9]{36,}|xox[abposr]-[A-Za-z0-9-]{10,})\\b"));
        config.customRules().forEach((name, regex) -> rules.put(name, regex(regex)));
    }

    /** A rule that blocks every match of a regex. */
    private static BlockedValue regex(String regex) {
        Pattern pattern = Pattern.compile(regex);
        return (value, found) -> {
            Matcher m = pattern.matcher(value);
            int from = 0;
            while (from <= value.length() && m.find(from)) {
                found.part(m.start(), m.end());
                from = m.end() == m.start() ? m.end() + 1 : m.end();
            }
        };
    }

    /** Whether the tenant's policy is on, so that its requests must be decoded to be redacted. */
    boolean redacts(TenantId tenant) {
        return config.policy(tenant).enabled();
    }

    /** The request redacted by the tenant's policy; the same object when the policy is off. */
    Message redact(OtlpSignal signal, TenantId tenant, Message request) {
        RedactionConfig.Policy policy = config.policy(tenant);
        if (!policy.enabled()) {
            return request;
        }
        Pass pass = new Pass(policy, signal);
        if (request instanceof ExportTraceServiceRequest traces) {
            ExportTraceServiceRequest.Builder b = traces.toBuilder();
            for (ResourceSpans.Builder resource : b.getResourceSpansBuilderList()) {
                if (resource.hasResource()) {
                    pass.attributes(resource.getResourceBuilder().getAttributesBuilderList());
                }
                for (ScopeSpans.Builder scope : resource.getScopeSpansBuilderList()) {
                    if (scope.hasScope()) {
                        pass.attributes(scope.getScopeBuilder().getAttributesBuilderList());
                    }
                    for (Span.Builder span : scope.getSpansBuilderList()) {
                        pass.attributes(span.getAttributesBuilderList());
                        span.getEventsBuilderList().forEach(e -> pass.attributes(e.getAttributesBuilderList()));
                        span.getLinksBuilderList().forEach(l -> pass.attributes(l.getAttributesBuilderList()));
                    }
                }
            }
            return pass.redactions == 0 ? request : b.build();
        }
        if (request instanceof ExportLogsServiceRequest logs) {
            ExportLogsServiceRequest.Builder b = logs.toBuilder();
            for (ResourceLogs.Builder resource : b.getResourceLogsBuilderList()) {
                if (resource.hasResource()) {
                    pass.attributes(resource.getResourceBuilder().getAttributesBuilderList());
                }
                for (ScopeLogs.Builder scope : resource.getScopeLogsBuilderList()) {
                    if (scope.hasScope()) {
                        pass.attributes(scope.getScopeBuilder().getAttributesBuilderList());
                    }
                    for (LogRecord.Builder record : scope.getLogRecordsBuilderList()) {
                        pass.attributes(record.getAttributesBuilderList());
                        if (record.hasBody()) {
                            pass.value(record.getBodyBuilder());
                        }
                    }
                }
            }
            return pass.redactions == 0 ? request : b.build();
        }
        if (request instanceof ExportMetricsServiceRequest metricsRequest) {
            ExportMetricsServiceRequest.Builder b = metricsRequest.toBuilder();
            for (ResourceMetrics.Builder resource : b.getResourceMetricsBuilderList()) {
                if (resource.hasResource()) {
                    pass.attributes(resource.getResourceBuilder().getAttributesBuilderList());
                }
                for (ScopeMetrics.Builder scope : resource.getScopeMetricsBuilderList()) {
                    if (scope.hasScope()) {
                        pass.attributes(scope.getScopeBuilder().getAttributesBuilderList());
                    }
                    for (Metric.Builder metric : scope.getMetricsBuilderList()) {
                        pass.dataPoints(metric);
                    }
                }
            }
            return pass.redactions == 0 ? request : b.build();
        }
        return request;
    }

    /** One request's redaction. */
    private final class Pass {
        private final RedactionConfig.Policy policy;
        private final OtlpSignal signal;
        private final List<String> applied;
        int redactions;

        Pass(RedactionConfig.Policy policy, OtlpSignal signal) {
            this.policy = policy;
            this.signal = signal;
            this.applied = policy.rules();
        }

        void attributes(List<KeyValue.Builder> attributes) {
            for (KeyValue.Builder attribute : attributes) {
                String key = attribute.getKey().toLowerCase(Locale.ROOT);
                if (policy.allowedKeys().contains(key)) {
                    continue;
                }
                if (policy.deniedKeys().contains(key)) {
                    AnyValue value = attribute.getValue();
                    String whole = value.getValueCase() == AnyValue.ValueCase.STRING_VALUE
                            ? value.getStringValue()
                            : value.toByteString().toStringUtf8();
                    attribute.setValue(AnyValue.newBuilder().setStringValue(replacement(whole)));
                    counted(DENIED_KEY, 1);
                    continue;
                }
                if (attribute.hasValue()) {
                    value(attribute.getValueBuilder());
                }
            }
        }

        /** The attributes of every data point of a metric, and of their exemplars. */
        void dataPoints(Metric.Builder metric) {
            switch (metric.getDataCase()) {
                case GAUGE ->
                    metric.getGaugeBuilder()
                            .getDataPointsBuilderList()
                            .forEach(p -> point(p.getAttributesBuilderList(), p.getExemplarsBuilderList()));
                case SUM ->
                    metric.getSumBuilder()
                            .getDataPointsBuilderList()
                            .forEach(p -> point(p.getAttributesBuilderList(), p.getExemplarsBuilderList()));
                case HISTOGRAM ->
                    metric.getHistogramBuilder()
                            .getDataPointsBuilderList()
                            .forEach(p -> point(p.getAttributesBuilderList(), p.getExemplarsBuilderList()));
                case EXPONENTIAL_HISTOGRAM ->
                    metric.getExponentialHistogramBuilder()
                            .getDataPointsBuilderList()
                            .forEach(p -> point(p.getAttributesBuilderList(), p.getExemplarsBuilderList()));
                case SUMMARY ->
                    metric.getSummaryBuilder()
                            .getDataPointsBuilderList()
                            .forEach(p -> point(p.getAttributesBuilderList(), List.of()));
                default -> {
                    // no data: nothing to redact
                }
            }
            attributes(metric.getMetadataBuilderList());
        }

        /** A data point's attributes, and those of its exemplars (a summary's points have none). */
        private void point(List<KeyValue.Builder> attributes, List<Exemplar.Builder> exemplars) {
            attributes(attributes);
            exemplars.forEach(e -> attributes(e.getFilteredAttributesBuilderList()));
        }

        void value(AnyValue.Builder value) {
            switch (value.getValueCase()) {
                case STRING_VALUE -> {
                    String before = value.getStringValue();
                    String after = string(before);
                    if (!after.equals(before)) {
                        value.setStringValue(after);
                    }
                }
                case ARRAY_VALUE ->
                    value.getArrayValueBuilder().getValuesBuilderList().forEach(this::value);
                case KVLIST_VALUE -> attributes(value.getKvlistValueBuilder().getValuesBuilderList());
                case BYTES_VALUE -> {
                    // Clients put text in bytes too (a logged payload; OTLP/JSON sends bytes as base64, so a secret
                    // there is not even visible as text). Binary data is rarely valid UTF-8, and is left alone.
                    ByteString before = value.getBytesValue();
                    if (before.isValidUtf8()) {
                        String text = before.toStringUtf8();
                        String after = string(text);
                        if (!after.equals(text)) {
                            value.setBytesValue(ByteString.copyFromUtf8(after));
                        }
                    }
                }
                default -> {
                    // numbers and booleans are not matched
                }
            }
        }

        private String string(String value) {
            String result = value;
            for (String name : applied) {
                BlockedValue rule = rules.get(name);
                try {
                    result = apply(name, rule, result);
                } catch (StackOverflowError e) {
                    // Java's regex engine recurses once per repetition of a group, so a configured rule such as
                    // (?:ORD|INV)-(?:\d|-)+ overflows the stack on a long enough value. Uncaught, the Error killed the
                    // handling thread and the client got no answer at all. Only this matcher's frames unwind, and
                    // a value that cannot be checked must not reach Kafka: it is replaced whole.
                    counted(name, 1);
                    return replacement(value);
                }
            }
            return result;
        }

        /** {@code value} with every part one rule blocks replaced. */
        private String apply(String name, BlockedValue rule, String value) {
            Replacing replacing = new Replacing(value);
            rule.find(value, replacing);
            if (replacing.count == 0) {
                return value;
            }
            counted(name, replacing.count);
            return replacing.result();
        }

        /** Builds a value's copy with the parts a rule reports replaced. */
        private final class Replacing implements Found {
            private final String value;
            private @Nullable StringBuilder out;
            private int last;
            int count;

            Replacing(String value) {
                this.value = value;
            }

            @Override
            public void part(int start, int end) {
                if (out == null) {
                    out = new StringBuilder(value.length());
                }
                out.append(value, last, start).append(replacement(value.substring(start, end)));
                last = end;
                count++;
            }

            /** The copy; call only when a part was reported. */
            String result() {
                return Objects.requireNonNull(out, "out")
                        .append(value, last, value.length())
                        .toString();
            }
        }

        private void counted(String rule, int n) {
            redactions += n;
            metrics.redacted(signal, rule, n);
        }

        private String replacement(String secret) {
            return policy.mode() == RedactionConfig.Mode.MASK ? MASK : hash(secret);
        }
    }

    static String hash(String value) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
            return "sha256:" + HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM lacks SHA-256", e);
        }
    }

    private static final int CARD_MIN_DIGITS = 13;
    private static final int CARD_MAX_DIGITS = 19;

    /** The {@code card_number} rule: see the class's Javadoc. */
    private static void cardNumbers(String value, Found found) {
        int maskStart = -1;
        int maskEnd = -1;
        for (int start = 0; start < value.length(); start++) {
            if (!digit(value, start) || digit(value, start - 1)) {
                continue; // not the first digit of a group
            }
            int end = longestCardNumber(value, start);
            if (end < 0) {
                continue;
            }
            if (maskStart >= 0 && start < maskEnd) {
                maskEnd = Math.max(maskEnd, end);
            } else {
                if (maskStart >= 0) {
                    found.part(maskStart, maskEnd);
                }
                maskStart = start;
                maskEnd = end;
            }
        }
        if (maskStart >= 0) {
            found.part(maskStart, maskEnd);
        }
    }

    /**
     * The end of the longest candidate (13 to 19 digits, ending at the end of a group) that starts at {@code start},
     * the first digit of a group, and passes the Luhn checksum; -1 if there is none.
     */
    private static int longestCardNumber(String value, int start) {
        // Luhn doubles every second digit counting back from the last, and where a candidate ends is not known while
        // its digits are read: keep both sums, doubling the digits at even and at odd places from the start.
        int doublingEven = 0;
        int doublingOdd = 0;
        int digits = 0;
        int longest = -1;
        int i = start;
        while (true) {
            int d = value.charAt(i) - '0';
            int doubled = d < 5 ? 2 * d : 2 * d - 9;
            if (digits % 2 == 0) {
                doublingEven += doubled;
                doublingOdd += d;
            } else {
                doublingEven += d;
                doublingOdd += doubled;
            }
            digits++;
            i++;
            if (!digit(value, i)) {
                // the end of a group: of an even number of digits, the first is doubled
                int sum = digits % 2 == 0 ? doublingEven : doublingOdd;
                if (digits >= CARD_MIN_DIGITS && sum % 10 == 0) {
                    longest = i;
                }
                boolean separated = i < value.length() && (value.charAt(i) == ' ' || value.charAt(i) == '-');
                if (!separated || !digit(value, i + 1)) {
                    return longest;
                }
                i++;
            }
            if (digits == CARD_MAX_DIGITS) {
                return longest;
            }
        }
    }

    private static boolean digit(String value, int i) {
        return i >= 0 && i < value.length() && value.charAt(i) >= '0' && value.charAt(i) <= '9';
    }
}
