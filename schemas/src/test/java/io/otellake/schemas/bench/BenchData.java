package io.otellake.schemas.bench;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The benchmarks' data set, one for every module (schemas' test jar carries it to ingest and archiver): realistic OTLP
 * export requests of 512 spans or log records each, the same for the same seed. 8 services with Kubernetes resource
 * attributes, semantic-convention span attributes with ids inside URL paths, random trace and span ids in traces of
 * 2-9 spans that start anywhere in a request's 5-second window, 5% errors with exception events; log bodies of 6-20
 * words with order and user ids, a third of the errors with a stack trace, two thirds of the records with trace
 * context.
 */
public final class BenchData {
    private static final String[] SERVICES = {
        "checkout", "cart", "payments", "search", "frontend", "inventory", "shipping", "auth"
    };
    private static final String[] ROUTES = {
        "/api/cart/{id}", "/api/checkout", "/api/products/{id}", "/api/search", "/login", "/api/orders/{id}", "/health"
    };
    private static final String[] WORDS =
            ("request completed failed retry timeout connection user order payment cache miss"
                            + " hit upstream downstream latency queue worker started stopped invalid token session expired")
                    .split(" ");

    public static final int ITEMS_PER_REQUEST = 512;
    /** The span batch processor's default export interval: a request's traces start within this window. */
    private static final long EXPORT_WINDOW_NANOS = 5_000_000_000L;

    private static final Pattern ID = Pattern.compile("\"(traceId|spanId|parentSpanId)\":\"([^\"]*)\"");

    private BenchData() {}

    /**
     * A request as an OTLP/JSON body, as an SDK's http/json exporter sends it: protobuf's JSON mapping without spaces,
     * except that trace and span ids are hex, not base64.
     */
    public static byte[] otlpJson(MessageOrBuilder request) {
        String json;
        try {
            json = JsonFormat.printer().omittingInsignificantWhitespace().print(request);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException(
                    "cannot print " + request.getClass().getSimpleName(), e);
        }
        Matcher m = ID.matcher(json);
        StringBuilder out = new StringBuilder(json.length());
        while (m.find()) {
            String hex = HexFormat.of().formatHex(Base64.getDecoder().decode(m.group(2)));
            m.appendReplacement(out, "\"" + m.group(1) + "\":\"" + hex + "\"");
        }
        m.appendTail(out);
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static KeyValue kv(String k, String v) {
        return KeyValue.newBuilder()
                .setKey(k)
                .setValue(AnyValue.newBuilder().setStringValue(v))
                .build();
    }

    private static KeyValue kv(String k, long v) {
        return KeyValue.newBuilder()
                .setKey(k)
                .setValue(AnyValue.newBuilder().setIntValue(v))
                .build();
    }

    private static ByteString id(SplittableRandom r, int bytes) {
        byte[] b = new byte[bytes];
        for (int i = 0; i < bytes; i++) {
            b[i] = (byte) r.nextInt(256);
        }
        return ByteString.copyFrom(b);
    }

    private static Resource resource(SplittableRandom r, String service) {
        return Resource.newBuilder()
                .addAttributes(kv("service.name", service))
                .addAttributes(kv("service.version", "1." + r.nextInt(5) + ".0"))
                .addAttributes(kv("deployment.environment.name", "prod"))
                .addAttributes(kv("host.name", "node-" + r.nextInt(40)))
                .addAttributes(kv("k8s.pod.name", service + "-7d9f8-" + r.nextInt(1000)))
                .addAttributes(kv("telemetry.sdk.language", "java"))
                .build();
    }

    public static ExportTraceServiceRequest traceRequest(SplittableRandom r) {
        String service = SERVICES[r.nextInt(SERVICES.length)];
        ScopeSpans.Builder scope = ScopeSpans.newBuilder()
                .setScope(InstrumentationScope.newBuilder()
                        .setName("io.opentelemetry.http")
                        .setVersion("2.3.0"));
        long now = 1_714_550_400_000_000_000L + r.nextLong(3_600_000_000_000L);
        while (scope.getSpansCount() < ITEMS_PER_REQUEST) {
            ByteString trace = id(r, 16);
            ByteString root = id(r, 8);
            int count = 2 + r.nextInt(8);
            // an SDK exports what ended in the last few seconds: each trace starts somewhere in that window
            long traceStart = now + r.nextLong(EXPORT_WINDOW_NANOS);
            for (int s = 0; s < count && scope.getSpansCount() < ITEMS_PER_REQUEST; s++) {
                long start = traceStart + s * 1_000_000L;
                long duration = 200_000L + r.nextLong(900_000_000L);
                boolean error = r.nextInt(20) == 0;
                String route = ROUTES[r.nextInt(ROUTES.length)];
                Span.Builder span = Span.newBuilder()
                        .setTraceId(trace)
                        .setSpanId(s == 0 ? root : id(r, 8))
                        .setParentSpanId(s == 0 ? ByteString.EMPTY : root)
                        .setName((s == 0 ? "GET " : "SELECT ") + route)
                        .setKind(s == 0 ? Span.SpanKind.SPAN_KIND_SERVER : Span.SpanKind.SPAN_KIND_CLIENT)
                        .setStartTimeUnixNano(start)
                        .setEndTimeUnixNano(start + duration)
                        .setFlags(0x101)
                        .addAttributes(kv("http.request.method", "GET"))
                        .addAttributes(kv("http.route", route))
                        .addAttributes(kv("url.path", route.replace("{id}", Integer.toString(r.nextInt(1_000_000)))))
                        .addAttributes(kv("http.response.status_code", error ? 500 : 200))
                        .addAttributes(kv("server.address", service + ".svc.cluster.local"))
                        .addAttributes(kv("network.peer.port", 40000 + r.nextInt(20000)));
                if (error) {
                    span.setStatus(Status.newBuilder()
                            .setCode(Status.StatusCode.STATUS_CODE_ERROR)
                            .setMessage("upstream failed"));
                    span.addEvents(Span.Event.newBuilder()
                            .setName("exception")
                            .setTimeUnixNano(start + duration / 2)
                            .addAttributes(kv("exception.type", "java.net.SocketTimeoutException"))
                            .addAttributes(kv("exception.message", "Read timed out after " + r.nextInt(5000) + " ms")));
                }
                scope.addSpans(span);
            }
        }
        return ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .setResource(resource(r, service))
                        .setSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
                        .addScopeSpans(scope))
                .build();
    }

