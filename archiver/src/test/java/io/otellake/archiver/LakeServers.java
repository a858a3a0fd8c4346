package io.otellake.archiver;

import io.otellake.infra.KafkaBroker;
import io.otellake.infra.S3Server;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** One real Kafka broker and one real S3 server for the whole test JVM: starting them costs seconds. */
final class LakeServers {
    private static KafkaBroker kafka;
    private static S3Server s3;

    private LakeServers() {}

    static synchronized KafkaBroker kafka() {
        if (kafka == null) {
            kafka = KafkaBroker.startOnFreePorts(tempDir("kafka"));
            Runtime.getRuntime().addShutdownHook(new Thread(kafka::close));
        }
        return kafka;
    }

    static synchronized S3Server s3() {
        if (s3 == null) {
            s3 = S3Server.startOnFreePorts(tempDir("s3").resolve("data"));
            Runtime.getRuntime().addShutdownHook(new Thread(s3::close));
        }
        return s3;
    }

    private static Path tempDir(String name) {
        try {
            return Files.createTempDirectory("otel-lake-" + name);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
