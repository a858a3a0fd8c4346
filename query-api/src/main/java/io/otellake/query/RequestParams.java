package io.otellake.query;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.springframework.util.MultiValueMap;

/** Request-parameter checks shared by the endpoints, so every endpoint refuses the same mistakes the same way. */
final class RequestParams {
    private RequestParams() {}

    /**
     * Refuses any parameter that is neither in {@code known} nor starts with one of {@code prefixes}, so a typo never
     * silently widens a query, and any parameter given more than once that is not in {@code repeatable}, so a second
     * value is never silently dropped.
     */
    static void requireKnown(
            MultiValueMap<String, String> params, Set<String> known, Set<String> repeatable, String... prefixes) {
        params.forEach((name, values) -> {
            if (!known.contains(name) && List.of(prefixes).stream().noneMatch(name::startsWith)) {
                String patterns =
                        List.of(prefixes).stream().map(p -> ", " + p + "<key>").collect(Collectors.joining());
                throw new BadRequestException(
                        "unknown parameter '" + name + "'; known: " + new TreeSet<>(known) + patterns);
            }
            if (values.size() > 1 && !repeatable.contains(name)) {
                throw new BadRequestException(name + " may be given once");
            }
        });
    }

    /** {@code limit}: a whole number from 1 to {@code max}; {@code fallback}, but at most {@code max}, when absent. */
    static int limit(@Nullable String text, int fallback, int max) {
        if (text == null || text.isBlank()) {
            return Math.min(fallback, max);
        }
        try {
            int n = parseAsciiInt(text.trim());
            if (n < 1 || n > max) {
                throw new BadRequestException("limit must be between 1 and " + max + ", got " + n);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new BadRequestException("limit must be a whole number, got '" + text + "'");
        }
    }

    /**
     * A whole number in ASCII digits, with a minus sign when negative: {@link Long#parseLong} alone also takes a plus
     * sign and the digits of every script (Arabic-Indic, full-width, ...), which no client means to send.
     *
     * @throws NumberFormatException for anything else, or a number beyond a long
     */
    static long parseAsciiLong(String text) {
        requireAsciiDigits(text);
        return Long.parseLong(text);
    }

    /** {@link #parseAsciiLong} for an int. */
    static int parseAsciiInt(String text) {
        requireAsciiDigits(text);
        return Integer.parseInt(text);
    }

    private static void requireAsciiDigits(String text) {
        int from = text.startsWith("-") ? 1 : 0;
        if (text.length() == from) {
            throw new NumberFormatException("no digits: '" + text + "'");
        }
        for (int i = from; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                throw new NumberFormatException("not an ASCII digit in '" + text + "'");
            }
        }
    }
}
