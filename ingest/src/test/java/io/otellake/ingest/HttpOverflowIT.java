package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Clients that send slowly, or stop halfway, hold their connection and the bytes they sent, nothing else: with far more
 * of them than ingest has threads, other requests are decoded and written as usual, and the slow requests are handled
 * as usual once they arrive. One that does not arrive in full within the request timeout is answered 408 and gives
 * back its share of the in-flight budget.
 */
class HttpOverflowIT {
    private static final int HTTP_THREADS = 1;

    private static Ingest ingest;
    private final List<Socket> slow = new ArrayList<>();
    private final List<Socket> inBody = new ArrayList<>();

    @BeforeAll
    static void start() {
        ingest = Ingest.start(TestKafka.ingestConfig()
                .httpThreads(HTTP_THREADS)
                .tracesTopic("overflow-traces")
                .logsTopic("overflow-logs")
                .kafkaTimeout(Duration.ofSeconds(5))
                .build());
    }

    @AfterAll
    static void stop() {
        ingest.close();
    }

    @AfterEach
    void closeSlowClients() throws Exception {
        for (Socket socket : slow) {
            socket.close();
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (ingest.bytesInFlight() != 0 || ingest.requestsInFlight() != 0) {
            assertThat(System.nanoTime())
                    .as("the slow clients' requests gave back what they held")
                    .isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    @Test
    void clientsThatStopHalfwayDoNotHoldUpOtherRequests() throws Exception {
        byte[] body = IngestIT.traces("overflow", 1).toByteArray();
        int stalled = 500; // the JDK server this replaced served 32 per HTTP thread
        for (int i = 0; i < stalled; i++) {
            // half of them stop inside the headers, half inside the body
            startRequest(body, i % 2 == 0 ? 0 : body.length / 2, i % 2 == 0);
        }
        await("every stalled client is connected", () -> ingest.httpConnections() >= stalled);
        // a connection is counted once accepted, a request once its head is read: wait for the heads too
        await("the ones that sent their whole head are in flight", () -> ingest.requestsInFlight() >= stalled / 2);
        assertThat(ingest.requestsInFlight())
                .as("only the ones that sent their whole head")
                .isEqualTo(stalled / 2);

        HttpResponse<byte[]> answered = new OtlpHttp(ingest.uri()).post("/v1/traces", OtlpHttp.PROTOBUF, body);

        assertThat(answered.statusCode()).isEqualTo(200);
        // one after the other: all at once, most would find the one worker and its queue taken, and get 429
        for (Socket socket : inBody) {
            socket.getOutputStream().write(body, body.length / 2, body.length - body.length / 2);
            socket.getOutputStream().flush();
            String status = new String(socket.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
            assertThat(status).isEqualTo("HTTP/1.1 200");
        }
    }

    @Test
    void aRequestThatDoesNotArriveInTimeIsAnswered408AndGivesBackItsBudget() throws Exception {
        byte[] body = IngestIT.traces("late", 1).toByteArray();
        try (Ingest quick = Ingest.start(ingest.config().toBuilder()
                        .httpRequestTimeout(Duration.ofSeconds(1))
                        .build());
                Socket socket = new Socket("127.0.0.1", quick.port())) {
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
                            + "Content-Length: " + body.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.write(body, 0, body.length / 2);
            out.flush();

            byte[] answer = socket.getInputStream().readAllBytes(); // until the server closes the connection

            String text = new String(answer, StandardCharsets.ISO_8859_1);
            assertThat(text)
                    .startsWith("HTTP/1.1 408 Request Timeout\r\n")
                    .contains("Content-Type: application/x-protobuf")
                    .contains("the request did not arrive in full within 1000 ms");
            assertThat(quick.bytesInFlight()).isZero();
            assertThat(quick.requestsInFlight()).isZero();
        }
    }

    /** Sends a request's headers (all of them, or only the first line) and the first {@code sent} bytes of its body. */
    private void startRequest(byte[] body, int sent, boolean stopInHeaders) throws Exception {
        Socket socket = new Socket("127.0.0.1", ingest.port());
        socket.setSoTimeout(30_000);
        slow.add(socket);
        OutputStream out = socket.getOutputStream();
        String headers = "POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
                + "Content-Length: " + body.length + "\r\n\r\n";
        if (stopInHeaders) {
            out.write(headers.substring(0, headers.indexOf('\n') + 1).getBytes(StandardCharsets.US_ASCII));
        } else {
            out.write(headers.getBytes(StandardCharsets.US_ASCII));
            out.write(body, 0, sent);
            inBody.add(socket);
        }
        out.flush();
        if (!stopInHeaders) {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (ingest.bytesInFlight() < (long) sent * inBody.size()) {
                assertThat(System.nanoTime())
                        .as("the body's first bytes reach ingest")
                        .isLessThan(deadline);
                Thread.sleep(5);
            }
        }
    }

    private static void await(String what, java.util.function.BooleanSupplier until) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!until.getAsBoolean()) {
            assertThat(System.nanoTime())
                    .as(
                            "%s (%d connections, %d requests in flight)",
                            what, ingest.httpConnections(), ingest.requestsInFlight())
                    .isLessThan(deadline);
            Thread.sleep(10);
        }
    }
}
