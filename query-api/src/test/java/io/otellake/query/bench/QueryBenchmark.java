package io.otellake.query.bench;

import io.otellake.archiver.ParquetFiles;
import io.otellake.archiver.TraceIndex;
import io.otellake.infra.S3Server;
import io.otellake.query.QueryApiApplication;
import io.otellake.schemas.LakeLayout;
import io.otellake.schemas.LakeSchema;
import io.otellake.schemas.Partition;
import io.otellake.schemas.Signal;
import io.otellake.schemas.TenantId;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The query API benchmark: a command, not a test. Run it with
 *
 * <pre>./mvnw -B -q -Pbench -DskipTests -pl query-api -am verify</pre>
 *
 * <p>It writes a realistic lake into a real S3 server (S3Proxy): tenant {@code bench} has {@code bench.logs} log
 * records (10 million by default) in one day and spans over {@code bench.days} days (30); two other tenants have a
 * little of each. It then measures p50 and p95 of each query through the REST API with a cold cache and with a warm
 * one, and of the same SQL straight on DuckDB over the same local files: the floor. Figures go to stdout and to
 * {@code query-api/target/query-bench.md}.
 */
public final class QueryBenchmark {
    static final String BUCKET = "bench";
    static final LakeLayout LAYOUT = new LakeLayout("lake");
    static final Instant DAY = Instant.parse("2024-05-01T00:00:00Z");
    static final String RARE = "zq7xkcd";
    static final String[] SERVICES = {
        "checkout", "cart", "payments", "search", "frontend", "inventory", "shipping", "auth"
    };
    static final String[] ROUTES = {
        "/api/cart", "/api/checkout", "/api/products/{id}", "/api/search", "/login", "/api/orders/{id}", "/health"
    };
    static final String[] WORDS = ("request completed failed retry timeout connection user order payment cache miss hit"
                    + " upstream downstream latency queue worker started stopped invalid token session expired")
            .split(" ");
    static final int[] SEVERITIES = {5, 9, 9, 9, 9, 9, 9, 13, 13, 17, 21};

    private QueryBenchmark() {}

    public static void main(String[] args) throws Exception {
        long logs = Long.getLong("bench.logs", 10_000_000L);
        int days = Integer.getInteger("bench.days", 30);
        int spansPerHour = Integer.getInteger("bench.spansPerHour", 20_000);
        int runs = Integer.getInteger("bench.runs", 15);
        Path work = Files.createTempDirectory("otel-lake-bench");
        StringBuilder report = new StringBuilder();
        try (S3Server s3server = S3Server.startOnFreePorts(work.resolve("s3"));
                S3Client s3 = client(s3server)) {
            s3.createBucket(b -> b.bucket(BUCKET));
            long t0 = System.nanoTime();
            Fixture fixture = generate(s3, work.resolve("gen"), logs, days, spansPerHour);
            double genSeconds = (System.nanoTime() - t0) / 1e9;
            System.out.printf("generated %,d log records and %,d spans in %.0f s%n", logs, fixture.spans, genSeconds);

            Path cache = work.resolve("cache");
            ConfigurableApplicationContext app = new SpringApplication(QueryApiApplication.class)
                    .run(
                            "--server.port=0",
                            "--otel-lake.s3.endpoint=" + s3server.endpoint(),
                            "--otel-lake.s3.bucket=" + BUCKET,
                            "--otel-lake.s3.access-key=" + s3server.accessKey(),
                            "--otel-lake.s3.secret-key=" + s3server.secretKey(),
                            "--otel-lake.cache-dir=" + cache,
                            "--otel-lake.cache-max-bytes=" + (64L << 30),
                            "--otel-lake.max-bytes-per-query=" + (64L << 30),
                            "--otel-lake.query-timeout=300s",
                            "--otel-lake.trace-lookback=4000d", // the data set is dated 2024
                            "--logging.level.root=WARN",
                            "--logging.level.otel-lake.audit=WARN");
            try {
                int port = Integer.parseInt(app.getEnvironment().getProperty("local.server.port"));
                report.append(run(port, cache, s3server, fixture, runs, logs, days, genSeconds));
            } finally {
                app.close();
            }
        }
        System.out.println(report);
        Path out = Path.of("target", "query-bench.md");
        Files.createDirectories(out.getParent());
        Files.writeString(out, report);
        System.out.println("written to " + out.toAbsolutePath());
    }

    record Fixture(String traceId, Instant traceStart, long spans) {}

