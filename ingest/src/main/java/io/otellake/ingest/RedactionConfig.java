package io.otellake.ingest;

import io.otellake.schemas.TenantId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * What ingest redacts before anything reaches Kafka, modelled on the OpenTelemetry Collector's redaction processor:
 * named rules of blocked values (regexes; {@link #BUILT_IN_RULES} plus any from
 * {@code OTEL_LAKE_REDACTION_BLOCKED_VALUE_<NAME>}), keys whose values are always redacted (denied), keys never
 * redacted (allowed), and whether a redacted value is masked or hashed; with per-tenant overrides.
 *
 * @param defaults the policy of every tenant without an override
 * @param tenants per-tenant policies, each the defaults with the override's settings replaced
 * @param customRules the regex of each rule from configuration, by rule name
 */
public record RedactionConfig(Policy defaults, Map<TenantId, Policy> tenants, Map<String, String> customRules) {
    public static final String ENV_ENABLED = "OTEL_LAKE_REDACTION_ENABLED";
    public static final String ENV_RULES = "OTEL_LAKE_REDACTION_RULES";
    public static final String ENV_BLOCKED_VALUE_PREFIX = "OTEL_LAKE_REDACTION_BLOCKED_VALUE_";
    public static final String ENV_DENIED_KEYS = "OTEL_LAKE_REDACTION_DENIED_KEYS";
    public static final String ENV_ALLOWED_KEYS = "OTEL_LAKE_REDACTION_ALLOWED_KEYS";
    public static final String ENV_MODE = "OTEL_LAKE_REDACTION_MODE";
    public static final String ENV_TENANTS = "OTEL_LAKE_REDACTION_TENANTS";

    /** The blocked-value rules ingest knows without configuration; see {@link Redactor}. */
    public static final List<String> BUILT_IN_RULES = List.of("card_number", "email", "bearer_token", "cloud_key");

    /** Off: nothing is redacted unless configured. */
    public static final RedactionConfig OFF =
            new RedactionConfig(new Policy(false, BUILT_IN_RULES, Set.of(), Set.of(), Mode.MASK), Map.of(), Map.of());

    private static final Pattern RULE_NAME = Pattern.compile("[a-z0-9_]{1,64}");

    /** How a redacted value or part of a value is replaced. */
    public enum Mode {
        /** By {@code ****}. */
        MASK,
        /** By {@code sha256:} and the first 16 hex characters of its SHA-256, so equal values stay comparable. */
        HASH
    }

    /**
     * The redaction of one tenant.
     *
     * @param enabled whether anything is redacted
     * @param rules the names of the blocked-value rules that apply
     * @param deniedKeys attribute keys whose values are always redacted, lower case
     * @param allowedKeys attribute keys whose values are never redacted, lower case
     * @param mode masking or hashing
     */
    public record Policy(
            boolean enabled, List<String> rules, Set<String> deniedKeys, Set<String> allowedKeys, Mode mode) {
        public Policy {
            rules = List.copyOf(rules);
            deniedKeys = Set.copyOf(deniedKeys);
            allowedKeys = Set.copyOf(allowedKeys);
            Objects.requireNonNull(mode, "mode");
        }
    }

    public RedactionConfig {
        Objects.requireNonNull(defaults, "defaults");
        tenants = Map.copyOf(tenants);
        customRules = Map.copyOf(customRules);
        for (Map.Entry<String, String> rule : customRules.entrySet()) {
            if (BUILT_IN_RULES.contains(rule.getKey())) {
                throw new IllegalArgumentException(
                        ENV_BLOCKED_VALUE_PREFIX + rule.getKey().toUpperCase(Locale.ROOT)
                                + " would replace a built-in rule; choose another name");
            }
            try {
                Pattern.compile(rule.getValue());
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException(
                        ENV_BLOCKED_VALUE_PREFIX + rule.getKey().toUpperCase(Locale.ROOT)
                                + " is not a valid regular expression: " + e.getDescription());
            }
        }
        List<Policy> all = new ArrayList<>(tenants.values());
        all.add(defaults);
        for (Policy policy : all) {
            for (String rule : policy.rules()) {
                if (!BUILT_IN_RULES.contains(rule) && !customRules.containsKey(rule)) {
                    throw new IllegalArgumentException("redaction rule '" + rule + "' is neither built in "
                            + BUILT_IN_RULES + " nor configured with " + ENV_BLOCKED_VALUE_PREFIX
                            + rule.toUpperCase(Locale.ROOT) + " (" + ENV_RULES + ", " + ENV_TENANTS + ")");
                }
            }
        }
    }

    /** The policy of a tenant. */
    Policy policy(TenantId tenant) {
        return tenants.getOrDefault(tenant, defaults);
    }

    /** Whether any tenant has redaction on. */
    boolean anyEnabled() {
        return defaults.enabled() || tenants.values().stream().anyMatch(Policy::enabled);
    }

    /**
     * Reads the {@code OTEL_LAKE_REDACTION_*} variables.
     *
     * @throws IllegalArgumentException naming the variable and saying what it must be
     */
    static RedactionConfig fromEnvironment(Map<String, String> env) {
        Map<String, String> custom = new TreeMap<>();
        env.forEach((name, value) -> {
            if (name.startsWith(ENV_BLOCKED_VALUE_PREFIX) && value != null && !value.isBlank()) {
                String rule = name.substring(ENV_BLOCKED_VALUE_PREFIX.length()).toLowerCase(Locale.ROOT);
                if (!RULE_NAME.matcher(rule).matches()) {
                    throw new IllegalArgumentException(
                            name + ": a rule name is 1 to 64 characters of A-Z, 0-9 and '_' after the prefix");
                }
                custom.put(rule, value.strip());
            }
        });
        List<String> allRules = new ArrayList<>(BUILT_IN_RULES);
        allRules.addAll(custom.keySet());
        Policy defaults = new Policy(
                bool(ENV_ENABLED, env.get(ENV_ENABLED), false),
                value(env, ENV_RULES) == null ? allRules : list(value(env, ENV_RULES), ","),
                keys(value(env, ENV_DENIED_KEYS), ","),
                keys(value(env, ENV_ALLOWED_KEYS), ","),
                value(env, ENV_MODE) == null ? Mode.MASK : mode(ENV_MODE, value(env, ENV_MODE)));
        Map<TenantId, Policy> tenants = new LinkedHashMap<>();
        String overrides = value(env, ENV_TENANTS);
        if (overrides != null) {
            for (String entry : overrides.split(";")) {
                if (entry.isBlank()) {
                    continue;
                }
                int colon = entry.indexOf(':');
                if (colon <= 0) {
                    throw new IllegalArgumentException(ENV_TENANTS + " entries look like"
                            + " <tenant>:enabled=true,rules=email|card_number,denied_keys=a|b,allowed_keys=c,mode=hash;"
                            + " got '" + entry.strip() + "'");
                }
                TenantId tenant;
                try {
                    tenant = TenantId.of(entry.substring(0, colon).strip());
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(ENV_TENANTS + ": " + e.getMessage(), e);
                }
                tenants.put(tenant, override(defaults, entry.substring(colon + 1)));
            }
        }
        return new RedactionConfig(defaults, tenants, custom);
    }

    private static Policy override(Policy base, String settings) {
        boolean enabled = base.enabled();
        List<String> rules = base.rules();
        Set<String> denied = base.deniedKeys();
        Set<String> allowed = base.allowedKeys();
        Mode mode = base.mode();
        for (String setting : settings.split(",")) {
            if (setting.isBlank()) {
                continue;
            }
            int eq = setting.indexOf('=');
            String name = eq < 0 ? setting.strip() : setting.substring(0, eq).strip();
            String value = eq < 0 ? "" : setting.substring(eq + 1).strip();
            switch (name) {
                case "enabled" -> enabled = bool(ENV_TENANTS + " enabled", value, enabled);
                case "rules" -> rules = list(value, "\\|");
                case "denied_keys" -> denied = keys(value, "\\|");
                case "allowed_keys" -> allowed = keys(value, "\\|");
                case "mode" -> mode = mode(ENV_TENANTS + " mode", value);
                default ->
                    throw new IllegalArgumentException(ENV_TENANTS + ": unknown setting '" + name
                            + "'; use enabled, rules, denied_keys, allowed_keys or mode");
            }
        }
        return new Policy(enabled, rules, denied, allowed, mode);
    }

    private static String value(Map<String, String> env, String name) {
        String raw = env.get(name);
        return raw == null || raw.isBlank() ? null : raw.strip();
    }

    private static boolean bool(String what, String value, boolean otherwise) {
        if (value == null || value.isBlank()) {
            return otherwise;
        }
        return switch (value.strip().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException(what + " must be true or false; got '" + value.strip() + "'");
        };
    }

    private static Mode mode(String what, String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "mask" -> Mode.MASK;
            case "hash" -> Mode.HASH;
            default -> throw new IllegalArgumentException(what + " must be mask or hash; got '" + value + "'");
        };
    }

    /** {@code none} is the empty list. */
    private static List<String> list(String value, String separator) {
        if (value.isBlank() || value.strip().equalsIgnoreCase("none")) {
            return List.of();
        }
        return Arrays.stream(value.split(separator))
                .map(String::strip)
                .filter(s -> !s.isEmpty())
                .map(s -> s.toLowerCase(Locale.ROOT))
                .distinct()
                .toList();
    }

    private static Set<String> keys(String value, String separator) {
        return value == null ? Set.of() : new TreeSet<>(list(value, separator));
    }
}
