package io.otellake.archiver;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Parquet's RLE/bit-packed hybrid encoding of a whole array of ints at once, byte for byte as parquet-mr's {@code
 * RunLengthBitPackingHybridEncoder} writes it value by value: the same runs (a repeat of eight or more becomes an RLE
 * run, everything else groups of eight bit-packed values, at most 63 groups a run), the same padding of the last
 * group. {@link StringMapColumns} encodes its levels and dictionary ids with it, where parquet-mr's encoder, a few
 * virtual calls and a growing list of buffers for every value, took a sixth of the archiver's time for spans as the
 * OpenTelemetry Java agent sends them. {@code HybridRleTest} compares the bytes with parquet-mr's.
 *
 * <p>Appends to a buffer of its own, reused after {@link #clear()}; not for use by several threads.
 */
final class HybridRle {
    private static final VarHandle INTS = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private byte[] out = new byte[1024];
    private int length;
    private final int[] group = new int[8];

    void clear() {
        length = 0;
    }

    int length() {
        return length;
    }

    byte[] toByteArray() {
        return Arrays.copyOf(out, length);
    }

    void appendByte(int b) {
        ensure(1);
        out[length++] = (byte) b;
    }

    /** Four bytes, little-endian: the length parquet puts before the levels of a version 1 data page. */
    void appendIntLittleEndian(int v) {
        ensure(4);
        putIntLittleEndian(length, v);
        length += 4;
    }

    /** Overwrites four bytes at {@code at}, little-endian. */
    void putIntLittleEndian(int at, int v) {
        INTS.set(out, at, v);
    }

    /**
     * Appends {@code values[0, count)}, each below {@code 2^bitWidth}, as one hybrid-encoded sequence.
     *
     * <p>parquet-mr's encoder, value by value, comes down to this: a window of eight values starts at the beginning,
     * after each bit-packed group and after each RLE run; if its eight values are equal they and all equal ones after
     * them become an RLE run, otherwise they are one bit-packed group; fewer than eight at the end are a group padded
     * with zeros. So this takes eight values at a time.
     */
    void encode(int[] values, int count, int bitWidth) {
        if (bitWidth < 0 || bitWidth > 32) {
            throw new IllegalArgumentException("bit width " + bitWidth + " is not within 0..32");
        }
        int groups = 0;
        int header = -1; // where the header byte of the bit-packed run being written goes, or -1
        int i = 0;
        while (i < count) {
            int v = values[i];
            if (count - i >= 8
                    && values[i + 1] == v
                    && values[i + 2] == v
                    && values[i + 3] == v
                    && values[i + 4] == v
                    && values[i + 5] == v
                    && values[i + 6] == v
                    && values[i + 7] == v) {
                int j = i + 8;
                while (j < count && values[j] == v) {
                    j++;
                }
                header = endBitPackedRun(header, groups);
                groups = 0;
                rleRun(v, j - i, bitWidth);
                i = j;
                continue;
            }
            if (groups >= 63) {
                header = endBitPackedRun(header, groups);
                groups = 0;
            }
            if (header == -1) {
                ensure(1);
                header = length++;
            }
            if (count - i >= 8) {
                pack(values, i, bitWidth);
            } else {
                Arrays.fill(group, 0);
                System.arraycopy(values, i, group, 0, count - i);
                pack(group, 0, bitWidth);
            }
            groups++;
            i += 8;
        }
        endBitPackedRun(header, groups);
    }

    /**
     * Packs {@code values[from, from + 8)} in {@code bitWidth} bytes, least significant bit first. Up to eight bits a
     * value (levels, the ids of a small dictionary), the eight fit one long, stored whole; wider ones go four bytes at a
     * time.
     */
    private void pack(int[] values, int from, int bitWidth) {
        ensure(Math.max(bitWidth, 8));
        if (bitWidth <= 8) {
            long mask = (1L << bitWidth) - 1;
            long packed = values[from] & mask
                    | (values[from + 1] & mask) << bitWidth
                    | (values[from + 2] & mask) << 2 * bitWidth
                    | (values[from + 3] & mask) << 3 * bitWidth
                    | (values[from + 4] & mask) << 4 * bitWidth
                    | (values[from + 5] & mask) << 5 * bitWidth
                    | (values[from + 6] & mask) << 6 * bitWidth
                    | (values[from + 7] & mask) << 7 * bitWidth;
            LONGS.set(out, length, packed); // the bytes past bitWidth are written over later, or are past the end
            length += bitWidth;
            return;
        }
        long mask = bitWidth == 32 ? 0xffffffffL : (1L << bitWidth) - 1;
        long buffer = 0;
        int bits = 0;
        for (int k = from; k < from + 8; k++) {
            buffer |= (values[k] & mask) << bits;
            bits += bitWidth;
            if (bits >= 32) {
                putIntLittleEndian(length, (int) buffer);
                length += 4;
                buffer >>>= 32;
                bits -= 32;
            }
        }
        for (; bits > 0; bits -= 8) {
            out[length++] = (byte) buffer;
            buffer >>>= 8;
        }
    }

    /** Writes the header of the open bit-packed run, if one is open; returns -1, no run open. */
    private int endBitPackedRun(int header, int groups) {
        if (header != -1) {
            out[header] = (byte) ((groups << 1) | 1);
        }
        return -1;
    }

    /** An RLE run: its length (shifted, as an unsigned varint), then the value in as few whole bytes as it needs. */
    private void rleRun(int value, int repeat, int bitWidth) {
        ensure(5 + 4);
        int h = repeat << 1;
        while ((h & ~0x7f) != 0) {
            out[length++] = (byte) ((h & 0x7f) | 0x80);
            h >>>= 7;
        }
        out[length++] = (byte) h;
        for (int b = 0, bytes = (bitWidth + 7) / 8; b < bytes; b++) {
            out[length++] = (byte) (value >>> (8 * b));
        }
    }

    private void ensure(int more) {
        if (length + more > out.length) {
            out = Arrays.copyOf(out, Math.max(out.length * 2, length + more));
        }
    }
}