    private static final String[] USER_AGENTS = {
        "okhttp/4.12.0",
        "Go-http-client/1.1",
        "python-requests/2.32.3",
        "kube-probe/1.31",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0"
                + " Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
                + " Version/18.1 Mobile/15E148 Safari/604.1"
    };
    private static final String[] TABLES = {"carts", "orders", "products", "users", "payments", "stock"};

    private static KeyValue kv(String k, boolean v) {
        return KeyValue.newBuilder()
                .setKey(k)
                .setValue(AnyValue.newBuilder().setBoolValue(v))
                .build();
    }

    /**
     * The resource the OpenTelemetry Java agent (2.x) reports for a service in Kubernetes with its default resource
     * detectors: service, SDK and distribution, process and runtime, host and OS, container and pod.
     */
    private static Resource agentResource(SplittableRandom r, String service) {
        int pod = r.nextInt(1000);
        return Resource.newBuilder()
                .addAttributes(kv("service.name", service))
                .addAttributes(kv("service.version", "1." + r.nextInt(5) + ".0"))
                .addAttributes(kv("service.instance.id", new java.util.UUID(r.nextLong(), r.nextLong()).toString()))
                .addAttributes(kv("deployment.environment.name", "prod"))
                .addAttributes(kv("telemetry.sdk.name", "opentelemetry"))
                .addAttributes(kv("telemetry.sdk.language", "java"))
                .addAttributes(kv("telemetry.sdk.version", "1.44.1"))
                .addAttributes(kv("telemetry.distro.name", "opentelemetry-java-instrumentation"))
                .addAttributes(kv("telemetry.distro.version", "2.10.0"))
                .addAttributes(kv("process.pid", 1 + r.nextInt(200)))
                .addAttributes(kv("process.executable.path", "/opt/java/openjdk/bin/java"))
                .addAttributes(kv(
                        "process.command_line",
                        "/opt/java/openjdk/bin/java -javaagent:/otel/opentelemetry-javaagent.jar -XX:MaxRAMPercentage=75"
                                + " -jar /app/" + service + ".jar"))
                .addAttributes(kv("process.runtime.name", "OpenJDK Runtime Environment"))
                .addAttributes(kv("process.runtime.version", "21.0.5+11-LTS"))
                .addAttributes(
                        kv("process.runtime.description", "Eclipse Adoptium OpenJDK 64-Bit Server VM 21.0.5+11-LTS"))
                .addAttributes(kv("host.name", service + "-7d9f8-" + pod))
                .addAttributes(kv("host.arch", "amd64"))
                .addAttributes(kv("os.type", "linux"))
                .addAttributes(kv("os.description", "Linux 6.1.0-28-cloud-amd64"))
                .addAttributes(
                        kv("container.id", HexFormat.of().formatHex(id(r, 32).toByteArray())))
                .addAttributes(kv("k8s.namespace.name", "shop"))
                .addAttributes(kv("k8s.deployment.name", service))
                .addAttributes(kv("k8s.pod.name", service + "-7d9f8-" + pod))
                .addAttributes(kv("k8s.node.name", "node-" + r.nextInt(40)))
                .build();
    }

