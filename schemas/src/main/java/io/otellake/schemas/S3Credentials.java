package io.otellake.schemas;

import java.util.Locale;
import java.util.Objects;

/**
 * How the archiver and the query API sign their S3 requests, {@code OTEL_LAKE_S3_CREDENTIALS}, shared so that one
 * setting means the same in both:
 *
 * <ul>
 *   <li>{@link #KEYS}: the access key and secret key of {@code OTEL_LAKE_S3_ACCESS_KEY} and {@code
 *       OTEL_LAKE_S3_SECRET_KEY}, both required;
 *   <li>{@link #AWS}: the AWS SDK's default chain: {@code AWS_ACCESS_KEY_ID} and friends, a profile, a web identity
 *       token (EKS IAM roles for service accounts), container credentials (ECS, EKS Pod Identity) or the EC2
 *       instance profile, so that no long-lived key is configured at all;
 *   <li>{@link #ANONYMOUS}: unsigned requests, for a local S3 server without authentication.
 * </ul>
 *
 * <p>Unset, the mode is {@code keys} when an access key is given and {@code anonymous} otherwise. A half-given key
 * pair, or keys next to another mode, is refused at start-up rather than quietly ignored.
 */
public enum S3Credentials {
    KEYS,
    AWS,
    ANONYMOUS;

    public static final String ENV = "OTEL_LAKE_S3_CREDENTIALS";

    /**
     * The mode the settings ask for.
     *
     * @param mode the setting, empty for the default; {@code keys}, {@code aws} or {@code anonymous} in any case
     * @throws IllegalArgumentException naming the variables to change
     */
    public static S3Credentials of(String mode, String accessKey, String secretKey) {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(accessKey, "accessKey");
        Objects.requireNonNull(secretKey, "secretKey");
        String m = mode.strip().toLowerCase(Locale.ROOT);
        boolean keys = !accessKey.isEmpty() || !secretKey.isEmpty();
        S3Credentials chosen;
        switch (m) {
            case "" -> chosen = keys ? KEYS : ANONYMOUS;
            case "keys" -> chosen = KEYS;
            case "aws" -> chosen = AWS;
            case "anonymous" -> chosen = ANONYMOUS;
            default ->
                throw new IllegalArgumentException(
                        ENV + " must be keys, aws or anonymous (or unset), got '" + mode + "'");
        }
        if (chosen == KEYS && accessKey.isEmpty() && secretKey.isEmpty()) {
            throw new IllegalArgumentException(ENV + "=keys needs OTEL_LAKE_S3_ACCESS_KEY and OTEL_LAKE_S3_SECRET_KEY;"
                    + " neither is set (for IAM roles and the AWS default credentials set " + ENV + "=aws)");
        }
        if (chosen == KEYS && (accessKey.isEmpty() || secretKey.isEmpty())) {
            throw new IllegalArgumentException("OTEL_LAKE_S3_ACCESS_KEY and OTEL_LAKE_S3_SECRET_KEY must be set"
                    + " together; only " + (accessKey.isEmpty() ? "the secret key" : "the access key") + " is set"
                    + " (for IAM roles and the AWS default credentials set " + ENV + "=aws and neither)");
        }
        if (chosen != KEYS && keys) {
            throw new IllegalArgumentException(ENV + "=" + m + " does not use OTEL_LAKE_S3_ACCESS_KEY and"
                    + " OTEL_LAKE_S3_SECRET_KEY; unset them, or set " + ENV + "=keys");
        }
        return chosen;
    }
}
