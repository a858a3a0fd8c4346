package io.otellake.ingest;

import static io.otellake.ingest.OtlpConformanceIT.concat;
import static io.otellake.ingest.OtlpConformanceIT.gzip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;
import org.junit.jupiter.api.Test;

class StrictGzipInputStreamTest {
    private static final byte[] TEXT =
            "OTLP over HTTP, gzip-compressed, in several members.".getBytes(StandardCharsets.UTF_8);

    @Test
    void readsWhatTheJdksGzipReadsFromValidBodies() throws IOException {
        Random random = new Random(7);
        for (int round = 0; round < 300; round++) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            ByteArrayOutputStream data = new ByteArrayOutputStream();
            int members = 1 + random.nextInt(4);
            for (int m = 0; m < members; m++) {
                byte[] part = new byte[random.nextInt(round % 10 == 0 ? 200_000 : 2_000)];
                for (int i = 0; i < part.length; i++) {
                    part[i] = (byte) (random.nextInt(4) == 0 ? random.nextInt() : 'a' + random.nextInt(3));
                }
                data.write(part);
                body.write(gzip(part));
            }
            byte[] bytes = body.toByteArray();

            assertThat(readAll(new StrictGzipInputStream(new ByteArrayInputStream(bytes))))
                    .as("round %d", round)
                    .isEqualTo(data.toByteArray())
                    .isEqualTo(readAll(new GZIPInputStream(new ByteArrayInputStream(bytes))));
        }
    }

    @Test
    void readsEveryOptionalHeaderField() throws IOException {
        int flags = 2 | 4 | 8 | 16; // FHCRC, FEXTRA, FNAME, FCOMMENT
        ByteArrayOutputStream header = new ByteArrayOutputStream();
        header.write(new byte[] {0x1f, (byte) 0x8b, 8, (byte) flags, 1, 2, 3, 4, 0, 3});
        header.write(new byte[] {3, 0, 'x', 'y', 'z'}); // extra field of 3 bytes
        header.write("name.pb\0".getBytes(StandardCharsets.US_ASCII));
        header.write("a comment\0".getBytes(StandardCharsets.US_ASCII));
        CRC32 headerCrc = new CRC32();
        headerCrc.update(header.toByteArray());
        header.write((int) headerCrc.getValue() & 0xFF);
        header.write((int) (headerCrc.getValue() >>> 8) & 0xFF);
        byte[] body = member(header.toByteArray(), TEXT);

        assertThat(readAll(new StrictGzipInputStream(new ByteArrayInputStream(body))))
                .isEqualTo(TEXT)
                .isEqualTo(readAll(new GZIPInputStream(new ByteArrayInputStream(body))));

        byte[] badHeaderCrc = body.clone();
        badHeaderCrc[header.size() - 1] ^= 1;
        assertRefused(badHeaderCrc, ZipException.class, "corrupt gzip header (header CRC mismatch)");
    }

    @Test
    void bytesAfterTheLastMemberAreRefusedWhereTheJdkIgnoresThem() throws IOException {
        byte[] whole = gzip(TEXT);
        byte[] damagedSecond = gzip(TEXT);
        damagedSecond[2] = 7;
        Map<byte[], String> refusals = Map.of(
                concat(whole, "GARBAGE".getBytes(StandardCharsets.US_ASCII)), "data after the end of the gzip stream",
                concat(whole, new byte[8]), "data after the end of the gzip stream",
                concat(whole, damagedSecond), "unsupported gzip compression method (only deflate, 8, exists)");
        for (Map.Entry<byte[], String> refusal : refusals.entrySet()) {
            byte[] body = refusal.getKey();
            assertThat(readAll(new GZIPInputStream(new ByteArrayInputStream(body))))
                    .as("what the JDK makes of it: the first member only, without an error")
                    .isEqualTo(TEXT);
            assertRefused(body, ZipException.class, refusal.getValue());
        }
    }

    @Test
    void everyTruncationIsRefused() {
        byte[] body = concat(gzip(TEXT), gzip(TEXT));
        for (int length = 0; length < body.length; length++) {
            byte[] truncated = Arrays.copyOf(body, length);
            if (length == body.length / 2) {
                continue; // exactly the first member: a valid body
            }
            assertThatExceptionOfType(IOException.class)
                    .as("the first %d of %d bytes", length, body.length)
                    .isThrownBy(() -> readAll(new StrictGzipInputStream(new ByteArrayInputStream(truncated))));
        }
    }

    @Test
    void aDamagedMemberIsRefusedWithWhatIsWrong() throws IOException {
        byte[] whole = gzip(TEXT);
        assertRefused(new byte[0], EOFException.class, "the body is empty");
        assertRefused(TEXT, ZipException.class, "not in gzip format (bad magic bytes)");

        byte[] method = whole.clone();
        method[2] = 9;
        assertRefused(method, ZipException.class, "unsupported gzip compression method (only deflate, 8, exists)");

        byte[] reserved = whole.clone();
        reserved[3] = (byte) 0x20;
        assertRefused(reserved, ZipException.class, "reserved gzip header flags are set");

        byte[] crc = whole.clone();
        crc[whole.length - 8] ^= 1;
        assertRefused(crc, ZipException.class, "corrupt gzip data (CRC-32 mismatch)");

        byte[] size = whole.clone();
        size[whole.length - 4] ^= 1;
        assertRefused(size, ZipException.class, "corrupt gzip data (length mismatch)");

        byte[] deflate = whole.clone();
        deflate[10] = (byte) 0xFF; // block type 3, which does not exist
        assertThatExceptionOfType(ZipException.class)
                .isThrownBy(() -> readAll(new StrictGzipInputStream(new ByteArrayInputStream(deflate))))
                .withMessageStartingWith("invalid deflate data: ");
    }

    @Test
    void readsOneByteAtATimeAndFromAStreamThatGivesOneByteAtATime() throws IOException {
        byte[] body = concat(gzip(TEXT), gzip(TEXT));
        InputStream trickle = new InputStream() {
            private int next;

            @Override
            public int read() {
                return next < body.length ? body[next++] & 0xFF : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (next == body.length) {
                    return -1;
                }
                if (len == 0) {
                    return 0;
                }
                b[off] = body[next++];
                return 1;
            }
        };
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (StrictGzipInputStream in = new StrictGzipInputStream(trickle)) {
            for (int b = in.read(); b != -1; b = in.read()) {
                out.write(b);
            }
        }
        assertThat(out.toByteArray()).isEqualTo(concat(TEXT, TEXT));
    }

    private static void assertRefused(byte[] body, Class<? extends IOException> type, String message) {
        assertThatExceptionOfType(type)
                .isThrownBy(() -> readAll(new StrictGzipInputStream(new ByteArrayInputStream(body))))
                .withMessage(message);
    }

    private static byte[] readAll(InputStream in) throws IOException {
        try (in) {
            return in.readAllBytes();
        }
    }

    /** A member with the given header, then {@code data} deflated, its CRC-32 and its length. */
    private static byte[] member(byte[] header, byte[] data) {
        Deflater deflater = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
        deflater.setInput(data);
        deflater.finish();
        byte[] deflated = new byte[data.length + 64];
        int n = deflater.deflate(deflated);
        deflater.end();
        CRC32 crc = new CRC32();
        crc.update(data);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(header, 0, header.length);
        out.write(deflated, 0, n);
        for (long v : new long[] {crc.getValue(), data.length}) {
            for (int i = 0; i < 4; i++) {
                out.write((int) (v >>> (8 * i)) & 0xFF);
            }
        }
        return out.toByteArray();
    }
}
