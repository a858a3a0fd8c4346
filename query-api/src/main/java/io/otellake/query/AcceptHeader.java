package io.otellake.query;

import java.nio.charset.StandardCharsets;
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
 * throws for it, and throws again while the 406 is written, which left that 406 without a body. So is one that
 * asks only for a charset other than UTF-8, or gives every type it names the weight 0.
 */
@Configuration
class AcceptHeader implements WebMvcConfigurer {
    @Override
    public void configureContentNegotiation(ContentNegotiationConfigurer configurer) {
        HeaderContentNegotiationStrategy header = new HeaderContentNegotiationStrategy();
        configurer.strategies(List.of(request -> {
            List<MediaType> types;
            try {
                types = header.resolveMediaTypes(request);
            } catch (HttpMediaTypeNotAcceptableException e) {
                return List.of(MediaType.APPLICATION_PROBLEM_JSON);
            }
            // JSON is UTF-8 (RFC 8259): a type asking for another charset names nothing the API produces, and
            // Jackson cannot write it (application/json;charset=latin1 was a 500). A type of weight 0 is one the
            // client does not accept (RFC 9110, section 12.4.2).
            List<MediaType> utf8 = types.stream()
                    .filter(t -> t.getCharset() == null || t.getCharset().equals(StandardCharsets.UTF_8))
                    .filter(t -> t.getQualityValue() > 0)
                    .toList();
            return utf8.isEmpty() ? List.of(MediaType.APPLICATION_PROBLEM_JSON) : utf8;
        }));
    }
}
