package io.otellake.schemas;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import org.apache.avro.Schema;

/**
 * The lake's row schemas. Every Parquet file carries {@link #SCHEMA_VERSION_KEY} in its key-value metadata; readers
 * use it to tell schema versions apart. Version 1 is described column by column in {@code docs/schema.md}.
 */
public final class LakeSchema {
    /** Bumped on any change that is not a pure addition of a nullable column. */
    public static final int SCHEMA_VERSION = 1;

    /** Key-value metadata key that holds {@link #SCHEMA_VERSION}. */
    public static final String SCHEMA_VERSION_KEY = "otel_lake.schema_version";

    /**
     * Key-value metadata key that holds what a file's rows are: {@code traces}, {@code logs}, {@code metrics}, or
     * {@code trace_index} for the trace index's files.
     */
    public static final String SIGNAL_KEY = "otel_lake.signal";

    /** Key-value metadata key that names the program that wrote the file. */
    public static final String WRITER_KEY = "otel_lake.writer";

    public static final Schema SPAN = load("span.avsc");
    public static final Schema LOG = load("log.avsc");

    /** One row per metric data point, in the folder {@code metrics}. */
    public static final Schema METRIC = load("metric.avsc");

    private LakeSchema() {}

    public static Schema of(Signal signal) {
        return switch (signal) {
            case TRACES -> SPAN;
            case LOGS -> LOG;
            case METRICS -> METRIC;
        };
    }

    /** The key-value metadata every file of the signal carries. */
    public static Map<String, String> fileMetadata(Signal signal, String writer) {
        return Map.of(
                SCHEMA_VERSION_KEY, Integer.toString(SCHEMA_VERSION),
                SIGNAL_KEY, signal.pathSegment(),
                WRITER_KEY, writer);
    }

    private static Schema load(String name) {
        try (InputStream in = LakeSchema.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("schema resource " + name + " is missing from the classpath");
            }
            return new Schema.Parser().parse(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read schema resource " + name, e);
        }
    }
}