    record Case(
            String name,
            String path,
            String floorSql,
            List<Object> floorParams,
            Signal signal,
            Instant start,
            Instant end) {}

    static String run(int port, Path cache, S3Server s3server, Fixture f, int runs, long logs, int days, double gen)
            throws Exception {
        String range = "start=2024-05-01T00:00:00Z&end=2024-05-02T00:00:00Z";
        Instant dayEnd = DAY.plus(Duration.ofDays(1));
        Instant traceFrom = DAY.minus(Duration.ofDays(days - 1));
        String eventTime = "coalesce(timestamp, observed_timestamp)";
        List<Case> cases = List.of(
                new Case(
                        "log search, rare term, 24 h",
                        "/api/v1/logs?" + range + "&q=" + RARE + "&limit=100",
                        "SELECT * FROM read_parquet(?) WHERE contains(lower(body), ?) ORDER BY " + eventTime
                                + " DESC LIMIT 100",
                        List.of(RARE),
                        Signal.LOGS,
                        DAY,
                        dayEnd),
                new Case(
                        "service + severity filter, 24 h",
                        "/api/v1/logs?" + range + "&service=payments&severity_min=ERROR&limit=100",
                        "SELECT * FROM read_parquet(?) WHERE service_name = ? AND severity_number >= ? ORDER BY "
                                + eventTime + " DESC LIMIT 100",
                        List.of("payments", 17),
                        Signal.LOGS,
                        DAY,
                        dayEnd),
                new Case(
                        "trace by id, " + days + " days",
                        "/api/v1/traces/" + f.traceId + "?start=" + traceFrom + "&end=" + dayEnd,
                        "SELECT * FROM read_parquet(?) WHERE trace_id = ? ORDER BY start_time",
                        List.of(f.traceId),
                        Signal.TRACES,
                        traceFrom,
                        dayEnd),
                new Case(
                        "trace by id, no time range (trace index), " + days + " days",
                        "/api/v1/traces/" + f.traceId,
                        "SELECT * FROM read_parquet(?) WHERE trace_id = ? ORDER BY start_time",
                        List.of(f.traceId),
                        Signal.TRACES,
                        traceFrom,
                        dayEnd),
                new Case(
                        "trace search, 24 h",
                        "/api/v1/traces?" + range + "&service=checkout&min_duration=900ms&status=error&limit=20",
                        // the API's own summary query, without its time filter (the files are the day)
                        "WITH spans AS (SELECT trace_id, parent_span_id, service_name, name, start_time, end_time,"
                                + " duration_ns, status_code FROM read_parquet(?)), matching AS (SELECT DISTINCT"
                                + " trace_id FROM spans WHERE service_name = ? AND duration_ns >= ? AND status_code ="
                                + " 'ERROR') SELECT trace_id, coalesce(arg_min(service_name, start_time) FILTER (WHERE"
                                + " parent_span_id IS NULL), arg_min(service_name, start_time)), coalesce(arg_min(name,"
                                + " start_time) FILTER (WHERE parent_span_id IS NULL), arg_min(name, start_time)),"
                                + " epoch_ns(min(start_time)), epoch_ns(max(end_time)) - epoch_ns(min(start_time)),"
                                + " count(*), count(*) FILTER (WHERE status_code = 'ERROR'),"
                                + " list_sort(list_distinct(list(service_name))) FROM spans SEMI JOIN matching USING"
                                + " (trace_id) GROUP BY trace_id ORDER BY min(start_time) DESC, trace_id LIMIT 20",
                        List.of("checkout", 900_000_000L),
                        Signal.TRACES,
                        DAY,
                        dayEnd));
        HttpClient http = HttpClient.newHttpClient();
        StringBuilder md = new StringBuilder();
        md.append(
                        "| query | cold p50 | cold p95 | warm p50 | warm p95 | DuckDB floor p50 | floor p95 | warm p50 / floor"
                                + " p50 |\n")
                .append("|---|---|---|---|---|---|---|---|\n");
        for (Case c : cases) {
            double[] cold = new double[Math.max(3, runs / 3)];
            for (int i = 0; i < cold.length; i++) {
                clear(cache);
                cold[i] = time(() -> get(http, port, c.path));
            }
            get(http, port, c.path); // fill the cache
            List<Path> files = localFiles(s3server, c);
            double[] warm = new double[runs];
            double[] floor = new double[runs];
            try (Connection db = DriverManager.getConnection("jdbc:duckdb:")) {
                try (Statement s = db.createStatement()) {
                    s.execute("SET threads = 2");
                }
                floorQuery(db, c, files); // warms the OS page cache, as the fill did for the API
                // Alternate the two, so that both see the same load when the machine is shared.
                for (int i = 0; i < runs; i++) {
                    warm[i] = time(() -> get(http, port, c.path));
                    floor[i] = time(() -> floorQuery(db, c, files));
                }
            }
            md.append(String.format(
                    "| %s | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %.2f |%n",
                    c.name,
                    p(cold, 50),
                    p(cold, 95),
                    p(warm, 50),
                    p(warm, 95),
                    p(floor, 50),
                    p(floor, 95),
                    p(warm, 50) / p(floor, 50)));
            System.out.println(md.substring(md.lastIndexOf("| " + c.name)));
        }
        return "Lake: " + String.format("%,d", logs) + " log records in tenant bench on 2024-05-01, spans over " + days
                + " days (" + String.format("%,d", f.spans) + "), generated in " + String.format("%.0f", gen)
                + " s. Runs per figure: warm and floor " + runs + ", cold " + Math.max(3, runs / 3) + ".\n\n" + md;
    }

