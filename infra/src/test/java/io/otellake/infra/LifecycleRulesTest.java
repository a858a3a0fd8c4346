package io.otellake.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class LifecycleRulesTest {
    @Test
    void rendersOneRulePerFolderPerTenantThenTheDefaults() {
        assertThat(run("--prefix", "lake", "--default-days", "90", "--tenant", "acme=30"))
                .isEqualTo(
                        """
                {
                  "Rules": [
                    {
                      "ID": "otel-lake-traces-tenant-acme",
                      "Filter": { "Prefix": "lake/traces/tenant=acme/" },
                      "Status": "Enabled",
                      "Expiration": { "Days": 30 }
                    },
                    {
                      "ID": "otel-lake-logs-tenant-acme",
                      "Filter": { "Prefix": "lake/logs/tenant=acme/" },
                      "Status": "Enabled",
                      "Expiration": { "Days": 30 }
                    },
                    {
                      "ID": "otel-lake-metrics-tenant-acme",
                      "Filter": { "Prefix": "lake/metrics/tenant=acme/" },
                      "Status": "Enabled",
                      "Expiration": { "Days": 30 }
                    },
                    {
                      "ID": "otel-lake-_index-traces-tenant-acme",
                      "Filter": { "Prefix": "lake/_index/traces/tenant=acme/" },
                      "Status": "Enabled",
                      "Expiration": { "Days": 30 }
                    },
                    {
                      "ID": "otel-lake-traces-default",
                      "Filter": { "Prefix": "lake/traces/" },
                      "Status": "Enabled",
                      "Expiration": { "Days": 90 }
                    },
                    {
                      "ID": "otel-lake-logs-default",
                      "Filter": { "Prefix": "lake/logs/" },
                      "Status": "Enabled",
                      "Expiration": { "Days": 90 }
                    },
                    {
                      "ID": "otel-lake-metrics-default",
                      "Filter": { "Prefix": "lake/metrics/" },
                      "Status": "Enabled",
                      "Expiration": { "Days": 90 }
                    },
                    {
                      "ID": "otel-lake-_index-traces-default",
                      "Filter": { "Prefix": "lake/_index/traces/" },
                      "Status": "Enabled",
                      "Expiration": { "Days": 90 }
                    },
                    {
                      "ID": "otel-lake-abort-incomplete-uploads",
                      "Filter": { "Prefix": "lake/" },
                      "Status": "Enabled",
                      "AbortIncompleteMultipartUpload": { "DaysAfterInitiation": 1 }
                    }
                  ]
                }
                """);
    }

    @Test
    void withoutADefaultOnlyTheNamedTenantsExpireAndTheyMayKeepLongerThan90Days() {
        Map<String, Integer> tenants = new LinkedHashMap<>();
        tenants.put("globex", 365);
        tenants.put("acme", 30);
        String json = LifecycleRules.render("", OptionalInt.empty(), tenants);
        assertThat(json)
                .startsWith(
                        """
                {
                  "Rules": [
                    {
                      "ID": "otel-lake-traces-tenant-globex",
                      "Filter": { "Prefix": "traces/tenant=globex/" },
                      "Status": "Enabled",
                      "Expiration": { "Days": 365 }
                    },
                """)
                .contains("\"Prefix\": \"_index/traces/tenant=acme/\"")
                .doesNotContain("-default")
                .endsWith(
                        """
                    {
                      "ID": "otel-lake-abort-incomplete-uploads",
                      "Filter": { "Prefix": "" },
                      "Status": "Enabled",
                      "AbortIncompleteMultipartUpload": { "DaysAfterInitiation": 1 }
                    }
                  ]
                }
                """);
        assertThat(json.split("\"ID\"", -1)).hasSize(8 + 1 + 1);
        assertThat(run("--prefix", "", "--tenant", "globex=365d,acme=30")).isEqualTo(json);
    }

    @Test
    void refusesWhatS3WouldNotDoAsAskedAndRendersTheUploadRuleAlone() {
        assertThatThrownBy(() -> LifecycleRules.render("lake", OptionalInt.of(90), Map.of("globex", 365)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("tenant globex keeps 365 days, longer than the default 90: S3 expires an object by the"
                        + " earliest rule that matches it, so the default rule would delete its objects after 90"
                        + " days. Leave the default out and name every tenant, or use the archiver's retention"
                        + " (OTEL_LAKE_RETENTION_TENANTS).");
        assertThatThrownBy(() -> LifecycleRules.render("/lake", OptionalInt.of(90), Map.of()))
                .hasMessageStartingWith("the lake prefix must be empty or slash-separated segments");
        assertThatThrownBy(() -> LifecycleRules.render("lake", OptionalInt.of(0), Map.of()))
                .hasMessage("the default must keep objects at least 1 day, as S3 lifecycle rules count whole days;"
                        + " got 0");
        assertThat(LifecycleRules.render("lake", OptionalInt.empty(), Map.of()))
                .as("without days only the rule for incomplete uploads, for a lake the archiver's retention deletes")
                .isEqualTo(
                        """
                {
                  "Rules": [
                    {
                      "ID": "otel-lake-abort-incomplete-uploads",
                      "Filter": { "Prefix": "lake/" },
                      "Status": "Enabled",
                      "AbortIncompleteMultipartUpload": { "DaysAfterInitiation": 1 }
                    }
                  ]
                }
                """);
        Map<String, Integer> many = new LinkedHashMap<>();
        for (int i = 0; i < 248; i++) {
            many.put("t" + i, 30);
        }
        assertThat(LifecycleRules.render("lake", OptionalInt.of(90), many).split("\"ID\"", -1))
                .as("248 tenants and the default: 4 rules each, and the rule for incomplete uploads")
                .hasSize(997 + 1);
        many.put("t248", 30);
        assertThatThrownBy(() -> LifecycleRules.render("lake", OptionalInt.of(90), many))
                .hasMessageStartingWith("1001 rules, more than the 1000 S3 accepts for one bucket");
    }

    @Test
    void theCommandLineExplainsBadArgumentsAndExitsWith2() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = LifecycleRules.run(
                new String[] {"--tenant", "acme=36h"},
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).isEqualTo(2);
        assertThat(out.toString(StandardCharsets.UTF_8)).isEmpty();
        assertThat(err.toString(StandardCharsets.UTF_8))
                .startsWith("LifecycleRules: --tenant 'acme=36h' must be <tenant>=<days>, e.g. acme=30; S3 lifecycle"
                        + " rules count whole days, so hours cannot be expressed\nusage: LifecycleRules");
        assertThat(LifecycleRules.run(new String[] {"--tenant", "acme=30", "--tenant", "acme=60"}, quiet(), quiet()))
                .isEqualTo(2);
        assertThat(LifecycleRules.run(new String[] {"--default-days"}, quiet(), quiet()))
                .isEqualTo(2);
        assertThat(LifecycleRules.run(new String[] {"--days", "90"}, quiet(), quiet()))
                .isEqualTo(2);
    }

    private static String run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(LifecycleRules.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), quiet()))
                .isZero();
        return out.toString(StandardCharsets.UTF_8);
    }

    private static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    }
}
