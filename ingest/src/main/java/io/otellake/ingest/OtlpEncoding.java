package io.otellake.ingest;

import java.util.Locale;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/** The two OTLP/HTTP body encodings, told apart by the request's Content-Type. */
enum OtlpEncoding {
    PROTOBUF("application/x-protobuf"),
    JSON("application/json");

    private final String mediaType;

    OtlpEncoding(String mediaType) {
        this.mediaType = mediaType;
    }

    /** The media type ingest answers with: exactly the one the specification names. */
    String mediaType() {
        return mediaType;
    }

    /**
     * The encoding of a Content-Type header value, ignoring parameters ({@code ; charset=utf-8}), surrounding spaces
     * and case; empty for a missing or unsupported type.
     */
    static Optional<OtlpEncoding> fromContentType(@Nullable String contentType) {
        if (contentType == null) {
            return Optional.empty();
        }
        int semicolon = contentType.indexOf(';');
        String type = (semicolon < 0 ? contentType : contentType.substring(0, semicolon))
                .strip()
                .toLowerCase(Locale.ROOT);
        for (OtlpEncoding encoding : values()) {
            if (encoding.mediaType.equals(type)) {
                if (encoding == JSON && semicolon >= 0 && !utf8(contentType.substring(semicolon + 1))) {
                    return Optional.empty(); // OTLP/JSON is UTF-8: a body in another charset would be misread
                }
                return Optional.of(encoding);
            }
        }
        return Optional.empty();
    }

    /** Whether media type parameters {@code parameters} name no charset, or UTF-8. */
    private static boolean utf8(String parameters) {
        for (String parameter : parameters.split(";")) {
            int equals = parameter.indexOf('=');
            if (equals > 0 && parameter.substring(0, equals).strip().equalsIgnoreCase("charset")) {
                String charset = parameter.substring(equals + 1).strip().replace("\"", "");
                if (!charset.equalsIgnoreCase("utf-8") && !charset.equalsIgnoreCase("utf8")) {
                    return false;
                }
            }
        }
        return true;
    }
}
