package io.otellake.infra;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Classpaths written at build time (by maven-dependency-plugin's build-classpath): every entry exists, or reading
 * fails with what to run to fix it.
 */
final class Classpath {
    private static final Pattern SEPARATORS = Pattern.compile("[" + Pattern.quote(File.pathSeparator) + "\\r\\n]+");

    private Classpath() {}

    /** A classpath stored as a resource next to this class, e.g. {@code kafka.classpath}. */
    static List<Path> fromResource(String name) {
        try (InputStream in = Classpath.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("The resource io/otellake/infra/" + name + " is missing from the"
                        + " otel-lake-infra classes; build the infra module with Maven (./mvnw -B -DskipTests"
                        + " install in infra) so that it is generated.");
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "io/otellake/infra/" + name);
        } catch (IOException e) {
            throw new UncheckedIOException("could not read the resource " + name, e);
        }
    }

    /** A classpath stored in a file, e.g. a module's {@code target/runtime.classpath}. */
    static List<Path> fromFile(Path file) {
        try {
            return parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("could not read " + file, e);
        }
    }

    static List<Path> parse(String text, String origin) {
        List<Path> entries = new ArrayList<>();
        for (String entry : SEPARATORS.split(text.strip())) {
            if (entry.isBlank()) {
                continue;
            }
            Path path = Path.of(entry.strip());
            if (!Files.exists(path)) {
                throw new IllegalStateException("The classpath in " + origin + " names " + path + ", which does"
                        + " not exist (was the Maven repository cleaned?); run ./mvnw -B -DskipTests package again.");
            }
            entries.add(path);
        }
        return List.copyOf(entries);
    }
}
