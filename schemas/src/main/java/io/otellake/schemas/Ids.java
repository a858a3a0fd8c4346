package io.otellake.schemas;

import com.google.protobuf.ByteString;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.jspecify.annotations.Nullable;

/** Trace and span ids as the lake stores them: lowercase hex. */
public final class Ids {
    private static final HexFormat HEX = HexFormat.of();
    private static final byte[] DIGITS = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    private Ids() {}

    /** Lowercase hex of the bytes; an empty id becomes an empty string. */
    public static String toHex(ByteString id) {
        // straight from the ByteString, without HexFormat's copy of its bytes
        int n = id.size();
        byte[] hex = new byte[n * 2];
        for (int i = 0; i < n; i++) {
            int b = id.byteAt(i) & 0xff;
            hex[2 * i] = DIGITS[b >>> 4];
            hex[2 * i + 1] = DIGITS[b & 0xf];
        }
        return new String(hex, StandardCharsets.ISO_8859_1);
    }

    /** Lowercase hex of {@code length} bytes of {@code bytes} from {@code offset}, as {@link #toHex(ByteString)}. */
    static String toHex(byte[] bytes, int offset, int length) {
        byte[] hex = new byte[length * 2];
        for (int i = 0; i < length; i++) {
            int b = bytes[offset + i] & 0xff;
            hex[2 * i] = DIGITS[b >>> 4];
            hex[2 * i + 1] = DIGITS[b & 0xf];
        }
        return new String(hex, StandardCharsets.ISO_8859_1);
    }

    /** Lowercase hex of the bytes, or null for an empty id (proto3: empty means absent). */
    @Nullable
    public static String toHexOrNull(ByteString id) {
        return id.isEmpty() ? null : toHex(id);
    }

    /**
     * Parses hex in either case. Throws {@link IllegalArgumentException} when the text is not an even number of
     * hex digits.
     */
    public static ByteString fromHex(@Nullable CharSequence hex) {
        if (hex == null || hex.length() == 0) {
            return ByteString.EMPTY;
        }
        return ByteString.copyFrom(HEX.parseHex(hex));
    }

    /**
     * True when the text is exactly {@code length} ASCII hex digits (either case). Not {@link Character#digit}, which
     * also takes other scripts' digits and the fullwidth forms ({@code \uFF10}), which no id is written in.
     */
    public static boolean isHex(CharSequence text, int length) {
        if (text.length() != length) {
            return false;
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
                return false;
            }
        }
        return true;
    }
}