    /**
     * A request as the OpenTelemetry Java agent (2.x, default settings) exports it: the agent's resource, and traces of
     * 2-9 spans like {@link #traceRequest}'s (same ids, times, durations and error rate), each a server span of the
     * HTTP server instrumentation with the attributes that instrumentation sets under the stable HTTP semantic
     * conventions, then client spans of the JDBC instrumentation (two thirds) and of the HTTP client instrumentation
     * (one third) with theirs; every span with the thread attributes the agent adds by default, and every failed span
     * with the exception event, stack trace included, that the agent records. The lean set of {@link #traceRequest}
     * carries six attributes per span; this one 10-15, as a service that runs the agent unchanged sends.
     */
    public static ExportTraceServiceRequest agentTraceRequest(SplittableRandom r) {
        String service = SERVICES[r.nextInt(SERVICES.length)];
        ScopeSpans.Builder server = ScopeSpans.newBuilder()
                .setScope(InstrumentationScope.newBuilder()
                        .setName("io.opentelemetry.tomcat-10.0")
                        .setVersion("2.10.0-alpha"));
        ScopeSpans.Builder jdbc = ScopeSpans.newBuilder()
                .setScope(InstrumentationScope.newBuilder()
                        .setName("io.opentelemetry.jdbc")
                        .setVersion("2.10.0-alpha"));
        ScopeSpans.Builder client = ScopeSpans.newBuilder()
                .setScope(InstrumentationScope.newBuilder()
                        .setName("io.opentelemetry.okhttp-3.0")
                        .setVersion("2.10.0-alpha"));
        long now = 1_714_550_400_000_000_000L + r.nextLong(3_600_000_000_000L);
        int spans = 0;
        while (spans < ITEMS_PER_REQUEST) {
            ByteString trace = id(r, 16);
            ByteString root = id(r, 8);
            int count = 2 + r.nextInt(8);
            long traceStart = now + r.nextLong(EXPORT_WINDOW_NANOS);
            String route = ROUTES[r.nextInt(ROUTES.length)];
            String path = route.replace("{id}", Integer.toString(r.nextInt(1_000_000)));
            String method = r.nextInt(5) == 0 ? "POST" : "GET";
            int thread = 1 + r.nextInt(200);
            for (int s = 0; s < count && spans < ITEMS_PER_REQUEST; s++, spans++) {
                long start = traceStart + s * 1_000_000L;
                long duration = 200_000L + r.nextLong(900_000_000L);
                boolean error = r.nextInt(20) == 0;
                Span.Builder span = Span.newBuilder()
                        .setTraceId(trace)
                        .setSpanId(s == 0 ? root : id(r, 8))
                        .setParentSpanId(s == 0 ? ByteString.EMPTY : root)
                        .setStartTimeUnixNano(start)
                        .setEndTimeUnixNano(start + duration)
                        .setFlags(0x101);
                ScopeSpans.Builder scope;
                if (s == 0) {
                    scope = server;
                    int peer = r.nextInt(256);
                    span.setName(method + " " + route)
                            .setKind(Span.SpanKind.SPAN_KIND_SERVER)
                            .addAttributes(kv("http.request.method", method))
                            .addAttributes(kv("url.scheme", "http"))
                            .addAttributes(kv("url.path", path))
                            .addAttributes(kv("http.route", route))
                            .addAttributes(kv("network.protocol.version", "1.1"))
                            .addAttributes(kv("server.address", service))
                            .addAttributes(kv("server.port", 8080))
                            .addAttributes(kv("client.address", "10.244.3." + peer))
                            .addAttributes(kv("network.peer.address", "10.244.3." + peer))
                            .addAttributes(kv("network.peer.port", 40000 + r.nextInt(20000)))
                            .addAttributes(kv("user_agent.original", USER_AGENTS[r.nextInt(USER_AGENTS.length)]))
                            .addAttributes(kv("http.response.status_code", error ? 500 : 200));
                } else if (r.nextInt(3) > 0) {
                    scope = jdbc;
                    String table = TABLES[r.nextInt(TABLES.length)];
                    String operation = r.nextInt(4) == 0 ? "UPDATE" : "SELECT";
                    span.setName(operation + " shop." + table)
                            .setKind(Span.SpanKind.SPAN_KIND_CLIENT)
                            .addAttributes(kv("db.system", "postgresql"))
                            .addAttributes(kv("db.name", "shop"))
                            .addAttributes(kv("db.user", "app"))
                            .addAttributes(kv("db.connection_string", "postgresql://postgres.db.svc:5432"))
                            .addAttributes(kv(
                                    "db.statement",
                                    operation.equals("SELECT")
                                            ? "SELECT id, owner_id, status, total, updated_at FROM " + table
                                                    + " WHERE id = ?"
                                            : "UPDATE " + table + " SET status = ?, updated_at = ? WHERE id = ?"))
                            .addAttributes(kv("db.operation", operation))
                            .addAttributes(kv("db.sql.table", table))
                            .addAttributes(kv("server.address", "postgres.db.svc"))
                            .addAttributes(kv("server.port", 5432));
                } else {
                    scope = client;
                    String peerService = SERVICES[r.nextInt(SERVICES.length)];
                    String peerRoute = ROUTES[r.nextInt(ROUTES.length)];
                    span.setName("GET")
                            .setKind(Span.SpanKind.SPAN_KIND_CLIENT)
                            .addAttributes(kv("http.request.method", "GET"))
                            .addAttributes(kv(
                                    "url.full",
                                    "http://" + peerService + ":8080"
                                            + peerRoute.replace("{id}", Integer.toString(r.nextInt(1_000_000)))))
                            .addAttributes(kv("server.address", peerService))
                            .addAttributes(kv("server.port", 8080))
                            .addAttributes(kv("network.protocol.version", "1.1"))
                            .addAttributes(kv("http.response.status_code", error ? 503 : 200));
                }
                span.addAttributes(kv("thread.id", thread))
                        .addAttributes(kv("thread.name", "http-nio-8080-exec-" + thread));
                if (error) {
                    span.setStatus(Status.newBuilder().setCode(Status.StatusCode.STATUS_CODE_ERROR));
                    span.addEvents(Span.Event.newBuilder()
                            .setName("exception")
                            .setTimeUnixNano(start + duration / 2)
                            .addAttributes(kv("exception.type", "java.net.SocketTimeoutException"))
                            .addAttributes(kv("exception.message", "Read timed out after " + r.nextInt(5000) + " ms"))
                            .addAttributes(kv("exception.escaped", false))
                            .addAttributes(kv("exception.stacktrace", stackTrace(r, service))));
                }
                scope.addSpans(span);
            }
        }
        ResourceSpans.Builder resourceSpans = ResourceSpans.newBuilder()
                .setResource(agentResource(r, service))
                .setSchemaUrl("https://opentelemetry.io/schemas/1.24.0");
        for (ScopeSpans.Builder scope : new ScopeSpans.Builder[] {server, jdbc, client}) {
            if (scope.getSpansCount() > 0) {
                resourceSpans.addScopeSpans(scope);
            }
        }
        return ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(resourceSpans)
                .build();
    }

