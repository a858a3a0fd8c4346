package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

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
                    // 413 and 429 differ as the gRPC codes do: only the throttling answer carries a retry delay (both
                    // checked below), so a RESOURCE_EXHAUSTED answer without one is a 413.
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
        if (response.statusCode() == 413) {
            assertThat(retryDelay).as("413 carries no Retry-After").isNull();
        }
        if (code == Code.UNAUTHENTICATED) {
            // RFC 9110: a 401 names the scheme to authenticate with.
            assertThat(response.headers().firstValue("WWW-Authenticate")).hasValue("Bearer realm=\"otel-lake\"");
        }
        return new Answer(code, response.body(), code == Code.OK ? "" : OtlpHttp.message(response), retryDelay);
    }

    /**
     * OTLP/HTTP holds a gzip body's compressed bytes while it inflates them, and the budget counts both. A body that
     * fits the budget as it is, but not beside its compressed bytes, could never be taken gzipped: it is refused 413
     * without Retry-After, not the 429 it once got (which clients retried for ever).
     */
    @Test
    void aGzipBodyThatCouldNeverFitBesideItsCompressedBytesIs413() {
        byte[] body = randomLogs(60_000).toByteArray();
        byte[] gzipped = gzip(body);
        assertThat(body.length).as("fits the limit").isLessThan(BUDGET_BYTES);
        assertThat(gzipped.length + body.length).as("both do not fit").isGreaterThan(BUDGET_BYTES);
        OtlpHttp http = new OtlpHttp(budgetIngest.uri());

        HttpResponse<byte[]> plain = http.post("/v1/logs", OtlpHttp.PROTOBUF, body);
        HttpResponse<byte[]> compressed = http.post("/v1/logs", OtlpHttp.PROTOBUF, gzipped, "Content-Encoding", "gzip");

        assertThat(plain.statusCode()).isEqualTo(200);
        assertThat(compressed.statusCode()).isEqualTo(413);
        assertThat(compressed.headers().firstValue("Retry-After")).isEmpty();
        assertThat(OtlpHttp.message(compressed))
                .isEqualTo("decompressing the body would take more than ingest's in-flight limit of 0.1 MiB of memory"
                        + " (its compressed bytes are held until it is decompressed): send smaller batches");
    }

    /** With authentication on, the metrics, whose labels name every tenant and its traffic, need an admin token. */
    @Test
    void withAuthenticationOnlyAnAdminTokenReadsTheMetrics() {
        OtlpHttp http = new OtlpHttp(securedIngest.uri());

        HttpResponse<byte[]> none =
                http.send(HttpRequest.newBuilder(securedIngest.uri().resolve("/metrics"))
                        .GET()
                        .build());
        HttpResponse<byte[]> tenant = metrics(http, TEAM_A_TOKEN);
        HttpResponse<byte[]> admin = metrics(http, ADMIN_TOKEN);

        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(none.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
        assertThat(tenant.statusCode()).isEqualTo(403);
        assertThat(OtlpHttp.message(tenant))
                .isEqualTo("only an admin token may read what spans tenants, such as /metrics");
        assertThat(admin.statusCode()).isEqualTo(200);
        assertThat(new String(admin.body(), java.nio.charset.StandardCharsets.UTF_8))
                .contains("otel_lake_ingest_requests_refused_total");
        assertThat(new OtlpHttp(ingest.uri()).get("/metrics").statusCode())
                .as("authentication off: anyone")
                .isEqualTo(200);
    }

    private static HttpResponse<byte[]> metrics(OtlpHttp http, String token) {
        return http.send(HttpRequest.newBuilder(securedIngest.uri().resolve("/metrics"))
                .header("Authorization", "Bearer " + token)
                .GET()
                .build());
    }

    /** A gzip body that fits the idle budget beside its compressed bytes is throttled while others hold part of it. */
    @Test
    void aGzipBodyThatDoesNotFitNowIsThrottledUntilItFits() throws Exception {
        byte[] holder = logsOfSize(40_000, "holder").toByteArray();
        int sent = 30_000;
        byte[] body = randomLogs(24_000).toByteArray();
        byte[] gzipped = gzip(body);
        OtlpHttp http = new OtlpHttp(budgetIngest.uri());
        long overloadedBefore = overloaded();
        try (Socket socket = holdPartOfTheBudget(holder, sent)) {
            long held = budgetIngest.bytesInFlight();
            assertThat(gzipped.length + body.length).as("fits the idle budget").isLessThan(BUDGET_BYTES);
            assertThat(held + gzipped.length + body.length)
                    .as("does not fit now")
                    .isGreaterThan(BUDGET_BYTES);

            HttpResponse<byte[]> throttled =
                    http.post("/v1/logs", OtlpHttp.PROTOBUF, gzipped, "Content-Encoding", "gzip");

            assertThat(throttled.statusCode()).isEqualTo(429);
            assertThat(throttled.headers().firstValue("Retry-After")).hasValue("1");
            assertThat(overloaded()).isEqualTo(overloadedBefore + 1);
            awaitBytesInFlight(held);
            sendTheRest(socket, holder, sent);
        }
        awaitBytesInFlight(0);
        assertThat(http.post("/v1/logs", OtlpHttp.PROTOBUF, gzipped, "Content-Encoding", "gzip")
                        .statusCode())
                .isEqualTo(200);
    }

    /**
     * A chunked body arrives in a room that doubles, and is copied out of it once read: both are held together. A
     * body whose room and copy could never fit the budget is refused 413 without Retry-After, not throttled for ever.
     */
    @Test
    void aChunkedBodyWhoseCopyCouldNeverFitBesideItsRoomIs413() {
        byte[] body = logsOfSize(40_000, "chunked").toByteArray();

        HttpResponse<byte[]> response = new OtlpHttp(budgetIngest.uri())
                .send(HttpRequest.newBuilder(budgetIngest.uri().resolve("/v1/logs"))
                        .header("Content-Type", OtlpHttp.PROTOBUF)
                        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body)))
                        .build());

        assertThat(response.statusCode()).isEqualTo(413);
        assertThat(response.headers().firstValue("Retry-After")).isEmpty();
        assertThat(OtlpHttp.message(response))
                .isEqualTo("copying the body out of the room it arrived in would take about 0.1 MiB of memory, more"
                        + " than ingest's in-flight limit of 0.1 MiB (a chunked body's room and its copy are held"
                        + " together): send smaller batches");
    }
}
