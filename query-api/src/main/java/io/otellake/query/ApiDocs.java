package io.otellake.query;

import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.headers.Header;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.media.ArraySchema;
import io.swagger.v3.oas.models.media.ComposedSchema;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.IntegerSchema;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.oas.models.media.ObjectSchema;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.media.StringSchema;
import io.swagger.v3.oas.models.parameters.HeaderParameter;
import io.swagger.v3.oas.models.parameters.Parameter;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.responses.ApiResponses;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import io.swagger.v3.oas.models.security.SecurityScheme;
import io.swagger.v3.oas.models.servers.Server;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import org.springdoc.core.customizers.OpenApiCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Completes the OpenAPI document at {@code /v3/api-docs}: every API operation takes the tenant header, which the
 * controllers receive resolved (as a hidden {@code TenantId}), and every parameter declared by annotation alone gets
 * the string schema that OpenAPI requires of a parameter (unless its annotation names another), and every API operation
 * lists the errors it may answer, as problem details. Its server is {@code /}, the origin the document was fetched from,
 * whatever Host the request named.
 */
@Configuration
class ApiDocs {
    private static final String PROBLEM = "Problem";
    private static final String BEARER = "bearer";

    @Bean
    OpenApiCustomizer tenantHeaderAndParameterSchemas() {
        return api -> {
            // Relative to the document itself, instead of springdoc's URL built from the request's Host header: a
            // request with a forged Host would otherwise get (and a shared cache keep) a document whose "try it out"
            // sends the reader's bearer token to the forger's host.
            api.setServers(List.of(new Server().url("/").description("this service")));
            api.setInfo(new Info()
                    .title("otel-lake query API")
                    .version("v1")
                    .description("Log search, log volume, trace lookup and trace search over a tenant's archive."));
            addComponents(api);
            api.getPaths().forEach((path, item) -> item.readOperations().forEach(operation -> {
                if (operation.getParameters() != null) {
                    for (Parameter p : operation.getParameters()) {
                        if (p.getSchema() == null && p.getContent() == null) {
                            p.setSchema(new StringSchema());
                        }
                    }
                }
                if (path.startsWith("/api/")) {
                    addProblemResponses(operation, path.contains("{"));
                    addAnswer(operation, path);
                    operation.addSecurityItem(new SecurityRequirement().addList(BEARER));
                    operation.addParametersItem(new HeaderParameter()
                            .name(Tenants.HEADER)
                            .description(
                                    "The tenant: 1 to 64 of A-Z a-z 0-9 _ -; default without one (authentication"
                                            + " off), or the token's own (authentication on, where an admin token must name it).")
                            .schema(new StringSchema().pattern("^[A-Za-z0-9_-]{1,64}$")));
                }
            }));
        };
    }

