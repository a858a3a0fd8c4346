package io.otellake.query;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.servlet.HandlerInterceptor;
import org.springframework.web.servlet.config.annotation.InterceptorRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/**
 * Bounds concurrent queries: at most {@code otel-lake.max-concurrent-queries} run at once; a request waits up to
 * {@code otel-lake.queue-timeout} for a turn, then gets 429 with {@code Retry-After}, so DuckDB's memory and the
 * machine's cores are never oversubscribed. A request's time limit ({@link RequestDeadline}) runs from its turn.
 */
@Configuration
class QueryGate implements WebMvcConfigurer, HandlerInterceptor {
    private static final String HELD = QueryGate.class.getName() + ".held";

    private final Semaphore permits;
    private final long queueTimeoutMs;
    private final Duration queryTimeout;

    QueryGate(LakeProperties props) {
        this.permits = new Semaphore(props.maxConcurrentQueries(), true);
        this.queueTimeoutMs = props.queueTimeout().toMillis();
        this.queryTimeout = props.queryTimeout();
    }

    @Override
    public void addInterceptors(InterceptorRegistry registry) {
        registry.addInterceptor(this).addPathPatterns("/api/**");
    }

    @Override
    public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler)
            throws InterruptedException {
        if (!permits.tryAcquire(queueTimeoutMs, TimeUnit.MILLISECONDS)) {
            throw new TooManyQueriesException("too many queries are running; retry shortly");
        }
        request.setAttribute(HELD, Boolean.TRUE);
        RequestDeadline.start(queryTimeout);
        return true;
    }

    @Override
    public void afterCompletion(
            HttpServletRequest request, HttpServletResponse response, Object handler, @Nullable Exception ex) {
        if (request.getAttribute(HELD) != null) {
            request.removeAttribute(HELD);
            RequestDeadline.clear();
            permits.release();
        }
    }

    int available() {
        return permits.availablePermits();
    }

    /** No turn came within the queue timeout. */
    static final class TooManyQueriesException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TooManyQueriesException(String message) {
            super(message);
        }
    }
}
