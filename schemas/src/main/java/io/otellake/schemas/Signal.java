package io.otellake.schemas;

/** The OTLP signals the lake archives. The path segment is the first folder of every object key. */
public enum Signal {
    TRACES("traces"),
    LOGS("logs");

    private final String pathSegment;

    Signal(String pathSegment) {
        this.pathSegment = pathSegment;
    }

    /** The folder name under the lake prefix: {@code traces} or {@code logs}. */
    public String pathSegment() {
        return pathSegment;
    }
}
