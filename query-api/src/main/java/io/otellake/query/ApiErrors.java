package io.otellake.query;

import java.sql.SQLException;
import org.apache.tomcat.util.http.InvalidParameterException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.util.InvalidMimeTypeException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;
import org.springframework.web.servlet.resource.NoResourceFoundException;

/**
 * Every error as RFC 9457 {@code application/problem+json}: Spring's own (404 for unknown paths, 405, 406, ...) via
 * {@link ResponseEntityExceptionHandler}, and ours here. An unexpected failure is logged and answered 500 without
 * internals.
 */
@RestControllerAdvice
class ApiErrors extends ResponseEntityExceptionHandler {
    private static final Logger log = LoggerFactory.getLogger(ApiErrors.class);

    @ExceptionHandler(BadRequestException.class)
    ProblemDetail badRequest(BadRequestException e) {
        return problem(HttpStatus.BAD_REQUEST, "Invalid request", e.getMessage());
    }

    /**
     * A query string Tomcat cannot decode ({@code q=%FF}, {@code q=%zz}, a bare {@code %}, a parameter without a
     * name): Tomcat throws when the controller first asks for the parameters, so it is the client's mistake, not a
     * failure of the query.
     */
    @ExceptionHandler(InvalidParameterException.class)
    ProblemDetail undecodableQueryString(InvalidParameterException e) {
        return problem(
                HttpStatus.BAD_REQUEST,
                "Invalid request",
                "the query string cannot be read: every parameter needs a name, and names and values must be"
                        + " percent-encoded UTF-8 (%25 for a literal %)");
    }

    /**
     * An {@code Accept} header that does not parse, met where Spring parses it outside content negotiation (the
     * actuator's endpoints: {@code Accept: ,} was a 500): answered as the API's own endpoints answer it, 406.
     */
    @ExceptionHandler(InvalidMimeTypeException.class)
    ProblemDetail unparsableAccept(InvalidMimeTypeException e) {
        return problem(
                HttpStatus.NOT_ACCEPTABLE, "Not Acceptable", "the Accept header cannot be read: " + e.getMessage());
    }

    @ExceptionHandler(TenantAccess.UnauthorizedException.class)
    ResponseEntity<ProblemDetail> unauthorized(TenantAccess.UnauthorizedException e) {
        return ResponseEntity.status(HttpStatus.UNAUTHORIZED)
                .header(HttpHeaders.WWW_AUTHENTICATE, "Bearer")
                .body(problem(HttpStatus.UNAUTHORIZED, "Unauthorized", e.getMessage()));
    }

    @ExceptionHandler(TenantAccess.ForbiddenException.class)
    ProblemDetail forbidden(TenantAccess.ForbiddenException e) {
        return problem(HttpStatus.FORBIDDEN, "Forbidden", e.getMessage());
    }

    @ExceptionHandler(NotFoundException.class)
    ProblemDetail notFound(NotFoundException e) {
        return problem(HttpStatus.NOT_FOUND, "Not found", e.getMessage());
    }

    @ExceptionHandler(ArchiveFiles.ArchiveUnavailableException.class)
    ResponseEntity<ProblemDetail> unavailable(ArchiveFiles.ArchiveUnavailableException e) {
        log.warn("archive unavailable: {}", e.getMessage());
        return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE)
                .header(HttpHeaders.RETRY_AFTER, "5")
                .body(problem(HttpStatus.SERVICE_UNAVAILABLE, "Archive unavailable", e.getMessage()));
    }

    /**
     * An archive file that DuckDB cannot read: a fault of the service's data, not of the request, and one a retry may
     * mend (the local copy is fetched again), so 503 rather than a 500; logged for the operator, who must replace or
     * remove the object if it fails again (docs/operations.md).
     */
    @ExceptionHandler(ArchiveFiles.ArchiveUnreadableException.class)
    ProblemDetail archiveUnreadable(ArchiveFiles.ArchiveUnreadableException e) {
        log.error("query failed on an unreadable archive file: {}", e.getMessage());
        return problem(HttpStatus.SERVICE_UNAVAILABLE, "Archive file unreadable", e.getMessage());
    }

    @ExceptionHandler(ArchiveFiles.QueryTooLargeException.class)
    ProblemDetail tooLarge(ArchiveFiles.QueryTooLargeException e) {
        return problem(HttpStatus.UNPROCESSABLE_CONTENT, "Query too large", e.getMessage());
    }

    @ExceptionHandler(QueryRunner.QueryTimeoutException.class)
    ProblemDetail timeout(QueryRunner.QueryTimeoutException e) {
        return problem(HttpStatus.GATEWAY_TIMEOUT, "Query timed out", e.getMessage());
    }

    @ExceptionHandler(QueryGate.TooManyQueriesException.class)
    ResponseEntity<ProblemDetail> busy(QueryGate.TooManyQueriesException e) {
        return ResponseEntity.status(HttpStatus.TOO_MANY_REQUESTS)
                .header(HttpHeaders.RETRY_AFTER, "1")
                .body(problem(HttpStatus.TOO_MANY_REQUESTS, "Too many queries", e.getMessage()));
    }

    /** An unknown path: said plainly, instead of Spring's "No static resource ...", which names its internals. */
    @Override
    protected ResponseEntity<Object> handleNoResourceFoundException(
            NoResourceFoundException e, HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        return ResponseEntity.status(HttpStatus.NOT_FOUND)
                .body(problem(
                        HttpStatus.NOT_FOUND,
                        "Not found",
                        "no such path; the API answers GET /api/v1/logs, /api/v1/logs/volume, /api/v1/traces and"
                                + " /api/v1/traces/{trace_id} (described at /v3/api-docs)"));
    }

    /**
     * DuckDB ran out of the memory it may use ({@code OTEL_LAKE_DUCKDB_MEMORY_LIMIT}): the query asked too much of the
     * service, as one over the bytes limit does, so 422 rather than a failure of the service; anything else DuckDB
     * throws is unexpected.
     */
    @ExceptionHandler(SQLException.class)
    ProblemDetail queryFailed(SQLException e) {
        if (DuckDb.outOfMemory(e)) {
            log.warn("query refused: {}", e.getMessage());
            return problem(
                    HttpStatus.UNPROCESSABLE_CONTENT,
                    "Query too large",
                    "the query needs more memory than DuckDB may use (OTEL_LAKE_DUCKDB_MEMORY_LIMIT); narrow the time"
                            + " range or the filters");
        }
        return unexpected(e);
    }

    @ExceptionHandler(Exception.class)
    ProblemDetail unexpected(Exception e) {
        log.error("unexpected error", e);
        return problem(HttpStatus.INTERNAL_SERVER_ERROR, "Internal error", "the query failed unexpectedly");
    }

    private static ProblemDetail problem(HttpStatus status, String title, String detail) {
        ProblemDetail p = ProblemDetail.forStatusAndDetail(status, detail);
        p.setTitle(title);
        return p;
    }
}
