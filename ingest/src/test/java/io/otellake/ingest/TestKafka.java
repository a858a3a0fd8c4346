package io.otellake.ingest;

import io.otellake.infra.KafkaBroker;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** One real Kafka broker per test JVM, started on first use (it costs seconds) and stopped when the JVM exits. */
final class TestKafka {
    private static KafkaBroker broker;

    private TestKafka() {}

    static synchronized KafkaBroker broker() {
        if (broker == null) {
            try {
                Path target = Files.createDirectories(Path.of("target"));
                broker = KafkaBroker.startOnFreePorts(Files.createTempDirectory(target, "kafka-it-"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            KafkaBroker started = broker;
            Runtime.getRuntime().addShutdownHook(new Thread(started::close, "test-kafka-stop"));
        }
        return broker;
    }

    /** Ingest's configuration for the test broker, listening on loopback on ports the system picks. */
    static IngestConfig.Builder ingestConfig() {
        return IngestConfig.builder()
                .kafkaBootstrap(broker().bootstrapServers())
                .httpHost("127.0.0.1")
                .httpPort(0)
                .grpcPort(0);
    }
}
