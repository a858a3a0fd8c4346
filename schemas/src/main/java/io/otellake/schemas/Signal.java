package io.otellake.schemas;

/** The OTLP signals the lake archives. The path segment is the first folder of every object key. */
public enum Signal {
    TRACES("traces"),
    LOGS("logs"),
    METRICS("metrics");

    private final String pathSegment;

    Signal(String pathSegment) {
        this.pathSegment = pathSegment;
    }

    /** The folder name under the lake prefix: {@code traces}, {@code logs} or {@code metrics}. */
    public String pathSegment() {
        return pathSegment;
    }
}
