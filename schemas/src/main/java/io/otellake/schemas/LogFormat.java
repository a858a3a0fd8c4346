package io.otellake.schemas;

import java.util.Map;
import java.util.Optional;

/**
 * The log format of ingest and the archiver, {@code OTEL_LAKE_LOG_FORMAT}: {@code text} (the default, also when the
 * variable is empty) or {@code json}. Their {@code logback.xml} sends the root logger to the appender named by the
 * system property {@link #PROPERTY}, which their main classes set from {@link #appender} before the first logger
 * exists: taken from the variable directly, an empty or unknown value would name no appender, and the service would
 * write no log line at all, its start-up errors included. An unknown value is logged as text, and the service then
 * refuses to start with {@link #problem}.
 */
public final class LogFormat {
    public static final String ENV = "OTEL_LAKE_LOG_FORMAT";
    /** The system property {@code logback.xml} reads the appender's name from. */
    public static final String PROPERTY = "otel-lake.log-format";

    private LogFormat() {}

    /** The appender for the environment's format: {@code json}, or {@code text} for anything else. */
    public static String appender(Map<String, String> env) {
        return "json".equals(env.get(ENV)) ? "json" : "text";
    }

    /** Why the environment's log format cannot be used, naming the variable; empty when it can. */
    public static Optional<String> problem(Map<String, String> env) {
        String value = env.get(ENV);
        if (value == null || value.isEmpty() || value.equals("text") || value.equals("json")) {
            return Optional.empty();
        }
        return Optional.of(ENV + " must be text or json (lower case), got '" + value + "'");
    }
}
