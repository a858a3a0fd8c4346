package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** The conformance cases over OTLP/HTTP with binary protobuf. */
class HttpConformanceIT extends OtlpConformanceIT {
    @Override
    String transport() {
        return "http";
    }

    @Override
    String statusLabel(Code code) {
        return switch (code) {
            case OK -> "200";
            case INVALID_ARGUMENT -> "400";
            default -> throw new IllegalArgumentException("no single HTTP status for " + code);
        };
    }

    @Override
    Answer send(
            Ingest target,
            OtlpSignal signal,
            @Nullable String tenant,
            @Nullable String authorization,
            byte[] body,
            boolean gzipped) {
        List<String> headers = new ArrayList<>();
        if (tenant != null) {
            headers.addAll(List.of("X-Scope-OrgID", tenant));
        }
        if (authorization != null) {
            headers.addAll(List.of("Authorization", authorization));
        }
        if (gzipped) {
            headers.addAll(List.of("Content-Encoding", "gzip"));
        }
        HttpResponse<byte[]> response =
                new OtlpHttp(target.uri()).post(signal.path(), OtlpHttp.PROTOBUF, body, headers.toArray(String[]::new));
        Code code =
                switch (response.statusCode()) {
                    case 200 -> Code.OK;
                    case 400 -> Code.INVALID_ARGUMENT;
                    case 401 -> Code.UNAUTHENTICATED;
                    case 403 -> Code.PERMISSION_DENIED;
                    // 413 and 429 differ as the gRPC codes do: only the throttling answer carries a retry delay.
                    case 413, 429 -> Code.RESOURCE_EXHAUSTED;
                    case 503 -> Code.UNAVAILABLE;
                    default -> Code.OTHER;
                };
        Duration retryDelay = response.headers()
                .firstValue("Retry-After")
                .map(seconds -> Duration.ofSeconds(Long.parseLong(seconds)))
                .orElse(null);
        if (response.statusCode() == 429) {
            assertThat(retryDelay).as("429 carries Retry-After").isNotNull();
        }
        if (code == Code.UNAUTHENTICATED) {
            // RFC 9110: a 401 names the scheme to authenticate with.
            assertThat(response.headers().firstValue("WWW-Authenticate")).hasValue("Bearer realm=\"otel-lake\"");
        }
        return new Answer(code, response.body(), code == Code.OK ? "" : OtlpHttp.message(response), retryDelay);
    }
}
