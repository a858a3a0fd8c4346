package io.otellake.infra;

/**
 * Values for the {@code .properties} files that Kafka and S3Proxy read. Both read them with {@code
 * Properties.load(InputStream)}, which decodes ISO-8859-1: a value written as UTF-8 comes back garbled as soon as it
 * holds a character outside ASCII (a data directory under {@code /home/jürgen}, say). Escaped values are plain ASCII
 * and read back exactly, whatever encoding the reader assumes.
 */
final class PropertyValues {
    private PropertyValues() {}

    /**
     * {@code value} escaped for the right-hand side of {@code key=value}: backslashes doubled, line breaks, tabs and
     * form feeds as {@code \n \r \t \f}, a leading space kept by a backslash, and every other character outside
     * printable ASCII as a {@code \}{@code uXXXX} escape.
     */
    static String escape(String value) {
        StringBuilder out = new StringBuilder(value.length());
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\f' -> out.append("\\f");
                case ' ' -> out.append(i == 0 ? "\\ " : " ");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.toString();
    }
}
