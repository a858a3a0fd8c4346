package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The OTLP/HTTP server on a real socket, with calls that echo the body's length (or wait, to keep the workers busy),
 * driven by raw sockets: what slow, stalled, malformed, pipelined and impatient clients get.
 */
class OtlpHttpServerTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final ConcurrentLinkedQueue<Integer> done = new ConcurrentLinkedQueue<>();
    private final java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
    private final CountDownLatch release = new CountDownLatch(1);
    private final List<Socket> sockets = new ArrayList<>();
    private @Nullable OtlpHttpServer server;

    @AfterEach
    void stop() throws IOException {
        release.countDown();
        for (Socket socket : sockets) {
            socket.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Test
    void clientsThatStallHoldNoThreadAndOthersAreServed() throws Exception {
        start(1, TIMEOUT);
        int stalled = 1_000;
        List<Socket> inBody = new ArrayList<>();
        for (int i = 0; i < stalled; i++) {
            Socket socket = connect();
            if (i % 2 == 0) {
                send(socket, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Le");
            } else {
                send(socket, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n12345");
                inBody.add(socket);
            }
        }
        awaitConnections(stalled);

        Socket other = connect();
        send(other, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
        assertThat(read(other).line()).isEqualTo("HTTP/1.1 200 OK");

        for (Socket socket : inBody) {
            send(socket, "67890");
            Response answer = read(socket);
            assertThat(answer.line()).isEqualTo("HTTP/1.1 200 OK");
            assertThat(answer.body()).isEqualTo("10");
        }
    }

    @Test
    void aRequestNotInFullWithinTheTimeoutIsAnswered408AndItsConnectionClosed() throws Exception {
        start(1, Duration.ofMillis(500));
        Socket inBody = connect();
        send(inBody, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n12345");
        Socket inHead = connect();
        send(inHead, "POST /echo HTTP/1.1\r\nHost: a\r\n");

        Response late = read(inBody);
        assertThat(late.line()).isEqualTo("HTTP/1.1 408 Request Timeout");
        assertThat(late.body()).isEqualTo("the request did not arrive in full within 500 ms\n");
        assertThat(inBody.getInputStream().read()).as("closed").isEqualTo(-1);
        assertThat(read(inHead).line()).isEqualTo("HTTP/1.1 408 Request Timeout");
        assertThat(inHead.getInputStream().read()).as("closed").isEqualTo(-1);
        awaitDone(1);
        assertThat(done)
                .as("the call whose body was late is done once, with 408")
                .containsExactly(408);
    }

    @Test
    void aClientThatTricklesItsHeadGets408AtTheDeadline() throws Exception {
        start(1, Duration.ofMillis(500));
        Socket socket = connect();
        byte[] head = "POST /echo HTTP/1.1\r\nHost: a\r\nX-Padding: ".getBytes(StandardCharsets.US_ASCII);
        OutputStream out = socket.getOutputStream();
        long started = System.nanoTime();
        try {
            for (int i = 0; i < 100; i++) {
                out.write(head[i % head.length]);
                out.flush();
                Thread.sleep(50);
            }
        } catch (IOException closedByServer) {
            // expected once the deadline passed
        }
        assertThat(Duration.ofNanos(System.nanoTime() - started))
                .as("the server ended the request long before the client would have")
                .isLessThan(Duration.ofSeconds(4));
        assertThat(read(socket).line()).isEqualTo("HTTP/1.1 408 Request Timeout");
    }

    @Test
    void aKeptConnectionMayWaitBetweenRequestsLongerThanTheRequestTimeout() throws Exception {
        start(1, Duration.ofMillis(300));
        Socket socket = connect();
        assertStillServes(socket);
        Thread.sleep(900);
        send(socket, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
        assertThat(read(socket).body()).isEqualTo("3");
    }

    @Test
    void emptyLinesBetweenRequestsKeepTheConnectionIdleAndServing() throws Exception {
        start(1, Duration.ofMillis(300));
        Socket afterBody = connect();
        send(afterBody, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab\r\n");
        assertThat(read(afterBody).body()).isEqualTo("2");
        Socket alone = connect();
        assertStillServes(alone);
        send(alone, "\r\n\r\n");

        Thread.sleep(900);

        for (Socket socket : List.of(afterBody, alone)) {
            assertThat(socket.getInputStream().available())
                    .as("no 408 on a connection that only sent empty lines")
                    .isZero();
            assertStillServes(socket);
        }
    }

    @Test
    void malformedHeadsGetTheirStatusAndEndTheConnection() throws Exception {
        start(1, TIMEOUT);
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put(
                "GET /" + "a".repeat(OtlpHttpServer.MAX_REQUEST_LINE_BYTES) + " HTTP/1.1\r\nHost: a\r\n\r\n",
                "HTTP/1.1 414 Request-URI Too Long");
        cases.put(
                "GET /health HTTP/1.1\r\nHost: a\r\nX-Big: " + "b".repeat(OtlpHttpServer.MAX_HEADER_BYTES) + "\r\n\r\n",
                "HTTP/1.1 431 Request Header Fields Too Large");
        cases.put("HELLO THERE\r\n\r\n", "HTTP/1.1 400 Bad Request");
        cases.put(
                "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab",
                "HTTP/1.1 400 Bad Request");
        cases.put("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n", "HTTP/1.1 400 Bad Request");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            Socket socket = connect();
            send(socket, c.getKey());
            socket.setSoTimeout(5_000);
            String what = c.getKey().substring(0, Math.min(60, c.getKey().length()));
            assertThat(read(socket).line()).as(what).isEqualTo(c.getValue());
            assertThat(socket.getInputStream().read())
                    .as("closed after " + what)
                    .isEqualTo(-1);
        }
    }

    @Test
    void aTargetThatIsNoUriIsAnswered400AndTheConnectionServesOn() throws Exception {
        start(1, TIMEOUT);
        Socket socket = connect();
        send(socket, "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n");
        Response answer = read(socket);
        assertThat(answer.line()).isEqualTo("HTTP/1.1 400 Bad Request");
        assertThat(answer.body()).isEqualTo("the request target is not a valid URI: '/a%zz'\n");
        assertStillServes(socket);
    }

    /**
     * A target in origin form is a path from its first slash (RFC 9112, section 3.2.1), even when it starts with two:
     * {@code //v1/traces}, which an SDK makes of an endpoint that ends in a slash, is not the path {@code /traces} of
     * a host {@code v1}, and {@code //echo/echo} is not {@code /echo}.
     */
    @Test
    void aTargetStartingWithTwoSlashesIsAPathNotAHost() throws Exception {
        start(1, TIMEOUT);
        Socket socket = connect();
        send(socket, "POST //echo/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab");
        Response answer = read(socket);
        assertThat(answer.line()).isEqualTo("HTTP/1.1 404 Not Found");
        assertThat(answer.body()).startsWith("no such endpoint: //echo/echo; ");
        send(socket, "POST http://a/echo?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab");
        assertThat(read(socket).body()).as("absolute form").isEqualTo("2");
        send(socket, "POST /ec%68o?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab");
        assertThat(read(socket).body()).as("percent-encoded, with a query").isEqualTo("2");
    }

    @Test
    void aTransferCodingOtherThanChunkedIsAnswered501() throws Exception {
        start(1, TIMEOUT);
        assertAnsweredThenClosed(
                "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
                "HTTP/1.1 501 Not Implemented",
                "Transfer-Encoding 'gzip, chunked' is not supported; send chunked or none\n");
    }

    @Test
    void aTargetOutsideAsciiIsReadAsUtf8() throws Exception {
        start(1, TIMEOUT);
        Socket socket = connect();
        socket.getOutputStream().write("GET /h\u00e9alth HTTP/1.1\r\nHost: a\r\n\r\n".getBytes(StandardCharsets.UTF_8));
        assertThat(read(socket).body()).startsWith("no such endpoint: /h\u00e9alth; ");
    }

    @Test
    void linesEndingInABareLineFeedAreRefusedAsAmbiguous() throws Exception {
        start(1, TIMEOUT);
        assertAnsweredThenClosed(
                "POST /echo HTTP/1.1\nHost: a\nContent-Length: 4\n\nabcd",
                "HTTP/1.1 400 Bad Request",
                "the request is not valid HTTP/1.1: Line Feed must be preceded by Carriage Return when"
                        + " terminating HTTP start- and header field-lines\n");
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() throws Exception {
        start(1, TIMEOUT);
        Socket socket = connect();
        send(
                socket,
                "GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n"
                        + "GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n"
                        + "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\na"
                        + "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
                        + "GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n");
        assertThat(read(socket).line()).isEqualTo("HTTP/1.1 404 Not Found");
        assertThat(read(socket).line()).isEqualTo("HTTP/1.1 404 Not Found");
        assertThat(read(socket).body()).isEqualTo("1");
        assertThat(read(socket).body()).isEqualTo("5");
        assertThat(read(socket).line()).isEqualTo("HTTP/1.1 404 Not Found");
    }

    @Test
    void hundredsOfPipelinedRequestsAreAnsweredOneByOne() throws Exception {
        start(1, TIMEOUT);
        Socket socket = connect();
        StringBuilder requests = new StringBuilder();
        for (int i = 0; i < 300; i++) {
            requests.append(
                    i % 3 == 0
                            ? "GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n"
                            : "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\na");
        }
        send(socket, requests.toString());
        for (int i = 0; i < 300; i++) {
            Response answer = read(socket);
            if (i % 3 == 0) {
                assertThat(answer.line()).as("answer %d", i).isEqualTo("HTTP/1.1 404 Not Found");
            } else {
                assertThat(answer.body()).as("answer %d", i).isEqualTo("1");
            }
        }
    }

    @Test
    void aPartOfARequestPipelinedBehindACompleteOneHasItsTimeRun() throws Exception {
        start(1, Duration.ofMillis(500));
        Socket socket = connect();
        send(
                socket,
                "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\na" + "POST /echo HTTP/1.1\r\nHost: a\r\n");
        assertThat(read(socket).body()).isEqualTo("1");
        assertThat(read(socket).line()).isEqualTo("HTTP/1.1 408 Request Timeout");
        assertThat(socket.getInputStream().read()).as("closed").isEqualTo(-1);
    }

    @Test
    void aHeadRequestGetsTheHeadersOfItsAnswerWithoutItsBody() throws Exception {
        start(1, TIMEOUT);
        Socket socket = connect();
        send(socket, "HEAD /nowhere HTTP/1.1\r\nHost: a\r\n\r\n");
        InputStream in = socket.getInputStream();
        assertThat(readLine(in)).isEqualTo("HTTP/1.1 404 Not Found");
        String header;
        String length = null;
        while (!(header = readLine(in)).isEmpty()) {
            if (header.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                length = header.substring(header.indexOf(':') + 1).strip();
            }
        }
        assertThat(Integer.parseInt(length))
                .as("the length of the body a GET would get")
                .isPositive();
        assertStillServes(socket); // no body came between the two answers
    }

    @Test
    void aBodyAnsweredFromItsHeadIsDroppedAndTheConnectionServesTheNextRequest() throws Exception {
        start(1, TIMEOUT);
        Socket socket = connect();
        send(socket, "POST /nowhere HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n");
        send(socket, "x".repeat(5000));
        assertThat(read(socket).line()).isEqualTo("HTTP/1.1 404 Not Found");
        assertStillServes(socket);
    }

    @Test
    void expectContinueGets100OnlyWhenTheBodyIsWanted() throws Exception {
        start(1, TIMEOUT);
        Socket wanted = connect();
        send(wanted, "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
        assertThat(read(wanted).line()).isEqualTo("HTTP/1.1 100 Continue");
        send(wanted, "abc");
        assertThat(read(wanted).body()).isEqualTo("3");

        Socket refused = connect();
        send(refused, "POST /nowhere HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
        Response answer = read(refused);
        assertThat(answer.line()).isEqualTo("HTTP/1.1 404 Not Found");
        assertThat(answer.headers()).containsEntry("connection", "close");
        send(refused, "abc"); // what curl does after a second without 100 Continue: read and dropped, then closed
        assertThat(refused.getInputStream().read()).as("closed").isEqualTo(-1);
    }

    @Test
    void completeRequestsBeyondTheWorkersAndTheirQueueAreAnsweredBusy() throws Exception {
        int workers = 1;
        start(workers, TIMEOUT);
        int taken = workers + workers * OtlpHttpServer.QUEUED_REQUESTS_PER_WORKER;
        List<Socket> waiting = new ArrayList<>();
        for (int i = 0; i < taken; i++) {
            Socket socket = connect();
            send(socket, "POST /block HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\na");
            waiting.add(socket);
        }
        await("the workers and their queue fill", 10, () -> server.requestsAtWorkers() >= taken);
        Socket beyond = connect();
        send(beyond, "POST /block HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\na");
        Response answer = read(beyond);
        assertThat(answer.line()).isEqualTo("HTTP/1.1 429 Too Many Requests");
        assertThat(answer.body()).isEqualTo("busy\n");

        release.countDown();
        for (Socket socket : waiting) {
            assertThat(read(socket).line()).isEqualTo("HTTP/1.1 200 OK");
        }
    }

    @Test
    void aCallWhoseClientGoesAwayIsDoneOnce() throws Exception {
        start(1, TIMEOUT);
        Socket socket = connect();
        send(socket, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n12345");
        awaitConnections(1);
        socket.close();
        awaitDone(1);
        Thread.sleep(200);
        assertThat(done).containsExactly(0);
    }

    @Test
    void aCallThatFailsIsAnswered500AndStillEnds() throws Exception {
        start(1, TIMEOUT);
        Socket socket = connect();
        send(socket, "POST /crash HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\na");
        assertThat(read(socket).line()).isEqualTo("HTTP/1.1 500 Internal Server Error");
        awaitDone(1);
        assertThat(done).containsExactly(500);
        assertStillServes(socket);
    }

    @Test
    void closingTheServerEndsEveryCallIncludingThoseWaitingForAWorker() throws Exception {
        start(1, TIMEOUT);
        for (int i = 0; i < 3; i++) {
            send(connect(), "POST /block HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\na");
        }
        await("one runs, two wait", 10, () -> server.requestsAtWorkers() >= 3);

        server.close();

        awaitDone(3);
        assertThat(done).hasSize(3);
        assertThat(done.stream().filter(status -> status == 0))
                .as("the two that waited were cut off")
                .hasSizeGreaterThanOrEqualTo(2);
    }

    @Test
    void headsBeingReadAreReservedInTheBudgetAndOneThatDoesNotFitIsAnswered429() throws Exception {
        InFlightBudget budget = new InFlightBudget(1024 * 1024);
        start(1, TIMEOUT, budget);
        String lines = "a:b\r\n".repeat(4_000); // 20,000 bytes of header lines, about 30 times that in heap
        Socket first = connect();
        send(first, "POST /echo HTTP/1.1\r\nHost: a\r\n" + lines);
        await("the first head is reserved", 10, () -> budget.reserved() >= 20_000L * OtlpHttpServer.HEAD_COST_PER_BYTE);

        Socket second = connect();
        send(second, "POST /echo HTTP/1.1\r\nHost: a\r\n" + lines);
        Response refused = read(second);

        assertThat(refused.line()).isEqualTo("HTTP/1.1 429 Too Many Requests");
        assertThat(refused.headers()).containsEntry("retry-after", "1").containsEntry("connection", "close");
        assertThat(refused.body())
                .isEqualTo("ingest holds its limit of 1048576 bytes for request heads being read; retry later\n");
        send(first, "Content-Length: 2\r\n\r\nab");
        assertThat(read(first).body()).as("the first is served").isEqualTo("2");
        first.close();
        await("every head given back", 10, () -> budget.reserved() == 0);
    }

    /**
     * A request pipelined behind one at a worker is read once that one is answered, as any other head: its bytes wait
     * undecoded meanwhile, and its head is then reserved in the head budget. It used to be decoded at once, into the
     * objects the budget is meant to bound, and only the part of it that arrived later was ever reserved.
     */
    @Test
    void aHeadPipelinedBehindARequestAtAWorkerIsReservedWhenItIsRead() throws Exception {
        InFlightBudget budget = new InFlightBudget(4 * 1024 * 1024);
        start(1, TIMEOUT, budget);
        Socket socket = connect();
        String firstHead = "POST /block HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n";
        String secondHead =
                "POST /heads HTTP/1.1\r\nHost: a\r\n" + "a:b\r\n".repeat(6_000) + "Content-Length: 2\r\n\r\n";
        send(socket, firstHead + "a" + secondHead + "ab");
        await("the first request is at the worker", 10, () -> server.requestsAtWorkers() == 1);
        Thread.sleep(200); // what the server read with it meanwhile
        assertThat(budget.reserved())
                .as("only the first head is held while the first request is at the worker")
                .isEqualTo((long) firstHead.length() * OtlpHttpServer.HEAD_COST_PER_BYTE);

        release.countDown();

        assertThat(read(socket).body()).isEqualTo("1");
        assertThat(Long.parseLong(read(socket).body()))
                .as("the head budget held while the second request is handled")
                .isEqualTo((long) secondHead.length() * OtlpHttpServer.HEAD_COST_PER_BYTE);
        await("every head given back", 10, () -> budget.reserved() == 0);
    }

    @Test
    void anHttp11RequestWithoutExactlyOneHostIsAnswered400() throws Exception {
        start(1, TIMEOUT);
        for (String hosts : List.of("", "Host: a\r\nHost: b\r\n")) {
            assertAnsweredThenClosed(
                    "POST /echo HTTP/1.1\r\n" + hosts + "Content-Length: 2\r\n\r\nab",
                    "HTTP/1.1 400 Bad Request",
                    "an HTTP/1.1 request must carry exactly one Host header\n");
        }
    }

    /**
     * RFC 9110, section 2.5: a later minor version of HTTP/1 is read as HTTP/1.1, so it needs exactly one Host too; a
     * request of another major version (HTTP/2's connection preface, say, from a gRPC client pointed at this port) is
     * not HTTP/1 and is answered 505. Both used to be served, without any Host check.
     */
    @Test
    void aLaterHttp1VersionIsReadAsHttp11AndOtherMajorVersionsAreAnswered505() throws Exception {
        start(1, TIMEOUT);
        for (String hosts : List.of("", "Host: a\r\nHost: b\r\n")) {
            assertAnsweredThenClosed(
                    "POST /echo HTTP/1.2\r\n" + hosts + "Content-Length: 2\r\n\r\nab",
                    "HTTP/1.1 400 Bad Request",
                    "an HTTP/1.1 request must carry exactly one Host header\n");
        }
        Socket later = connect();
        send(later, "POST /echo HTTP/1.2\r\nHost: a\r\nContent-Length: 2\r\n\r\nab");
        assertThat(read(later).body()).isEqualTo("2");
        assertStillServes(later);

        assertAnsweredThenClosed(
                "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
                "HTTP/1.1 505 HTTP Version Not Supported",
                "HTTP/2.0 is not served here, only HTTP/1.1 (and 1.0)\n");
        for (String version : List.of("HTTP/0.9", "HTTP/3.0")) {
            assertAnsweredThenClosed(
                    "POST /echo " + version + "\r\nHost: a\r\nContent-Length: 2\r\n\r\nab",
                    "HTTP/1.1 505 HTTP Version Not Supported",
                    version + " is not served here, only HTTP/1.1 (and 1.0)\n");
        }
    }

    @Test
    void atTheConnectionBoundNoMoreIsServedUntilOneCloses() throws Exception {
        start(1, TIMEOUT, new InFlightBudget(1L << 30), 2);
        Socket first = connect();
        Socket second = connect();
        assertStillServes(first);
        assertStillServes(second);
        awaitConnections(2);

        Socket third = connect(); // the operating system completes the handshake; the server does not take it yet
        send(third, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab");
        third.setSoTimeout(1_000);
        assertThatThrownBy(() -> third.getInputStream().read())
                .as("not served while two are open")
                .isInstanceOf(java.net.SocketTimeoutException.class);
        assertThat(server.connections()).isEqualTo(2);

        first.close();

        third.setSoTimeout(15_000);
        assertThat(read(third).body()).as("served once one closed").isEqualTo("2");
        assertStillServes(second);
    }

    /**
     * Mangled requests (bytes flipped, inserted, dropped or cut off from well-formed ones: Content-Length and chunked
     * bodies, chunk extensions and trailers, gzip and pipelining), 3,000 of them built at random from a fixed seed, so
     * a failure repeats. Each gets answers with statuses a client can act on, never a 500, or its connection closed,
     * and within the request timeout; afterwards every call has ended, nothing is left reserved in the budget, and the
     * server still serves. {@code -Dhttp.fuzz.seed=N} tries another sequence.
     */
    @Test
    void mangledRequestsGetAnActionableStatusOrAClosedConnectionAndLeaveNothingBehind() throws Exception {
        InFlightBudget budget = new InFlightBudget(1L << 30);
        start(2, Duration.ofSeconds(2), budget);
        java.util.SplittableRandom random = new java.util.SplittableRandom(Long.getLong("http.fuzz.seed", 20261203));
        List<String> seeds = List.of(
                "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
                "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
                "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc",
                "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab"
                        + "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nc",
                "GET /missing HTTP/1.1\r\nHost: a\r\n\r\n",
                "POST /echo HTTP/1.0\r\nContent-Length: 1\r\n\r\nx",
                "POST http://a/echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx");
        byte[] alphabet = "\r\n :;0123456789aAfF-\t\u0000\u007f\u00ffHTTP/1.chunkedContent-LengthTransfer-Encoding"
                .getBytes(StandardCharsets.ISO_8859_1);
        int answers = 0;
        for (int i = 0; i < 3_000; i++) {
            byte[] request = seeds.get(random.nextInt(seeds.size())).getBytes(StandardCharsets.ISO_8859_1);
            for (int m = 1 + random.nextInt(3); m > 0; m--) {
                request = mangle(request, random, alphabet);
            }
            Socket socket = connect();
            try {
                socket.getOutputStream().write(request);
                socket.shutdownOutput();
                InputStream in = socket.getInputStream();
                while (true) {
                    Response answer;
                    try {
                        answer = read(socket);
                    } catch (IOException e) {
                        break; // closed, or ended inside an answer it chose not to finish
                    }
                    answers++;
                    assertThat(answer.line())
                            .as(new String(request, StandardCharsets.ISO_8859_1))
                            .matches("HTTP/1\\.1 (100|200|400|404|405|408|413|414|431|501|505) .*");
                }
            } catch (java.net.SocketException e) {
                // the server closed the connection while the request was still being written
            } finally {
                socket.close();
                sockets.remove(socket);
            }
        }
        assertThat(answers).as("most mangled requests are still answered").isGreaterThan(1_500);
        await("every connection closed", 15, () -> server.connections() == 0);
        await("every body and head given back", 15, () -> budget.reserved() == 0);
        await("every call ended once", 15, () -> done.size() == calls.get());
        assertThat(calls.get()).as("calls reached the router").isGreaterThan(500);
        assertStillServes(connect());
    }

    private static byte[] mangle(byte[] request, java.util.SplittableRandom random, byte[] alphabet) {
        int at = random.nextInt(request.length + 1);
        byte b = alphabet[random.nextInt(alphabet.length)];
        return switch (random.nextInt(4)) {
            case 0 -> java.util.Arrays.copyOf(request, at); // cut off
            case 1 -> { // a byte replaced
                if (request.length == 0) {
                    yield request;
                }
                byte[] copy = request.clone();
                copy[Math.min(at, copy.length - 1)] = b;
                yield copy;
            }
            case 2 -> { // a byte inserted
                byte[] copy = new byte[request.length + 1];
                System.arraycopy(request, 0, copy, 0, at);
                copy[at] = b;
                System.arraycopy(request, at, copy, at + 1, request.length - at);
                yield copy;
            }
            default -> { // a byte dropped
                if (request.length == 0 || at == request.length) {
                    yield request;
                }
                byte[] copy = new byte[request.length - 1];
                System.arraycopy(request, 0, copy, 0, at);
                System.arraycopy(request, at + 1, copy, at, request.length - at - 1);
                yield copy;
            }
        };
    }

    // --- the server under test and its calls

    private void start(int workers, Duration requestTimeout) {
        start(workers, requestTimeout, new InFlightBudget(1L << 30));
    }

    private void start(int workers, Duration requestTimeout, InFlightBudget budget) {
        start(workers, requestTimeout, budget, IngestConfig.DEFAULT_HTTP_MAX_CONNECTIONS);
    }

    private void start(int workers, Duration requestTimeout, InFlightBudget budget, int maxConnections) {
        server = OtlpHttpServer.start(
                new InetSocketAddress("127.0.0.1", 0),
                workers,
                requestTimeout,
                maxConnections,
                r -> {
                    Thread t = new Thread(r, "test-worker");
                    t.setDaemon(true);
                    return t;
                },
                budget,
                head -> switch (head.path()) {
                    case "/echo" -> new Echo(false);
                    case "/heads" ->
                        new Echo(false) {
                            @Override
                            public Reply finish(long waitedNanos) {
                                byte[] reserved =
                                        Long.toString(budget.reserved()).getBytes(StandardCharsets.US_ASCII);
                                return new Reply(200, Reply.TEXT, reserved);
                            }
                        };
                    case "/block" -> new Echo(true);
                    case "/crash" ->
                        new Echo(false) {
                            @Override
                            public Reply finish(long waitedNanos) {
                                throw new AssertionError("a call that fails in an unexpected way");
                            }
                        };
                    default -> HttpCall.answered(NotFoundHandler.reply(head.path()));
                });
    }

    /** Answers 200 with the body's length; a blocking one first waits for {@link #release}. */
    private class Echo implements HttpCall {
        private final boolean blocks;
        private int length;

        Echo(boolean blocks) {
            this.blocks = blocks;
            calls.incrementAndGet();
        }

        @Override
        public @Nullable Reply early() {
            return null;
        }

        @Override
        public @Nullable Reply body(ByteBuf piece, boolean last) {
            length += piece.readableBytes();
            return null;
        }

        @Override
        public Reply finish(long waitedNanos) {
            if (blocks) {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return new Reply(200, Reply.TEXT, Integer.toString(length).getBytes(StandardCharsets.US_ASCII));
        }

        @Override
        public Reply busy() {
            return Reply.text(429, "busy");
        }

        @Override
        public Reply failed(int status, String message) {
            return Reply.text(status, message);
        }

        @Override
        public void done(int status) {
            done.add(status);
        }
    }

    // --- a raw HTTP/1.1 client

    record Response(String line, Map<String, String> headers, String body) {}

    private Socket connect() throws IOException {
        Socket socket = new Socket();
        socket.connect(server.address());
        socket.setSoTimeout(15_000);
        sockets.add(socket);
        return socket;
    }

    /** Sends {@code request} on a new connection: it is answered {@code line} and {@code body}, then closed. */
    private void assertAnsweredThenClosed(String request, String line, String body) throws IOException {
        Socket socket = connect();
        send(socket, request);
        Response answer = read(socket);
        assertThat(answer.line()).as(request).isEqualTo(line);
        assertThat(answer.body()).as(request).isEqualTo(body);
        assertThat(socket.getInputStream().read()).as("closed after " + line).isEqualTo(-1);
    }

    /** The connection serves another request. */
    private static void assertStillServes(Socket socket) throws IOException {
        send(socket, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab");
        assertThat(read(socket).body()).isEqualTo("2");
    }

    private static void send(Socket socket, String text) throws IOException {
        socket.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
    }

    /** Reads one response: its status line, headers (names in lower case) and a body of its Content-Length. */
    private static Response read(Socket socket) throws IOException {
        InputStream in = socket.getInputStream();
        String line;
        try {
            line = readLine(in);
        } catch (java.net.SocketTimeoutException e) {
            throw new AssertionError("no answer within " + socket.getSoTimeout() + " ms", e);
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (String header = readLine(in); !header.isEmpty(); header = readLine(in)) {
            int colon = header.indexOf(':');
            headers.put(
                    header.substring(0, colon).toLowerCase(Locale.ROOT),
                    header.substring(colon + 1).strip());
        }
        int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
        return new Response(line, headers, new String(in.readNBytes(length), StandardCharsets.UTF_8));
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != '\n') {
            if (b < 0) {
                throw new IOException("the connection ended inside a response: '" + line + "'");
            }
            if (b != '\r') {
                line.write(b);
            }
        }
        return line.toString(StandardCharsets.US_ASCII);
    }

    private void awaitConnections(int n) throws InterruptedException {
        await(n + " connections open", 15, () -> server.connections() >= n);
    }

    private void awaitDone(int n) throws InterruptedException {
        await(n + " calls done", 15, () -> done.size() >= n);
    }

    /** Waits until {@code until} holds, failing with {@code what} after {@code seconds}. */
    private static void await(String what, long seconds, BooleanSupplier until) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!until.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            Thread.sleep(10);
        }
    }
}
