package io.otellake.query;

import io.otellake.schemas.LakeLayout;
import io.otellake.schemas.S3Credentials;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * The query API's settings, under {@code otel-lake.*}; {@code application.properties} reads each from an environment
 * variable ({@code OTEL_LAKE_S3_ENDPOINT}, {@code OTEL_LAKE_CACHE_DIR}, ...; see docs/operations.md). The S3 secret
 * never appears in {@link #toString()}.
 *
 * @param cacheDir where fetched Parquet objects are kept; DuckDB may read nothing outside it
 * @param cacheMaxBytes the cache's size bound; least recently used objects are evicted beyond it
 * @param maxRange the longest time range one query may cover
 * @param traceLookback how far back a trace lookup without start and end looks in the trace index
 * @param queryTimeout a DuckDB statement running longer is cancelled (504)
 * @param maxConcurrentQueries queries running at once; more wait up to {@code queueTimeout}, then get 429
 * @param maxBytesPerQuery a query whose files add up to more is refused (422) before anything is fetched
 * @param maxTraceSpans a trace lookup that finds more spans is refused (422) instead of building them all in memory
 * @param authEnabled whether a bearer token is required (see {@link TenantAccess})
 * @param authTokens tenants' token hashes, as {@link io.otellake.schemas.TenantTokens} parses them
 * @param listingTtl how long a listing of an hour or day of the archive is reused: the staleness bound of queries
 */
@Validated
@ConfigurationProperties("otel-lake")
public record LakeProperties(
        @Valid @NotNull S3 s3,
        @NotNull @DefaultValue("data/cache") Path cacheDir,
        @Min(1_048_576) @DefaultValue("2147483648") long cacheMaxBytes,
        @NotNull @DefaultValue("31d") Duration maxRange,
        @NotNull @DefaultValue("90d") Duration traceLookback,
        @Min(1) @Max(5000) @DefaultValue("100") int defaultLimit,
        @Min(1) @Max(100_000) @DefaultValue("5000") int maxLimit,
        @NotBlank @DefaultValue("1GB") String duckdbMemoryLimit,
        @Min(1) @DefaultValue("2") int duckdbThreads,
        @NotNull @DefaultValue("30s") Duration queryTimeout,
        @Min(1) @DefaultValue("4") int maxConcurrentQueries,
        @NotNull @DefaultValue("2s") Duration queueTimeout,
        @Min(1) @DefaultValue("10737418240") long maxBytesPerQuery,
        @Min(1) @DefaultValue("100000") int maxTraceSpans,
        @DefaultValue("false") boolean authEnabled,
        @DefaultValue("") String authTokens,
        @NotNull @DefaultValue("5s") Duration listingTtl) {

    public LakeProperties {
        new LakeLayout(s3.prefix()); // fails start-up with a sentence when the prefix is unusable
        requirePositive(maxRange, "OTEL_LAKE_MAX_RANGE");
        requirePositive(traceLookback, "OTEL_LAKE_TRACE_LOOKBACK");
        requirePositive(queryTimeout, "OTEL_LAKE_QUERY_TIMEOUT");
        requirePositive(queueTimeout, "OTEL_LAKE_QUEUE_TIMEOUT");
        if (listingTtl != null && listingTtl.isNegative()) {
            throw new IllegalArgumentException("OTEL_LAKE_LISTING_TTL must not be negative, got " + listingTtl);
        }
        if (defaultLimit > maxLimit) {
            throw new IllegalArgumentException("OTEL_LAKE_DEFAULT_LIMIT (" + defaultLimit
                    + ") must not be above OTEL_LAKE_MAX_LIMIT (" + maxLimit + ")");
        }
    }

    private static void requirePositive(@Nullable Duration d, String variable) {
        if (d != null && (d.isZero() || d.isNegative())) {
            throw new IllegalArgumentException(variable + " must be longer than zero, got " + d);
        }
    }

    /** Where the archive lives. */
    public record S3(
            @NotNull @DefaultValue("http://127.0.0.1:9000") URI endpoint,
            @NotBlank @DefaultValue("us-east-1") String region,
            @NotBlank @DefaultValue("otel-lake") String bucket,
            @NotNull @DefaultValue("lake") String prefix,
            @DefaultValue("") String accessKey,
            @DefaultValue("") String secretKey,
            @DefaultValue("") String credentials) {
        /**
         * The archiver's default prefix, also when the variable is set but empty, as the archiver reads it; the
         * credentials as the archiver checks them.
         */
        public S3 {
            if (prefix == null || prefix.isBlank()) {
                prefix = "lake";
            }
            // stripped as the archiver reads its settings: a key from a secret file often ends in a newline
            accessKey = accessKey == null ? "" : accessKey.strip();
            secretKey = secretKey == null ? "" : secretKey.strip();
            credentials = credentials == null ? "" : credentials.strip();
            S3Credentials.of(credentials, accessKey, secretKey); // a sentence naming the variables, or nothing
        }

        /** How requests to S3 are signed ({@code OTEL_LAKE_S3_CREDENTIALS}, see {@link S3Credentials}). */
        public S3Credentials signing() {
            return S3Credentials.of(credentials, accessKey, secretKey);
        }

        @Override
        public String toString() {
            return "S3[endpoint=" + endpoint + ", region=" + region + ", bucket=" + bucket + ", prefix=" + prefix
                    + ", accessKey=" + accessKey + ", secretKey=" + (secretKey.isEmpty() ? "" : "***")
                    + ", credentials=" + signing().name().toLowerCase(java.util.Locale.ROOT) + "]";
        }
    }

    /** The defaults of {@code application.properties}, for code that builds settings itself. */
    static LakeProperties defaults(S3 s3, Path cacheDir) {
        return new LakeProperties(
                s3,
                cacheDir,
                2_147_483_648L,
                Duration.ofDays(31),
                Duration.ofDays(90),
                100,
                5000,
                "1GB",
                2,
                Duration.ofSeconds(30),
                4,
                Duration.ofSeconds(2),
                10_737_418_240L,
                100_000,
                false,
                "",
                Duration.ofSeconds(5));
    }

    /** The same settings with other query limits. */
    LakeProperties withLimits(int maxConcurrentQueries, Duration queueTimeout, long maxBytesPerQuery) {
        return new LakeProperties(
                s3,
                cacheDir,
                cacheMaxBytes,
                maxRange,
                traceLookback,
                defaultLimit,
                maxLimit,
                duckdbMemoryLimit,
                duckdbThreads,
                queryTimeout,
                maxConcurrentQueries,
                queueTimeout,
                maxBytesPerQuery,
                maxTraceSpans,
                authEnabled,
                authTokens,
                listingTtl);
    }

    @Override
    public String toString() {
        return "LakeProperties[s3=" + s3 + ", cacheDir=" + cacheDir + ", cacheMaxBytes=" + cacheMaxBytes
                + ", maxRange=" + maxRange + ", traceLookback=" + traceLookback + ", authEnabled=" + authEnabled
                + ", authTokens=" + io.otellake.schemas.TenantTokens.parse(authTokens) + "]";
    }

    public LakeLayout layout() {
        return new LakeLayout(s3.prefix());
    }
}
