package io.otellake.query;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.otellake.infra.S3Server;
import io.otellake.schemas.LogFlattener;
import io.otellake.schemas.Signal;
import io.otellake.schemas.TenantTokens;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import software.amazon.awssdk.services.s3.S3Client;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The query API with authentication on: tokens map to tenants, an admin token names one, every query is audited. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class QueryAuthIT {
    static final Instant T = Instant.parse("2024-06-01T10:15:00Z");
    static final String RANGE = "/api/v1/logs?start=2024-06-01T10:00:00Z&end=2024-06-01T11:00:00Z";
    static Path cache;
    static S3Server s3server;

    @LocalServerPort
    int port;

    final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void lake() throws Exception {
        s3server = S3Server.startOnFreePorts(
                Files.createTempDirectory("auth-it-s3").resolve("data"));
        cache = Files.createTempDirectory("auth-it-cache");
        try (S3Client s3 = QueryApiIT.s3(s3server)) {
            s3.createBucket(b -> b.bucket(QueryApiIT.BUCKET));
            QueryApiIT.put(
                    s3, Signal.LOGS, "acme", LogFlattener.flatten(QueryApiIT.logs("checkout", T, "acme line", 0)));
            QueryApiIT.put(
                    s3, Signal.LOGS, "globex", LogFlattener.flatten(QueryApiIT.logs("checkout", T, "globex line", 0)));
        }
    }

    @AfterAll
    static void stop() {
        s3server.close();
    }

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry r) {
        QueryApiIT.lakeProperties(r, () -> s3server.endpoint(), () -> s3server, () -> cache);
        r.add("otel-lake.auth-enabled", () -> "true");
        r.add(
                "otel-lake.auth-tokens",
                () -> "acme=" + TenantTokens.hashOf("acme-token") + ",globex=" + TenantTokens.hashOf("globex-token")
                        + ",*=" + TenantTokens.hashOf("admin-token"));
    }

    HttpResponse<String> get(String path, String token, String tenant) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        if (tenant != null) {
            b.header("X-Scope-OrgID", tenant);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    List<String> bodies(HttpResponse<String> r) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode data = JsonMapper.builder().build().readTree(r.body()).get("data");
        return data.valueStream().map(n -> n.get("body").asString()).toList();
    }

    @Test
    void aTokenSeesOnlyItsOwnTenant() throws Exception {
        assertThat(bodies(get(RANGE, "acme-token", null))).containsExactly("acme line");
        assertThat(bodies(get(RANGE, "acme-token", "acme"))).containsExactly("acme line");
        assertThat(bodies(get(RANGE, "globex-token", null))).containsExactly("globex line");
        HttpResponse<String> other = get(RANGE, "acme-token", "globex");
        QueryApiIT.problem(other, 403, "may not read tenant 'globex'");
    }

    @Test
    void missingOrWrongTokensGet401() throws Exception {
        HttpResponse<String> none = get(RANGE, null, "acme");
        QueryApiIT.problem(none, 401, "bearer token is required");
        assertThat(none.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
        QueryApiIT.problem(get(RANGE, "acme-token-but-wrong", null), 401, "not valid");
        QueryApiIT.problem(get("/api/v1/traces/" + QueryApiIT.TRACE, "nope", "acme"), 401, "not valid");
    }

    @Test
    void aTenantOrAuthorizationHeaderSentTwiceIsRefusedNotOneOfItsValuesPicked() throws Exception {
        HttpResponse<String> twoTenants = http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + RANGE))
                        .header("Authorization", "Bearer admin-token")
                        .header("X-Scope-OrgID", "acme")
                        .header("X-Scope-OrgID", "globex")
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        QueryApiIT.problem(twoTenants, 400, "X-Scope-OrgID must be sent once");
        HttpResponse<String> twoTokens = http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + RANGE))
                        .header("Authorization", "Bearer acme-token")
                        .header("Authorization", "Bearer globex-token")
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        QueryApiIT.problem(twoTokens, 401, "one Authorization header");
    }

    @Test
    void aMalformedTenantHeaderIsABadRequestForAValidTokenAndUnauthenticatedWithout() throws Exception {
        // an empty header is no tenant id, not a missing header
        QueryApiIT.problem(get(RANGE, "acme-token", ""), 400, "X-Scope-OrgID: tenant id must be 1 to 64 characters");
        QueryApiIT.problem(get(RANGE, "admin-token", ""), 400, "X-Scope-OrgID: tenant id must be 1 to 64 characters");
        // who asks is checked first, as in ingest: without a valid token nothing about the header is answered
        QueryApiIT.problem(get(RANGE, null, "acme/../globex"), 401, "bearer token is required");
        QueryApiIT.problem(get(RANGE, "nope", "acme/../globex"), 401, "not valid");
    }

    @Test
    void anAdminTokenNamesTheTenant() throws Exception {
        assertThat(bodies(get(RANGE, "admin-token", "globex"))).containsExactly("globex line");
        assertThat(bodies(get(RANGE, "admin-token", "acme"))).containsExactly("acme line");
        QueryApiIT.problem(get(RANGE, "admin-token", null), 400, "admin token must name the tenant");
    }

    @Test
    void everyQueryIsAudited() throws Exception {
        Logger logger = (Logger) LoggerFactory.getLogger("otel-lake.audit");
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        logger.addAppender(lines);
        try {
            get(RANGE + "&q=line", "acme-token", null);
            get(RANGE, "wrong", "acme");
            // the same endpoint, spelled so that the raw request target does not start with /api/
            assertThat(get(RANGE.replace("/api/", "/%61pi/") + "&q=encoded", "acme-token", null)
                            .statusCode())
                    .isEqualTo(200);
            assertThat(get(RANGE.replace("/api/", "/api;x=1/") + "&q=parameter", "acme-token", null)
                            .statusCode())
                    .isEqualTo(200);
        } finally {
            logger.detachAppender(lines);
        }
        String fingerprint = TenantTokens.hashOf("acme-token").substring("sha256:".length(), "sha256:".length() + 8);
        assertThat(lines.list)
                .extracting(ILoggingEvent::getFormattedMessage)
                .anySatisfy(line -> assertThat(line)
                        .contains(
                                "who=token:" + fingerprint,
                                "tenant=acme",
                                "path=/api/v1/logs",
                                "range=2024-06-01T10:00:00Z/2024-06-01T11:00:00Z",
                                "query=start=2024-06-01T10:00:00Z&end=2024-06-01T11:00:00Z&q=line",
                                "status=200"))
                .anySatisfy(line -> assertThat(line).contains("path=/api/v1/logs", "&q=encoded", "status=200"))
                .anySatisfy(line -> assertThat(line).contains("path=/api/v1/logs", "&q=parameter", "status=200"))
                .anySatisfy(line -> assertThat(line).contains("who=anonymous", "range=-", "status=401"))
                .noneSatisfy(line -> assertThat(line).contains("acme-token"));
    }

    @Test
    void aPathCannotBreakItsAuditLineNorForgeAnother() throws Exception {
        Logger logger = (Logger) LoggerFactory.getLogger("otel-lake.audit");
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        logger.addAppender(lines);
        try {
            // the servlet container decodes the path: %0A is a line feed, %20 a space, before the audit line is written
            QueryApiIT.problem(
                    get(
                            "/api/v1/traces/" + QueryApiIT.TRACE
                                    + "%0D%0Awho=token:deadbeef%20tenant=globex%E2%80%A8%25",
                            "acme-token",
                            null),
                    400,
                    "trace_id must be 32 hex characters");
        } finally {
            logger.detachAppender(lines);
        }
        String fingerprint = TenantTokens.hashOf("acme-token").substring("sha256:".length(), "sha256:".length() + 8);
        assertThat(lines.list).hasSize(1);
        assertThat(lines.list.get(0).getFormattedMessage())
                .startsWith("who=token:" + fingerprint + " tenant=acme method=GET path=/api/v1/traces/"
                        + QueryApiIT.TRACE + "%0D%0Awho=token:deadbeef%20tenant=globex%E2%80%A8%25 range=- query="
                        + " status=400 elapsed_ms=");
    }
}