    private static String stackTrace(SplittableRandom r, String service) {
        return "java.net.SocketTimeoutException: Read timed out after " + r.nextInt(5000) + " ms\n"
                + "\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)\n"
                + "\tat java.base/sun.nio.ch.NioSocketImpl.implRead(NioSocketImpl.java:314)\n"
                + "\tat java.base/java.net.Socket$SocketInputStream.read(Socket.java:1099)\n"
                + "\tat okio.InputStreamSource.read(JvmOkio.kt:93)\n"
                + "\tat okhttp3.internal.http1.Http1ExchangeCodec.readResponseHeaders(Http1ExchangeCodec.kt:180)\n"
                + "\tat okhttp3.internal.connection.Exchange.readResponseHeaders(Exchange.kt:110)\n"
                + "\tat okhttp3.internal.http.CallServerInterceptor.intercept(CallServerInterceptor.kt:93)\n"
                + "\tat okhttp3.internal.connection.RealCall.execute(RealCall.kt:154)\n"
                + "\tat io.example." + service + ".Client.call(Client.java:" + r.nextInt(400) + ")\n"
                + "\tat io.example." + service + ".Handler.handle(Handler.java:" + r.nextInt(400) + ")\n"
                + "\tat org.apache.catalina.core.StandardWrapperValve.invoke(StandardWrapperValve.java:167)\n"
                + "\tat java.base/java.lang.Thread.run(Thread.java:1583)\n";
    }

