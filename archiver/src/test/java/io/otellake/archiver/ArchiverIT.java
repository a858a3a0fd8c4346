package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.opentelemetry.proto.metrics.v1.AggregationTemporality;
import io.opentelemetry.proto.metrics.v1.Gauge;
import io.opentelemetry.proto.metrics.v1.Histogram;
import io.opentelemetry.proto.metrics.v1.HistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.NumberDataPoint;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.otellake.infra.KafkaBroker;
import io.otellake.infra.S3Server;
import io.otellake.schemas.OtlpTopics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/** The archiver against a real Kafka broker and a real S3 server. Each test uses its own topics, group and bucket. */
class ArchiverIT {
    private static final long HOUR_NANOS = 3_600_000_000_000L;

    @TempDir
    Path spool;

    private final KafkaBroker kafka = LakeServers.kafka();
    private final S3Server s3server = LakeServers.s3();
    private final String run = UUID.randomUUID().toString().substring(0, 8);
    private final String traces = "traces-" + run;
    private final String logs = "logs-" + run;
    private final String metrics = "metrics-" + run;
    private final String bucket = "bucket-" + run;
    private KafkaProducer<byte[], byte[]> producer;
    private S3Client s3;
    private Archiver archiver;
    private Thread loop;
    private int metricsPort;

