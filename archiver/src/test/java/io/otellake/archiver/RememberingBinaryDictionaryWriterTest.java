package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.column.ParquetProperties;
import org.apache.parquet.column.page.DictionaryPage;
import org.apache.parquet.column.values.ValuesWriter;
import org.apache.parquet.column.values.factory.DefaultValuesWriterFactory;
import org.apache.parquet.column.values.factory.ValuesWriterFactory;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Types;
import org.junit.jupiter.api.Test;

/**
 * {@link RememberingBinaryDictionaryWriter}, driven as a column writer drives it (values, pages, dictionary pages,
 * new dictionaries), next to the writer parquet-mr's default factory builds, which must give the same bytes, sizes
 * and encodings at every step.
 */
class RememberingBinaryDictionaryWriterTest {
    private static final ColumnDescriptor COLUMN = new ColumnDescriptor(
            new String[] {"name"},
            Types.required(PrimitiveType.PrimitiveTypeName.BINARY)
                    .as(LogicalTypeAnnotation.stringType())
                    .named("name"),
            0,
            0);

    @Test
    void givesParquetMrsBytesForRepeatsAlternationReusedBytesFallbackAndNewDictionaries() throws Exception {
        for (long seed = 0; seed < 20; seed++) {
            compare(seed);
        }
    }

    @Test
    void theFactoryGivesTheDefaultWritersForEverythingElse() {
        ValuesWriterFactory factory = factory(new RememberingBinaryDictionaryWriter.Factory(), 1024);
        ValuesWriterFactory defaults = factory(new DefaultValuesWriterFactory(), 1024);
        ColumnDescriptor longs = new ColumnDescriptor(
                new String[] {"t"},
                Types.required(PrimitiveType.PrimitiveTypeName.INT64).named("t"),
                0,
                0);
        assertThat(factory.newValuesWriter(longs).getClass())
                .isEqualTo(defaults.newValuesWriter(longs).getClass());
        ParquetProperties noDictionary = ParquetProperties.builder()
                .withDictionaryEncoding(false)
                .withValuesWriterFactory(new RememberingBinaryDictionaryWriter.Factory())
                .build();
        assertThat(noDictionary.newValuesWriter(COLUMN).getClass())
                .isEqualTo(ParquetProperties.builder()
                        .withDictionaryEncoding(false)
                        .build()
                        .newValuesWriter(COLUMN)
                        .getClass());
    }

    private static ValuesWriterFactory factory(ValuesWriterFactory factory, int dictionaryBytes) {
        ParquetProperties props = ParquetProperties.builder()
                .withDictionaryPageSize(dictionaryBytes)
                .withValuesWriterFactory(factory)
                .build();
        return props.getValuesWriterFactory();
    }

    /**
     * Random runs of: one object again, alternation between a few objects, equal values in new objects, values that
     * share a slot ("a1", "b1", "c1"), a binary over reused bytes that change, and new values that make the
     * dictionary (2 KiB here) too big; with pages, and with chunks that end in a dictionary page and a new dictionary.
     */
    private static void compare(long seed) throws Exception {
        SplittableRandom r = new SplittableRandom(seed);
        ValuesWriter mine =
                factory(new RememberingBinaryDictionaryWriter.Factory(), 2048).newValuesWriter(COLUMN);
        ValuesWriter theirs = factory(new DefaultValuesWriterFactory(), 2048).newValuesWriter(COLUMN);
        assertThat(mine.getClass()).isEqualTo(theirs.getClass()); // both a FallbackValuesWriter
        List<Binary> pool = new ArrayList<>();
        for (String s : new String[] {"a1", "b1", "c1", "GET /api", "", "ünï ☃", "node-7"}) {
            pool.add(Binary.fromString(s));
        }
        byte[] reusedBytes = "0-reused".getBytes(StandardCharsets.UTF_8);
        Binary reused = Binary.fromReusedByteArray(reusedBytes);
        int distinct = 0;
        for (int step = 0; step < 3_000; step++) {
            Binary v;
            switch (r.nextInt(8)) {
                case 0, 1 -> v = pool.get(step % 2 == 0 ? 0 : 1 + r.nextInt(2)); // alternation in one slot
                case 2 -> v = pool.get(r.nextInt(pool.size()));
                case 3 -> v = Binary.fromString(pool.get(r.nextInt(pool.size())).toStringUsingUTF8()); // equal copy
                case 4 -> {
                    // the same object with new bytes, in the same slot (which comes from its length, last and middle)
                    reusedBytes[0] = (byte) ('0' + r.nextInt(10));
                    v = reused;
                }
                case 5 -> v = Binary.fromString("distinct-" + distinct++ + "-" + "x".repeat(r.nextInt(40)));
                default -> v = pool.get(6); // runs of one object
            }
            int repeat = 1 + r.nextInt(4);
            for (int i = 0; i < repeat; i++) {
                mine.writeBytes(v);
                theirs.writeBytes(v);
            }
            assertThat(mine.getBufferedSize()).isEqualTo(theirs.getBufferedSize());
            assertThat(mine.getAllocatedSize())
                    .as("seed %d step %d", seed, step)
                    .isEqualTo(theirs.getAllocatedSize());
            if (r.nextInt(60) == 0) { // a page ends
                assertThat(mine.getBytes().toByteArray())
                        .as("page, seed %d step %d", seed, step)
                        .isEqualTo(theirs.getBytes().toByteArray());
                assertThat(mine.getEncoding()).isEqualTo(theirs.getEncoding());
                mine.reset();
                theirs.reset();
            }
            if (r.nextInt(400) == 0) { // the column chunk ends: its dictionary page, then a new dictionary
                assertThat(mine.getBytes().toByteArray())
                        .isEqualTo(theirs.getBytes().toByteArray());
                assertThat(mine.getEncoding()).isEqualTo(theirs.getEncoding());
                mine.reset();
                theirs.reset();
                assertSameDictionaryPage(mine.toDictPageAndClose(), theirs.toDictPageAndClose(), seed, step);
                mine.resetDictionary();
                theirs.resetDictionary();
                distinct = 0; // the same values again, in a new dictionary
            }
        }
        assertThat(mine.getBytes().toByteArray()).isEqualTo(theirs.getBytes().toByteArray());
        assertThat(mine.getEncoding()).isEqualTo(theirs.getEncoding());
        assertSameDictionaryPage(mine.toDictPageAndClose(), theirs.toDictPageAndClose(), seed, -1);
    }

    private static void assertSameDictionaryPage(DictionaryPage mine, DictionaryPage theirs, long seed, int step)
            throws Exception {
        if (theirs == null) {
            assertThat(mine).isNull();
            return;
        }
        assertThat(mine.getBytes().toByteArray())
                .as("dictionary, seed %d step %d", seed, step)
                .isEqualTo(theirs.getBytes().toByteArray());
        assertThat(mine.getDictionarySize()).isEqualTo(theirs.getDictionarySize());
        assertThat(mine.getEncoding()).isEqualTo(theirs.getEncoding());
    }
}
