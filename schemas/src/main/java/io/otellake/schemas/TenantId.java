package io.otellake.schemas;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A validated tenant id. Guarantee: the value matches {@code [A-Za-z0-9_-]{1,64}}, so an object key or a path
 * built from it can never leave its tenant's prefix ({@code /}, {@code .}, {@code =} and the like are refused).
 */
public record TenantId(String value) {
    private static final Pattern VALID = Pattern.compile("[A-Za-z0-9_-]{1,64}");

    /** The tenant used when a request names none. */
    public static final TenantId DEFAULT = new TenantId("default");

    public TenantId {
        Objects.requireNonNull(value, "value");
        if (!VALID.matcher(value).matches()) {
            throw new IllegalArgumentException(
                    "tenant id must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'; got '" + printable(value)
                            + "'");
        }
    }

    /** Parses a tenant id, or throws {@link IllegalArgumentException} with a sentence a client can act on. */
    public static TenantId of(String value) {
        return new TenantId(value);
    }

    private static String printable(String value) {
        String cut = value.length() > 80 ? value.substring(0, 80) + "..." : value;
        return cut.replaceAll("[^\\x20-\\x7e]", "?");
    }

    @Override
    public String toString() {
        return value;
    }
}
