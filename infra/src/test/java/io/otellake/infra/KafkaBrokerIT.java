package io.otellake.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaBrokerIT {
    @TempDir
    Path tempDir;

    @Test
    void startsStopsAndStartsAgainOnTheSameData() throws Exception {
        Path dataDir = tempDir.resolve("kafka");
        int port;
        try (KafkaBroker broker = KafkaBroker.startOnFreePorts(dataDir)) {
            port = broker.port();
            assertThat(broker.bootstrapServers()).isEqualTo("127.0.0.1:" + broker.port());
            assertThat(Ports.isOpen("127.0.0.1", broker.port())).isTrue();
            assertThat(apiVersionsErrorCode(broker.port()))
                    .as("ApiVersions error code")
                    .isZero();
            String clusterId = broker.clusterId();
            assertThat(clusterId).hasSize(22);
            long pid = broker.process().pid();

            broker.stop();
            assertThat(broker.isRunning()).isFalse();
            assertThat(ProcessHandle.of(pid).filter(ProcessHandle::isAlive)).isEmpty();
            assertThat(Ports.isOpen("127.0.0.1", broker.port())).isFalse();
            assertThat(Ports.isOpen("127.0.0.1", broker.controllerPort())).isFalse();

            broker.start();
            assertThat(broker.isRunning()).isTrue();
            assertThat(apiVersionsErrorCode(broker.port())).isZero();
            assertThat(broker.clusterId()).isEqualTo(clusterId);

            String log = Files.readString(broker.logFile());
            assertThat(occurrences(log, "Formatting metadata directory"))
                    .as("formatted once")
                    .isEqualTo(1);
            assertThat(occurrences(log, KafkaBroker.STARTED_LINE)).isEqualTo(2);
        }
        assertThat(Ports.isOpen("127.0.0.1", port)).as("closed after close()").isFalse();
    }

    @Test
    void startsInADataDirectoryWithSpacesAndLettersBeyondAscii() throws Exception {
        // Kafka reads server.properties as ISO-8859-1: a UTF-8 "ü" in log.dirs would name another directory.
        Path dataDir = tempDir.resolve("Jürgen's lake/kafka");
        try (KafkaBroker broker = KafkaBroker.startOnFreePorts(dataDir)) {
            assertThat(apiVersionsErrorCode(broker.port())).isZero();
            assertThat(dataDir.resolve("log/meta.properties")).isRegularFile();
        }
        try (Stream<Path> entries = Files.list(tempDir)) {
            assertThat(entries).containsExactly(tempDir.resolve("Jürgen's lake"));
        }
    }

    @Test
    void aSecondBrokerOnTheSameDataDirectoryIsRefusedBeforeItTouchesTheData() throws Exception {
        Path dataDir = tempDir.resolve("kafka");
        try (KafkaBroker first = KafkaBroker.startOnFreePorts(dataDir)) {
            Path quorumState = dataDir.resolve("log/__cluster_metadata-0/quorum-state");
            String stateBefore = Files.readString(quorumState);
            List<Integer> otherPorts = Ports.freePorts(2);

            // A second ./otel-lake up on other ports: its controller would share (and corrupt) the metadata log.
            assertThatThrownBy(() -> KafkaBroker.start(dataDir, otherPorts.get(0), otherPorts.get(1)))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("The Kafka data directory " + dataDir + " is in use by another broker (process "
                            + ProcessHandle.current().pid() + "), perhaps another ./otel-lake up on other ports:"
                            + " stop it, or give this broker a data directory of its own.");

            assertThat(Files.readString(quorumState)).as("quorum state").isEqualTo(stateBefore);
            assertThat(Files.readString(dataDir.resolve("server.properties")))
                    .contains("listeners=PLAINTEXT://127.0.0.1:" + first.port() + ",");
            assertThat(apiVersionsErrorCode(first.port())).isZero();
            first.stop();
            first.start();
            assertThat(Files.readString(first.logFile())).doesNotContain("CorruptRecordException");
        }
        try (KafkaBroker again = KafkaBroker.startOnFreePorts(dataDir)) {
            assertThat(apiVersionsErrorCode(again.port()))
                    .as("the lock is released by stop()")
                    .isZero();
        }
    }

    @Test
    void aTakenPortFailsWithASentence() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            assertThatThrownBy(() -> KafkaBroker.start(tempDir.resolve("kafka"), port, Ports.freePort()))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("Port " + port + " for the Kafka broker is already in use");
        }
    }

    @Test
    void aDataDirectoryWithACommaFailsWithASentenceBeforeAnythingStarts() {
        Path dataDir = tempDir.resolve("otel,lake").resolve("kafka");

        assertThatThrownBy(() -> KafkaBroker.start(dataDir, Ports.freePort(), Ports.freePort()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("the Kafka broker's data directory cannot have a comma in its path (Kafka reads log.dirs"
                        + " as a comma-separated list): " + dataDir.toAbsolutePath()
                        + "; clone or move the repository to a path without one");
        assertThat(tempDir.resolve("otel,lake")).doesNotExist();
    }

    /** Sends a Kafka ApiVersions request (v0) by hand, which needs no client library, and returns its error code. */
    static short apiVersionsErrorCode(int port) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout((int) Duration.ofSeconds(10).toMillis());
            byte[] clientId = "otel-lake-test".getBytes(StandardCharsets.UTF_8);
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            out.writeInt(2 + 2 + 4 + 2 + clientId.length);
            out.writeShort(18); // ApiVersions
            out.writeShort(0); // version 0
            out.writeInt(42); // correlation id
            out.writeShort(clientId.length);
            out.write(clientId);
            out.flush();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            int size = in.readInt();
            assertThat(size).isGreaterThan(6);
            assertThat(in.readInt()).as("correlation id").isEqualTo(42);
            return in.readShort();
        }
    }

    private static int occurrences(String text, String part) {
        int count = 0;
        for (int at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + 1)) {
            count++;
        }
        return count;
    }
}