    @BeforeEach
    void setUp() throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.createTopics(List.of(
                            new NewTopic(traces, 2, (short) 1),
                            new NewTopic(logs, 2, (short) 1),
                            new NewTopic(metrics, 2, (short) 1)))
                    .all()
                    .get();
        }
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
        s3 = TestLake.client(s3server);
    }

    @AfterEach
    void tearDown() {
        if (!s3server.isRunning()) {
            s3server.start();
        }
        stopArchiver();
        producer.close();
        s3.close();
    }

    private ArchiverConfig config() {
        return config(traces, logs, metrics);
    }

    private ArchiverConfig config(String traces, String logs, String metrics) {
        return new ArchiverConfig(
                kafka.bootstrapServers(),
                "group-" + run,
                "",
                traces,
                logs,
                metrics,
                s3server.endpoint(),
                "us-east-1",
                bucket,
                "lake",
                s3server.accessKey(),
                s3server.secretKey(),
                io.otellake.schemas.S3Credentials.KEYS,
                ArchiverConfig.DEFAULT_MAX_FILE_BYTES,
                Duration.ofMillis(500),
                ArchiverConfig.DEFAULT_MAX_FUTURE,
                metricsPort,
                spool,
                ArchiverConfig.DEFAULT_S3_STARTUP_TIMEOUT,
                ArchiverConfig.DEFAULT_ROW_GROUP_BYTES,
                io.otellake.schemas.KafkaClientProperties.none());
    }

    private void startArchiver() {
        startArchiver(config());
    }

    private void startArchiver(ArchiverConfig config) {
        startArchiver(config, RetentionPolicy.DEFAULT);
    }

    private void startArchiver(ArchiverConfig config, RetentionPolicy retention) {
        archiver = new Archiver(config, retention);
        archiver.prepare();
        loop = new Thread(archiver, "archiver-under-test");
        loop.start();
    }

    private void stopArchiver() {
        if (archiver != null) {
            archiver.close();
            archiver = null;
        }
    }

    @Test
    void everySpanAndLogLandsOnceInItsTenantsEventHour() throws Exception {
        long now = System.currentTimeMillis() * 1_000_000L;
        long threeDaysAgo = now - 72 * HOUR_NANOS;
        Set<String> spanIds = new HashSet<>();
        for (int i = 0; i < 20; i++) {
            String tenant = i % 2 == 0 ? "acme" : "globex";
            long start = i < 15 ? now : threeDaysAgo; // late data keeps its own hour
            ExportTraceServiceRequest req = traceRequest("checkout", start, 5, spanIds);
            send(traces, tenant, req.toByteArray());
        }
        for (int i = 0; i < 10; i++) {
            send(logs, "acme", logRequest("payments", now, "line " + i).toByteArray());
        }
        startArchiver();

        awaitCommitted(traces, 20);
        awaitCommitted(logs, 10);

        List<String> keys = listKeys("lake/").stream()
                .filter(k -> !k.startsWith("lake/_manifests/"))
                .toList();
        assertThat(keys)
                .allMatch(
                        k -> k.matches(
                                "lake/(traces|logs|_index/traces)/tenant=(acme|globex)/dt=\\d{4}-\\d{2}-\\d{2}/hour=\\d{2}/[a-z0-9-]+\\+\\d\\+\\d+\\+[0-9a-f]{8}\\.parquet"));
        String lateDt =
                Instant.ofEpochSecond(threeDaysAgo / 1_000_000_000L).toString().substring(0, 10);
        assertThat(keys).anyMatch(k -> k.contains("traces/tenant=acme/dt=" + lateDt + "/"));
        // every span file has its trace index file at the mirrored key
        assertThat(keys.stream().filter(k -> k.startsWith("lake/_index/")).map(k -> k.replace("_index/", "")))
                .containsExactlyInAnyOrderElementsOf(
                        keys.stream().filter(k -> k.startsWith("lake/traces/")).toList());

        Path local = download(keys);
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
                Statement st = c.createStatement()) {
            String spans = "read_parquet('" + local + "/lake/traces/**/*.parquet', hive_partitioning=true)";
            try (ResultSet rs = st.executeQuery("SELECT count(*), count(DISTINCT span_id) FROM " + spans)) {
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(100);
                assertThat(rs.getLong(2)).isEqualTo(100);
            }
            List<String> archived = new ArrayList<>();
            try (ResultSet rs = st.executeQuery("SELECT span_id FROM " + spans)) {
                while (rs.next()) {
                    archived.add(rs.getString(1));
                }
            }
            assertThat(archived).containsExactlyInAnyOrderElementsOf(spanIds);
            // the hour in the path is the span's own start hour, in UTC
            try (ResultSet rs = st.executeQuery(
                    "SELECT count(*) FROM " + spans
                            + " WHERE hour <> hour(start_time AT TIME ZONE 'UTC') OR dt <> CAST(start_time AT TIME ZONE 'UTC' AS DATE)")) {
                rs.next();
                assertThat(rs.getLong(1)).isZero();
            }
            try (ResultSet rs =
                    st.executeQuery("SELECT tenant, count(*) FROM " + spans + " GROUP BY tenant ORDER BY tenant")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("acme");
                assertThat(rs.getLong(2)).isEqualTo(50);
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("globex");
                assertThat(rs.getLong(2)).isEqualTo(50);
            }
            assertThat(ArchiverCrashIT.indexMismatches(st, local.resolve("lake")))
                    .isZero();
            try (ResultSet rs = st.executeQuery("SELECT count(*), sum(span_count) FROM read_parquet('" + local
                    + "/lake/_index/traces/tenant=acme/**/*.parquet') i WHERE trace_id NOT IN (SELECT trace_id FROM "
                    + spans + " WHERE tenant = 'acme')")) {
                rs.next();
                assertThat(rs.getLong(1))
                        .as("acme index rows naming traces acme does not have")
                        .isZero();
            }
            String logFiles = "read_parquet('" + local + "/lake/logs/**/*.parquet', hive_partitioning=true)";
            try (ResultSet rs =
                    st.executeQuery("SELECT count(*), count(DISTINCT body), min(tenant) FROM " + logFiles)) {
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(10);
                assertThat(rs.getLong(2)).isEqualTo(10);
                assertThat(rs.getString(3)).isEqualTo("acme");
            }
        }
    }

    @Test
    void everyMetricDataPointIsOneRowInItsTenantsHour() throws Exception {
        long now = System.currentTimeMillis() * 1_000_000L;
        long yesterday = now - 24 * HOUR_NANOS;
        Metric gauge = Metric.newBuilder()
                .setName("queue.depth")
                .setUnit("{items}")
                .setGauge(Gauge.newBuilder()
                        .addDataPoints(NumberDataPoint.newBuilder()
                                .setTimeUnixNano(now)
                                .setAsInt(7)
                                .addAttributes(attr("queue", "orders")))
                        .addDataPoints(NumberDataPoint.newBuilder()
                                .setTimeUnixNano(yesterday)
                                .setAsDouble(2.5)
                                .addAttributes(attr("queue", "refunds"))))
                .build();
        Metric histogram = Metric.newBuilder()
                .setName("http.server.request.duration")
                .setUnit("s")
                .setHistogram(Histogram.newBuilder()
                        .setAggregationTemporality(AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA)
                        .addDataPoints(HistogramDataPoint.newBuilder()
                                .setStartTimeUnixNano(now - 60_000_000_000L)
                                .setTimeUnixNano(now)
                                .setCount(3)
                                .setSum(0.9)
                                .addAllExplicitBounds(List.of(0.1, 0.5))
                                .addAllBucketCounts(List.of(1L, 1L, 1L))))
                .build();
        ExportMetricsServiceRequest request = ExportMetricsServiceRequest.newBuilder()
                .addResourceMetrics(ResourceMetrics.newBuilder()
                        .setResource(Resource.newBuilder().addAttributes(attr("service.name", "checkout")))
                        .addScopeMetrics(
                                ScopeMetrics.newBuilder().addMetrics(gauge).addMetrics(histogram)))
                .build();
        send(metrics, "acme", request.toByteArray());
        startArchiver();

        awaitCommitted(metrics, 1);

        List<String> keys = listKeys("lake/metrics/");
        String today = Instant.ofEpochSecond(now / 1_000_000_000L).toString().substring(0, 10);
        String dayBefore =
                Instant.ofEpochSecond(yesterday / 1_000_000_000L).toString().substring(0, 10);
        assertThat(keys).hasSize(2).allMatch(k -> k.startsWith("lake/metrics/tenant=acme/dt="));
        assertThat(keys)
                .anyMatch(k -> k.contains("/dt=" + today + "/"))
                .anyMatch(k -> k.contains("/dt=" + dayBefore + "/"));
        Path local = download(keys);
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT metric_name, metric_type, service_name, value_int, value_double,"
                        + " attributes['queue'], count, bucket_counts, aggregation_temporality FROM read_parquet('"
                        + local + "/lake/metrics/**/*.parquet') ORDER BY metric_name, timestamp")) {
            List<String> rows = new ArrayList<>();
            while (rs.next()) {
                rows.add(rs.getString(1) + "|" + rs.getString(2) + "|" + rs.getString(3) + "|" + rs.getObject(4) + "|"
                        + rs.getObject(5) + "|" + rs.getString(6) + "|" + rs.getObject(7) + "|" + rs.getString(8)
                        + "|" + rs.getString(9));
            }
            assertThat(rows)
                    .containsExactly(
                            "http.server.request.duration|histogram|checkout|null|null|null|3|[1, 1, 1]|delta",
                            "queue.depth|gauge|checkout|null|2.5|refunds|null|null|null",
                            "queue.depth|gauge|checkout|7|null|orders|null|null|null");
        }
    }

    @Test
    void offsetsAreCommittedOnlyOnceTheFilesAreOnS3() throws Exception {
        try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
            metricsPort = free.getLocalPort();
        }
        startArchiver(); // creates the bucket while S3 is up
        await("ready", Duration.ofSeconds(30), () -> probe("/ready") == 200);
        s3server.stop();
        Set<String> spanIds = new HashSet<>();
        for (int i = 0; i < 5; i++) {
            send(
                    traces,
                    "acme",
                    traceRequest("cart", System.currentTimeMillis() * 1_000_000L, 2, spanIds)
                            .toByteArray());
        }

        // S3 is down: several flush attempts fail, and nothing may be committed meanwhile.
        Thread.sleep(4000);
        assertThat(committed(traces)).isZero();
        assertThat(archiver.rowsArchived()).isZero();
        assertThat(probe("/ready")).as("not ready while S3 fails").isEqualTo(503);
        assertThat(probe("/health")).as("but alive").isEqualTo(200);

        s3server.start();
        awaitCommitted(traces, 5);
        await("ready again", Duration.ofSeconds(30), () -> probe("/ready") == 200);
        Path local = download(listKeys("lake/traces/"));
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT count(*), count(DISTINCT span_id) FROM read_parquet('" + local
                        + "/lake/traces/**/*.parquet')")) {
            rs.next();
            assertThat(rs.getLong(1))
                    .as("every span once, none lost while S3 was down")
                    .isEqualTo(10);
            assertThat(rs.getLong(2)).isEqualTo(10);
        }
    }

    @Test
    void poisonRecordsGoToTheDeadLetterPrefixAndDoNotStopTheArchiver() throws Exception {
        Set<String> spanIds = new HashSet<>();
        long now = System.currentTimeMillis() * 1_000_000L;
        producer.send(new ProducerRecord<>(traces, 0, null, "not protobuf".getBytes(StandardCharsets.UTF_8)))
                .get(); // no tenant header
        send(traces, 0, "../evil", traceRequest("x", now, 1, new HashSet<>()).toByteArray());
        byte[] garbage = {(byte) 0xff, (byte) 0xff, 0x01};
        send(traces, 0, "acme", garbage);
        send(traces, 0, "acme", traceRequest("good", now, 3, spanIds).toByteArray());
        ProducerRecord<byte[], byte[]> nullTenant = new ProducerRecord<>(
                traces, 0, null, traceRequest("y", now, 1, new HashSet<>()).toByteArray());
        nullTenant.headers().add(OtlpTopics.TENANT_HEADER, null);
        producer.send(nullTenant).get();
        startArchiver();

        awaitCommitted(traces, 5);
        assertThat(archiver.poisonRecords()).isEqualTo(4);
        assertThat(archiver.rowsArchived()).isEqualTo(3);
        assertThat(listKeys("lake/traces/")).hasSize(1).allMatch(k -> k.startsWith("lake/traces/tenant=acme/"));
        String deadLetters = "lake/_deadletter/topic=" + traces + "/partition=0/";
        assertThat(listKeys("lake/_deadletter/"))
                .containsExactlyInAnyOrder(
                        deadLetters + "0.json", deadLetters + "1.json", deadLetters + "2.json", deadLetters + "4.json");

        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.JsonNode noTenant =
                json.readTree(s3.getObjectAsBytes(b -> b.bucket(bucket).key(deadLetters + "0.json"))
                        .asByteArray());
        assertThat(noTenant.get("reason").asText()).isEqualTo("no " + OtlpTopics.TENANT_HEADER + " header");
        assertThat(noTenant.get("tenant").isNull()).isTrue();
        assertThat(noTenant.get("topic").asText()).isEqualTo(traces);
        assertThat(noTenant.get("partition").asInt()).isZero();
        assertThat(noTenant.get("offset").asLong()).isZero();
        assertThat(java.util.Base64.getDecoder()
                        .decode(noTenant.get("value_base64").asText()))
                .isEqualTo("not protobuf".getBytes(StandardCharsets.UTF_8));
        com.fasterxml.jackson.databind.JsonNode badTenant =
                json.readTree(s3.getObjectAsBytes(b -> b.bucket(bucket).key(deadLetters + "1.json"))
                        .asByteArray());
        assertThat(badTenant.get("tenant").isNull()).isTrue();
        assertThat(badTenant.get("tenant_headers").toString())
                .as("the header as sent, to replay the record under the right tenant")
                .isEqualTo("[\"../evil\"]");
        assertThat(noTenant.get("tenant_headers").toString()).isEqualTo("[]");
        assertThat(badTenant.get("offset").asLong()).isEqualTo(1);
        com.fasterxml.jackson.databind.JsonNode undecodable =
                json.readTree(s3.getObjectAsBytes(b -> b.bucket(bucket).key(deadLetters + "2.json"))
                        .asByteArray());
        assertThat(undecodable.get("reason").asText()).startsWith("not an OTLP traces request");
        assertThat(undecodable.get("tenant").asText()).isEqualTo("acme");
        assertThat(undecodable.get("offset").asLong()).isEqualTo(2);
        assertThat(java.util.Base64.getDecoder()
                        .decode(undecodable.get("value_base64").asText()))
                .isEqualTo(garbage);
        com.fasterxml.jackson.databind.JsonNode noValue =
                json.readTree(s3.getObjectAsBytes(b -> b.bucket(bucket).key(deadLetters + "4.json"))
                        .asByteArray());
        assertThat(noValue.get("reason").asText())
                .isEqualTo("the " + OtlpTopics.TENANT_HEADER + " header has no value");
        assertThat(noValue.get("tenant_headers").toString()).isEqualTo("[null]");
    }

    @Test
    void aRecordNamingTwoTenantsIsDeadLetteredNotFiledUnderEither() throws Exception {
        long now = System.currentTimeMillis() * 1_000_000L;
        Set<String> good = new HashSet<>();
        ProducerRecord<byte[], byte[]> twoTenants = new ProducerRecord<>(
                traces,
                0,
                null,
                traceRequest("ambiguous", now, 2, new HashSet<>()).toByteArray());
        twoTenants.headers().add(OtlpTopics.TENANT_HEADER, "acme".getBytes(StandardCharsets.UTF_8));
        twoTenants.headers().add(OtlpTopics.TENANT_HEADER, "globex".getBytes(StandardCharsets.UTF_8));
        producer.send(twoTenants).get();
        send(traces, 0, "acme", traceRequest("good", now, 1, good).toByteArray());
        startArchiver();

        awaitCommitted(traces, 2);
        assertThat(archiver.poisonRecords()).isEqualTo(1);
        assertThat(archiver.rowsArchived()).isEqualTo(1);
        assertThat(listKeys("lake/traces/")).singleElement().asString().startsWith("lake/traces/tenant=acme/");
        String deadLetter = "lake/_deadletter/topic=" + traces + "/partition=0/0.json";
        assertThat(listKeys("lake/_deadletter/")).containsExactly(deadLetter);
        com.fasterxml.jackson.databind.JsonNode letter = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(s3.getObjectAsBytes(b -> b.bucket(bucket).key(deadLetter))
                        .asByteArray());
        assertThat(letter.get("reason").asText())
                .isEqualTo(OtlpTopics.TENANT_HEADER + " header must be sent once; got 2 of them");
        assertThat(letter.get("tenant").isNull()).isTrue();
        assertThat(letter.get("tenant_headers").toString()).isEqualTo("[\"acme\",\"globex\"]");
        assertThat(letter.get("offset").asLong()).isZero();
    }

    @Test
    void deadLettersCountTowardsTheBufferedBytesThatCutABatch() throws Exception {
        // rows wait for their file's age (an hour here); the poison records behind them must not pile up meanwhile
        long now = System.currentTimeMillis() * 1_000_000L;
        Set<String> good = new HashSet<>();
        send(traces, 0, "acme", traceRequest("good", now, 1, good).toByteArray());
        byte[] garbage = new byte[1000];
        java.util.Arrays.fill(garbage, (byte) 0xff);
        for (int i = 0; i < 3; i++) {
            send(traces, 0, "acme", garbage);
        }
        startArchiver(config().withFiles(1024, Duration.ofHours(1), spool));

        awaitCommitted(traces, 4);
        assertThat(archiver.poisonRecords()).isEqualTo(3);
        assertThat(archiver.rowsArchived()).isEqualTo(1);
        assertThat(listKeys("lake/_deadletter/")).hasSize(3);
    }

    @Test
    void longTopicNamesAndTenantIdsDoNotMakeTheSpoolFileNameTooLong() throws Exception {
        // Kafka allows topic names of up to 249 characters and tenant ids have up to 64: a key of a topic of 140
        // characters and a tenant of 64 is 267 characters long, more than a file name may hold (255 bytes). (Longer
        // topics make names that the test's S3 server, which keeps objects as files, cannot store.)
        String longTraces = "t".repeat(131) + "-" + run;
        String longLogs = "l".repeat(131) + "-" + run;
        String longMetrics = "m".repeat(131) + "-" + run;
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.createTopics(List.of(
                            new NewTopic(longTraces, 1, (short) 1),
                            new NewTopic(longLogs, 1, (short) 1),
                            new NewTopic(longMetrics, 1, (short) 1)))
                    .all()
                    .get();
        }
        String tenant = "t".repeat(64);
        Set<String> spanIds = new HashSet<>();
        send(
                longTraces,
                tenant,
                traceRequest("checkout", System.currentTimeMillis() * 1_000_000L, 3, spanIds)
                        .toByteArray());
        startArchiver(config(longTraces, longLogs, longMetrics));

        awaitCommitted(longTraces, 1);
        assertThat(archiver.rowsArchived()).isEqualTo(3);
        List<String> keys = listKeys("lake/traces/tenant=" + tenant + "/");
        assertThat(keys).singleElement().asString().contains("/" + longTraces + "+0+0+");
        assertThat(listKeys("lake/_index/traces/tenant=" + tenant + "/")).hasSize(1);
        try (java.util.stream.Stream<Path> left = Files.walk(spool)) {
            assertThat(left.filter(p -> p.toString().endsWith(".parquet"))).isEmpty();
        }
    }

    @Test
    void rowsTooFarInTheFutureGoToQuarantineNeverToAnInventedHour() throws Exception {
        long now = System.currentTimeMillis() * 1_000_000L;
        Set<String> present = new HashSet<>();
        Set<String> future = new HashSet<>();
        send(
                traces,
                0,
                "acme",
                traceRequest("clock-ok", now + HOUR_NANOS / 2, 2, present).toByteArray());
        send(
                traces,
                0,
                "acme",
                traceRequest("clock-skewed", now + 3 * HOUR_NANOS, 3, future).toByteArray());
        startArchiver();

        awaitCommitted(traces, 2);
        assertThat(archiver.quarantinedRows()).isEqualTo(3);
        assertThat(listKeys("lake/traces/")).hasSize(1);
        assertThat(listKeys("lake/_quarantine/"))
                .singleElement()
                .asString()
                .matches("lake/_quarantine/traces/tenant=acme/" + traces + "\\+0\\+1\\+[0-9a-f]{8}\\.parquet");
        assertThat(quarantinedSpanIds()).containsExactlyInAnyOrderElementsOf(future);
    }

    @Test
    void timesFromTwoToTheSixtyThirdNanosOnAreFutureNotBefore1970() throws Exception {
        // OTLP times are fixed64, unsigned: 2^63 ns and above (year 2262 on) read as negative Java longs
        long now = System.currentTimeMillis() * 1_000_000L;
        Set<String> present = new HashSet<>();
        Set<String> future = new HashSet<>();
        send(traces, 0, "acme", traceRequest("clock-ok", now, 2, present).toByteArray());
        send(traces, 0, "acme", traceRequest("uint64-max", -2L, 2, future).toByteArray());
        send(
                traces,
                0,
                "acme",
                traceRequest("two-to-the-63", Long.MIN_VALUE, 1, future).toByteArray());
        send(
                logs,
                0,
                "acme",
                logRequest("uint64-max", -1L, "from the far future").toByteArray());
        startArchiver();

        awaitCommitted(traces, 3);
        awaitCommitted(logs, 1);
        assertThat(archiver.quarantinedRows()).isEqualTo(4);
        assertThat(listKeys("lake/traces/"))
                .singleElement()
                .asString()
                .startsWith("lake/"
                        + io.otellake.schemas.Partition.of(
                                        io.otellake.schemas.Signal.TRACES, io.otellake.schemas.TenantId.of("acme"), now)
                                .path());
        assertThat(listKeys("lake/logs/")).isEmpty();
        assertThat(listKeys("lake/_index/")).singleElement().asString().doesNotContain("dt=1969-");
        assertThat(listKeys("lake/_quarantine/"))
                .hasSize(2)
                .anyMatch(k ->
                        k.matches("lake/_quarantine/traces/tenant=acme/" + traces + "\\+0\\+1\\+[0-9a-f]{8}\\.parquet"))
                .anyMatch(k ->
                        k.matches("lake/_quarantine/logs/tenant=acme/" + logs + "\\+0\\+0\\+[0-9a-f]{8}\\.parquet"));
        assertThat(quarantinedSpanIds()).containsExactlyInAnyOrderElementsOf(future);
    }

    /** The span ids in the quarantine's span files, read with DuckDB. */
    private List<String> quarantinedSpanIds() throws Exception {
        Path local = download(listKeys("lake/_quarantine/traces/"));
        List<String> ids = new ArrayList<>();
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery(
                        "SELECT span_id FROM read_parquet('" + local + "/lake/_quarantine/traces/**/*.parquet')")) {
            while (rs.next()) {
                ids.add(rs.getString(1));
            }
        }
        return ids;
    }

    @Test
    void rowsWithoutAnyTimeAreQuarantinedNotFiledIn1970WhereRetentionWouldDeleteThem() throws Exception {
        long now = System.currentTimeMillis() * 1_000_000L;
        Set<String> present = new HashSet<>();
        Set<String> timeless = new HashSet<>();
        send(traces, 0, "acme", traceRequest("clock-ok", now, 2, present).toByteArray());
        send(traces, 0, "acme", traceRequest("no-start", 0, 1, timeless).toByteArray());
        send(
                logs,
                0,
                "acme",
                logRequest("no-time", 0, "neither time nor observed time").toByteArray());
        startArchiver();

        awaitCommitted(traces, 2);
        awaitCommitted(logs, 1);
        assertThat(archiver.quarantinedRows()).isEqualTo(2);
        assertThat(listKeys("lake/")).noneMatch(k -> k.contains("dt=1970-"));
        assertThat(listKeys("lake/logs/")).isEmpty();
        assertThat(listKeys("lake/_quarantine/"))
                .hasSize(2)
                .anyMatch(k -> k.startsWith("lake/_quarantine/traces/tenant=acme/" + traces + "+0+1+"))
                .anyMatch(k -> k.startsWith("lake/_quarantine/logs/tenant=acme/" + logs + "+0+0+"));
        assertThat(quarantinedSpanIds()).containsExactlyInAnyOrderElementsOf(timeless);
        Path local = download(listKeys("lake/_quarantine/logs/"));
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT body, timestamp, observed_timestamp FROM read_parquet('" + local
                        + "/lake/_quarantine/logs/**/*.parquet')")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("neither time nor observed time");
            assertThat(rs.getObject(2)).isNull();
            assertThat(rs.getObject(3)).isNull();
            assertThat(rs.next()).isFalse();
        }
    }

    @Test
    void rowsOfAnHourPastTheTenantsRetentionAreQuarantinedNotFiledWhereRetentionDeletesThem() throws Exception {
        long now = System.currentTimeMillis() * 1_000_000L;
        Set<String> kept = new HashSet<>();
        Set<String> expired = new HashSet<>();
        // acme keeps the default 90 days; brief keeps 2 hours
        send(
                traces,
                0,
                "acme",
                traceRequest("late", now - 80 * 24 * HOUR_NANOS, 2, kept).toByteArray());
        send(
                traces,
                0,
                "acme",
                traceRequest("too-late", now - 100 * 24 * HOUR_NANOS, 1, expired)
                        .toByteArray());
        // milliseconds sent as nanoseconds: 1970-01-01T00:29
        send(
                traces,
                0,
                "acme",
                traceRequest("millis", System.currentTimeMillis(), 1, expired).toByteArray());
        send(traces, 0, "brief", traceRequest("now", now, 1, kept).toByteArray());
        send(
                traces,
                0,
                "brief",
                traceRequest("hours-ago", now - 5 * HOUR_NANOS, 2, expired).toByteArray());
        startArchiver(config(), new RetentionPolicy(Duration.ofDays(90), Map.of("brief", Duration.ofHours(2))));

        awaitCommitted(traces, 5);
        assertThat(archiver.quarantinedRows()).isEqualTo(4);
        assertThat(archiver.rowsArchived()).isEqualTo(7);
        assertThat(listKeys("lake/traces/"))
                .hasSize(2)
                .anyMatch(k -> k.startsWith("lake/traces/tenant=acme/dt="
                        + Instant.ofEpochSecond(0, now - 80 * 24 * HOUR_NANOS)
                                .toString()
                                .substring(0, 10)
                        + "/"))
                .anyMatch(k -> k.startsWith("lake/traces/tenant=brief/"));
        assertThat(listKeys("lake/_quarantine/traces/"))
                .hasSize(2)
                .anyMatch(k -> k.startsWith("lake/_quarantine/traces/tenant=acme/"))
                .anyMatch(k -> k.startsWith("lake/_quarantine/traces/tenant=brief/"));
        assertThat(quarantinedSpanIds()).containsExactlyInAnyOrderElementsOf(expired);
        assertThat(archiver.metrics().scrape())
                .contains("otel_lake_archiver_quarantined_rows_total{signal=\"traces\",reason=\"past_retention\"} 4\n");
    }

    @Test
    void metricsCountRowsFilesDeadLettersAndLagPerPartition() throws Exception {
        try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
            metricsPort = free.getLocalPort();
        }
        long now = System.currentTimeMillis() * 1_000_000L;
        for (int i = 0; i < 4; i++) {
            send(
                    traces,
                    0,
                    "acme",
                    traceRequest("cart", now, 5, new HashSet<>()).toByteArray());
        }
        send(traces, 0, "acme", new byte[] {(byte) 0xff, 0x01});
        startArchiver();

        awaitCommitted(traces, 5);
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.net.http.HttpRequest scrape = java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://127.0.0.1:" + metricsPort + "/metrics"))
                .build();
        String[] body = new String[1];
        await("consumer lag 0 in the metrics", Duration.ofSeconds(10), () -> {
            try {
                body[0] = http.send(scrape, java.net.http.HttpResponse.BodyHandlers.ofString())
                        .body();
            } catch (Exception e) {
                return false;
            }
            return body[0].contains("otel_lake_archiver_consumer_lag{topic=\"" + traces + "\",partition=\"0\"} 0\n");
        });
        String spanFile = listKeys("lake/traces/").get(0);
        String indexFile = listKeys("lake/_index/traces/").get(0);
        long spanBytes = s3.headObject(b -> b.bucket(bucket).key(spanFile)).contentLength();
        long indexBytes = s3.headObject(b -> b.bucket(bucket).key(indexFile)).contentLength();
        assertThat(body[0])
                .contains("otel_lake_archiver_rows_total{signal=\"traces\",tenant=\"acme\"} 20\n")
                .doesNotContain("otel_lake_archiver_rows_total{signal=\"trace_index\"")
                .contains("otel_lake_archiver_files_total{signal=\"traces\",tenant=\"acme\"} 1\n")
                .contains("otel_lake_archiver_files_total{signal=\"trace_index\",tenant=\"acme\"} 1\n")
                .contains("otel_lake_archiver_bytes_total{signal=\"traces\",tenant=\"acme\"} " + spanBytes + "\n")
                .contains("otel_lake_archiver_bytes_total{signal=\"trace_index\",tenant=\"acme\"} " + indexBytes + "\n")
                .contains("otel_lake_archiver_dead_letters_total{topic=\"" + traces + "\"} 1\n")
                .as("one upload each of the span file and its index file")
                .contains("otel_lake_archiver_upload_seconds_count 2\n");
        // each object counts its own rows: 20 spans, and one index row per trace (a trace per request)
        assertThat(s3.headObject(b -> b.bucket(bucket).key(spanFile)).metadata())
                .containsEntry("otel-lake-rows", "20")
                .containsEntry("otel-lake-offsets", "0-3");
        assertThat(s3.headObject(b -> b.bucket(bucket).key(indexFile)).metadata())
                .containsEntry("otel-lake-rows", "4")
                .containsEntry("otel-lake-offsets", "0-3");
    }

    // --- helpers

    private int probe(String path) {
        try {
            return java.net.http.HttpClient.newHttpClient()
                    .send(
                            java.net.http.HttpRequest.newBuilder(
                                            java.net.URI.create("http://127.0.0.1:" + metricsPort + path))
                                    .build(),
                            java.net.http.HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    private void send(String topic, String tenant, byte[] value) throws Exception {
        send(topic, null, tenant, value);
    }

    private void send(String topic, Integer partition, String tenant, byte[] value) throws Exception {
        ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, partition, null, value);
        r.headers().add(OtlpTopics.TENANT_HEADER, tenant.getBytes(StandardCharsets.UTF_8));
        producer.send(r).get();
    }

    static KeyValue attr(String k, String v) {
        return KeyValue.newBuilder()
                .setKey(k)
                .setValue(AnyValue.newBuilder().setStringValue(v))
                .build();
    }

    static ByteString randomId(int bytes) {
        byte[] b = new byte[bytes];
        ThreadLocalRandom.current().nextBytes(b);
        return ByteString.copyFrom(b);
    }

    static ExportTraceServiceRequest traceRequest(String service, long startNanos, int spans, Set<String> ids) {
        ScopeSpans.Builder scope = ScopeSpans.newBuilder();
        ByteString trace = randomId(16);
        for (int i = 0; i < spans; i++) {
            ByteString id = randomId(8);
            ids.add(java.util.HexFormat.of().formatHex(id.toByteArray()));
            scope.addSpans(Span.newBuilder()
                    .setTraceId(trace)
                    .setSpanId(id)
                    .setName("op-" + i)
                    .setStartTimeUnixNano(startNanos + i)
                    .setEndTimeUnixNano(startNanos + i + 1000));
        }
        return ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .setResource(Resource.newBuilder().addAttributes(attr("service.name", service)))
                        .addScopeSpans(scope))
                .build();
    }

    static ExportLogsServiceRequest logRequest(String service, long timeNanos, String body) {
        return ExportLogsServiceRequest.newBuilder()
                .addResourceLogs(ResourceLogs.newBuilder()
                        .setResource(Resource.newBuilder().addAttributes(attr("service.name", service)))
                        .addScopeLogs(ScopeLogs.newBuilder()
                                .addLogRecords(LogRecord.newBuilder()
                                        .setTimeUnixNano(timeNanos)
                                        .setBody(AnyValue.newBuilder().setStringValue(body)))))
                .build();
    }

    private long committed(String topic) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets("group-" + run)
                    .partitionsToOffsetAndMetadata()
                    .get();
            return offsets.entrySet().stream()
                    .filter(e -> e.getKey().topic().equals(topic) && e.getValue() != null)
                    .mapToLong(e -> e.getValue().offset())
                    .sum();
        }
    }

    private void awaitCommitted(String topic, long records) throws Exception {
        await("offsets of " + topic + " committed up to " + records, Duration.ofSeconds(60), () -> {
            try {
                return committed(topic) >= records;
            } catch (Exception e) {
                return false;
            }
        });
        assertThat(committed(topic)).isEqualTo(records);
    }

    private static void await(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(200);
        }
    }

    private List<String> listKeys(String prefix) {
        return s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix)).contents().stream()
                .map(S3Object::key)
                .toList();
    }

    private Path download(List<String> keys) throws Exception {
        Path root = spool.resolve("download");
        for (String key : keys) {
            Path target = root.resolve(key);
            Files.createDirectories(target.getParent());
            s3.getObject(b -> b.bucket(bucket).key(key), target);
        }
        return root;
    }
}
