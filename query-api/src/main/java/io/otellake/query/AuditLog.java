package io.otellake.query;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import org.springframework.web.context.request.RequestAttributes;
import org.springframework.web.context.request.RequestContextHolder;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * The audit log: logger {@code otel-lake.audit}, one line per request once answered, refused ones (401, 403, 429)
 * included: who (token fingerprint, or {@code anonymous}), tenant, method, path, the time range the query covered
 * ({@code range=<start>/<end>}, defaults applied; {@code -} when it was refused before one was worked out), the query
 * string as sent (filters), status and elapsed milliseconds.
 *
 * <p>Guarantee: every request is audited except those whose path, as the servlet container decoded and normalized it
 * (the path it routes by), is the health, metrics or API description endpoints. Deciding by that path rather than the
 * raw request target means that {@code /%61pi/v1/logs} or {@code /api;x=1/v1/logs}, which reach the API, are audited.
 * A request is always one line, whatever its path: the decoded path is written with its spaces, control characters and
 * {@code %} percent-encoded again ({@link #escaped}); the other values are the API's own or refused unless plain.
 */
@Component
class AuditLog extends OncePerRequestFilter {
    private static final Logger audit = LoggerFactory.getLogger("otel-lake.audit");
    private static final String RANGE = AuditLog.class.getName() + ".range";
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();
    private static final List<String> NOT_AUDITED = List.of("/actuator", "/v3/api-docs", "/swagger-ui");

    /** Records the time range the current request's query covers, for its audit line. */
    static void range(Instant start, Instant end) {
        RequestAttributes request = RequestContextHolder.getRequestAttributes();
        if (request != null) {
            request.setAttribute(RANGE, start + "/" + end, RequestAttributes.SCOPE_REQUEST);
        }
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        String path = path(request);
        return NOT_AUDITED.stream().anyMatch(p -> path.equals(p) || path.startsWith(p + "/"));
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        long started = System.nanoTime();
        try {
            chain.doFilter(request, response);
        } finally {
            Object who = request.getAttribute(TenantAccess.WHO);
            Object tenant = request.getAttribute(TenantAccess.TENANT);
            Object range = request.getAttribute(RANGE);
            audit.info(
                    "who={} tenant={} method={} path={} range={} query={} status={} elapsed_ms={}",
                    who == null ? "anonymous" : who,
                    tenant == null ? "-" : tenant,
                    request.getMethod(),
                    escaped(path(request)),
                    range == null ? "-" : range,
                    request.getQueryString() == null ? "" : request.getQueryString(),
                    response.getStatus(),
                    (System.nanoTime() - started) / 1_000_000);
        }
    }

    /**
     * {@code path} with every byte of a space, a control or line-separator character and {@code %} itself
     * percent-encoded again: the container decoded {@code %0A} into a line feed and {@code %20} into a space, which
     * let a request end its audit line and write a forged one ({@code who=token:... tenant=...}) after it.
     */
    static String escaped(String path) {
        StringBuilder out = new StringBuilder(path.length());
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c <= ' ' || c == '%' || Character.isISOControl(c) || c == '\u2028' || c == '\u2029') {
                for (byte b : String.valueOf(c).getBytes(StandardCharsets.UTF_8)) {
                    out.append('%').append(HEX[(b >> 4) & 0xF]).append(HEX[b & 0xF]);
                }
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /** The path the container routes by: percent-decoded, without path parameters, dot segments resolved. */
    private static String path(HttpServletRequest request) {
        String info = request.getPathInfo();
        return request.getServletPath() + (info == null ? "" : info);
    }
}
