package io.otellake.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class PortsTest {
    @Test
    void freePortsAreDistinctAndFree() {
        List<Integer> ports = Ports.freePorts(5);
        assertThat(new HashSet<>(ports)).hasSize(5);
        assertThat(ports).allSatisfy(port -> assertThat(Ports.isFree(port)).isTrue());
    }

    @Test
    void aListeningPortIsOpenAndNotFree() throws Exception {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = socket.getLocalPort();
            assertThat(Ports.isOpen("127.0.0.1", port)).isTrue();
            assertThat(Ports.isFree(port)).isFalse();
            assertThatThrownBy(() -> Ports.requireFree(port, "Kafka (OTEL_LAKE_KAFKA_PORT)"))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageStartingWith("Port " + port + " for Kafka (OTEL_LAKE_KAFKA_PORT) is already in use");
            Ports.awaitOpen("127.0.0.1", port, Duration.ofSeconds(1));
        }
    }

    @Test
    void waitingForAClosedPortTimesOut() {
        int port = Ports.freePort();
        assertThat(Ports.isOpen("127.0.0.1", port)).isFalse();
        assertThatThrownBy(() -> Ports.awaitOpen("127.0.0.1", port, Duration.ofMillis(200)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("127.0.0.1:" + port);
    }

    @Test
    void rejectsNumbersThatAreNotPorts() {
        assertThatThrownBy(() -> Ports.isFree(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Ports.isFree(65536)).isInstanceOf(IllegalArgumentException.class);
    }
}
