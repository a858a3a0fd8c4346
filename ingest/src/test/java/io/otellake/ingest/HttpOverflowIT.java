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
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * When every OTLP/HTTP thread is busy and their queue is full, a further request gets the retryable 429 with
 * Retry-After, not a closed connection; the requests that were waiting are then handled as usual.
 */
class HttpOverflowIT {
    private static KafkaBroker kafka;
    private static Ingest ingest;

    @BeforeAll
    static void start() {
        kafka = TestKafka.broker();
        ingest = Ingest.start(TestKafka.ingestConfig()
                .httpThreads(1)
                .tracesTopic("overflow-traces")
                .logsTopic("overflow-logs")
                .kafkaTimeout(Duration.ofSeconds(5))
                .build());
    }

    @AfterAll
    static void stop() {
        ingest.close();
    }

    @Test
    void aRequestBeyondTheFullQueueIsAnswered429WithRetryAfter() throws Exception {
        byte[] body = IngestIT.traces("overflow", 1).toByteArray();
        int queue = Ingest.QUEUED_REQUESTS_PER_THREAD;
        List<Socket> waiting = new ArrayList<>();
        try {
            // The one thread reads the first request's body, of which only half is sent; the next ones queue.
            for (int i = 0; i <= queue; i++) {
                Socket socket = new Socket("127.0.0.1", ingest.port());
                socket.setSoTimeout(30_000);
                waiting.add(socket);
                OutputStream out = socket.getOutputStream();
                out.write(("POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
                                + "Content-Length: " + body.length + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.write(body, 0, body.length / 2);
                out.flush();
                if (i == 0) {
                    awaitQueued(0, "the first request is taken by the thread");
                    Thread.sleep(200);
                }
            }
            awaitQueued(queue, "the queue is full");

            HttpResponse<byte[]> refused = new OtlpHttp(ingest.uri()).post("/v1/traces", OtlpHttp.PROTOBUF, body);

            assertThat(refused.statusCode()).isEqualTo(429);
            assertThat(refused.headers().firstValue("Retry-After")).hasValue("1");
            assertThat(OtlpHttp.message(refused))
                    .isEqualTo("every OTLP/HTTP thread is busy and its queue is full; retry later");
            for (Socket socket : waiting) {
                socket.getOutputStream().write(body, body.length / 2, body.length - body.length / 2);
                socket.getOutputStream().flush();
            }
            for (Socket socket : waiting) {
                String status = new String(socket.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
                assertThat(status).isEqualTo("HTTP/1.1 200");
            }
        } finally {
            for (Socket socket : waiting) {
                socket.close();
            }
        }
    }

    private static void awaitQueued(int n, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (ingest.httpRequestsQueued() != n) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            Thread.sleep(10);
        }
    }
}