    /**
     * The schemas the API's operations refer to, once: problem details, the shape of each 200 answer as the
     * controllers build it (maps, so springdoc sees only "object"), and the bearer token scheme. {@code QueryApiIT}
     * checks real answers against these schemas, field by field.
     */
    private static void addComponents(OpenAPI api) {
        if (api.getComponents() == null) {
            api.setComponents(new Components());
        }
        Components components = api.getComponents();
        components.addSchemas(
                PROBLEM,
                new ObjectSchema()
                        .description("RFC 9457 problem details")
                        .addProperty("type", new StringSchema())
                        .addProperty("title", new StringSchema())
                        .addProperty("status", new IntegerSchema())
                        .addProperty("detail", new StringSchema().description("what is wrong, for a person"))
                        .addProperty("instance", new StringSchema()));
        components.addSecuritySchemes(
                BEARER,
                new SecurityScheme()
                        .type(SecurityScheme.Type.HTTP)
                        .scheme("bearer")
                        .description("A tenant's token, when authentication is on (OTEL_LAKE_AUTH_ENABLED); ignored"
                                + " when it is off."));
        Schema<?> any = new Schema<>()
                .description(
                        "the value with its OTLP type: string, number, boolean, base64" + " bytes, array or object");
        Schema<?> attributes = new ObjectSchema()
                .additionalProperties(any)
                .description("attributes by key, values typed as OTLP typed them");
        components.addSchemas(
                "QueryStats",
                object(
                        "What the query read.",
                        ordered(
                                "partitions",
                                        integer("hour partitions in the range (index days plus hours read for a"
                                                + " lookup through the trace index)"),
                                "files", integer("archive files read"),
                                "rows_scanned", integer("rows in the files read, from their footers"),
                                "bytes_fetched", integer("bytes fetched from S3 (cache misses)"),
                                "cache_hits", integer("files found in the local cache"),
                                "elapsed_ms", integer("time taken"))));
        components.addSchemas(
                "LogRecord",
                object(
                        "One log record, as archived.",
                        ordered(
                                "timestamp", time("event time; null when the record has none"),
                                "observed_timestamp", time("when the record was observed"),
                                "trace_id", nullableString("32 lowercase hex digits"),
                                "span_id", nullableString("16 lowercase hex digits"),
                                "trace_flags", integer("W3C trace flags"),
                                "severity_text", nullableString("as sent"),
                                "severity_number", integer("1-24, 0 when unspecified"),
                                "service_name", nullableString("resource attribute service.name"),
                                "body", any,
                                "body_type",
                                        nullableString("OTLP type of the body: string, int, double, bool, bytes,"
                                                + " array or kvlist"),
                                "resource_attributes", attributes,
                                "scope_name", nullableString("instrumentation scope"),
                                "scope_version", nullableString("instrumentation scope version"),
                                "attributes", attributes,
                                "event_name", nullableString("OTLP event name"))));
        components.addSchemas(
                "LogPage",
                object(
                        "A page of log records.",
                        ordered(
                                "data", array(ref("LogRecord")),
                                "next_cursor", nullableString("cursor of the next page; null on the last"),
                                "stats", ref("QueryStats"))));
        components.addSchemas(
                "LogVolume",
                object(
                        "Record counts per step and severity group, oldest first; empty buckets left out.",
                        ordered(
                                "data",
                                array(object(
                                        "One bucket.",
                                        ordered(
                                                "time", time("start of the step"),
                                                "severity", new StringSchema().description("severity group"),
                                                "count", integer("records")))),
                                "step_seconds",
                                integer("the step"),
                                "stats",
                                ref("QueryStats"))));
        Map<String, Schema<?>> event = ordered(
                "time",
                time("event time"),
                "name",
                new StringSchema(),
                "attributes",
                attributes,
                "dropped_attributes_count",
                integer("attributes the sender dropped"));
        Map<String, Schema<?>> link = ordered(
                "trace_id", new StringSchema().description("32 lowercase hex digits"),
                "span_id", new StringSchema().description("16 lowercase hex digits"),
                "trace_state", nullableString("W3C trace state"),
                "flags", integer("W3C trace flags and OTLP span flags"),
                "attributes", attributes,
                "dropped_attributes_count", integer("attributes the sender dropped"));
        Map<String, Schema<?>> span = ordered(
                "trace_id", new StringSchema().description("32 lowercase hex digits"),
                "span_id", new StringSchema().description("16 lowercase hex digits"),
                "parent_span_id", nullableString("null for a root span"),
                "trace_state", nullableString("W3C trace state"),
                "flags", integer("W3C trace flags and OTLP span flags"),
                "name", new StringSchema(),
                "kind", new StringSchema().description("UNSPECIFIED, INTERNAL, SERVER, CLIENT, PRODUCER or CONSUMER"),
                "start_time", time("span start"),
                "end_time", time("span end"),
                "duration_ns", integer("end_time - start_time in nanoseconds"),
                "status_code", new StringSchema().description("UNSET, OK or ERROR"),
                "status_message", nullableString("status description"),
                "service_name", nullableString("resource attribute service.name"),
                "resource_attributes", attributes,
                "scope_name", nullableString("instrumentation scope"),
                "scope_version", nullableString("instrumentation scope version"),
                "attributes", attributes,
                "dropped_attributes_count", integer("attributes the sender dropped"));
        span.put("events", array(object("A span event.", event)));
        span.put("dropped_events_count", integer("events the sender dropped"));
        span.put("links", array(object("A link to another span.", link)));
        span.put("dropped_links_count", integer("links the sender dropped"));
        components.addSchemas("Span", object("One span, as archived.", span));
        components.addSchemas(
                "Trace",
                object(
                        "Every span of one trace, by start time (format=lake, the default).",
                        ordered(
                                "trace_id", new StringSchema().description("32 lowercase hex digits"),
                                "spans", array(ref("Span")),
                                "stats", ref("QueryStats"))));
        components.addSchemas(
                "OtlpTrace",
                object(
                        "With format=otlp: every span of the trace as OTLP/JSON, an ExportTraceServiceRequest in"
                                + " opentelemetry-proto's JSON mapping (lowerCamelCase, hex ids, 64-bit integers as"
                                + " strings), which any OTLP receiver takes as it is; without stats.",
                        ordered(
                                "resourceSpans",
                                array(new ObjectSchema()
                                        .description("an OTLP ResourceSpans: resource, scopeSpans and their spans")))));
        components.addSchemas(
                "TraceSummaries",
                object(
                        "Summaries of matching traces, newest first.",
                        ordered(
                                "data",
                                array(object(
                                        "One trace.",
                                        ordered(
                                                "trace_id", new StringSchema().description("32 lowercase hex digits"),
                                                "root_service", nullableString("service of the root span"),
                                                "root_span", nullableString("name of the root span"),
                                                "start_time", time("start of the earliest span"),
                                                "duration_ns", integer("from the earliest start to the latest end"),
                                                "span_count", integer("spans in the range"),
                                                "error_count", integer("spans with status ERROR"),
                                                "services", array(new StringSchema())))),
                                "stats",
                                ref("QueryStats"))));
    }

