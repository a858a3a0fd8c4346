package io.otellake.query;

import io.otellake.schemas.TenantId;
import org.jspecify.annotations.Nullable;

/** The tenant of a request: the {@code X-Scope-OrgID} header, or {@code default} without one. */
final class Tenants {
    static final String HEADER = "X-Scope-OrgID";

    private Tenants() {}

    static TenantId of(@Nullable String header) {
        if (header == null || header.isEmpty()) {
            return TenantId.DEFAULT;
        }
        try {
            return TenantId.of(header);
        } catch (IllegalArgumentException e) {
            throw new BadRequestException(HEADER + ": " + e.getMessage());
        }
    }
}
