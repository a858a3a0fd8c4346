package io.otellake.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class S3CredentialsTest {
    @Test
    void unsetMeansKeysWhenAKeyPairIsGivenAndAnonymousOtherwise() {
        assertThat(S3Credentials.of("", "AKIA", "secret")).isEqualTo(S3Credentials.KEYS);
        assertThat(S3Credentials.of("", "", "")).isEqualTo(S3Credentials.ANONYMOUS);
        assertThat(S3Credentials.of(" AWS ", "", "")).isEqualTo(S3Credentials.AWS);
        assertThat(S3Credentials.of("keys", "AKIA", "secret")).isEqualTo(S3Credentials.KEYS);
        assertThat(S3Credentials.of("anonymous", "", "")).isEqualTo(S3Credentials.ANONYMOUS);
    }

    @Test
    void halfAKeyPairOrKeysBesideAnotherModeOrAnUnknownModeIsRefusedNamingWhatToChange() {
        assertThatThrownBy(() -> S3Credentials.of("", "", "secret"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("OTEL_LAKE_S3_ACCESS_KEY and OTEL_LAKE_S3_SECRET_KEY must be set together;"
                        + " only the secret key is set");
        assertThatThrownBy(() -> S3Credentials.of("keys", "AKIA", ""))
                .hasMessageContaining("only the access key is set");
        assertThatThrownBy(() -> S3Credentials.of("keys", "", ""))
                .hasMessage("OTEL_LAKE_S3_CREDENTIALS=keys needs OTEL_LAKE_S3_ACCESS_KEY and OTEL_LAKE_S3_SECRET_KEY;"
                        + " neither is set (for IAM roles and the AWS default credentials set"
                        + " OTEL_LAKE_S3_CREDENTIALS=aws)");
        assertThatThrownBy(() -> S3Credentials.of("aws", "AKIA", "secret"))
                .hasMessage("OTEL_LAKE_S3_CREDENTIALS=aws does not use OTEL_LAKE_S3_ACCESS_KEY and"
                        + " OTEL_LAKE_S3_SECRET_KEY; unset them, or set OTEL_LAKE_S3_CREDENTIALS=keys");
        assertThatThrownBy(() -> S3Credentials.of("anonymous", "AKIA", "")).hasMessageContaining("=anonymous does not");
        assertThatThrownBy(() -> S3Credentials.of("iam", "", ""))
                .hasMessage("OTEL_LAKE_S3_CREDENTIALS must be keys, aws or anonymous (or unset), got 'iam'");
    }
}
