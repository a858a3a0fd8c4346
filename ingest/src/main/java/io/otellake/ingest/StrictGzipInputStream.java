package io.otellake.ingest;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import java.util.zip.ZipException;

/**
 * Decompresses a gzip body (RFC 1952): one or more members, each checked against its CRC-32 and length, and nothing
 * else.
 *
 * <p>Guarantee: either every byte of the body belongs to a whole, valid member and the stream yields their data, or
 * reading fails: {@link EOFException} when the body ends inside a member, {@link ZipException} for anything else.
 * {@link java.util.zip.GZIPInputStream} stops silently at the first bytes after a member that do not start a valid
 * member header, so a body of two members whose second is damaged lost the second's data without an error, and the
 * client was told its whole request was taken.
 */
final class StrictGzipInputStream extends InputStream {
    private static final int FHCRC = 2;
    private static final int FEXTRA = 4;
    private static final int FNAME = 8;
    private static final int FCOMMENT = 16;
    private static final int RESERVED_FLAGS = 0xE0;

    private final InputStream in;
    private final byte[] buffer = new byte[8192];
    private int position;
    private int limit;
    private final Inflater inflater = new Inflater(true);
    private final CRC32 crc = new CRC32();
    private final CRC32 headerCrc = new CRC32();
    private int members;
    private boolean inMember;
    private boolean ended;
    private boolean closed;

    /** Reads nothing yet: a gRPC decompressor must not fail before the message is read. */
    StrictGzipInputStream(InputStream in) {
        this.in = in;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) == -1 ? -1 : one[0] & 0xFF;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (closed) {
            throw new IOException("the stream is closed");
        }
        if (len == 0) {
            return 0;
        }
        while (!ended) {
            if (!inMember) {
                nextMemberOrEnd();
                continue;
            }
            int n;
            try {
                n = inflater.inflate(b, off, len);
            } catch (DataFormatException e) {
                throw new ZipException("invalid deflate data: " + e.getMessage());
            }
            if (n > 0) {
                crc.update(b, off, n);
                return n;
            }
            if (inflater.finished()) {
                position = limit - inflater.getRemaining();
                readTrailer();
                inMember = false;
            } else if (inflater.needsDictionary()) {
                throw new ZipException("the deflate data asks for a preset dictionary, which gzip does not have");
            } else if (inflater.needsInput()) {
                if (!fill()) {
                    throw new EOFException("the body ends inside a gzip member");
                }
                inflater.setInput(buffer, position, limit - position);
                position = limit;
            }
        }
        return -1;
    }

    @Override
    public void close() throws IOException {
        if (!closed) {
            closed = true;
            inflater.end();
            in.close();
        }
    }

    /** Frees the inflater's native memory now, leaving the underlying stream open; the stream reads no more. */
    void end() {
        if (!closed) {
            closed = true;
            inflater.end();
        }
    }

    /** The first member's header; after a member, the end of the body or the header of another member. */
    private void nextMemberOrEnd() throws IOException {
        if (position == limit && !fill()) {
            if (members == 0) {
                throw new EOFException("the body is empty");
            }
            ended = true;
            return;
        }
        readHeader();
    }

    private void readHeader() throws IOException {
        headerCrc.reset();
        if (headerByte() != 0x1F || headerByte() != 0x8B) {
            throw new ZipException(
                    members > 0 ? "data after the end of the gzip stream" : "not in gzip format (bad magic bytes)");
        }
        if (headerByte() != 8) {
            throw new ZipException("unsupported gzip compression method (only deflate, 8, exists)");
        }
        int flags = headerByte();
        if ((flags & RESERVED_FLAGS) != 0) {
            throw new ZipException("reserved gzip header flags are set");
        }
        for (int i = 0; i < 6; i++) {
            headerByte(); // modification time, extra flags, operating system
        }
        if ((flags & FEXTRA) != 0) {
            int length = headerByte() | headerByte() << 8;
            for (int i = 0; i < length; i++) {
                headerByte();
            }
        }
        if ((flags & FNAME) != 0) {
            while (headerByte() != 0) {
                // the original file name, zero-terminated
            }
        }
        if ((flags & FCOMMENT) != 0) {
            while (headerByte() != 0) {
                // a comment, zero-terminated
            }
        }
        if ((flags & FHCRC) != 0) {
            int expected = (int) headerCrc.getValue() & 0xFFFF;
            if ((byte_() | byte_() << 8) != expected) {
                throw new ZipException("corrupt gzip header (header CRC mismatch)");
            }
        }
        inflater.reset();
        crc.reset();
        inflater.setInput(buffer, position, limit - position);
        position = limit;
        inMember = true;
        members++;
    }

    private void readTrailer() throws IOException {
        long expectedCrc = uint32();
        long expectedSize = uint32();
        if (expectedCrc != crc.getValue()) {
            throw new ZipException("corrupt gzip data (CRC-32 mismatch)");
        }
        if (expectedSize != (inflater.getBytesWritten() & 0xFFFF_FFFFL)) {
            throw new ZipException("corrupt gzip data (length mismatch)");
        }
    }

    private long uint32() throws IOException {
        return (byte_() | byte_() << 8 | byte_() << 16 | (long) byte_() << 24) & 0xFFFF_FFFFL;
    }

    private int headerByte() throws IOException {
        int b = byte_();
        headerCrc.update(b);
        return b;
    }

    private int byte_() throws IOException {
        if (position == limit && !fill()) {
            throw new EOFException("the body ends inside a gzip member");
        }
        return buffer[position++] & 0xFF;
    }

    /** Reads more of the body into the buffer; false at its end. */
    private boolean fill() throws IOException {
        int n;
        do {
            n = in.read(buffer, 0, buffer.length);
        } while (n == 0);
        if (n < 0) {
            return false;
        }
        position = 0;
        limit = n;
        return true;
    }
}
