package io.otellake.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TenantTokensTest {
    private final TenantTokens tokens = TenantTokens.parse("acme=" + TenantTokens.hashOf("acme-secret") + ", *="
            + TenantTokens.hashOf("root-secret") + ",globex=" + TenantTokens.hashOf("globex-secret"));

    @Test
    void aTokenGrantsItsTenantAndAnAdminTokenAnyTenant() {
        assertThat(tokens.authenticate("acme-secret")).hasValueSatisfying(g -> {
            assertThat(g.tenant()).isEqualTo(TenantId.of("acme"));
            assertThat(g.admin()).isFalse();
            assertThat(g.fingerprint()).hasSize(8);
        });
        assertThat(tokens.authenticate("globex-secret").orElseThrow().tenant()).isEqualTo(TenantId.of("globex"));
        assertThat(tokens.authenticate("root-secret").orElseThrow().admin()).isTrue();
        assertThat(tokens.authenticate("wrong")).isEmpty();
        assertThat(tokens.authenticate("")).isEmpty();
    }

    @Test
    void theSettingHoldsHashesOnlyAndNeverPrintsThem() {
        // the same as: printf %s acme-secret | sha256sum
        assertThat(TenantTokens.hashOf("acme-secret"))
                .isEqualTo("sha256:307c609f87da43c3d563428a4f7efdf9857f4871fd10465732c4ab11a985a08c");
        assertThat(tokens.toString()).doesNotContain("secret").doesNotContain(TenantTokens.hashOf("acme-secret"));
        assertThat(TenantTokens.parse("").isEmpty()).isTrue();
    }

    @Test
    void badEntriesAreRefusedWithTheirPosition() {
        assertThatThrownBy(() -> TenantTokens.parse("acme=plaintext"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("token entry 1");
        assertThatThrownBy(() -> TenantTokens.parse("acme=" + TenantTokens.hashOf("x") + ",b=sha256:abc"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("token entry 2");
        assertThatThrownBy(() -> TenantTokens.parse("../x=" + TenantTokens.hashOf("x")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tenant id");
    }
}
