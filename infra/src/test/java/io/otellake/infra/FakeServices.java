package io.otellake.infra;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/**
 * Builds a stand-in repository whose ingest, archiver and query-api modules are tiny programs: each writes the
 * environment it got into {@code $OTEL_LAKE_CACHE_DIR/<module>.env}, listens on its port if it has one, and logs a line
 * when it stops. With {@code FAKE_BEHAVIOUR=exit} it prints "<module> boom" and exits with code 3 instead.
 */
final class FakeServices {
    private FakeServices() {}

    static Path createRoot(Path root) throws IOException {
        Files.createDirectories(root);
        Files.writeString(root.resolve("mvnw"), "#!/bin/sh\n");
        Files.writeString(root.resolve("pom.xml"), "<project/>\n");
        for (LocalStack.Service service : LocalStack.Service.values()) {
            String portVariable = service == LocalStack.Service.INGEST
                    ? "\"OTEL_LAKE_INGEST_HTTP_PORT\""
                    : service == LocalStack.Service.QUERY_API ? "\"SERVER_PORT\"" : "null";
            compile(root, service, source(service, portVariable));
        }
        return root;
    }

    private static String source(LocalStack.Service service, String portVariable) {
        String mainClass = service.mainClass();
        int dot = mainClass.lastIndexOf('.');
        return String.join(
                "\n",
                "package " + mainClass.substring(0, dot) + ";",
                "public class " + mainClass.substring(dot + 1) + " {",
                "  public static void main(String[] args) throws Exception {",
                "    java.util.Properties seen = new java.util.Properties();",
                "    System.getenv().forEach((k, v) -> {",
                "      if (k.startsWith(\"OTEL_LAKE_\") || k.equals(\"SERVER_PORT\")) seen.setProperty(k, v);",
                "    });",
                "    java.nio.file.Path cache = java.nio.file.Path.of(System.getenv(\"OTEL_LAKE_CACHE_DIR\"));",
                "    try (java.io.OutputStream out = java.nio.file.Files.newOutputStream(cache.resolve(\""
                        + service.module() + ".env\"))) {",
                "      seen.store(out, null);",
                "    }",
                "    if (\"exit\".equals(System.getenv(\"FAKE_BEHAVIOUR\"))) {",
                "      System.out.println(\"" + service.module() + " boom\");",
                "      System.exit(3);",
                "    }",
                "    String portVariable = " + portVariable + ";",
                "    if (portVariable != null) {",
                "      java.net.ServerSocket socket = new java.net.ServerSocket(",
                "          Integer.parseInt(System.getenv(portVariable)), 50, java.net.InetAddress.getLoopbackAddress());",
                "    }",
                "    Runtime.getRuntime().addShutdownHook(new Thread(",
                "        () -> System.out.println(\"stopping at \" + System.currentTimeMillis())));",
                "    System.out.println(\"started\");",
                "    Thread.sleep(Long.MAX_VALUE);",
                "  }",
                "}",
                "");
    }

    private static void compile(Path root, LocalStack.Service service, String source) throws IOException {
        Path target = root.resolve(service.module()).resolve("target");
        Path sources = target.resolve("fake-sources");
        Path classes = target.resolve("classes");
        Path lib = target.resolve("lib");
        Files.createDirectories(sources);
        Files.createDirectories(classes);
        Files.createDirectories(lib);
        String simpleName = service.mainClass().substring(service.mainClass().lastIndexOf('.') + 1);
        Path file = sources.resolve(simpleName + ".java");
        Files.writeString(file, source, StandardCharsets.UTF_8);
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        int result = compiler.run(
                null,
                null,
                null,
                "--release",
                "17",
                "-proc:none",
                "-classpath",
                classes.toString(),
                "-d",
                classes.toString(),
                file.toString());
        if (result != 0) {
            throw new IllegalStateException("could not compile the fake " + service.module());
        }
        // A real module writes its dependency jars here; an existing folder is enough for the launcher.
        Files.writeString(
                target.resolve("runtime.classpath"), String.join(java.io.File.pathSeparator, List.of(lib.toString())));
    }
}
