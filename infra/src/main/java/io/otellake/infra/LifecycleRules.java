package io.otellake.infra;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Renders the S3 lifecycle configuration that expires the lake's objects after a default number of days and per-tenant
 * overrides, for deployments that let S3 delete old data instead of the archiver's retention. The output is the JSON
 * that {@code aws s3api put-bucket-lifecycle-configuration --bucket <bucket> --lifecycle-configuration
 * file://rules.json} takes:
 *
 * <pre>
 * java -cp infra/target/classes io.otellake.infra.LifecycleRules --prefix lake --default-days 90 --tenant acme=30
 * </pre>
 *
 * <p><b>The rules.</b> For each tenant with its own retention and each of the folders {@code traces}, {@code logs},
 * {@code metrics} and {@code _index/traces}: one rule with {@code Filter.Prefix} {@code <prefix>/<folder>/tenant=<t>/}
 * and {@code Expiration.Days}. With a default, one more rule per folder, prefix {@code <prefix>/<folder>/}. No rule
 * covers {@code _manifests}, {@code _deadletter} or {@code _quarantine}: manifests must never expire while archivers
 * run, and the other two are kept until someone looks at them. A last rule aborts multipart uploads under the prefix
 * that are still incomplete a day after they began: the archiver uploads large files in parts and aborts an upload
 * that fails, but one that a crash interrupts holds its parts, billed and invisible, until S3 aborts it.
 *
 * <p><b>Creation date, not event time.</b> S3 expires an object a number of days after it was <em>created</em>
 * (counted from the next midnight UTC), whatever hour its rows belong to. Late data, written today into an hour of last
 * week, therefore lives a week longer than its event hour implies, and a compacted file starts a new life for the rows
 * it merges. The archiver's own retention goes by the hour in the key and has neither skew.
 *
 * <p><b>The shortest rule wins.</b> When several rules match an object, S3 expires it by the earliest. A tenant that
 * keeps its data longer than the default therefore cannot be expressed with a folder-wide default rule, and rendering
 * refuses: leave the default out and name every tenant, or use the archiver's retention.
 *
 * <p>On a versioned bucket, {@code Expiration} only adds a delete marker; add a {@code NoncurrentVersionExpiration} to
 * free the space.
 */
public final class LifecycleRules {
    /** The folders below the lake prefix whose objects expire, each with a {@code tenant=<t>/} level below it. */
    public static final List<String> FOLDERS = List.of("traces", "logs", "metrics", "_index/traces");

    /** An upload in parts that has not completed this many days after it began is aborted by S3. */
    static final int ABORT_INCOMPLETE_UPLOADS_DAYS = 1;

    /** S3 accepts at most this many rules in one bucket's lifecycle configuration. */
    static final int MAX_RULES = 1000;

    private static final Pattern PREFIX = Pattern.compile("([A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*)?");
    private static final Pattern TENANT = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final Pattern TENANT_DAYS = Pattern.compile("([^=]*)=(\\d{1,6})d?");

    private static final String USAGE = String.join(
            "\n",
            "usage: LifecycleRules [--prefix <lake prefix>] [--default-days <days>] [--tenant <tenant>=<days>]...",
            "  Prints the S3 lifecycle configuration (JSON for aws s3api put-bucket-lifecycle-configuration).",
            "  --prefix        the lake prefix, OTEL_LAKE_S3_PREFIX (default: lake; empty for none)",
            "  --default-days  days every tenant without its own rule keeps its objects",
            "  --tenant        a tenant's own days, e.g. acme=30; repeat it or separate with commas",
            "  The last rule aborts uploads in parts still incomplete after a day; with no days and no tenants it is the",
            "  only rule, for deployments where the archiver's retention deletes.");

    private LifecycleRules() {}

    /**
     * The lifecycle configuration as JSON, one rule per tenant and folder, then the default rules, then the rule that
     * aborts incomplete uploads.
     *
     * @param prefix the lake prefix (OTEL_LAKE_S3_PREFIX), empty or slash-separated segments of A-Z a-z 0-9 _ . -
     * @param defaultDays days after creation that objects of tenants without their own rule expire; empty for no
     *     default rules (with no tenants either, only the rule for incomplete uploads is rendered, for deployments
     *     where the archiver's retention deletes)
     * @param tenantDays days per tenant id, in the order the rules are to be written
     * @throws IllegalArgumentException with a sentence saying what to change: a bad prefix, tenant id or number of
     *     days, a tenant keeping longer than the default, or more than {@value #MAX_RULES} rules
     */
    public static String render(String prefix, OptionalInt defaultDays, Map<String, Integer> tenantDays) {
        Objects.requireNonNull(prefix, "prefix");
        Objects.requireNonNull(defaultDays, "defaultDays");
        Objects.requireNonNull(tenantDays, "tenantDays");
        if (!PREFIX.matcher(prefix).matches() || prefix.contains("..")) {
            throw new IllegalArgumentException("the lake prefix must be empty or slash-separated segments of"
                    + " A-Z a-z 0-9 _ . - without a leading or trailing slash; got '" + prefix + "'");
        }
        defaultDays.ifPresent(days -> requireDays(days, "the default"));
        for (Map.Entry<String, Integer> e : tenantDays.entrySet()) {
            if (!TENANT.matcher(e.getKey()).matches()) {
                throw new IllegalArgumentException("tenant id must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or"
                        + " '-'; got '" + e.getKey() + "'");
            }
            requireDays(e.getValue(), "tenant " + e.getKey());
            if (defaultDays.isPresent() && e.getValue() > defaultDays.getAsInt()) {
                throw new IllegalArgumentException("tenant " + e.getKey() + " keeps " + e.getValue()
                        + " days, longer than the default " + defaultDays.getAsInt()
                        + ": S3 expires an object by the earliest rule that matches it, so the default rule would"
                        + " delete its objects after " + defaultDays.getAsInt() + " days. Leave the default out and"
                        + " name every tenant, or use the archiver's retention (OTEL_LAKE_RETENTION_TENANTS).");
            }
        }
        int rules = FOLDERS.size() * (tenantDays.size() + (defaultDays.isPresent() ? 1 : 0)) + 1;
        if (rules > MAX_RULES) {
            throw new IllegalArgumentException(rules + " rules, more than the " + MAX_RULES + " S3 accepts for one"
                    + " bucket; give fewer tenants their own days, or use the archiver's retention"
                    + " (OTEL_LAKE_RETENTION_TENANTS), which has no such limit");
        }
        String root = prefix.isEmpty() ? "" : prefix + "/";
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Integer> e : tenantDays.entrySet()) {
            for (String folder : FOLDERS) {
                out.add(rule(
                        id(folder) + "-tenant-" + e.getKey(),
                        root + folder + "/tenant=" + e.getKey() + "/",
                        e.getValue()));
            }
        }
        if (defaultDays.isPresent()) {
            for (String folder : FOLDERS) {
                out.add(rule(id(folder) + "-default", root + folder + "/", defaultDays.getAsInt()));
            }
        }
        out.add(rule(
                "otel-lake-abort-incomplete-uploads",
                root,
                "\"AbortIncompleteMultipartUpload\": { \"DaysAfterInitiation\": " + ABORT_INCOMPLETE_UPLOADS_DAYS
                        + " }"));
        return "{\n  \"Rules\": [\n" + String.join(",\n", out) + "\n  ]\n}\n";
    }

    /** Prints the rules to standard output; on a bad argument prints why and the usage, and exits with status 2. */
    public static void main(String[] args) {
        int status = run(args, System.out, System.err);
        if (status != 0) {
            System.exit(status);
        }
    }

    /** The command line behind {@link #main}; returns the exit status. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        String prefix = "lake";
        OptionalInt defaultDays = OptionalInt.empty();
        Map<String, Integer> tenants = new LinkedHashMap<>();
        try {
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                if (arg.equals("-h") || arg.equals("--help")) {
                    out.println(USAGE);
                    return 0;
                }
                if (!arg.equals("--prefix") && !arg.equals("--default-days") && !arg.equals("--tenant")) {
                    throw new IllegalArgumentException("unknown argument '" + arg + "'");
                }
                if (i + 1 == args.length) {
                    throw new IllegalArgumentException(arg + " needs a value");
                }
                String value = args[++i];
                switch (arg) {
                    case "--prefix" -> prefix = value;
                    case "--default-days" -> defaultDays = OptionalInt.of(days(value, "--default-days"));
                    default -> parseTenants(value, tenants);
                }
            }
            out.print(render(prefix, defaultDays, Collections.unmodifiableMap(tenants)));
            return 0;
        } catch (IllegalArgumentException e) {
            err.println("LifecycleRules: " + e.getMessage());
            err.println(USAGE);
            return 2;
        }
    }

    /** Adds {@code acme=30} or {@code acme=30d,globex=365d} to {@code tenants}. */
    private static void parseTenants(String value, Map<String, Integer> tenants) {
        for (String part : value.split(",", -1)) {
            String entry = part.strip();
            Matcher m = TENANT_DAYS.matcher(entry);
            if (!m.matches()) {
                throw new IllegalArgumentException("--tenant '" + entry + "' must be <tenant>=<days>, e.g. acme=30;"
                        + " S3 lifecycle rules count whole days, so hours cannot be expressed");
            }
            String tenant = m.group(1).strip();
            if (tenants.putIfAbsent(tenant, days(m.group(2), "--tenant " + tenant)) != null) {
                throw new IllegalArgumentException("tenant '" + tenant + "' is given twice; keep one --tenant each");
            }
        }
    }

    private static int days(String value, String what) {
        try {
            return Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " must be a whole number of days, got '" + value + "'");
        }
    }

    private static void requireDays(int days, String what) {
        if (days < 1) {
            throw new IllegalArgumentException(
                    what + " must keep objects at least 1 day, as S3 lifecycle rules count whole days; got " + days);
        }
    }

    private static String id(String folder) {
        return "otel-lake-" + folder.replace('/', '-');
    }

    /** One rule that expires objects {@code days} after their creation. */
    private static String rule(String id, String keyPrefix, int days) {
        return rule(id, keyPrefix, "\"Expiration\": { \"Days\": " + days + " }");
    }

    /** One rule; every value is from the validated prefix, tenant ids and folder names, so needs no escaping. */
    private static String rule(String id, String keyPrefix, String action) {
        return "    {\n"
                + "      \"ID\": \"" + id + "\",\n"
                + "      \"Filter\": { \"Prefix\": \"" + keyPrefix + "\" },\n"
                + "      \"Status\": \"Enabled\",\n"
                + "      " + action + "\n"
                + "    }";
    }
}
