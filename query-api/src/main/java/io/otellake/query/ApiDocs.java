package io.otellake.query;

import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.headers.Header;
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
import java.util.LinkedHashMap;
import java.util.Map;
import org.springdoc.core.customizers.OpenApiCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Completes the OpenAPI document at {@code /v3/api-docs}: every API operation takes the tenant header, which the
 * controllers receive resolved (as a hidden {@code TenantId}), and every parameter declared by annotation alone gets
 * the string schema that OpenAPI requires of a parameter (unless its annotation names another), and every API operation
 * lists the errors it may answer, as problem details.
 */
@Configuration
class ApiDocs {
    private static final String PROBLEM = "Problem";

    @Bean
    OpenApiCustomizer tenantHeaderAndParameterSchemas() {
        return api -> api.getPaths()
                .forEach((path, item) -> item.readOperations().forEach(operation -> {
                    if (operation.getParameters() != null) {
                        for (Parameter p : operation.getParameters()) {
                            if (p.getSchema() == null && p.getContent() == null) {
                                p.setSchema(new StringSchema());
                            }
                        }
                    }
                    if (path.startsWith("/api/")) {
                        addProblemResponses(api, operation, path.contains("{"));
                        operation.addParametersItem(new HeaderParameter()
                                .name(Tenants.HEADER)
                                .description(
                                        "The tenant: 1 to 64 of A-Z a-z 0-9 _ -; default without one (authentication"
                                                + " off), or the token's own (authentication on, where an admin token must name it).")
                                .schema(new StringSchema().pattern("^[A-Za-z0-9_-]{1,64}$")));
                    }
                }));
    }

    /** The errors every API operation may answer, as {@link ApiErrors} writes them: RFC 9457 problem details. */
    private static void addProblemResponses(OpenAPI api, Operation operation, boolean byId) {
        if (api.getComponents() == null) {
            api.setComponents(new Components());
        }
        api.getComponents()
                .addSchemas(
                        PROBLEM,
                        new ObjectSchema()
                                .description("RFC 9457 problem details")
                                .addProperty("type", new StringSchema())
                                .addProperty("title", new StringSchema())
                                .addProperty("status", new IntegerSchema())
                                .addProperty("detail", new StringSchema().description("what is wrong, for a person"))
                                .addProperty("instance", new StringSchema()));
        Map<String, String> errors = new LinkedHashMap<>();
        errors.put("400", "A parameter is malformed, unknown or repeated, or the range is too long.");
        errors.put("401", "Authentication is on and the bearer token is missing or unknown.");
        errors.put("403", "The token may not read the tenant named.");
        if (byId) {
            errors.put("404", "No such trace in the range (or, without one, in the trace index).");
        }
        errors.put("406", "Accept names nothing this API produces (it produces application/json).");
        errors.put("422", "The query would fetch more than the byte limit per query; narrow it.");
        errors.put("429", "Too many queries run or wait; retry after Retry-After.");
        errors.put("503", "The archive (S3) cannot be read; retry after Retry-After.");
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
