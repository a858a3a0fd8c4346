package io.otellake.ingest;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** The conformance cases over OTLP/HTTP with binary protobuf. */
class HttpConformanceIT extends OtlpConformanceIT {
    @Override
    Answer send(OtlpSignal signal, @Nullable String tenant, byte[] body, boolean gzipped) {
        List<String> headers = new ArrayList<>();
        if (tenant != null) {
            headers.addAll(List.of("X-Scope-OrgID", tenant));
        }
        if (gzipped) {
            headers.addAll(List.of("Content-Encoding", "gzip"));
        }
        HttpResponse<byte[]> response =
                new OtlpHttp(ingest.uri()).post(signal.path(), OtlpHttp.PROTOBUF, body, headers.toArray(String[]::new));
        Code code =
                switch (response.statusCode()) {
                    case 200 -> Code.OK;
                    case 400 -> Code.INVALID_ARGUMENT;
                    case 413 -> Code.RESOURCE_EXHAUSTED;
                    case 503 -> Code.UNAVAILABLE;
                    default -> Code.OTHER;
                };
        Duration retryDelay = response.headers()
                .firstValue("Retry-After")
                .map(seconds -> Duration.ofSeconds(Long.parseLong(seconds)))
                .orElse(null);
        return new Answer(code, response.body(), code == Code.OK ? "" : OtlpHttp.message(response), retryDelay);
    }
}
