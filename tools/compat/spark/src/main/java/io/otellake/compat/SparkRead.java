package io.otellake.compat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.MapType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Opens the archiver's sample files (written by {@code io.otellake.archiver.compat.SampleLake}, see
 * tools/compat/check-spark.sh) with Apache Spark in-process (master local[1]) and fails (exit 1) unless Spark reads
 * them the way docs/schema.md says: times as epoch nanoseconds (LongType) with
 * {@code spark.sql.legacy.parquet.nanosAsLong=true} and a clear TIMESTAMP(NANOS) error without it, attribute maps as
 * {@code map<string,string>}, nested lists of structs, lowercase hex ids, the exact values SampleLake wrote (with the
 * vectorized and with the row-based Parquet reader), and Hive partition discovery of tenant/dt/hour.
 *
 * <p>Keep the expected values in step with SampleLake.java and tools/compat/read.mjs.
 *
 * <p>Usage: {@code SparkRead <directory with spans.parquet, logs.parquet, metrics.parquet, trace_index.parquet>}
 */
public final class SparkRead {

    // What SampleLake wrote.
    static final long START = 1_700_000_000_123_456_789L; // 2023-11-14T22:13:20.123456789Z
    static final String TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
    static final String OTHER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
    static final String SPAN_ID = "b7ad6b7169203331";
    static final String CHILD_SPAN_ID = "53995c3f42cd8ad8";
    static final String ROOT_SPAN_ID = "a3ce929d0e0e4736";
    static final Map<String, Object> RESOURCE =
            obj("service.name", "checkout", "host.name", "web-1", "process.pid", "4242");

    static final Pattern HEX = Pattern.compile("[0-9a-f]+");
    static final String NANOS_AS_LONG = "spark.sql.legacy.parquet.nanosAsLong";
    static final String VECTORIZED = "spark.sql.parquet.enableVectorizedReader";

    /** A sample file: its name, the columns holding times and maps (a[] = element of list a), and its checks. */
    record Kind(String file, int rows, List<String> times, List<String> maps, Verifier verify) {}

    @FunctionalInterface
    interface Verifier {
        void verify(List<Map<String, Object>> rows);
    }

    @FunctionalInterface
    interface Check {
        void run() throws Exception;
    }

