package io.otellake.query;

import io.otellake.schemas.Ids;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.springframework.util.MultiValueMap;

/**
 * The filters shared by log search and log volume, parsed from request parameters and turned into a SQL condition
 * whose every value is a bound parameter. Column names and operators come from this class only.
 *
 * @param contains case-insensitive substring of the body
 * @param regex RE2 regular expression the body must match (DuckDB's {@code regexp_matches})
 * @param services the record's service must be one of these (none: any)
 * @param severityMin lowest OTLP severity number, 1 to 24
 * @param attributes record attributes that must equal the given text ({@code attr.<key>=<value>})
 * @param resourceAttributes resource attributes that must equal the given text ({@code resource.<key>=<value>})
 */
record LogFilter(
        @Nullable String contains,
        @Nullable String regex,
        List<String> services,
        @Nullable Integer severityMin,
        @Nullable String traceId,
        @Nullable String spanId,
        Map<String, String> attributes,
        Map<String, String> resourceAttributes) {

    static final String EVENT_TIME = "coalesce(timestamp, observed_timestamp)";
    static final String ATTR_PREFIX = "attr.";
    static final String RESOURCE_PREFIX = "resource.";
    static final int MAX_REGEX_LENGTH = 1000;
    /**
     * The most {@link #countedRepetition} a regex may have. RE2 runs a regex in time linear in the body through a
     * DFA, unless the DFA outgrows its memory; then it falls back to simulating the program state by state, in time
     * the body's length times the program's size, and DuckDB cannot cancel it inside one body: {@code
     * [0-9a-f]{1000}[0-9a-f]{1000}z} took 7.6 s on one body of 256 KiB (and minutes on megabytes). Counted repetitions
     * are what make a short regex a large program. Within this bound a regex still costs: {@code
     * [0-9a-f]{500}[0-9a-f]{500}z} about 39 ms per 1 KiB hex body, {@code a.{999}z} 2.3 s per 256 KiB body (measured
     * with DuckDB 2.0 directly), and DuckDB notices a cancel only between pieces of its scan, so such a search can
     * answer its 504 seconds after the time limit (see docs/operations.md).
     */
    static final int MAX_COUNTED_REPETITION = 1000;

    private static final Map<String, Integer> SEVERITIES = severities();

    /** Parameters every log endpoint accepts besides {@code attr.*} and {@code resource.*}. */
    static final Set<String> PARAMETERS = Set.of("q", "regex", "service", "severity_min", "trace_id", "span_id");

    /** The only parameter that may be given more than once: any of its values matches. */
    static final Set<String> REPEATABLE = Set.of("service");

    /**
     * How many times a regex's counted repetitions ({@code x{n}}, {@code x{n,}}, {@code x{n,m}}) repeat what they
     * apply to, in all: the sum over them of their largest count, times the counts of the groups around them. An
     * estimate of the size they add to the RE2 program, read off the text (escapes and character classes skipped).
     */
    static long countedRepetition(String regex) {
        Deque<Long> groups = new ArrayDeque<>(); // per open group: the total inside it so far
        long total = 0;
        long last = 0; // the total of the atom or group just ended, which a following {n} repeats
        int i = 0;
        while (i < regex.length()) {
            char c = regex.charAt(i);
            if (c == '\\') {
                i += 2;
                last = 0;
            } else if (c == '[') {
                i = endOfClass(regex, i);
                last = 0;
            } else if (c == '(') {
                groups.push(total);
                total = 0;
                i++;
                last = 0;
            } else if (c == ')' && !groups.isEmpty()) {
                last = total;
                total = groups.pop() + total;
                i++;
            } else if (c == '{' && regex.indexOf('}', i) > i) {
                int close = regex.indexOf('}', i);
                long count = largestCount(regex.substring(i + 1, close));
                if (count < 0) {
                    i++; // not a repetition: RE2 reads a literal '{'
                    last = 0;
                    continue;
                }
                // the atom once plus count - 1 more copies; a group's inner repetitions count as often
                total += count + (count - 1) * last;
                last = 0;
                i = close + 1;
            } else {
                i++;
                last = 0;
            }
        }
        while (!groups.isEmpty()) {
            total += groups.pop();
        }
        return total;
    }

    /** The index after the character class that starts at {@code open}. */
    private static int endOfClass(String regex, int open) {
        int i = open + 1;
        if (i < regex.length() && regex.charAt(i) == '^') {
            i++;
        }
        if (i < regex.length() && regex.charAt(i) == ']') {
            i++; // a leading ']' is a member
        }
        while (i < regex.length() && regex.charAt(i) != ']') {
            i += regex.charAt(i) == '\\' ? 2 : 1;
        }
        return i + 1;
    }

    /** The largest count of {@code n}, {@code n,} or {@code n,m}; -1 when it is none of those. */
    private static long largestCount(String inside) {
        if (!inside.matches("[0-9]{1,9}(,[0-9]{0,9})?")) {
            return -1;
        }
        int comma = inside.indexOf(',');
        long low = Long.parseLong(comma < 0 ? inside : inside.substring(0, comma));
        return comma < 0 || comma == inside.length() - 1
                ? low
                : Math.max(low, Long.parseLong(inside.substring(comma + 1)));
    }

    static LogFilter parse(MultiValueMap<String, String> params) {
        Map<String, String> attrs = new LinkedHashMap<>();
        Map<String, String> resource = new LinkedHashMap<>();
        params.forEach((name, values) -> {
            if (name.startsWith(ATTR_PREFIX)) {
                attrs.put(key(name, ATTR_PREFIX), single(name, values));
            } else if (name.startsWith(RESOURCE_PREFIX)) {
                resource.put(key(name, RESOURCE_PREFIX), single(name, values));
            }
        });
        String regex = params.getFirst("regex");
        if (regex != null && regex.length() > MAX_REGEX_LENGTH) {
            throw new BadRequestException("regex may be at most " + MAX_REGEX_LENGTH + " characters");
        }
        if (regex != null && countedRepetition(regex) > MAX_COUNTED_REPETITION) {
            throw new BadRequestException("regex repeats more than " + MAX_COUNTED_REPETITION
                    + " times in all through counted repetitions such as {n}: too costly to run on long bodies");
        }
        List<String> services = params.getOrDefault("service", List.of()).stream()
                .filter(s -> !s.isEmpty())
                .toList();
        return new LogFilter(
                blankToNull(params.getFirst("q")),
                blankToNull(regex),
                services,
                severity(params.getFirst("severity_min")),
                id("trace_id", params.getFirst("trace_id"), 32),
                id("span_id", params.getFirst("span_id"), 16),
                attrs,
                resource);
    }

    /** Appends {@code AND ...} conditions to {@code sql} and their values to {@code params}. */
    void appendTo(StringBuilder sql, List<Object> params) {
        if (contains != null) {
            // both sides lowered by DuckDB: Java's toLowerCase maps some letters otherwise (a final capital sigma to
            // ς, a dotted capital I to i plus a combining dot), so a body's own text did not find it
            sql.append(" AND contains(lower(body), lower(?))");
            params.add(contains);
        }
        if (regex != null) {
            sql.append(" AND regexp_matches(body, ?)");
            params.add(regex);
        }
        if (!services.isEmpty()) {
            sql.append(" AND service_name IN (")
                    .append(String.join(", ", Collections.nCopies(services.size(), "?")))
                    .append(")");
            params.addAll(services);
        }
        if (severityMin != null) {
            // 1-24 only: a number beyond the OTLP range (accepted as sent) has no severity, as the volume's groups say
            sql.append(" AND severity_number >= ? AND severity_number <= 24");
            params.add(severityMin);
        }
        if (traceId != null) {
            sql.append(" AND trace_id = ?");
            params.add(traceId);
        }
        if (spanId != null) {
            sql.append(" AND span_id = ?");
            params.add(spanId);
        }
        attributes.forEach((k, v) -> {
            sql.append(" AND attributes[?] = ?");
            params.add(k);
            params.add(v);
        });
        resourceAttributes.forEach((k, v) -> {
            sql.append(" AND resource_attributes[?] = ?");
            params.add(k);
            params.add(v);
        });
    }

    private static String key(String name, String prefix) {
        String key = name.substring(prefix.length());
        if (key.isEmpty()) {
            throw new BadRequestException(prefix + "<key> needs a key, e.g. " + prefix + "http.route=/users");
        }
        return key;
    }

    private static String single(String name, List<String> values) {
        if (values.size() != 1) {
            throw new BadRequestException(name + " may be given once");
        }
        return values.get(0);
    }

    @Nullable
    private static String blankToNull(@Nullable String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    @Nullable
    static Integer severity(@Nullable String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        String t = text.trim().toUpperCase(Locale.ROOT);
        Integer named = SEVERITIES.get(t);
        if (named != null) {
            return named;
        }
        try {
            int n = RequestParams.parseAsciiInt(t);
            if (n >= 1 && n <= 24) {
                return n;
            }
        } catch (NumberFormatException e) {
            // fall through to the message
        }
        throw new BadRequestException("severity_min must be a severity number from 1 to 24 or one of TRACE, DEBUG,"
                + " INFO, WARN, ERROR, FATAL (optionally with 2-4, e.g. ERROR2); got '" + text + "'");
    }

    @Nullable
    private static String id(String name, @Nullable String text, int hexLength) {
        if (text == null || text.isEmpty()) {
            return null;
        }
        if (!Ids.isHex(text, hexLength)) {
            throw new BadRequestException(name + " must be " + hexLength + " hex characters, got '"
                    + (text.length() > 64 ? text.substring(0, 64) + "..." : text) + "'");
        }
        return text.toLowerCase(Locale.ROOT);
    }

    private static Map<String, Integer> severities() {
        Map<String, Integer> m = new LinkedHashMap<>();
        String[] names = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
        for (int i = 0; i < names.length; i++) {
            int base = 1 + 4 * i;
            m.put(names[i], base);
            m.put(names[i] + "1", base);
            for (int j = 2; j <= 4; j++) {
                m.put(names[i] + j, base + j - 1);
            }
        }
        m.put("WARNING", 13);
        m.put("CRITICAL", 21);
        return Map.copyOf(m);
    }

    /** The severity group of a severity number, as OTLP names them; 0 is UNSPECIFIED. */
    static String severityGroupSql() {
        return "CASE WHEN severity_number BETWEEN 1 AND 4 THEN 'TRACE' WHEN severity_number BETWEEN 5 AND 8 THEN"
                + " 'DEBUG' WHEN severity_number BETWEEN 9 AND 12 THEN 'INFO' WHEN severity_number BETWEEN 13 AND 16"
                + " THEN 'WARN' WHEN severity_number BETWEEN 17 AND 20 THEN 'ERROR' WHEN severity_number BETWEEN 21"
                + " AND 24 THEN 'FATAL' ELSE 'UNSPECIFIED' END";
    }
}