    public static ExportLogsServiceRequest logRequest(SplittableRandom r) {
        String service = SERVICES[r.nextInt(SERVICES.length)];
        ScopeLogs.Builder scope = ScopeLogs.newBuilder()
                .setScope(InstrumentationScope.newBuilder().setName("io.example." + service));
        long now = 1_714_550_400_000_000_000L + r.nextLong(3_600_000_000_000L);
        for (int i = 0; i < ITEMS_PER_REQUEST; i++) {
            int severity = new int[] {9, 9, 9, 9, 9, 13, 13, 17, 5}[r.nextInt(9)];
            StringBuilder body = new StringBuilder();
            for (int w = 6 + r.nextInt(14); w > 0; w--) {
                body.append(WORDS[r.nextInt(WORDS.length)]).append(' ');
            }
            body.append("order=").append(r.nextInt(1_000_000)).append(" user=u").append(r.nextInt(100_000));
            if (severity == 17 && r.nextInt(3) == 0) {
                body.append("\njava.lang.IllegalStateException: payment ")
                        .append(r.nextInt(100_000))
                        .append(" declined\n\tat io.example.")
                        .append(service)
                        .append(".Handler.handle(Handler.java:")
                        .append(r.nextInt(400))
                        .append(")\n\tat io.example.Server.run(Server.java:88)\n\tat java.base/java.lang.Thread.run");
            }
            LogRecord.Builder log = LogRecord.newBuilder()
                    .setTimeUnixNano(now + i * 1_000_000L + r.nextInt(1_000_000))
                    .setObservedTimeUnixNano(now + i * 1_000_000L + 2_000_000L)
                    .setSeverityNumberValue(severity)
                    .setSeverityText(
                            severity >= 17 ? "ERROR" : severity >= 13 ? "WARN" : severity >= 9 ? "INFO" : "DEBUG")
                    .setBody(AnyValue.newBuilder().setStringValue(body.toString()))
                    .addAttributes(kv("http.route", ROUTES[r.nextInt(ROUTES.length)]))
                    .addAttributes(kv("thread.id", r.nextInt(200)));
            if (r.nextInt(3) > 0) {
                log.setTraceId(id(r, 16)).setSpanId(id(r, 8)).setFlags(1);
            }
            scope.addLogRecords(log);
        }
        return ExportLogsServiceRequest.newBuilder()
                .addResourceLogs(ResourceLogs.newBuilder()
                        .setResource(resource(r, service))
                        .addScopeLogs(scope))
                .build();
    }
}