    private final SparkSession spark;
    private final Path dir;
    private int passed;
    private final List<String> failures = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    private SparkRead(SparkSession spark, Path dir) {
        this.spark = spark;
        this.dir = dir;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: SparkRead <directory of sample files>");
            System.exit(2);
        }
        Path dir = Paths.get(args[0]).toAbsolutePath();
        SparkSession spark = SparkSession.builder()
                .appName("otel-lake-compat")
                .master("local[1]")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "1")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.datetime.java8API.enabled", "true")
                .getOrCreate();
        int status;
        try {
            status = new SparkRead(spark, dir).run();
        } finally {
            spark.stop();
        }
        System.exit(status);
    }

    private int run() throws Exception {
        System.out.printf("Spark %s (Scala %s), parquet-mr %s, Java %s%n", spark.version(),
                scala.util.Properties.versionNumberString(), org.apache.parquet.Version.FULL_VERSION,
                System.getProperty("java.version"));
        System.out.printf("defaults: %s=%s, spark.sql.parquet.enableNestedColumnVectorizedReader=%s, "
                        + "spark.sql.ansi.enabled=%s%n",
                VECTORIZED, spark.conf().get(VECTORIZED),
                spark.conf().get("spark.sql.parquet.enableNestedColumnVectorizedReader"),
                spark.conf().get("spark.sql.ansi.enabled"));
        Map<String, Kind> kinds = kinds();
        for (Kind kind : kinds.values()) {
            if (!Files.isRegularFile(Path.of(file(kind)))) {
                System.err.println("no " + kind.file() + " in " + dir + ": write the sample files first (SampleLake)");
                return 2;
            }
        }

        // 1. Without nanosAsLong: Spark has no nanosecond timestamp type and refuses the schema.
        spark.conf().set(NANOS_AS_LONG, "false");
        for (Kind kind : kinds.values()) {
            check(kind.file() + ": without " + NANOS_AS_LONG + ", Spark refuses TIMESTAMP(NANOS)", () -> {
                String error = errorOf(() -> spark.read().parquet(file(kind)).collectAsList());
                note(kind.file() + " without nanosAsLong: " + error);
                if (error == null) {
                    throw new AssertionError("read without error: docs/schema.md says Spark cannot read "
                            + "TIMESTAMP(NANOS) columns without " + NANOS_AS_LONG + "; update the doc");
                }
                if (!error.contains("Illegal Parquet type: INT64 (TIMESTAMP(NANOS,true))")) {
                    throw new AssertionError("a different error than the documented TIMESTAMP(NANOS) one: " + error);
                }
            });
        }

        // 2. With nanosAsLong, as documented: every column, with both Parquet readers.
        spark.conf().set(NANOS_AS_LONG, "true");
        for (Kind kind : kinds.values()) {
            Map<String, List<Map<String, Object>>> byReader = new LinkedHashMap<>();
            for (String vectorized : List.of("true", "false")) {
                String reader = "true".equals(vectorized) ? "vectorized reader" : "row-based reader";
                spark.conf().set(VECTORIZED, vectorized);
                String label = kind.file() + " (" + reader + ")";
                Dataset<Row> df = spark.read().parquet(file(kind));
                if ("true".equals(vectorized)) {
                    System.out.println("\n" + kind.file() + " schema:");
                    System.out.print(df.schema().treeString());
                }
                check(label + ": Spark uses that reader (the scan says Batched: " + vectorized + ")", () -> {
                    String plan = df.queryExecution().executedPlan().toString();
                    if (!plan.contains("Batched: " + vectorized)) {
                        throw new AssertionError("the scan is not the one asked for: " + plan.lines()
                                .filter(l -> l.contains("Scan")).findFirst().orElse(plan));
                    }
                });
                check(label + ": time columns are LongType", () -> {
                    for (String column : kind.times()) {
                        expectEq(column, DataTypes.LongType, typeAt(df.schema(), column));
                    }
                });
                check(label + ": attribute columns are map<string,string>", () -> {
                    for (String column : kind.maps()) {
                        DataType type = typeAt(df.schema(), column);
                        if (!(type instanceof MapType map)
                                || !map.keyType().equals(DataTypes.StringType)
                                || !map.valueType().equals(DataTypes.StringType)) {
                            throw new AssertionError(column + " is " + type.simpleString());
                        }
                    }
                });
                check(label + ": every column of every row reads, with the values written", () -> {
                    List<Map<String, Object>> rows = df.collectAsList().stream().map(SparkRead::normalize).toList();
                    expectEq("row count", kind.rows(), rows.size());
                    kind.verify().verify(rows);
                    byReader.put(reader, rows);
                });
            }
            spark.conf().unset(VECTORIZED);
            check(kind.file() + ": both readers return the same rows", () -> {
                List<List<Map<String, Object>>> results = new ArrayList<>(byReader.values());
                expectEq("readers that succeeded", 2, results.size());
                expectEq("rows", results.get(0), results.get(1));
            });
        }

        // 3. SQL as docs/schema.md shows it.
        spark.read().parquet(file(kinds.get("spans"))).createOrReplaceTempView("spans");
        spark.read().parquet(file(kinds.get("metrics"))).createOrReplaceTempView("metrics");
        spark.read().parquet(file(kinds.get("logs"))).createOrReplaceTempView("logs");
        check("timestamp_micros(start_time div 1000) is the start, to the microsecond", () -> {
            Object start = one("SELECT timestamp_micros(start_time div 1000) FROM spans WHERE span_id = '"
                    + SPAN_ID + "'");
            expectEq("start", Instant.parse("2023-11-14T22:13:20.123456Z"), start);
            Object nullTime = one("SELECT timestamp_micros(timestamp div 1000) FROM logs WHERE timestamp IS NULL");
            expectEq("a null time stays null", null, nullTime);
        });
        check("the exact nanoseconds survive next to the timestamp (start_time % 1000)", () -> expectEq(
                "sub-microsecond part", 789L,
                one("SELECT start_time % 1000 FROM spans WHERE span_id = '" + SPAN_ID + "'")));
        check("attributes['http.route'] filters spans", () -> expectEq("span ids", List.of(SPAN_ID),
                column("SELECT span_id FROM spans WHERE attributes['http.route'] = '/checkout'")));
        check("filters on trace_id and on times (pushed down to Parquet by default) keep the right rows",
                () -> {
                    for (String vectorized : List.of("true", "false")) {
                        spark.conf().set(VECTORIZED, vectorized);
                        String by = " (" + VECTORIZED + "=" + vectorized + ")";
                        expectEq("spans of trace " + TRACE_ID + by, List.of(SPAN_ID, CHILD_SPAN_ID),
                                column("SELECT span_id FROM spans WHERE trace_id = '" + TRACE_ID + "'"));
                        expectEq("spans of an absent trace" + by, List.of(),
                                column("SELECT span_id FROM spans WHERE trace_id = 'ffffffffffffffffffffffffffffffff'"));
                        expectEq("start_time = " + START + by, List.of(SPAN_ID),
                                column("SELECT span_id FROM spans WHERE start_time = " + START));
                        expectEq("start_time > START + 5" + by, List.of(CHILD_SPAN_ID),
                                column("SELECT span_id FROM spans WHERE start_time > " + (START + 5)));
                        expectEq("trace index lookup" + by, List.of(OTHER_TRACE_ID),
                                column("SELECT trace_id FROM parquet.`" + file(kinds.get("trace_index"))
                                        + "` WHERE trace_id = '" + OTHER_TRACE_ID + "'"));
                    }
                    spark.conf().unset(VECTORIZED);
                });
        check("a typed attribute: CAST(attributes[...] AS INT) where attribute_types says int", () -> expectEq(
                "status code", List.of(502),
                column("SELECT CAST(attributes['http.response.status_code'] AS INT) FROM spans "
                        + "WHERE attribute_types['http.response.status_code'] = 'int'")));
        check("a missing key reads as null", () -> expectEq("value", null,
                one("SELECT attributes['no.such.key'] FROM spans WHERE span_id = '" + SPAN_ID + "'")));
        check("span events unnest (inline) with exact times", () -> expectEq("events",
                List.of(List.of("cache miss", START + 1), List.of("exception", START + 99_999_999L)),
                rows("SELECT e.name, e.time FROM spans LATERAL VIEW explode(events) x AS e ORDER BY e.time")));
        check("event attribute lookup inside the list: events[1].attributes['exception.type']", () -> expectEq(
                "value", "CardDeclined",
                one("SELECT events[1].attributes['exception.type'] FROM spans WHERE span_id = '" + SPAN_ID + "'")));
        check("histogram buckets: explode bucket_counts and explicit_bounds by position", () -> expectEq(
                "buckets",
                Arrays.asList(List.of(0, 1L, 0.5), List.of(1, 2L, 2.5), Arrays.asList(2, 3L, null)),
                rows("SELECT i, bucket_counts[i], try_element_at(explicit_bounds, i + 1) FROM metrics "
                        + "LATERAL VIEW posexplode(bucket_counts) x AS i, c "
                        + "WHERE metric_type = 'histogram' ORDER BY i")));
        check("summary quantiles: quantile_values[1].value", () -> expectEq("p99", 9.75,
                one("SELECT quantile_values[1].value FROM metrics WHERE metric_type = 'summary'")));
        check("int64 beyond 2^53 is exact (value_int = 9007199254740993)", () -> expectEq("value_int",
                9_007_199_254_740_993L, one("SELECT value_int FROM metrics WHERE metric_type = 'sum'")));
        // The Python example in docs/schema.md: F.timestamp_micros(F.col("start_time") / 1000). '/' is a double
        // division; record what Spark makes of it.
        String slash = errorOrValue(() ->
                one("SELECT timestamp_micros(start_time / 1000) FROM spans WHERE span_id = '" + SPAN_ID + "'"));
        note("timestamp_micros(start_time / 1000) (true division) gives: " + slash);

        // 4. Hive partition discovery.
        partitions(kinds);

        System.out.println("\nNotes:");
        notes.forEach(n -> System.out.println("  " + n));
        System.out.printf("%n%d passed, %d failed%n", passed, failures.size());
        failures.forEach(f -> System.out.println("  FAILED " + f));
        return failures.isEmpty() ? 0 : 1;
    }

    private void partitions(Map<String, Kind> kinds) throws IOException {
        Path lake = Files.createTempDirectory("otel-lake-spark-partitions");
        try {
            Path spans = dir.resolve(kinds.get("spans").file());
            Path traces = lake.resolve("traces");
            copy(spans, traces.resolve("tenant=acme/dt=2024-05-01/hour=13/spans+0+100.parquet"));
            copy(spans, traces.resolve("tenant=acme/dt=2024-05-01/hour=09/spans+0+7.parquet"));
            copy(spans, traces.resolve("tenant=other/dt=2024-05-02/hour=00/compacted-1-a.parquet"));

            check("hive partitions: tenant, dt, hour are discovered under traces/", () -> {
                Dataset<Row> df = spark.read().parquet(traces.toString());
                StructType schema = df.schema();
                Map<String, String> types = new LinkedHashMap<>();
                for (String c : List.of("tenant", "dt", "hour")) {
                    types.put(c, schema.apply(c).dataType().simpleString());
                }
                note("partition column types inferred by Spark " + spark.version() + ": " + types);
                expectEq("types", obj("tenant", "string", "dt", "date", "hour", "int"), types);
                expectEq("rows per partition",
                        List.of(List.of("acme", "2024-05-01", 9, 3L), List.of("acme", "2024-05-01", 13, 3L),
                                List.of("other", "2024-05-02", 0, 3L)),
                        rows(df, "SELECT tenant, CAST(dt AS STRING), hour, count(*) FROM t GROUP BY ALL "
                                + "ORDER BY 1, 2, 3"));
                expectEq("partition filter + attribute lookup", List.of(List.of(SPAN_ID, START)),
                        rows(df, "SELECT span_id, start_time FROM t WHERE tenant = 'acme' AND dt = '2024-05-01' "
                                + "AND hour BETWEEN 9 AND 11 AND attributes['http.route'] = '/checkout'"));
            });

            // A tenant id made of digits only ([A-Za-z0-9_-]{1,64} allows it).
            Path digits = lake.resolve("digits/traces");
            copy(spans, digits.resolve("tenant=007/dt=2024-05-01/hour=09/spans+0+1.parquet"));
            check("hive partitions: a tenant id of digits (tenant=007) as Spark infers it", () -> {
                Dataset<Row> df = spark.read().parquet(digits.toString());
                List<Object> inferred = List.of(
                        df.schema().apply("tenant").dataType().simpleString(),
                        String.valueOf(one(df, "SELECT DISTINCT tenant FROM t")));
                note("tenant=007 alone, with type inference: tenant is " + inferred);
                spark.conf().set("spark.sql.sources.partitionColumnTypeInference.enabled", "false");
                try {
                    Dataset<Row> text = spark.read().parquet(digits.toString());
                    List<Object> raw = rows(text, "SELECT DISTINCT tenant, dt, hour FROM t").get(0);
                    note("with spark.sql.sources.partitionColumnTypeInference.enabled=false: tenant, dt, hour = "
                            + raw + " (" + text.schema().apply("tenant").dataType().simpleString() + ", "
                            + text.schema().apply("dt").dataType().simpleString() + ", "
                            + text.schema().apply("hour").dataType().simpleString() + ")");
                    expectEq("raw partition values", List.of("007", "2024-05-01", "09"), raw);
                } finally {
                    spark.conf().unset("spark.sql.sources.partitionColumnTypeInference.enabled");
                }
            });
            copy(spans, digits.resolve("tenant=acme/dt=2024-05-01/hour=09/spans+0+1.parquet"));
            check("hive partitions: tenants 007 and acme together: tenant is a string", () -> {
                Dataset<Row> df = spark.read().parquet(digits.toString());
                List<Object> tenants = rows(df, "SELECT DISTINCT tenant FROM t ORDER BY 1").stream()
                        .map(r -> r.get(0)).toList();
                note("tenant=007 next to tenant=acme, with type inference: tenant is "
                        + df.schema().apply("tenant").dataType().simpleString() + ", values " + tenants);
                expectEq("tenant type", "string", df.schema().apply("tenant").dataType().simpleString());
            });

            // The trace index: hourly files under dt=/hour=/, a closed day's roll-up directly under dt=/.
            Path index = lake.resolve("_index/traces");
            Path indexFile = dir.resolve(kinds.get("trace_index").file());
            copy(indexFile, index.resolve("tenant=acme/dt=2024-05-01/compacted-1-a.parquet"));
            copy(indexFile, index.resolve("tenant=acme/dt=2024-05-02/hour=13/spans+0+100.parquet"));
            String mixed = errorOrValue(() -> spark.read().parquet(index.toString()).count());
            note("_index/traces/ with a closed day (dt=/compacted-*.parquet) next to an open one "
                    + "(dt=/hour=/*.parquet), read as one table: " + mixed);
            check("trace index: the closed and open days read together when each shape is globbed", () -> {
                Dataset<Row> df = spark.read()
                        .option("basePath", index.toString())
                        .parquet(index.resolve("tenant=*/dt=*/*.parquet").toString())
                        .unionByName(spark.read()
                                .option("basePath", index.toString())
                                .parquet(index.resolve("tenant=*/dt=*/hour=*/*.parquet").toString()),
                                true);
                expectEq("rows per day", List.of(List.of("2024-05-01", 2L), List.of("2024-05-02", 2L)),
                        rows(df, "SELECT CAST(dt AS STRING), count(*) FROM t GROUP BY ALL ORDER BY 1"));
            });
            check("trace index: a glob that matches no file is an error (as docs/schema.md warns)", () -> {
                String error = errorOf(() -> spark.read().option("basePath", index.toString())
                        .parquet(index.resolve("tenant=*/dt=*/hour=*/none-*.parquet").toString()).count());
                if (error == null || !error.contains("Path does not exist")) {
                    throw new AssertionError("expected a 'Path does not exist' error, got " + error);
                }
            });
        } finally {
            try (Stream<Path> files = Files.walk(lake)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    // -------------------------------------------------------------------------------------------------------------
    // Expectations, as in read.mjs.

    private static Map<String, Kind> kinds() {
        Map<String, Kind> kinds = new LinkedHashMap<>();
        kinds.put("spans", new Kind("spans.parquet", 3,
                List.of("start_time", "end_time", "events[].time"),
                List.of("resource_attributes", "scope_attribute_types", "attributes", "attribute_types",
                        "events[].attributes", "links[].attributes"),
                SparkRead::verifySpans));
        kinds.put("logs", new Kind("logs.parquet", 2,
                List.of("timestamp", "observed_timestamp"),
                List.of("resource_attributes", "attributes", "attribute_types"),
                SparkRead::verifyLogs));
        kinds.put("metrics", new Kind("metrics.parquet", 5,
                List.of("timestamp", "start_timestamp", "exemplars[].timestamp"),
                List.of("metric_metadata", "resource_attributes", "attributes", "exemplars[].filtered_attributes",
                        "exemplars[].filtered_attribute_types"),
                SparkRead::verifyMetrics));
        kinds.put("trace_index", new Kind("trace_index.parquet", 2,
                List.of("start_time", "end_time"), List.of(),
                rows -> expectEq("rows", List.of(
                        obj("trace_id", TRACE_ID, "start_time", START, "end_time", START + 200_000_000L,
                                "span_count", 2),
                        obj("trace_id", OTHER_TRACE_ID, "start_time", START + 5, "end_time", START + 6,
                                "span_count", 1)), rows)));
        return kinds;
    }

    private static void verifySpans(List<Map<String, Object>> rows) {
        for (Map<String, Object> r : rows) {
            expectHex(r.get("trace_id"), 32);
            expectHex(r.get("span_id"), 16);
            if (r.get("parent_span_id") != null) {
                expectHex(r.get("parent_span_id"), 16);
            }
        }
        Map<String, Object> server = rows.get(0), child = rows.get(1), root = rows.get(2);
        expectFields("server span", server, obj(
                "trace_id", TRACE_ID,
                "span_id", SPAN_ID,
                "parent_span_id", "00f067aa0ba902b7",
                "trace_state", "congo=t61rcWkgMzE",
                "flags", 0x301L,
                "name", "POST /checkout",
                "kind", "SERVER",
                "start_time", START,
                "end_time", START + 100_000_001L,
                "duration_ns", 100_000_001L,
                "status_code", "ERROR",
                "status_message", "card declined",
                "service_name", "checkout",
                "resource_attributes", RESOURCE,
                "resource_attribute_types", obj("process.pid", "int"),
                "resource_schema_url", "https://opentelemetry.io/schemas/1.26.0",
                "scope_name", "io.otellake.sample",
                "scope_version", "1.0.0",
                "scope_attributes", obj("sample", "true"),
                "scope_attribute_types", obj("sample", "bool"),
                "attributes", obj(
                        "http.route", "/checkout",
                        "http.response.status_code", "502",
                        "sample.ratio", "0.25",
                        "retry", "false",
                        "payload", "AQL/",
                        "tags", "{\"values\":[{\"stringValue\":\"a\"},{\"intValue\":\"7\"}]}",
                        "user", "{\"values\":[{\"key\":\"id\",\"value\":{\"intValue\":\"42\"}}]}",
                        "nothing", ""),
                "attribute_types", obj(
                        "http.response.status_code", "int",
                        "sample.ratio", "double",
                        "retry", "bool",
                        "payload", "bytes",
                        "tags", "array",
                        "user", "kvlist",
                        "nothing", "empty"),
                "dropped_attributes_count", 3L,
                "events", List.of(
                        obj("time", START + 1, "name", "cache miss", "attributes", obj("cache.key", "user:42"),
                                "attribute_types", obj(), "dropped_attributes_count", 0L),
                        obj("time", START + 99_999_999L, "name", "exception",
                                "attributes", obj("exception.type", "CardDeclined", "exception.escaped", "true"),
                                "attribute_types", obj("exception.escaped", "bool"), "dropped_attributes_count", 0L)),
                "links", List.of(obj("trace_id", OTHER_TRACE_ID, "span_id", "e457b5a2e4d86bd1",
                        "trace_state", "rojo=00f067aa0ba902b7", "flags", 1L,
                        "attributes", obj("link.reason", "retry of"), "attribute_types", obj(),
                        "dropped_attributes_count", 0L))));
        expectFields("child span", child, obj(
                "span_id", CHILD_SPAN_ID,
                "parent_span_id", SPAN_ID,
                "start_time", START + 10,
                "status_code", "UNSET",
                "status_message", null,
                "attributes", obj(),
                "events", List.of(),
                "links", List.of()));
        expectFields("root span", root, obj(
                "trace_id", OTHER_TRACE_ID,
                "span_id", ROOT_SPAN_ID,
                "parent_span_id", null,
                "kind", "INTERNAL",
                "status_code", "OK",
                "end_time", START + 6));
    }

    private static void verifyLogs(List<Map<String, Object>> rows) {
        Map<String, Object> declined = rows.get(0), structured = rows.get(1);
        expectHex(declined.get("trace_id"), 32);
        expectHex(declined.get("span_id"), 16);
        Map<String, Object> paymentsResource = new LinkedHashMap<>(RESOURCE);
        paymentsResource.put("service.name", "payments");
        expectFields("string log", declined, obj(
                "timestamp", START,
                "observed_timestamp", START + 1_000,
                "trace_id", TRACE_ID,
                "span_id", SPAN_ID,
                "trace_flags", 1L,
                "severity_text", "ERROR",
                "severity_number", 17,
                "event_name", null,
                "body", "card declined",
                "body_type", "string",
                "service_name", "payments",
                "resource_attributes", paymentsResource,
                "attributes", obj("retry", "true", "attempt", "2"),
                "attribute_types", obj("retry", "bool", "attempt", "int")));
        expectFields("kvlist log", structured, obj(
                "timestamp", null, // no time: null, not the epoch
                "observed_timestamp", START + 2_000,
                "trace_id", null,
                "span_id", null,
                "severity_number", 9,
                "event_name", "order.placed",
                "body", "{\"values\":[{\"key\":\"order\",\"value\":{\"stringValue\":\"o-1\"}},"
                        + "{\"key\":\"items\",\"value\":{\"intValue\":\"3\"}}]}",
                "body_type", "kvlist",
                "attributes", obj()));
    }

    @SuppressWarnings("unchecked")
    private static void verifyMetrics(List<Map<String, Object>> rows) {
        expectEq("metric types", List.of("gauge", "sum", "histogram", "exponential_histogram", "summary"),
                rows.stream().map(r -> r.get("metric_type")).toList());
        for (Map<String, Object> r : rows) {
            expectEq("timestamp", START, r.get("timestamp"));
            expectEq("resource_attributes", RESOURCE, r.get("resource_attributes"));
            for (Map<String, Object> e : (List<Map<String, Object>>) r.get("exemplars")) {
                if (e.get("trace_id") != null) {
                    expectHex(e.get("trace_id"), 32);
                }
                if (e.get("span_id") != null) {
                    expectHex(e.get("span_id"), 16);
                }
            }
        }
        Map<String, Object> gauge = rows.get(0), sum = rows.get(1), histogram = rows.get(2),
                exponential = rows.get(3), summary = rows.get(4);
        expectFields("gauge", gauge, obj(
                "metric_name", "jvm.thread.count",
                "metric_unit", "{thread}",
                "metric_metadata", obj("source", "jmx"),
                "start_timestamp", null,
                "aggregation_temporality", null,
                "is_monotonic", null,
                "attributes", obj("state", "runnable"),
                "value_double", 42.5,
                "value_int", null,
                "bucket_counts", null,
                "quantile_values", null,
                "exemplars", List.of(obj("timestamp", START - 7, "value_double", 41.25, "value_int", null,
                        "trace_id", TRACE_ID, "span_id", SPAN_ID, "filtered_attributes", obj("thread.id", "7"),
                        "filtered_attribute_types", obj("thread.id", "int")))));
        expectFields("sum", sum, obj(
                "start_timestamp", START - 60_000_000_000L,
                "aggregation_temporality", "cumulative",
                "is_monotonic", true,
                "value_int", 9_007_199_254_740_993L, // 2^53 + 1, exact
                "value_double", null,
                "exemplars", List.of(obj("timestamp", START - 3, "value_double", null, "value_int", 1L,
                        "trace_id", null, "span_id", null, "filtered_attributes", obj(),
                        "filtered_attribute_types", obj()))));
        expectFields("histogram", histogram, obj(
                "metric_description", "Duration of HTTP server requests.",
                "aggregation_temporality", "delta",
                "is_monotonic", null,
                "attributes", obj("http.route", "/checkout"),
                "count", 6L,
                "sum", 7.25,
                "min", 0.125,
                "max", 3.5,
                "bucket_counts", List.of(1L, 2L, 3L),
                "explicit_bounds", List.of(0.5, 2.5),
                "scale", null));
        expectEq("histogram exemplars", List.of(List.of(START - 1, 3.5, OTHER_TRACE_ID, ROOT_SPAN_ID)),
                pick(histogram, "timestamp", "value_double", "trace_id", "span_id"));
        expectFields("exponential histogram", exponential, obj(
                "count", 7L,
                "sum", 12.0,
                "scale", 2,
                "zero_count", 1L,
                "zero_threshold", 0.001,
                "positive_offset", -1,
                "positive_bucket_counts", List.of(1L, 0L, 3L),
                "negative_offset", 0,
                "negative_bucket_counts", List.of(2L),
                "bucket_counts", null));
        expectEq("exponential histogram exemplars", List.of(List.of(START - 2, TRACE_ID, CHILD_SPAN_ID)),
                pick(exponential, "timestamp", "trace_id", "span_id"));
        expectFields("summary", summary, obj(
                "count", 4L,
                "sum", 20.5,
                "quantile_values", List.of(obj("quantile", 0.5, "value", 1.5), obj("quantile", 0.99, "value", 9.75)),
                "exemplars", List.of(),
                "explicit_bounds", null));
    }

    @SuppressWarnings("unchecked")
    private static List<List<Object>> pick(Map<String, Object> row, String... fields) {
        return ((List<Map<String, Object>>) row.get("exemplars")).stream()
                .map(e -> Arrays.stream(fields).map(e::get).toList())
                .toList();
    }

    // -------------------------------------------------------------------------------------------------------------
    // Helpers.

    private String file(Kind kind) {
        return dir.resolve(kind.file()).toString();
    }

    private void check(String name, Check check) {
        try {
            check.run();
            passed++;
            System.out.println("PASS " + name);
        } catch (Throwable t) {
            String message = t instanceof AssertionError ? t.getMessage() : t.toString();
            failures.add(name + ": " + message);
            System.out.println("FAIL " + name + ": " + message);
        }
    }

    private void note(String note) {
        notes.add(note);
    }

    /** The first line of the error that {@code action} throws, or null when it succeeds. */
    private static String errorOf(Check action) {
        try {
            action.run();
            return null;
        } catch (Exception | AssertionError e) { // Spark reports some problems with Scala's assert
            String message = String.valueOf(e.getMessage());
            return e.getClass().getSimpleName() + ": " + message.lines().findFirst().orElse("");
        }
    }

    private static String errorOrValue(java.util.concurrent.Callable<Object> action) {
        try {
            return "value " + action.call();
        } catch (Exception | AssertionError e) {
            return "error " + e.getClass().getSimpleName() + ": "
                    + String.valueOf(e.getMessage()).lines().findFirst().orElse("");
        }
    }

    private Object one(String sql) {
        List<List<Object>> rows = rows(sql);
        expectEq("rows of " + sql, 1, rows.size());
        return rows.get(0).get(0);
    }

    private Object one(Dataset<Row> df, String sql) {
        List<List<Object>> rows = rows(df, sql);
        expectEq("rows of " + sql, 1, rows.size());
        return rows.get(0).get(0);
    }

    private List<Object> column(String sql) {
        return rows(sql).stream().map(r -> r.get(0)).toList();
    }

    private List<List<Object>> rows(String sql) {
        return spark.sql(sql).collectAsList().stream()
                .map(r -> {
                    List<Object> values = new ArrayList<>();
                    for (int i = 0; i < r.length(); i++) {
                        values.add(r.get(i));
                    }
                    return values;
                })
                .toList();
    }

    /** Runs {@code sql} over {@code df} registered as view {@code t}. */
    private List<List<Object>> rows(Dataset<Row> df, String sql) {
        df.createOrReplaceTempView("t");
        return rows(sql);
    }

    /** Follows a path such as {@code events[].time} through a Spark schema. */
    static DataType typeAt(StructType root, String path) {
        DataType type = root;
        for (String part : path.split("\\.")) {
            boolean list = part.endsWith("[]");
            String name = list ? part.substring(0, part.length() - 2) : part;
            if (!(type instanceof StructType struct) || !Arrays.asList(struct.fieldNames()).contains(name)) {
                throw new AssertionError("no column " + path);
            }
            type = struct.apply(name).dataType();
            if (list) {
                if (!(type instanceof ArrayType array)) {
                    throw new AssertionError(path + ": " + name + " is " + type.simpleString() + ", not an array");
                }
                type = array.elementType();
            }
        }
        return type;
    }

    /** A row as plain Java values: structs as maps, arrays as lists, maps as maps. */
    static Map<String, Object> normalize(Row row) {
        Map<String, Object> out = new LinkedHashMap<>();
        StructField[] fields = row.schema().fields();
        for (int i = 0; i < fields.length; i++) {
            out.put(fields[i].name(), row.isNullAt(i) ? null : value(row, i, fields[i].dataType()));
        }
        return out;
    }

    private static Object value(Row row, int i, DataType type) {
        if (type instanceof StructType) {
            return normalize(row.getStruct(i));
        }
        if (type instanceof ArrayType array) {
            Function<Object, Object> element = array.elementType() instanceof StructType
                    ? e -> e == null ? null : normalize((Row) e)
                    : e -> e;
            return row.getList(i).stream().map(element).toList();
        }
        if (type instanceof MapType) {
            return new LinkedHashMap<>(row.getJavaMap(i));
        }
        return row.get(i);
    }

    /** A map of the given keys and values (nulls allowed), in order. */
    static Map<String, Object> obj(Object... keysAndValues) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            out.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return out;
    }

    static void expectFields(String what, Map<String, Object> actual, Map<String, Object> expected) {
        for (Map.Entry<String, Object> e : expected.entrySet()) {
            if (!actual.containsKey(e.getKey())) {
                throw new AssertionError(what + ": no column " + e.getKey());
            }
            expectEq(what + "." + e.getKey(), e.getValue(), actual.get(e.getKey()));
        }
    }

    static void expectEq(String what, Object expected, Object actual) {
        if (!Objects.equals(expected, actual)) {
            throw new AssertionError(what + ": expected " + show(expected) + " but Spark gave " + show(actual));
        }
    }

    static void expectHex(Object id, int length) {
        if (!(id instanceof String s) || s.length() != length || !HEX.matcher(s).matches()) {
            throw new AssertionError("not a lowercase hex id of " + length + " characters: " + show(id));
        }
    }

    private static String show(Object value) {
        return value == null ? "null" : value + " (" + value.getClass().getSimpleName() + ")";
    }

    private static void copy(Path from, Path to) throws IOException {
        Files.createDirectories(to.getParent());
        Files.copy(from, to);
    }
}
