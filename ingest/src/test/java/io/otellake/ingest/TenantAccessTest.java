package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.otellake.schemas.TenantId;
import io.otellake.schemas.TenantTokens;
import java.util.List;
import org.junit.jupiter.api.Test;

class TenantAccessTest {
    private static final TenantAccess ON = new TenantAccess(
            true,
            TenantTokens.parse("acme=" + TenantTokens.hashOf("acme-secret") + ",*=" + TenantTokens.hashOf("root")));
    private static final TenantAccess OFF = new TenantAccess(false, TenantTokens.parse(""));

    @Test
    void offTheHeaderDecidesAndTokensAreIgnored() throws ExportRefusal {
        assertThat(OFF.tenant(List.of(), List.of())).isEqualTo(TenantId.DEFAULT);
        assertThat(OFF.tenant(List.of(" globex "), List.of("Bearer nonsense"))).isEqualTo(TenantId.of("globex"));
    }

    @Test
    void onATenantTokenActsForItsTenantOnly() throws ExportRefusal {
        assertThat(ON.tenant(List.of(), List.of("Bearer acme-secret"))).isEqualTo(TenantId.of("acme"));
        assertThat(ON.tenant(List.of("acme"), List.of("bearer  acme-secret "))).isEqualTo(TenantId.of("acme"));
        assertRefused(ON, List.of("globex"), List.of("Bearer acme-secret"), ExportRefusal.Kind.FORBIDDEN);
    }

    @Test
    void onAnAdminTokenMustNameTheTenant() throws ExportRefusal {
        assertThat(ON.tenant(List.of("globex"), List.of("Bearer root"))).isEqualTo(TenantId.of("globex"));
        assertRefused(ON, List.of(), List.of("Bearer root"), ExportRefusal.Kind.MALFORMED);
    }

    @Test
    void onMissingUnknownOrRepeatedCredentialsAreUnauthenticated() {
        assertRefused(ON, List.of("acme"), List.of(), ExportRefusal.Kind.UNAUTHENTICATED);
        assertRefused(ON, List.of("acme"), List.of("Bearer acme-secretx"), ExportRefusal.Kind.UNAUTHENTICATED);
        assertRefused(ON, List.of("acme"), List.of("acme-secret"), ExportRefusal.Kind.UNAUTHENTICATED);
        assertRefused(ON, List.of(), List.of("Bearer acme-secret", "Bearer root"), ExportRefusal.Kind.UNAUTHENTICATED);
    }

    @Test
    void onCredentialsAreCheckedBeforeTheTenantHeader() {
        assertRefused(ON, List.of("../x"), List.of(), ExportRefusal.Kind.UNAUTHENTICATED);
        assertRefused(ON, List.of("a", "b"), List.of("Bearer wrong"), ExportRefusal.Kind.UNAUTHENTICATED);
    }

    @Test
    void aBadOrRepeatedTenantHeaderIsMalformedEitherWay() {
        for (TenantAccess access : List.of(ON, OFF)) {
            assertRefused(access, List.of("a", "b"), List.of("Bearer root"), ExportRefusal.Kind.MALFORMED);
            assertRefused(access, List.of("../x"), List.of("Bearer root"), ExportRefusal.Kind.MALFORMED);
        }
    }

    private static void assertRefused(
            TenantAccess access, List<String> tenants, List<String> authorizations, ExportRefusal.Kind kind) {
        assertThatThrownBy(() -> access.tenant(tenants, authorizations))
                .isInstanceOfSatisfying(
                        ExportRefusal.class, e -> assertThat(e.kind()).isEqualTo(kind));
    }
}
