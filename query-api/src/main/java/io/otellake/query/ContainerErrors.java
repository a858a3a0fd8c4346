package io.otellake.query;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import org.apache.catalina.Container;
import org.apache.catalina.Valve;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.core.StandardHost;
import org.apache.catalina.valves.ErrorReportValve;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.core.Ordered;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import tools.jackson.core.io.JsonStringEncoder;

/**
 * Errors that Tomcat answers itself, before any controller or {@link ApiErrors} runs (a path with an encoded
 * {@code /}, a query string with more parameters than it parses), as RFC 9457
 * {@code application/problem+json} like every other error, instead of Tomcat's HTML page. Runs after Spring Boot's own
 * customizer, whose error report valve it replaces.
 */
@Component
class ContainerErrors implements WebServerFactoryCustomizer<TomcatServletWebServerFactory>, Ordered {
    @Override
    public void customize(TomcatServletWebServerFactory factory) {
        factory.addContextCustomizers(context -> {
            Container host = context.getParent();
            for (Valve valve : host.getPipeline().getValves()) {
                if (valve instanceof ErrorReportValve) {
                    host.getPipeline().removeValve(valve);
                }
            }
            host.getPipeline().addValve(new ProblemReportValve());
            if (host instanceof StandardHost standardHost) {
                // the host adds a valve of this class at start unless one is there already, compared by name
                standardHost.setErrorReportValveClass(ProblemReportValve.class.getName());
            }
        });
    }

    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }

    /** {@code text} as the content of a JSON string, escaped by Jackson. */
    static String jsonText(@Nullable String text) {
        StringBuilder out = new StringBuilder();
        if (text != null) {
            JsonStringEncoder.getInstance().quoteAsString(text, out);
        }
        return out.toString();
    }

    /** Writes the problem document of an error status that has no body yet; of the request, only its path. */
    static final class ProblemReportValve extends ErrorReportValve {
        @Override
        protected void report(Request request, Response response, Throwable throwable) {
            int status = response.getStatus();
            if (status < 400 || response.getContentWritten() > 0 || response.isCommitted()) {
                return;
            }
            HttpStatus known = HttpStatus.resolve(status);
            String title = known != null ? known.getReasonPhrase() : "Error";
            String detail = status == 400
                    ? "the request was refused before it reached the API: its path is malformed (an encoded '/' in"
                            + " it, for instance), its query string holds too many parameters, or its request line or"
                            + " headers are malformed or longer than 8 KB"
                    : title;
            try {
                response.setContentType("application/problem+json");
                response.setCharacterEncoding(StandardCharsets.UTF_8.name());
                Writer out = response.getReporter();
                if (out != null) {
                    // the members and their order of ApiErrors' problems
                    out.write("{\"detail\":\"" + detail + "\",\"instance\":\"" + jsonText(request.getRequestURI())
                            + "\",\"status\":" + status + ",\"title\":\"" + title + "\"}");
                    response.finishResponse();
                }
            } catch (IOException | IllegalStateException e) {
                // the client is gone; nothing to answer
            }
        }
    }
}
