package io.otellake.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.otellake.infra.LocalStack.Options;
import io.otellake.infra.LocalStack.Service;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalStackTest {
    @TempDir
    Path tempDir;

    @Test
    void portsComeFromTheEnvironmentWithDefaults() {
        Options defaults = Options.fromEnvironment(tempDir, tempDir.resolve("data"), Map.of());
        assertThat(defaults.kafkaPort()).isEqualTo(19092);
        assertThat(defaults.kafkaControllerPort()).isEqualTo(19093);
        assertThat(defaults.s3Port()).isEqualTo(19000);
        assertThat(defaults.ingestHttpPort()).isEqualTo(4318);
        assertThat(defaults.queryPort()).isEqualTo(8080);
        assertThat(defaults.services()).containsExactly(Service.INGEST, Service.ARCHIVER, Service.QUERY_API);

        Options chosen = Options.fromEnvironment(
                tempDir, tempDir, Map.of("OTEL_LAKE_KAFKA_PORT", "29092", "OTEL_LAKE_QUERY_PORT", " 8081 "));
        assertThat(chosen.kafkaPort()).isEqualTo(29092);
        assertThat(chosen.queryPort()).isEqualTo(8081);
    }

    @Test
    void badPortsFailWithASentence() {
        assertThatThrownBy(() -> Options.fromEnvironment(tempDir, tempDir, Map.of("OTEL_LAKE_S3_PORT", "s3")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("OTEL_LAKE_S3_PORT must be a TCP port number (1-65535), but it is 's3'.");
        assertThatThrownBy(() -> Options.fromEnvironment(tempDir, tempDir, Map.of("OTEL_LAKE_S3_PORT", "8080")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("the ports must all differ");
    }

    @Test
    void optionsAreCopiedAndExtended() {
        Options options = Options.onFreePorts(tempDir, tempDir.resolve("data"))
                .withServices(Service.INGEST)
                .withServiceEnvironment(Service.INGEST, "A", "1")
                .withServiceEnvironment(Service.INGEST, "B", "2");
        assertThat(options.services()).containsExactly(Service.INGEST);
        assertThat(options.serviceEnvironment().get(Service.INGEST))
                .containsEntry("A", "1")
                .containsEntry("B", "2");
        assertThat(options.withServices().services()).isEmpty();
    }

    @Test
    void anUnbuiltModuleFailsBeforeAnythingStarts() {
        Path data = tempDir.resolve("data");
        Options options = Options.onFreePorts(tempDir, data);
        assertThatThrownBy(() -> LocalStack.start(options))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("The ingest module is not built (" + tempDir.resolve("ingest/target/runtime.classpath")
                        + " is missing): run ./mvnw -B -DskipTests package in " + tempDir + " first.");
        assertThat(data).doesNotExist();
    }

    @Test
    void aTakenPortFailsBeforeAnythingStarts() throws Exception {
        Path data = tempDir.resolve("data");
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Options free = Options.onFreePorts(tempDir, data);
            Options options = new Options(
                    tempDir,
                    data,
                    free.kafkaPort(),
                    free.kafkaControllerPort(),
                    free.s3Port(),
                    free.ingestHttpPort(),
                    free.ingestGrpcPort(),
                    taken.getLocalPort(),
                    free.services(),
                    Map.of());
            assertThatThrownBy(() -> LocalStack.start(options))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageStartingWith("Port " + taken.getLocalPort()
                            + " for the query API (OTEL_LAKE_QUERY_PORT) is already in use");
        }
        assertThat(data).doesNotExist();
    }

    @Test
    void theRootIsTheNearestFolderWithTheMavenWrapper() throws Exception {
        Path root = tempDir.resolve("repo");
        Path module = Files.createDirectories(root.resolve("e2e/src"));
        Files.writeString(root.resolve("mvnw"), "");
        Files.writeString(root.resolve("pom.xml"), "");
        assertThat(LocalStack.rootAbove(module)).contains(root);
        assertThat(LocalStack.rootAbove(tempDir)).isEmpty();
    }
}
