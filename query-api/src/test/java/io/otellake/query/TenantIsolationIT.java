package io.otellake.query;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.otellake.archiver.ParquetFiles;
import io.otellake.infra.S3Server;
import io.otellake.schemas.FlatRow;
import io.otellake.schemas.LogFlattener;
import io.otellake.schemas.Partition;
import io.otellake.schemas.Signal;
import io.otellake.schemas.SpanFlattener;
import io.otellake.schemas.TenantId;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import tools.jackson.databind.JsonNode;

/**
 * A query never reads an object outside its own tenant's prefix, proven on the wire: S3 is reached only through a
 * {@link RecordingRelay}, every kind of query runs for a tenant while tenants whose ids are confusable with it (a
 * prefix of it, it a prefix of them, another case) have data in the same hours, under the same trace id, and every
 * key the API fetched (GET, HEAD) and every prefix it listed must lie under that tenant's own folders, slash included.
 *
 * <p>The lake: each tenant {@code t} has two logs at 10:15 ("declined at t #0" and "#1"), a compacted log file at
 * 09:30 ("compacted at t", next to the input file it replaces) and trace {@link #TRACE} with spans at 10:59 ("root of
 * t") and 11:01 ("child of t") of service {@code svc-t}, with its trace index files; all on 2024-05-01.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class TenantIsolationIT {
    static final String TRACE = "5eeded5eeded5eeded5eeded5eeded5e";
    static final Instant T10 = Instant.parse("2024-05-01T10:15:00Z");
    static final Instant T09 = Instant.parse("2024-05-01T09:30:00Z");
    /** acm is a prefix of acme, acme of acme-evil, acmex and acme_; Acme differs in case only. */
    static final List<String> TENANTS = List.of("acme", "acme-evil", "acm", "acmex", "acme_", "Acme");

    static S3Server s3server;
    static RecordingRelay relay;
    static Path cache;

    @LocalServerPort
    int port;

    final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void lake() throws Exception {
        s3server = S3Server.startOnFreePorts(
                Files.createTempDirectory("isolation-it-s3").resolve("data"));
        cache = Files.createTempDirectory("isolation-it-cache");
        try (S3Client s3 = QueryApiIT.s3(s3server)) {
            s3.createBucket(b -> b.bucket(QueryApiIT.BUCKET));
            for (String t : TENANTS) {
                List<FlatRow> logs = new ArrayList<>();
                logs.addAll(LogFlattener.flatten(QueryApiIT.logs("checkout", T10, "declined at " + t + " #0", 0)));
                logs.addAll(LogFlattener.flatten(
                        QueryApiIT.logs("checkout", T10.plusSeconds(1), "declined at " + t + " #1", 0)));
                QueryApiIT.put(s3, Signal.LOGS, t, logs);
                // mid-compaction: a compacted file and the input it replaces, which the API learns with a HEAD
                List<GenericRecord> compacted =
                        LogFlattener.flatten(QueryApiIT.logs("checkout", T09, "compacted at " + t, 0)).stream()
                                .map(FlatRow::record)
                                .toList();
                putLogFile(s3, t, "otlp-logs+0+1.parquet", compacted, Map.of());
                putLogFile(
                        s3,
                        t,
                        "compacted-1-aaaaaa.parquet",
                        compacted,
                        Map.of("otel-lake-compacted-from", "otlp-logs+0+1.parquet"));
                QueryApiIT.put(s3, Signal.TRACES, t, SpanFlattener.flatten(trace(t)));
            }
        }
        relay = new RecordingRelay(s3server.endpoint());
    }

    @AfterAll
    static void stop() {
        relay.close();
        s3server.close();
    }

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry r) {
        QueryApiIT.lakeProperties(r, () -> relay.endpoint(), () -> s3server, () -> cache);
        r.add("otel-lake.trace-lookback", () -> "4000d"); // the fixtures are from 2024
    }

    @Test
    void everyObjectAQueryReadsOrListsIsUnderItsOwnTenantsPrefixAndItsAnswersHoldOnlyItsData() throws Exception {
        // acme: tenants acme-evil, acmex and acme_ extend its id; acm: acme extends its id
        for (String tenant : List.of("acme", "acm")) {
            relay.clear();
            queryEverything(tenant);
            List<RecordingRelay.Request> requests = relay.requests();

            String logs = "lake/logs/tenant=" + tenant + "/";
            String traces = "lake/traces/tenant=" + tenant + "/";
            String index = "lake/_index/traces/tenant=" + tenant + "/";
            List<String> ours = List.of(logs, traces, index);
            String bucket = "/" + QueryApiIT.BUCKET;
            List<String> listed = new ArrayList<>();
            List<String> read = new ArrayList<>();
            for (RecordingRelay.Request r : requests) {
                assertThat(r.method()).as("a request the API may send: %s", r).isIn("GET", "HEAD");
                if (r.method().equals("GET") && r.query().containsKey("list-type")) {
                    assertThat(r.path())
                            .as("a listing of the lake's bucket: %s", r)
                            .isIn(bucket, bucket + "/");
                    assertThat(r.query())
                            .as("a listing names its prefix: %s", r)
                            .containsKey("prefix");
                    listed.add(r.query().get("prefix"));
                } else {
                    assertThat(r.path())
                            .as("an object of the lake's bucket: %s", r)
                            .startsWith(bucket + "/");
                    read.add(r.method() + " " + r.path().substring(bucket.length() + 1));
                }
            }
            assertThat(listed)
                    .as("%s: every prefix the API listed", tenant)
                    .isNotEmpty()
                    .allMatch(p -> Stream.of(logs, traces, index).anyMatch(p::startsWith), "under " + ours);
            assertThat(read)
                    .as("%s: every object the API fetched or asked about", tenant)
                    .isNotEmpty()
                    .allMatch(
                            k -> Stream.of(logs, traces, index).anyMatch(k.substring(k.indexOf(' ') + 1)::startsWith),
                            "under " + ours);

            // not vacuous: the recording saw every kind of read the queries make
            assertThat(listed)
                    .as("%s: listings of an hour, of a day and of the whole trace index", tenant)
                    .contains(logs + "dt=2024-05-01/hour=10/", logs + "dt=2024-05-01/", index);
            assertThat(listed).anySatisfy(p -> assertThat(p).startsWith(traces));
            assertThat(read)
                    .as("%s: the compacted file's metadata was asked for", tenant)
                    .contains("HEAD " + logs + "dt=2024-05-01/hour=09/compacted-1-aaaaaa.parquet");
            for (String prefix : List.of(logs, traces, index)) {
                assertThat(read)
                        .as("%s: a file under %s was fetched", tenant, prefix)
                        .anySatisfy(
                                k -> assertThat(k).startsWith("GET " + prefix).endsWith(".parquet"));
            }
        }
    }

    /** Every kind of query for {@code tenant}, each asserted to answer with the tenant's own data only. */
    void queryEverything(String tenant) throws Exception {
        String hours = "start=2024-05-01T08:00:00Z&end=2024-05-01T12:00:00Z";

        // log search over four hours: the day's folder is listed once
        assertThat(bodies(getJson("/api/v1/logs?" + hours + "&q=at", tenant)))
                .containsExactly(
                        "declined at " + tenant + " #1", "declined at " + tenant + " #0", "compacted at " + tenant);

        // log search over one hour, page by page: the hour's folder is listed
        List<String> paged = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            JsonNode page = getJson(
                    "/api/v1/logs?start=2024-05-01T10:00:00Z&end=2024-05-01T11:00:00Z&limit=1"
                            + (cursor == null ? "" : "&cursor=" + cursor),
                    tenant);
            paged.addAll(bodies(page));
            cursor = page.get("next_cursor").isNull()
                    ? null
                    : page.get("next_cursor").asString();
            pages++;
        } while (cursor != null && pages < 5);
        assertThat(paged).containsExactly("declined at " + tenant + " #1", "declined at " + tenant + " #0");
        assertThat(pages).as("a second page came from a cursor").isGreaterThanOrEqualTo(2);

        // log volume
        long total = 0;
        for (JsonNode bucket :
                getJson("/api/v1/logs/volume?" + hours + "&step=1h", tenant).get("data")) {
            total += bucket.get("count").asLong();
        }
        assertThat(total).as("acme's three records, the compacted one once").isEqualTo(3);

        // trace by id: a short range (hour by hour), a long range (the index of its days), no range (the whole index)
        List<String> names = List.of("root of " + tenant, "child of " + tenant);
        for (String range : List.of(
                "?start=2024-05-01T10:00:00Z&end=2024-05-01T12:00:00Z",
                "?start=2024-04-28T00:00:00Z&end=2024-05-03T00:00:00Z",
                "")) {
            JsonNode trace = getJson("/api/v1/traces/" + TRACE + range, tenant);
            assertThat(trace.get("spans"))
                    .as(range)
                    .extracting(s -> s.get("name").asString())
                    .containsExactlyElementsOf(names);
            assertThat(trace.get("spans"))
                    .extracting(s -> s.get("service_name").asString())
                    .containsOnly("svc-" + tenant);
        }

        // trace search
        JsonNode summaries = getJson("/api/v1/traces?" + hours, tenant).get("data");
        assertThat(summaries).hasSize(1);
        assertThat(summaries.get(0).get("trace_id").asString()).isEqualTo(TRACE);
        assertThat(summaries.get(0).get("root_service").asString()).isEqualTo("svc-" + tenant);
        assertThat(summaries.get(0).get("span_count").asInt()).isEqualTo(2);

        // the trace as OTLP/JSON, without a range: through the trace index
        JsonNode otlp = getJson("/api/v1/traces/" + TRACE + "?format=otlp", tenant);
        List<String> services = new ArrayList<>();
        List<String> spanNames = new ArrayList<>();
        for (JsonNode rs : otlp.get("resourceSpans")) {
            for (JsonNode attribute : rs.get("resource").get("attributes")) {
                services.add(attribute.get("value").get("stringValue").asString());
            }
            for (JsonNode ss : rs.get("scopeSpans")) {
                ss.get("spans").forEach(s -> spanNames.add(s.get("name").asString()));
            }
        }
        assertThat(services).containsOnly("svc-" + tenant);
        assertThat(spanNames).containsExactlyInAnyOrderElementsOf(names);
    }

    static List<String> bodies(JsonNode page) {
        List<String> bodies = new ArrayList<>();
        page.get("data").forEach(log -> bodies.add(log.get("body").asString()));
        return bodies;
    }

    JsonNode getJson(String path, String tenant) throws Exception {
        HttpResponse<String> r = http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                        .header("X-Scope-OrgID", tenant)
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(path + " -> " + r.body()).isEqualTo(200);
        return QueryApiIT.JSON.readTree(r.body());
    }

    static void putLogFile(S3Client s3, String tenant, String name, List<GenericRecord> rows, Map<String, String> meta)
            throws Exception {
        Path file = Files.createTempFile("fixture", ".parquet");
        ParquetFiles.write(Signal.LOGS, rows, file);
        long nanos = QueryApiIT.nanos(T09);
        String key = QueryApiIT.LAYOUT.objectKey(Partition.of(Signal.LOGS, TenantId.of(tenant), nanos), name);
        s3.putObject(b -> b.bucket(QueryApiIT.BUCKET).key(key).metadata(meta), RequestBody.fromFile(file));
        Files.delete(file);
    }

    /** Trace {@link #TRACE} of the tenant: "root of t" at 10:59 and its child "child of t" at 11:01. */
    static ExportTraceServiceRequest trace(String tenant) {
        long root = QueryApiIT.nanos(Instant.parse("2024-05-01T10:59:00Z"));
        long child = QueryApiIT.nanos(Instant.parse("2024-05-01T11:01:00Z"));
        ScopeSpans.Builder scope = ScopeSpans.newBuilder();
        Stream.of(
                        Span.newBuilder()
                                .setSpanId(ByteString.fromHex("00000000000000a1"))
                                .setName("root of " + tenant)
                                .setStartTimeUnixNano(root)
                                .setEndTimeUnixNano(root + 180_000_000_000L),
                        Span.newBuilder()
                                .setSpanId(ByteString.fromHex("00000000000000b2"))
                                .setParentSpanId(ByteString.fromHex("00000000000000a1"))
                                .setName("child of " + tenant)
                                .setStartTimeUnixNano(child)
                                .setEndTimeUnixNano(child + 1_000_000_000L))
                .forEach(s -> scope.addSpans(s.setTraceId(ByteString.fromHex(TRACE))));
        return ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .setResource(Resource.newBuilder()
                                .addAttributes(QueryApiIT.kv("service.name", QueryApiIT.str("svc-" + tenant))))
                        .addScopeSpans(scope))
                .build();
    }
}