    /** Each operation's 200 answer, by the schemas of {@link #addComponents}. */
    private static void addAnswer(Operation operation, String path) {
        String answer =
                switch (path) {
                    case "/api/v1/logs" -> "LogPage";
                    case "/api/v1/logs/volume" -> "LogVolume";
                    case "/api/v1/traces" -> "TraceSummaries";
                    default -> "Trace";
                };
        ApiResponse ok = operation.getResponses().get("200");
        Schema<?> schema = answer.equals("Trace")
                ? new ComposedSchema().oneOf(List.of(ref("Trace"), ref("OtlpTrace")))
                : ref(answer);
        ok.setContent(new Content().addMediaType("application/json", new MediaType().schema(schema)));
    }

    private static Schema<?> object(String description, Map<String, Schema<?>> properties) {
        Schema<?> schema = new ObjectSchema().description(description);
        properties.forEach(schema::addProperty);
        return schema;
    }

    /** Properties in the order given (name, schema, name, schema, ...). */
    private static Map<String, Schema<?>> ordered(Object... nameThenSchema) {
        Map<String, Schema<?>> properties = new LinkedHashMap<>();
        for (int i = 0; i < nameThenSchema.length; i += 2) {
            properties.put((String) nameThenSchema[i], (Schema<?>) nameThenSchema[i + 1]);
        }
        return properties;
    }

    private static Schema<?> ref(String name) {
        return new Schema<>().$ref("#/components/schemas/" + name);
    }

    private static Schema<?> array(Schema<?> items) {
        return new ArraySchema().items(items);
    }

    private static Schema<?> integer(String description) {
        return new IntegerSchema().format("int64").description(description);
    }

    private static Schema<?> time(String description) {
        return nullableString(description + "; RFC 3339 UTC with nanoseconds");
    }

    /** A string or null, as OpenAPI 3.1 (springdoc's version) writes it: {@code "type": ["string", "null"]}. */
    private static Schema<?> nullableString(String description) {
        Schema<?> schema = new StringSchema().description(description);
        schema.setTypes(new LinkedHashSet<>(List.of("string", "null")));
        return schema;
    }

    /** The errors every API operation may answer, as {@link ApiErrors} writes them: RFC 9457 problem details. */
    private static void addProblemResponses(Operation operation, boolean byId) {
        Map<String, String> errors = new LinkedHashMap<>();
        errors.put("400", "A parameter is malformed, unknown or repeated, or the range is too long.");
        errors.put("401", "Authentication is on and the bearer token is missing or unknown.");
        errors.put("403", "The token may not read the tenant named.");
        if (byId) {
            errors.put("404", "No such trace in the range (or, without one, in the trace index).");
        }
        errors.put("406", "Accept names nothing this API produces (it produces application/json).");
        errors.put(
                "422",
                "The query would fetch more than the byte limit per query, needs more memory than DuckDB may use, or"
                        + " (a trace) has more spans than one answer may hold; narrow it.");
        errors.put("429", "Too many queries run or wait; retry after Retry-After.");
        errors.put(
                "503",
                "The archive (S3) cannot be read, retry after Retry-After; or DuckDB cannot read one of the query's"
                        + " archive files, which the detail names (sent without Retry-After: a retry fetches the file"
                        + " again, and fails again if the object itself is damaged).");
        errors.put("504", "The query ran longer than the time limit; narrow it.");
        errors.put("500", "An unexpected failure inside the API (a bug); it is logged, and the detail says no more.");
        ApiResponses responses = operation.getResponses() == null ? new ApiResponses() : operation.getResponses();
        errors.forEach((status, description) -> {
            ApiResponse response = new ApiResponse()
                    .description(description)
                    .content(new Content()
                            .addMediaType(
                                    "application/problem+json",
                                    new MediaType().schema(new Schema<>().$ref("#/components/schemas/" + PROBLEM))));
            if (status.equals("429") || status.equals("503")) {
                response.addHeaderObject(
                        "Retry-After", new Header().description("seconds").schema(new IntegerSchema()));
            }
            responses.addApiResponse(status, response);
        });
        operation.setResponses(responses);
    }
}
