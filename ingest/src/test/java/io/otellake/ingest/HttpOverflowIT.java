package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.otellake.infra.KafkaBroker;
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
 * Clients that send slowly, or stop halfway, hold a connection thread each and nothing else: other requests are
 * decoded and written as usual. Only when every connection thread is busy does a further request get the retryable
 * 429 with Retry-After (not a closed connection, not a wait); the slow requests are then handled as usual.
 */
class HttpOverflowIT {
    private static final int HTTP_THREADS = 1;
    private static final int CONNECTION_THREADS = HTTP_THREADS * Ingest.CONNECTION_THREADS_PER_HTTP_THREAD;

    private static KafkaBroker kafka;
    private static Ingest ingest;
    private final List<Socket> slow = new ArrayList<>();
    private final List<Socket> inBody = new ArrayList<>();

    @BeforeAll
    static void start() {
        kafka = TestKafka.broker();
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
        awaitBusy(0, "the slow clients' threads are free again");
    }

    @Test
    void clientsThatStopHalfwayDoNotHoldUpOtherRequests() throws Exception {
        byte[] body = IngestIT.traces("overflow", 1).toByteArray();
        int stalled = 2 * Ingest.QUEUED_REQUESTS_PER_THREAD * HTTP_THREADS + 2; // more than slots and their queue
        for (int i = 0; i < stalled; i++) {
            // half of them stop inside the headers, half inside the body
            startRequest(body, i % 2 == 0 ? 0 : body.length / 2, i % 2 == 0);
        }
        awaitBusy(stalled, "every stalled request holds a connection thread");

        long started = System.nanoTime();
        HttpResponse<byte[]> answered = new OtlpHttp(ingest.uri()).post("/v1/traces", OtlpHttp.PROTOBUF, body);

        assertThat(answered.statusCode()).isEqualTo(200);
        assertThat(Duration.ofNanos(System.nanoTime() - started))
                .as("answered without waiting for the stalled clients")
                .isLessThan(Duration.ofSeconds(10));
        finishRequests(body, body.length / 2);
    }

    @Test
    void aRequestBeyondTheBusyConnectionThreadsIsAnswered429WithRetryAfter() throws Exception {
        byte[] body = IngestIT.traces("overflow", 1).toByteArray();
        for (int i = 0; i < CONNECTION_THREADS; i++) {
            startRequest(body, body.length / 2, false);
        }
        awaitBusy(CONNECTION_THREADS, "every connection thread reads a half-sent body");

        HttpResponse<byte[]> refused = new OtlpHttp(ingest.uri()).post("/v1/traces", OtlpHttp.PROTOBUF, body);

        assertThat(refused.statusCode()).isEqualTo(429);
        assertThat(refused.headers().firstValue("Retry-After")).hasValue("1");
        assertThat(OtlpHttp.message(refused)).isEqualTo("every OTLP/HTTP connection thread is busy; retry later");
        finishRequests(body, body.length / 2);
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
    }

    /**
     * Sends the rest of every request that stopped inside its body, one after the other (all at once, most would find
     * the slots for decoding and their queue taken, and get 429), and checks that each is answered 200.
     */
    private void finishRequests(byte[] body, int sent) throws Exception {
        for (Socket socket : inBody) {
            socket.getOutputStream().write(body, sent, body.length - sent);
            socket.getOutputStream().flush();
            String status = new String(socket.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
            assertThat(status).isEqualTo("HTTP/1.1 200");
        }
    }

    private static void awaitBusy(int n, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (ingest.httpConnectionThreadsBusy() != n) {
            assertThat(System.nanoTime())
                    .as("%s (%d busy)", what, ingest.httpConnectionThreadsBusy())
                    .isLessThan(deadline);
            Thread.sleep(10);
        }
    }
}
