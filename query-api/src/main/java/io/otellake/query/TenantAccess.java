package io.otellake.query;

import io.otellake.schemas.TenantId;
import io.otellake.schemas.TenantTokens;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.util.Collections;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.MethodParameter;
import org.springframework.http.HttpHeaders;
import org.springframework.web.bind.support.WebDataBinderFactory;
import org.springframework.web.context.request.NativeWebRequest;
import org.springframework.web.method.support.HandlerMethodArgumentResolver;
import org.springframework.web.method.support.ModelAndViewContainer;
import org.springframework.web.servlet.HandlerInterceptor;
import org.springframework.web.servlet.config.annotation.InterceptorRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/**
 * Decides the tenant of every API request.
 *
 * <ul>
 *   <li>Authentication off (the local default): the {@code X-Scope-OrgID} header decides; without it, {@code
 *       default}.
 *   <li>Authentication on: a bearer token is required (401 without a known one). A tenant's token acts for its own
 *       tenant; naming another one in {@code X-Scope-OrgID} is a 403. An admin token must name the tenant in
 *       {@code X-Scope-OrgID}.
 *   <li>Either way, {@code X-Scope-OrgID} sent more than once is a 400; with authentication on, several {@code
 *       Authorization} headers are a 401. Ingest answers both the same.
 * </ul>
 *
 * <p>It leaves who asked and for which tenant in request attributes for {@link AuditLog}.
 */
@Configuration
class TenantAccess implements WebMvcConfigurer, HandlerInterceptor, HandlerMethodArgumentResolver {
    static final String TENANT = TenantAccess.class.getName() + ".tenant";
    static final String WHO = TenantAccess.class.getName() + ".who";
    private static final String BEARER = "Bearer ";

    private final boolean enabled;
    private final TenantTokens tokens;

    TenantAccess(LakeProperties props) {
        this.enabled = props.authEnabled();
        this.tokens = TenantTokens.parse(props.authTokens());
        if (enabled && tokens.isEmpty()) {
            throw new IllegalStateException(
                    "OTEL_LAKE_AUTH_ENABLED is true but OTEL_LAKE_AUTH_TOKENS holds no token: nobody could query");
        }
    }

    @Override
    public void addInterceptors(InterceptorRegistry registry) {
        registry.addInterceptor(this).addPathPatterns("/api/**").order(-1); // before the query gate
    }

    @Override
    public void addArgumentResolvers(List<HandlerMethodArgumentResolver> resolvers) {
        resolvers.add(this);
    }

    @Override
    public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler) {
        request.setAttribute(WHO, "anonymous");
        if (!enabled) {
            TenantId named = named(request);
            request.setAttribute(TENANT, named == null ? TenantId.DEFAULT : named);
            return true;
        }
        // who is asking comes first, as in ingest: without a valid token the answer is 401 whatever the tenant
        // header says
        List<String> authorizations = Collections.list(request.getHeaders(HttpHeaders.AUTHORIZATION));
        if (authorizations.size() > 1) {
            throw new UnauthorizedException("send one Authorization header, not several");
        }
        String authorization = authorizations.isEmpty() ? null : authorizations.get(0);
        if (authorization == null || !authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            throw new UnauthorizedException("a bearer token is required: Authorization: Bearer <token>");
        }
        TenantTokens.Grant grant = tokens.authenticate(
                        authorization.substring(BEARER.length()).trim())
                .orElseThrow(() -> new UnauthorizedException("the bearer token is not valid"));
        request.setAttribute(WHO, "token:" + grant.fingerprint()); // the audit line names who, refused or not
        TenantId named = named(request);
        if (grant.admin()) {
            if (named == null) {
                throw new BadRequestException("an admin token must name the tenant in " + Tenants.HEADER);
            }
            request.setAttribute(TENANT, named);
        } else {
            if (named != null && !named.equals(grant.tenant())) {
                throw new ForbiddenException("this token may not read tenant '" + named + "'");
            }
            request.setAttribute(TENANT, grant.tenant());
        }
        return true;
    }

    /** The tenant {@code X-Scope-OrgID} names, validated (an empty one too is a 400); null without the header. */
    @Nullable
    private static TenantId named(HttpServletRequest request) {
        // as ingest: a header sent twice is refused rather than one of its values picked, so that a client cannot
        // add its own tenant or token beside the one a proxy in front adds
        List<String> tenants = Collections.list(request.getHeaders(Tenants.HEADER));
        if (tenants.size() > 1) {
            throw new BadRequestException(Tenants.HEADER + " must be sent once; got " + tenants.size() + " values");
        }
        return tenants.isEmpty() ? null : Tenants.of(tenants.get(0));
    }

    @Override
    public boolean supportsParameter(MethodParameter parameter) {
        return parameter.getParameterType().equals(TenantId.class);
    }

    @Override
    public TenantId resolveArgument(
            MethodParameter parameter,
            @Nullable ModelAndViewContainer mavContainer,
            NativeWebRequest webRequest,
            @Nullable WebDataBinderFactory binderFactory) {
        Object tenant = webRequest.getAttribute(TENANT, NativeWebRequest.SCOPE_REQUEST);
        if (tenant == null) {
            throw new IllegalStateException("no tenant was decided for this request");
        }
        return (TenantId) tenant;
    }

    /** No valid credentials: 401. */
    static final class UnauthorizedException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UnauthorizedException(String message) {
            super(message);
        }
    }

    /** Valid credentials for something else: 403. */
    static final class ForbiddenException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ForbiddenException(String message) {
            super(message);
        }
    }
}
