package io.otellake.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.LocalDate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LakeLayoutTest {
    private final TenantId acme = TenantId.of("acme");

    @Test
    void keysAreHiveStyleByEventHourInUtc() {
        // 2023-11-14T22:13:20.123456789Z
        Partition p = Partition.of(Signal.LOGS, acme, 1_700_000_000_123_456_789L);

        assertThat(p).isEqualTo(new Partition(Signal.LOGS, acme, LocalDate.of(2023, 11, 14), 22));
        assertThat(new LakeLayout("lake").objectKey(p, "otlp-logs+0+17.parquet"))
                .isEqualTo("lake/logs/tenant=acme/dt=2023-11-14/hour=22/otlp-logs+0+17.parquet");
        assertThat(new LakeLayout("lake").dayPrefix(p)).isEqualTo("lake/logs/tenant=acme/dt=2023-11-14/");
        assertThat(new LakeLayout("").partitionPrefix(Partition.of(Signal.TRACES, acme, 0L)))
                .isEqualTo("traces/tenant=acme/dt=1970-01-01/hour=00/");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "",
                "../other",
                "a/b",
                "a.b",
                "tenant=x",
                "ü",
                " acme",
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            })
    void tenantIdsThatCouldEscapeTheirPrefixAreRefused(String bad) {
        assertThatThrownBy(() -> TenantId.of(bad))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tenant id must be");
    }

    @Test
    void goodTenantIdsAreAccepted() {
        assertThat(TenantId.of("Team_42-prod").value()).isEqualTo("Team_42-prod");
        assertThat(TenantId.of("x".repeat(64)).value()).hasSize(64);
    }

    @ParameterizedTest
    @ValueSource(strings = {"../x.parquet", "a/b.parquet", ".hidden", ""})
    void fileNamesCannotLeaveTheirPartition(String bad) {
        Partition p = Partition.of(Signal.LOGS, acme, 0L);
        assertThatThrownBy(() -> new LakeLayout("lake").objectKey(p, bad)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void prefixesAreValidated() {
        assertThat(new LakeLayout("a/b-c/d.e").tenantPrefix(Signal.TRACES, acme))
                .isEqualTo("a/b-c/d.e/traces/tenant=acme/");
        assertThatThrownBy(() -> new LakeLayout("/abs")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new LakeLayout("a/../b")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void hoursBetweenCoversEveryOverlappingHourOnce() {
        var hours = LakeLayout.hoursBetween(
                Signal.LOGS, acme, Instant.parse("2024-02-28T22:30:00Z"), Instant.parse("2024-02-29T01:00:00Z"));

        assertThat(hours)
                .extracting(Partition::path)
                .containsExactly(
                        "logs/tenant=acme/dt=2024-02-28/hour=22/",
                        "logs/tenant=acme/dt=2024-02-28/hour=23/",
                        "logs/tenant=acme/dt=2024-02-29/hour=00/");
        assertThat(LakeLayout.hoursBetween(Signal.LOGS, acme, Instant.EPOCH, Instant.EPOCH))
                .isEmpty();
    }
}
