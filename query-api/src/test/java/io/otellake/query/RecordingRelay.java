package io.otellake.query;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP relay in front of a real S3 server that passes every byte on unchanged, both ways, and records each HTTP
 * request it carries: its method, its path and its query parameters, percent-decoded. A request it cannot follow (a
 * chunked body, a request line that is not HTTP/1.x) is recorded with the method {@code UNREADABLE}, so that a test
 * over the records fails instead of missing it.
 */
final class RecordingRelay implements AutoCloseable {
    /** One HTTP request as the client sent it, its path and query decoded. */
    record Request(String method, String path, Map<String, String> query) {
        @Override
        public String toString() {
            return method + " " + path + (query.isEmpty() ? "" : " " + query);
        }
    }

    private final TcpRelay relay;
    private final List<Request> requests = new CopyOnWriteArrayList<>();

    RecordingRelay(URI upstream) throws IOException {
        this.relay = new TcpRelay(upstream, "recording-relay", this::relayRequests, RecordingRelay::copy);
    }

    URI endpoint() {
        return relay.endpoint();
    }

    /** The requests recorded so far, oldest first. */
    List<Request> requests() {
        return List.copyOf(requests);
    }

    void clear() {
        requests.clear();
    }

    /** Passes requests on one by one, recording each: head, then a body of its Content-Length. */
    private void relayRequests(Socket from, Socket to) {
        try (InputStream in = new BufferedInputStream(from.getInputStream());
                OutputStream out = to.getOutputStream()) {
            while (true) {
                byte[] head = readHead(in);
                if (head == null) {
                    return;
                }
                out.write(head);
                out.flush();
                String[] lines = new String(head, StandardCharsets.ISO_8859_1).split("\r\n");
                String[] requestLine = lines[0].split(" ");
                long length = 0;
                boolean readable = requestLine.length == 3 && requestLine[2].startsWith("HTTP/1.");
                for (int i = 1; i < lines.length; i++) {
                    String line = lines[i].toLowerCase(Locale.ROOT);
                    if (line.startsWith("content-length:")) {
                        length = Long.parseLong(
                                line.substring("content-length:".length()).strip());
                    } else if (line.startsWith("transfer-encoding:")) {
                        readable = false;
                    }
                }
                if (!readable) {
                    requests.add(new Request("UNREADABLE", lines[0], Map.of()));
                    in.transferTo(out); // passed on as it is, no longer followed
                    return;
                }
                requests.add(request(requestLine[0], requestLine[1]));
                for (long left = length; left > 0; left--) {
                    int b = in.read();
                    if (b < 0) {
                        return;
                    }
                    out.write(b);
                }
                out.flush();
            }
        } catch (IOException e) {
            // one side closed
        } finally {
            TcpRelay.closeQuietly(from);
            TcpRelay.closeQuietly(to);
        }
    }

    /** The bytes up to and including the blank line that ends a request's head; null at the end of the stream. */
    private static byte[] readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int last4 = 0;
        int b;
        while ((b = in.read()) >= 0) {
            head.write(b);
            last4 = (last4 << 8) | b;
            if (last4 == 0x0d0a0d0a) { // "\r\n\r\n"
                return head.toByteArray();
            }
        }
        return null;
    }

    static Request request(String method, String target) {
        int question = target.indexOf('?');
        String path = decode(question < 0 ? target : target.substring(0, question));
        Map<String, String> query = new LinkedHashMap<>();
        if (question >= 0) {
            for (String pair : target.substring(question + 1).split("&")) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                query.put(decode(eq < 0 ? pair : pair.substring(0, eq)), eq < 0 ? "" : decode(pair.substring(eq + 1)));
            }
        }
        return new Request(method, path, query);
    }

    /** Percent-decoding as S3 reads a request (UTF-8; a '+' is a plus, which a key may hold, not a space). */
    static String decode(String s) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%' && i + 2 < s.length()) {
                bytes.write(Integer.parseInt(s.substring(i + 1, i + 3), 16));
                i += 2;
            } else {
                bytes.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static void copy(Socket from, Socket to) {
        try (InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream()) {
            byte[] buffer = new byte[64 * 1024];
            int n;
            while ((n = in.read(buffer)) >= 0) {
                out.write(buffer, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // one side closed
        } finally {
            TcpRelay.closeQuietly(from);
            TcpRelay.closeQuietly(to);
        }
    }

    @Override
    public void close() {
        relay.close();
    }
}
