package io.otellake.ingest;

import com.google.protobuf.Message;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
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
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Redacts trace and log export requests before they are written, by the policy of the request's tenant
 * ({@link RedactionConfig}).
 *
 * <p>Guarantees: with the tenant's policy on, no string value of a span, span event, span link, log record or resource
 * attribute, and no string log body (nor any string nested in an array or key-value list within them) that matches an
 * applied rule reaches Kafka: the matching part is replaced by {@code ****} or its hash. The value of a denied key is
 * replaced whole, whatever its type; an allowed key's value is left as it is. Keys, names, ids and metrics are not
 * redacted. With the policy off, the request is returned as it is. Each replacement is counted by rule
 * ({@code denied_key} for denied keys).
 */
final class Redactor {
    static final String MASK = "****";
    static final String DENIED_KEY = "denied_key";

    private final RedactionConfig config;
    private final Map<String, BlockedValue> rules = new LinkedHashMap<>();
    private final IngestMetrics metrics;

    /** A rule: a regex, and a check a match must pass too (a card number's checksum). */
    private record BlockedValue(Pattern pattern, Predicate<String> check) {}

    Redactor(RedactionConfig config, IngestMetrics metrics) {
        this.config = config;
        this.metrics = metrics;
        rules.put("card_number", new BlockedValue(Pattern.compile("\\b\\d(?:[ -]?\\d){12,18}\\b"), Redactor::luhn));
        // Linear in the value's length, and without a repeated group. An unbounded local part made every start in a
        // long run of such characters (a hex dump) scan to the run's end: quadratic, minutes for 256 KiB. A group
        // repeated per domain label recursed once per label: "a@a.a.a…" overflowed the stack, and the request got no
        // answer. The local part is at most 64 characters, as RFC 5321 allows (of a longer run before '@', the last 64
        // are replaced); the domain is one character class, which takes empty labels ("a@b..com") too.
        rules.put(
                "email",
                new BlockedValue(
                        Pattern.compile("[A-Za-z0-9._%+-]{1,64}+@[A-Za-z0-9-][A-Za-z0-9.-]*\\.[A-Za-z]{2,}"),
                        s -> true));
        rules.put(
                "bearer_token",
                new BlockedValue(Pattern.compile("(?i)\\bbearer\\s+[A-Za-z0-9\\-._~+/]+=*"), s -> true));
        rules.put(
                "cloud_key",
                new BlockedValue(
                        Pattern.compile("\\b(?:(?:AKIA|ASIA)[0-9A-Z]{16}|AIza[0-9A-Za-z_\\-]{35}"
                                + "|gh[pousr]_[A-Za-z0-9]{36,}|xox[abposr]-[A-Za-z0-9-]{10,})\\b"),
                        s -> true));
        config.customRules()
                .forEach((name, regex) -> rules.put(name, new BlockedValue(Pattern.compile(regex), s -> true)));
    }

    /** Whether the tenant's policy is on, so that its trace and log requests must be decoded to be redacted. */
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
                default -> {
                    // numbers, booleans and bytes are not matched
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

        /** {@code value} with every match of one rule replaced. */
        private String apply(String name, BlockedValue rule, String value) {
            Matcher m = rule.pattern().matcher(value);
            StringBuilder out = null;
            int count = 0;
            int last = 0;
            int from = 0;
            while (from <= value.length() && m.find(from)) {
                if (!rule.check().test(m.group())) {
                    from = m.start() + 1; // a shorter or later run may still be one (a card after an order id)
                    continue;
                }
                if (out == null) {
                    out = new StringBuilder(value.length());
                }
                out.append(value, last, m.start()).append(replacement(m.group()));
                last = m.end();
                from = m.end() == m.start() ? m.end() + 1 : m.end();
                count++;
            }
            if (out == null) {
                return value;
            }
            out.append(value, last, value.length());
            counted(name, count);
            return out.toString();
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

    /** Whether a run of digits (with spaces or dashes) passes the Luhn checksum of card numbers. */
    static boolean luhn(String candidate) {
        int sum = 0;
        boolean doubled = false;
        int digits = 0;
        for (int i = candidate.length() - 1; i >= 0; i--) {
            char c = candidate.charAt(i);
            if (c < '0' || c > '9') {
                continue;
            }
            int d = c - '0';
            if (doubled) {
                d *= 2;
                if (d > 9) {
                    d -= 9;
                }
            }
            sum += d;
            doubled = !doubled;
            digits++;
        }
        return digits >= 13 && digits <= 19 && sum % 10 == 0;
    }
}
