package io.otellake.query;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * The audit log: logger {@code otel-lake.audit}, one line per API request once answered, refused ones (401, 403,
 * 429) included: who (token fingerprint, or {@code anonymous}), tenant, method, path, query string (time range and
 * filters), status and elapsed milliseconds.
 */
@Component
class AuditLog extends OncePerRequestFilter {
    private static final Logger audit = LoggerFactory.getLogger("otel-lake.audit");

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        return !request.getRequestURI().startsWith("/api/");
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
            audit.info(
                    "who={} tenant={} method={} path={} query={} status={} elapsed_ms={}",
                    who == null ? "anonymous" : who,
                    tenant == null ? "-" : tenant,
                    request.getMethod(),
                    request.getRequestURI(),
                    request.getQueryString() == null ? "" : request.getQueryString(),
                    response.getStatus(),
                    (System.nanoTime() - started) / 1_000_000);
        }
    }
}