    interface Timed {
        void run() throws Exception;
    }

    static double time(Timed t) throws Exception {
        long start = System.nanoTime();
        t.run();
        return (System.nanoTime() - start) / 1e6;
    }

    static double p(double[] values, int percentile) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int index = (int) Math.ceil(percentile / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    static void get(HttpClient http, int port, String path) throws Exception {
        HttpResponse<String> r = http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                        .header("X-Scope-OrgID", "bench")
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException(path + " answered " + r.statusCode() + ": " + r.body());
        }
    }

    static void clear(Path cache) throws IOException {
        try (Stream<Path> files = Files.list(cache)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.deleteIfExists(f);
            }
        }
    }

    /** The S3 server's own files of the case's hours: DuckDB's floor reads exactly what the API reads. */
    static List<Path> localFiles(S3Server s3server, Case c) throws IOException {
        List<Path> out = new ArrayList<>();
        for (Partition p : LakeLayout.hoursBetween(c.signal, TenantId.of("bench"), c.start, c.end)) {
            Path dir = s3server.dataDir().resolve(BUCKET).resolve(LAYOUT.partitionPrefix(p));
            if (Files.isDirectory(dir)) {
                try (Stream<Path> files = Files.list(dir)) {
                    files.filter(x -> x.toString().endsWith(".parquet")).forEach(out::add);
                }
            }
        }
        return out;
    }

    static void floorQuery(Connection db, Case c, List<Path> files) throws Exception {
        try (PreparedStatement ps = db.prepareStatement(c.floorSql)) {
            Object array = db.createArrayOf(
                    "VARCHAR", files.stream().map(Path::toString).toArray());
            int i = 1;
            ps.setObject(i++, array);
            for (Object p : c.floorParams) {
                ps.setObject(i++, p);
            }
            if (c.floorSql.indexOf("read_parquet(?)") != c.floorSql.lastIndexOf("read_parquet(?)")) {
                ps.setObject(i, array);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rs.getObject(1);
                }
            }
        }
    }

    // --- data

    static Fixture generate(S3Client s3, Path tmp, long logs, int days, int spansPerHour) throws IOException {
        Files.createDirectories(tmp);
        SplittableRandom random = new SplittableRandom(42);
        long perHour = logs / 24;
        int rowsPerFile = 250_000;
        for (int hour = 0; hour < 24; hour++) {
            long remaining = hour == 23 ? logs - perHour * 23 : perHour;
            int part = 0;
            while (remaining > 0) {
                int n = (int) Math.min(rowsPerFile, remaining);
                List<GenericRecord> rows = new ArrayList<>(n);
                Instant hourStart = DAY.plus(Duration.ofHours(hour));
                for (int i = 0; i < n; i++) {
                    rows.add(logRow(
                            random, hourStart, random.nextInt(1000) == 0 && hour == 13 && part == 0 && i < 2000));
                }
                upload(s3, tmp, Signal.LOGS, "bench", hourStart, rows, part++);
                remaining -= n;
            }
            for (String other : List.of("acme", "globex")) {
                List<GenericRecord> rows = new ArrayList<>();
                for (int i = 0; i < 2000; i++) {
                    rows.add(logRow(random, DAY.plus(Duration.ofHours(hour)), false));
                }
                upload(s3, tmp, Signal.LOGS, other, DAY.plus(Duration.ofHours(hour)), rows, 0);
            }
        }
        String wanted = null;
        Instant wantedStart = null;
        long spans = 0;
        Instant first = DAY.minus(Duration.ofDays(days - 1));
        List<GenericRecord> dayIndex = new ArrayList<>();
        for (int h = 0; h < days * 24; h++) {
            Instant hourStart = first.plus(Duration.ofHours(h));
            List<GenericRecord> rows = new ArrayList<>(spansPerHour);
            while (rows.size() < spansPerHour) {
                String traceId = hex(random, 16);
                int count = 2 + random.nextInt(8);
                long start = nanos(hourStart) + random.nextLong(3_000_000_000_000L);
                String root = hex(random, 8);
                for (int s = 0; s < count; s++) {
                    rows.add(spanRow(random, traceId, s == 0 ? root : hex(random, 8), s == 0 ? null : root, start, s));
                }
                if (wanted == null && h == days * 24 / 2) {
                    wanted = traceId;
                    wantedStart = hourStart;
                }
            }
            spans += rows.size();
            rows.sort((a, b) ->
                    a.get("trace_id").toString().compareTo(b.get("trace_id").toString()));
            upload(s3, tmp, Signal.TRACES, "bench", hourStart, rows, 0);
            dayIndex.addAll(TraceIndex.entries(rows));
            if (h % 24 == 23) {
                // the day's trace index as the compactor leaves it once the day is closed: one sorted file
                dayIndex.sort((a, b) -> {
                    int c = a.get("trace_id")
                            .toString()
                            .compareTo(b.get("trace_id").toString());
                    return c != 0 ? c : Long.compare((Long) a.get("start_time"), (Long) b.get("start_time"));
                });
                Path file = tmp.resolve("index.parquet");
                TraceIndex.write(dayIndex, file);
                String key = "lake/" + TraceIndex.FOLDER + "tenant=bench/dt="
                        + hourStart.atZone(java.time.ZoneOffset.UTC).toLocalDate() + "/compacted-0-000000.parquet";
                s3.putObject(b -> b.bucket(BUCKET).key(key), RequestBody.fromFile(file));
                Files.delete(file);
                dayIndex.clear();
            }
        }
        return new Fixture(wanted, wantedStart, spans);
    }

    static void upload(
            S3Client s3, Path tmp, Signal signal, String tenant, Instant hour, List<GenericRecord> rows, int part)
            throws IOException {
        Path file = tmp.resolve(signal.pathSegment() + "-" + tenant + "-" + part + ".parquet");
        if (signal == Signal.LOGS) {
            rows.sort((a, b) -> {
                int c = a.get("service_name")
                        .toString()
                        .compareTo(b.get("service_name").toString());
                return c != 0 ? c : Long.compare((Long) a.get("timestamp"), (Long) b.get("timestamp"));
            });
        }
        ParquetFiles.write(signal, rows, file);
        String key = LAYOUT.objectKey(Partition.of(signal, TenantId.of(tenant), hour), "bench+0+" + part + ".parquet");
        s3.putObject(b -> b.bucket(BUCKET).key(key), RequestBody.fromFile(file));
        Files.delete(file);
    }

    static GenericRecord logRow(SplittableRandom r, Instant hourStart, boolean rare) {
        GenericRecord row = new GenericData.Record(LakeSchema.LOG);
        long t = nanos(hourStart) + r.nextLong(3_600_000_000_000L);
        String service = SERVICES[r.nextInt(SERVICES.length)];
        row.put("timestamp", t);
        row.put("observed_timestamp", t + r.nextInt(5_000_000));
        row.put("trace_id", r.nextInt(3) == 0 ? null : hex(r, 16));
        row.put("span_id", null);
        row.put("trace_flags", 1L);
        int severity = SEVERITIES[r.nextInt(SEVERITIES.length)];
        row.put("severity_number", severity);
        row.put("severity_text", severity >= 17 ? "ERROR" : severity >= 13 ? "WARN" : severity >= 9 ? "INFO" : "DEBUG");
        row.put("event_name", null);
        StringBuilder body = new StringBuilder();
        int words = 6 + r.nextInt(14);
        for (int i = 0; i < words; i++) {
            body.append(WORDS[r.nextInt(WORDS.length)]).append(' ');
        }
        body.append("order=").append(r.nextInt(1_000_000)).append(" user=u").append(r.nextInt(100_000));
        if (rare) {
            body.append(' ').append(RARE);
        }
        if (severity >= 17 && r.nextInt(4) == 0) {
            body.append("\njava.lang.IllegalStateException: ")
                    .append(WORDS[r.nextInt(WORDS.length)])
                    .append("\n\tat io.example.")
                    .append(service)
                    .append(".Handler.handle(Handler.java:")
                    .append(r.nextInt(400))
                    .append(")\n\tat io.example.Server.run(Server.java:88)");
        }
        row.put("body", body.toString());
        row.put("body_type", "string");
        row.put("service_name", service);
        row.put(
                "resource_attributes",
                Map.of("service.name", service, "host.name", "node-" + r.nextInt(40), "k8s.namespace.name", "prod"));
        row.put("resource_attribute_types", Map.of());
        row.put("resource_dropped_attributes_count", 0L);
        row.put("resource_schema_url", null);
        row.put("scope_name", "io.example." + service);
        row.put("scope_version", "1.4.2");
        row.put("scope_attributes", Map.of());
        row.put("scope_attribute_types", Map.of());
        row.put("scope_dropped_attributes_count", 0L);
        row.put("scope_schema_url", null);
        Map<String, String> attrs = new LinkedHashMap<>();
        attrs.put("http.route", ROUTES[r.nextInt(ROUTES.length)]);
        attrs.put("http.response.status_code", Integer.toString(severity >= 17 ? 500 : 200));
        row.put("attributes", attrs);
        row.put("attribute_types", Map.of("http.response.status_code", "int"));
        row.put("dropped_attributes_count", 0L);
        return row;
    }

    static GenericRecord spanRow(
            SplittableRandom r, String traceId, String spanId, String parent, long traceStart, int i) {
        Schema schema = LakeSchema.SPAN;
        GenericRecord row = new GenericData.Record(schema);
        String service = SERVICES[(i + r.nextInt(2)) % SERVICES.length];
        long start = traceStart + i * 1_000_000L;
        long duration = 1_000_000L + r.nextLong(1_500_000_000L);
        boolean error = r.nextInt(20) == 0;
        row.put("trace_id", traceId);
        row.put("span_id", spanId);
        row.put("parent_span_id", parent);
        row.put("trace_state", null);
        row.put("flags", 1L);
        row.put("name", (i == 0 ? "GET " : "call ") + ROUTES[r.nextInt(ROUTES.length)]);
        row.put("kind", i == 0 ? "SERVER" : "CLIENT");
        row.put("start_time", start);
        row.put("end_time", start + duration);
        row.put("duration_ns", duration);
        row.put("status_code", error ? "ERROR" : "UNSET");
        row.put("status_message", error ? "upstream failed" : null);
        row.put("service_name", service);
        row.put("resource_attributes", Map.of("service.name", service, "host.name", "node-" + r.nextInt(40)));
        row.put("resource_attribute_types", Map.of());
        row.put("resource_dropped_attributes_count", 0L);
        row.put("resource_schema_url", null);
        row.put("scope_name", "io.opentelemetry.http");
        row.put("scope_version", "2.3.0");
        row.put("scope_attributes", Map.of());
        row.put("scope_attribute_types", Map.of());
        row.put("scope_dropped_attributes_count", 0L);
        row.put("scope_schema_url", null);
        row.put(
                "attributes",
                Map.of(
                        "http.request.method",
                        "GET",
                        "url.path",
                        "/api/orders/" + r.nextInt(1_000_000),
                        "http.response.status_code",
                        error ? "500" : "200"));
        row.put("attribute_types", Map.of("http.response.status_code", "int"));
        row.put("dropped_attributes_count", 0L);
        row.put("events", List.of());
        row.put("dropped_events_count", 0L);
        row.put("links", List.of());
        row.put("dropped_links_count", 0L);
        return row;
    }

    static String hex(SplittableRandom r, int bytes) {
        byte[] b = new byte[bytes];
        for (int i = 0; i < bytes; i++) {
            b[i] = (byte) r.nextInt(256);
        }
        return HexFormat.of().formatHex(b);
    }

    static long nanos(Instant t) {
        return t.getEpochSecond() * 1_000_000_000L + t.getNano();
    }

    static S3Client client(S3Server s3server) {
        return S3Client.builder()
                .endpointOverride(s3server.endpoint())
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(s3server.accessKey(), s3server.secretKey())))
                .forcePathStyle(true)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .httpClient(UrlConnectionHttpClient.create())
                .build();
    }
}
