package io.otellake.query;

import io.otellake.schemas.TenantId;
import org.jspecify.annotations.Nullable;

/**
 * The tenant of a request: the {@code X-Scope-OrgID} header, or {@code default} without one. An empty header is no
 * tenant id (400, as ingest answers it), not a missing one: a proxy that fills the header from an empty variable
 * must not land its users in {@code default}.
 */
final class Tenants {
    static final String HEADER = "X-Scope-OrgID";

    private Tenants() {}

    static TenantId of(@Nullable String header) {
        if (header == null) {
            return TenantId.DEFAULT;
        }
        try {
            return TenantId.of(header);
        } catch (IllegalArgumentException e) {
            throw new BadRequestException(HEADER + ": " + e.getMessage());
        }
    }
}
