package io.otellake.ingest;

import io.otellake.schemas.TenantId;
import io.otellake.schemas.TenantTokens;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Decides the tenant of an export request from its {@code X-Scope-OrgID} and {@code Authorization} values, the same
 * way for OTLP/HTTP and OTLP/gRPC, and the same way as the query API.
 *
 * <ul>
 *   <li>Authentication off (the local default): {@code X-Scope-OrgID} decides; without it, {@link TenantId#DEFAULT}.
 *   <li>Authentication on: a bearer token is required ({@link ExportRefusal.Kind#UNAUTHENTICATED} without a
 *       configured one). A tenant's token writes for its own tenant, with or without the header; naming another
 *       tenant is {@link ExportRefusal.Kind#FORBIDDEN}. An admin token must name the tenant in the header
 *       ({@link ExportRefusal.Kind#MALFORMED} otherwise).
 * </ul>
 *
 * <p>Tokens are compared by hash in constant time ({@link TenantTokens}); no message repeats a token.
 */
final class TenantAccess {
    static final String TENANT_HEADER = "X-Scope-OrgID";
    private static final String BEARER = "Bearer ";

    private final boolean enabled;
    private final TenantTokens tokens;

    TenantAccess(boolean enabled, TenantTokens tokens) {
        this.enabled = enabled;
        this.tokens = tokens;
    }

    static TenantAccess of(IngestConfig config) {
        return new TenantAccess(config.authEnabled(), config.tenantTokens());
    }

    boolean enabled() {
        return enabled;
    }

    /**
     * The tenant a request writes for.
     *
     * @param tenantValues every value of {@code X-Scope-OrgID} the request carried
     * @param authorizationValues every value of {@code Authorization} the request carried
     * @throws ExportRefusal saying why the request may not write
     */
    TenantId tenant(List<String> tenantValues, List<String> authorizationValues) throws ExportRefusal {
        if (!enabled) {
            TenantId named = named(tenantValues);
            return named == null ? TenantId.DEFAULT : named;
        }
        // Who is asking comes first: without a valid token the answer is 401 whatever the tenant header says.
        TenantTokens.Grant grant = grant(authorizationValues);
        TenantId named = named(tenantValues);
        if (grant.admin()) {
            if (named == null) {
                throw new ExportRefusal(
                        ExportRefusal.Kind.MALFORMED, "an admin token must name the tenant in " + TENANT_HEADER);
            }
            return named;
        }
        if (named != null && !named.equals(grant.tenant())) {
            throw new ExportRefusal(
                    ExportRefusal.Kind.FORBIDDEN, "this token may not write for tenant '" + named.value() + "'");
        }
        return grant.tenant();
    }

    /**
     * Allows a request to read what spans tenants (the metrics, whose labels name every tenant and its traffic): with
     * authentication off anyone may; on, only an admin token.
     *
     * @throws ExportRefusal {@link ExportRefusal.Kind#UNAUTHENTICATED} without a valid token, {@link
     *     ExportRefusal.Kind#FORBIDDEN} with a tenant's
     */
    void requireAdmin(List<String> authorizationValues) throws ExportRefusal {
        if (enabled && !grant(authorizationValues).admin()) {
            throw new ExportRefusal(
                    ExportRefusal.Kind.FORBIDDEN, "only an admin token may read what spans tenants, such as /metrics");
        }
    }

    private TenantTokens.Grant grant(List<String> authorizationValues) throws ExportRefusal {
        if (authorizationValues.size() > 1) {
            throw new ExportRefusal(ExportRefusal.Kind.UNAUTHENTICATED, "send one Authorization header, not several");
        }
        String authorization = authorizationValues.isEmpty() ? null : authorizationValues.get(0);
        if (authorization == null || !authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            throw new ExportRefusal(
                    ExportRefusal.Kind.UNAUTHENTICATED, "a bearer token is required: Authorization: Bearer <token>");
        }
        String token = authorization.substring(BEARER.length()).strip();
        return tokens.authenticate(token)
                .orElseThrow(
                        () -> new ExportRefusal(ExportRefusal.Kind.UNAUTHENTICATED, "the bearer token is not valid"));
    }

    @Nullable
    private static TenantId named(List<String> tenantValues) throws ExportRefusal {
        if (tenantValues.size() > 1) {
            throw new ExportRefusal(
                    ExportRefusal.Kind.MALFORMED,
                    TENANT_HEADER + " must be sent once; got " + tenantValues.size() + " values");
        }
        return tenantValues.isEmpty() ? null : parse(tenantValues.get(0));
    }

    private static TenantId parse(String value) throws ExportRefusal {
        try {
            return TenantId.of(value.strip());
        } catch (IllegalArgumentException e) {
            throw new ExportRefusal(ExportRefusal.Kind.MALFORMED, TENANT_HEADER + ": " + e.getMessage());
        }
    }
}
