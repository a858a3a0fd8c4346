package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.apache.parquet.bytes.HeapByteBufferAllocator;
import org.apache.parquet.column.values.rle.RunLengthBitPackingHybridEncoder;
import org.junit.jupiter.api.Test;

/** {@link HybridRle} writes exactly the bytes parquet-mr's encoder writes for the same values. */
class HybridRleTest {
    static byte[] parquetMr(int[] values, int count, int bitWidth) throws Exception {
        try (RunLengthBitPackingHybridEncoder encoder =
                new RunLengthBitPackingHybridEncoder(bitWidth, 64, 1 << 20, new HeapByteBufferAllocator())) {
            for (int i = 0; i < count; i++) {
                encoder.writeInt(values[i]);
            }
            return encoder.toBytes().toByteArray();
        }
    }

    static byte[] ours(HybridRle rle, int[] values, int count, int bitWidth) {
        rle.clear();
        rle.encode(values, count, bitWidth);
        return rle.toByteArray();
    }

    /**
     * Runs of every length around the thresholds (7, 8, 9 repeats; 63 and 64 groups of eight), levels as maps make
     * them, ids of every bit width, and the largest value of each width.
     */
    @Test
    void sameBytesAsParquetMrForRunsGroupsAndEveryBitWidth() throws Exception {
        SplittableRandom r = new SplittableRandom(5);
        HybridRle rle = new HybridRle(); // reused, as StringMapColumns reuses it
        int cases = 0;
        for (int bitWidth = 0; bitWidth <= 32; bitWidth++) {
            long top = bitWidth == 32 ? 0xffffffffL : (1L << bitWidth) - 1;
            for (int c = 0; c < 60; c++) {
                int count =
                        switch (c % 6) {
                            case 0 -> r.nextInt(20);
                            case 1 -> 63 * 8 + r.nextInt(3) - 1;
                            case 2 -> 64 * 8 * 3 + r.nextInt(17);
                            default -> r.nextInt(5_000);
                        };
                int[] values = new int[count + r.nextInt(3)]; // the encoder reads only the first count
                int distinct = 1 + r.nextInt(c % 3 == 0 ? 2 : 40);
                int[] pool = new int[distinct];
                for (int k = 0; k < distinct; k++) {
                    pool[k] = k == 0 ? (int) top : (int) (r.nextLong() & top);
                }
                for (int i = 0; i < count; ) {
                    int run =
                            switch (r.nextInt(5)) {
                                case 0 -> 1;
                                case 1 -> 6 + r.nextInt(4); // around 8
                                case 2 -> r.nextInt(3);
                                case 3 -> 1 + r.nextInt(100);
                                default -> 1 + r.nextInt(8);
                            };
                    int v = pool[r.nextInt(distinct)];
                    for (int k = 0; k < run && i < count; k++) {
                        values[i++] = v;
                    }
                }
                assertThat(ours(rle, values, count, bitWidth))
                        .as("bit width %d, %d values", bitWidth, count)
                        .isEqualTo(parquetMr(values, count, bitWidth));
                cases++;
            }
        }
        // bit-packed runs of 63 groups and more: values that never repeat eight times
        for (int count : new int[] {503, 504, 505, 511, 512, 1008, 1009, 1016, 5000}) {
            int[] alternating = new int[count];
            for (int i = 0; i < count; i++) {
                alternating[i] = i % 5;
            }
            assertThat(ours(rle, alternating, count, 3)).isEqualTo(parquetMr(alternating, count, 3));
        }
        // repetition levels of maps of 1 to 30 entries: 0, then n - 1 ones
        int[] levels = new int[100_000];
        int n = 0;
        while (n < 99_000) {
            int entries = 1 + r.nextInt(30);
            levels[n++] = 0;
            for (int k = 1; k < entries; k++) {
                levels[n++] = 1;
            }
        }
        assertThat(ours(rle, levels, n, 1)).isEqualTo(parquetMr(levels, n, 1));
        assertThat(ours(rle, levels, 0, 1)).isEqualTo(parquetMr(levels, 0, 1)).isEmpty();
        assertThat(cases).isEqualTo(33 * 60);
    }

    @Test
    void appendsAfterWhatIsThereAndPatchesALength() throws Exception {
        HybridRle rle = new HybridRle();
        int[] values = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0};
        rle.appendByte(2);
        rle.appendIntLittleEndian(0);
        rle.encode(values, values.length, 2);
        rle.putIntLittleEndian(1, rle.length() - 5);
        byte[] encoded = parquetMr(values, values.length, 2);
        byte[] expected = new byte[5 + encoded.length];
        expected[0] = 2;
        expected[1] = (byte) encoded.length;
        System.arraycopy(encoded, 0, expected, 5, encoded.length);
        assertThat(rle.toByteArray()).isEqualTo(expected);
        assertThatThrownBy(() -> rle.encode(values, 1, 33)).isInstanceOf(IllegalArgumentException.class);
    }
}
