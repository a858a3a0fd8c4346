package io.otellake.query;

import java.util.List;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.MediaType;
import org.springframework.web.HttpMediaTypeNotAcceptableException;
import org.springframework.web.accept.HeaderContentNegotiationStrategy;
import org.springframework.web.servlet.config.annotation.ContentNegotiationConfigurer;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/**
 * Content negotiation by the {@code Accept} header, where a header that does not parse ({@code Accept: garbage}) is
 * answered like one naming nothing the API produces: 406 as {@code application/problem+json}. Spring's own strategy
 * throws for it, and throws again while the 406 is written, which left that 406 without a body.
 */
@Configuration
class AcceptHeader implements WebMvcConfigurer {
    @Override
    public void configureContentNegotiation(ContentNegotiationConfigurer configurer) {
        HeaderContentNegotiationStrategy header = new HeaderContentNegotiationStrategy();
        configurer.strategies(List.of(request -> {
            try {
                return header.resolveMediaTypes(request);
            } catch (HttpMediaTypeNotAcceptableException e) {
                return List.of(MediaType.APPLICATION_PROBLEM_JSON);
            }
        }));
    }
}
