package io.otellake.schemas;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Bearer tokens and the tenants they belong to, shared by ingest and the query API so that one setting serves both.
 *
 * <p>The setting is a comma-separated list of {@code <tenant>=sha256:<hex>} entries; {@code *} instead of a tenant
 * makes an admin token, which may act for any tenant it names. Only SHA-256 hashes are configured, never tokens
 * (make one with {@code printf %s "$TOKEN" | sha256sum}). A presented token is hashed and compared with every
 * configured hash in constant time, so neither the comparison nor its position in the list leaks through timing.
 * {@link #toString()} shows tenants and hash prefixes only.
 */
public final class TenantTokens {
    private static final String ADMIN = "*";
    private static final String SCHEME = "sha256:";

    private final List<Entry> entries;

    /** What a token may do: act for one tenant, or (admin) for any. */
    public record Grant(@Nullable TenantId tenant, String fingerprint) {
        public boolean admin() {
            return tenant == null;
        }
    }

    private record Entry(@Nullable TenantId tenant, byte[] hash) {}

    private TenantTokens(List<Entry> entries) {
        this.entries = List.copyOf(entries);
    }

    /** Parses the setting; throws {@link IllegalArgumentException} with the offending entry's position. */
    public static TenantTokens parse(@Nullable String setting) {
        List<Entry> entries = new ArrayList<>();
        if (setting == null || setting.isBlank()) {
            return new TenantTokens(entries);
        }
        String[] parts = setting.split(",");
        for (int i = 0; i < parts.length; i++) {
            String part = parts[i].trim();
            if (part.isEmpty()) {
                continue;
            }
            int eq = part.indexOf('=');
            if (eq <= 0 || !part.startsWith(SCHEME, eq + 1)) {
                throw new IllegalArgumentException("token entry " + (i + 1) + " must look like <tenant>=sha256:<64 hex>"
                        + " or *=sha256:<64 hex> (an admin token)");
            }
            String tenant = part.substring(0, eq).trim();
            String hex = part.substring(eq + 1 + SCHEME.length()).trim();
            if (!Ids.isHex(hex, 64)) {
                throw new IllegalArgumentException(
                        "token entry " + (i + 1) + " needs a SHA-256 hash of 64 hex characters after sha256:");
            }
            entries.add(new Entry(
                    tenant.equals(ADMIN) ? null : TenantId.of(tenant),
                    HexFormat.of().parseHex(hex)));
        }
        return new TenantTokens(entries);
    }

    public boolean isEmpty() {
        return entries.isEmpty();
    }

    /** The grant of a presented token, or empty when no configured hash matches. */
    public Optional<Grant> authenticate(String token) {
        Objects.requireNonNull(token, "token");
        byte[] hash = sha256(token);
        Entry found = null;
        for (Entry e : entries) { // no early exit: the time taken does not depend on where the match is
            if (MessageDigest.isEqual(e.hash(), hash) && found == null) {
                found = e;
            }
        }
        if (found == null) {
            return Optional.empty();
        }
        return Optional.of(new Grant(found.tenant(), fingerprint(hash)));
    }

    /** The SHA-256 of a token, as the setting expects it: {@code sha256:<hex>}. */
    public static String hashOf(String token) {
        return SCHEME + HexFormat.of().formatHex(sha256(token));
    }

    private static String fingerprint(byte[] hash) {
        return HexFormat.of().formatHex(hash, 0, 4);
    }

    private static byte[] sha256(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM lacks SHA-256", e);
        }
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("TenantTokens[");
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            s.append(i == 0 ? "" : ", ")
                    .append(e.tenant() == null ? ADMIN : e.tenant().value())
                    .append("=sha256:")
                    .append(fingerprint(e.hash()))
                    .append("...");
        }
        return s.append("]").toString();
    }
}
