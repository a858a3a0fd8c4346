package io.otellake.query;

import io.swagger.v3.oas.models.media.StringSchema;
import io.swagger.v3.oas.models.parameters.HeaderParameter;
import io.swagger.v3.oas.models.parameters.Parameter;
import org.springdoc.core.customizers.OpenApiCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Completes the OpenAPI document at {@code /v3/api-docs}: every API operation takes the tenant header, which the
 * controllers receive resolved (as a hidden {@code TenantId}), and every parameter declared by annotation alone gets
 * the string schema that OpenAPI requires of a parameter (unless its annotation names another).
 */
@Configuration
class ApiDocs {
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
                        operation.addParametersItem(new HeaderParameter()
                                .name(Tenants.HEADER)
                                .description(
                                        "The tenant: 1 to 64 of A-Z a-z 0-9 _ -; default without one (authentication"
                                                + " off), or the token's own (authentication on, where an admin token must name it).")
                                .schema(new StringSchema().pattern("^[A-Za-z0-9_-]{1,64}$")));
                    }
                }));
    }
}
