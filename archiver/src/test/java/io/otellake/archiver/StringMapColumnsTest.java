package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.otellake.schemas.LakeSchema;
import io.otellake.schemas.Signal;
import io.otellake.schemas.SpanFlattener;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.apache.avro.generic.GenericRecord;
import org.apache.parquet.avro.AvroWriteSupport;
import org.apache.parquet.column.Encoding;
import org.apache.parquet.column.statistics.Statistics;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.io.LocalInputFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lake's files write their top-level maps of strings with {@link StringMapColumns} instead of parquet-mr's column
 * writers. Whatever the maps hold, parquet-mr and DuckDB must read back every row exactly, and the columns must carry
 * the statistics and make the dictionary choices parquet-mr makes for the same rows.
 */
class StringMapColumnsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] MAP_COLUMNS = {
        "resource_attributes.key_value.key",
        "resource_attributes.key_value.value",
        "resource_attribute_types.key_value.value",
        "scope_attributes.key_value.value",
        "attributes.key_value.key",
        "attributes.key_value.value",
        "attribute_types.key_value.value"
    };

    @TempDir
    Path dir;

    /** parquet-mr's column writers with its default encodings, and the lake's path. */
    private Path[] write(List<GenericRecord> rows, long rowGroupBytes) throws Exception {
        ParquetFiles.WritePath[] ways = {ParquetFiles.WritePath.COLUMNS_DEFAULT_ENCODINGS, ParquetFiles.WritePath.LAKE};
        Path[] files = new Path[ways.length];
        for (int i = 0; i < ways.length; i++) {
            files[i] = dir.resolve(ways[i] + ".parquet");
            ParquetFiles.write(
                    LakeSchema.SPAN,
                    LakeSchema.fileMetadata(Signal.TRACES, "test"),
                    0,
                    rows.iterator(),
                    files[i],
                    ways[i],
                    rowGroupBytes,
                    ParquetFiles.ZSTD_LEVEL);
        }
        return files;
    }

    private static void assertReadBackExactly(Path lake, List<GenericRecord> rows) throws Exception {
        ColumnRowWriterTest.assertReadByParquetMr(lake, LakeSchema.SPAN, rows);
        List<JsonNode> read = ColumnRowWriterTest.duckDbRows(lake, LakeSchema.SPAN);
        assertThat(read).hasSize(rows.size());
        for (int i = 0; i < rows.size(); i++) {
            JsonNode expected = JSON.readTree(JSON.writeValueAsString(ColumnRowWriterTest.expectedJson(rows.get(i))));
            assertThat(read.get(i)).as("row %d", i).isEqualTo(expected);
        }
    }

    /** The dictionary's table of ids: every text finds its own id, through growth and hash collisions, and no other. */
    @Test
    void textIdsFindEveryTextAndNoOther() {
        StringMapColumns.TextIds ids = new StringMapColumns.TextIds();
        Map<String, Integer> expected = new LinkedHashMap<>();
        SplittableRandom r = new SplittableRandom(3);
        // "Aa" and "BB" have the same hash, and so has every string made of n of them
        String[] colliding = {"Aa", "BB"};
        for (int i = 0; expected.size() < 20_000; i++) {
            String s;
            if (i % 3 == 0) {
                StringBuilder b = new StringBuilder();
                for (int k = 0; k < 8; k++) {
                    b.append(colliding[r.nextInt(2)]);
                }
                s = b.toString();
            } else {
                s = Long.toString(r.nextLong(), 36);
            }
            if (!expected.containsKey(s)) {
                assertThat(ids.get(s)).isEqualTo(-1);
                ids.put(s, expected.size());
                expected.put(s, expected.size());
            }
        }
        expected.forEach((s, id) -> assertThat(ids.get(new String(s))).as(s).isEqualTo(id));
        assertThat(ids.get("")).isEqualTo(-1);
        assertThat(ids.get("AaAaAaAaAaAaAaAaAa")).isEqualTo(-1); // the same hash as some, and not there
    }

    @Test
    void theTopLevelMapsOfStringsWriteTheirOwnColumns() {
        PlainParquetConfiguration conf = new PlainParquetConfiguration();
        conf.setBoolean(AvroWriteSupport.WRITE_OLD_LIST_STRUCTURE, false);
        ColumnRowWriter.Compiled spans =
                ColumnRowWriter.compile(ParquetFiles.parquetSchema(LakeSchema.SPAN, conf), LakeSchema.SPAN, true);
        assertThat(Arrays.stream(spans.ownMaps()).map(m -> m.name))
                .containsExactly(
                        "resource_attributes",
                        "resource_attribute_types",
                        "scope_attributes",
                        "scope_attribute_types",
                        "attributes",
                        "attribute_types");
        assertThat(spans.storeSchema().containsField("events")).isTrue();
        assertThat(spans.storeSchema().containsField("attributes")).isFalse();
        ColumnRowWriter.Compiled plain =
                ColumnRowWriter.compile(ParquetFiles.parquetSchema(LakeSchema.SPAN, conf), LakeSchema.SPAN, false);
        assertThat(plain.ownMaps()).isEmpty();
    }

    /**
     * Spans whose rows share their resource's map (the flattener hands every span of a resource the same one), with
     * empty attribute maps among them, over many pages and row groups: read back exactly, with the same min, max and
     * null count per map column as parquet-mr's writers, page by page (the column index) and over the file.
     */
    @Test
    void sharedMapsOverManyPagesAndRowGroupsReadBackWithParquetMrsStatistics() throws Exception {
        List<GenericRecord> rows =
                ColumnRowWriterTest.records(SpanFlattener.flatten(ColumnRowWriterTest.spans(50_000, 6)));
        assertThat(rows.stream()
                        .map(r -> r.get("resource_attributes"))
                        .distinct()
                        .count())
                .isLessThan(rows.size() / 1000);
        assertThat(rows).anyMatch(r -> ((Map<?, ?>) r.get("attributes")).isEmpty());
        // row groups of 2 MiB: several of them; of 64 MiB: one, with pages of 20,000 rows
        for (long rowGroupBytes : new long[] {2 << 20, 64 << 20}) {
            Path[] files = write(rows, rowGroupBytes);

            assertReadBackExactly(files[1], rows);
            try (ParquetFileReader lake = ParquetFileReader.open(new LocalInputFile(files[1]));
                    ParquetFileReader mr = ParquetFileReader.open(new LocalInputFile(files[0]))) {
                List<BlockMetaData> blocks = lake.getFooter().getBlocks();
                if (rowGroupBytes == 2 << 20) {
                    assertThat(blocks).hasSizeGreaterThan(2);
                } else {
                    assertThat(blocks).hasSize(1);
                }
                for (String column : MAP_COLUMNS) {
                    assertThat(fileStatistics(lake, column)).as(column).isEqualTo(fileStatistics(mr, column));
                    ColumnChunkMetaData first = chunk(blocks.get(0), column);
                    assertThat(first.getEncodings()).as(column).contains(Encoding.PLAIN_DICTIONARY);
                    // each page with its own statistics in the column index
                    var index = lake.readColumnIndex(first);
                    if (rowGroupBytes != 2 << 20) {
                        assertThat(index.getMinValues()).as(column).hasSize(3);
                    }
                    assertThat(index.getNullCounts().stream()
                                    .mapToLong(Long::longValue)
                                    .sum())
                            .isEqualTo(first.getStatistics().getNumNulls());
                }
            }
        }
    }

    /**
     * Attribute values that outgrow the 8 MiB dictionary in the middle of a row group: the pages written before keep
     * it, the rest of the chunk is plain, as parquet-mr does it.
     */
    @Test
    void attributeValuesThatOutgrowTheDictionaryFallBackToPlainForTheRestOfTheChunk() throws Exception {
        List<GenericRecord> rows =
                ColumnRowWriterTest.records(SpanFlattener.flatten(ColumnRowWriterTest.spans(27_000, 8)));
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 22_000; i < rows.size(); i++) {
            Map<String, String> attributes = new LinkedHashMap<>();
            attributes.put("http.route", "/a/" + (i % 3));
            attributes.put("payload", i + ":" + Long.toHexString(r.nextLong()).repeat(256)); // about 4 KiB, unique
            rows.get(i).put("attributes", attributes);
            rows.get(i).put("attribute_types", Map.of());
        }
        Path[] files = write(rows, 256 << 20);

        assertReadBackExactly(files[1], rows);
        try (ParquetFileReader lake = ParquetFileReader.open(new LocalInputFile(files[1]));
                ParquetFileReader mr = ParquetFileReader.open(new LocalInputFile(files[0]))) {
            assertThat(lake.getFooter().getBlocks()).hasSize(1);
            ColumnChunkMetaData values = chunk(lake.getFooter().getBlocks().get(0), "attributes.key_value.value");
            assertThat(values.getEncodings()).contains(Encoding.PLAIN_DICTIONARY, Encoding.PLAIN);
            assertThat(values.getDictionaryPageOffset()).isPositive();
            ColumnChunkMetaData keys = chunk(lake.getFooter().getBlocks().get(0), "attributes.key_value.key");
            assertThat(keys.getEncodings()).doesNotContain(Encoding.PLAIN);
            for (String column : MAP_COLUMNS) {
                assertThat(fileStatistics(lake, column)).as(column).isEqualTo(fileStatistics(mr, column));
            }
        }
    }

    /**
     * Values that never repeat: the dictionary does not make the first page smaller, so the column is plain from the
     * start, with no dictionary page, as parquet-mr decides on the same rows.
     */
    @Test
    void aDictionaryThatDoesNotShrinkTheFirstPageIsDroppedAsParquetMrDropsIt() throws Exception {
        List<GenericRecord> rows =
                ColumnRowWriterTest.records(SpanFlattener.flatten(ColumnRowWriterTest.spans(3_000, 9)));
        SplittableRandom r = new SplittableRandom(4);
        for (GenericRecord row : rows) {
            row.put(
                    "attributes",
                    Map.of("request.id", Long.toHexString(r.nextLong()) + Long.toHexString(r.nextLong())));
            row.put("attribute_types", Map.of());
        }
        Path[] files = write(rows, 256 << 20);

        assertReadBackExactly(files[1], rows);
        try (ParquetFileReader lake = ParquetFileReader.open(new LocalInputFile(files[1]));
                ParquetFileReader mr = ParquetFileReader.open(new LocalInputFile(files[0]))) {
            for (String column : List.of("attributes.key_value.key", "attributes.key_value.value")) {
                Set<Encoding> mine =
                        chunk(lake.getFooter().getBlocks().get(0), column).getEncodings();
                assertThat(mine)
                        .isEqualTo(
                                chunk(mr.getFooter().getBlocks().get(0), column).getEncodings());
            }
            assertThat(chunk(lake.getFooter().getBlocks().get(0), "attributes.key_value.value")
                            .getEncodings())
                    .contains(Encoding.PLAIN)
                    .doesNotContain(Encoding.PLAIN_DICTIONARY);
        }
    }

    private static ColumnChunkMetaData chunk(BlockMetaData block, String column) {
        return block.getColumns().stream()
                .filter(c -> c.getPath().toDotString().equals(column))
                .findFirst()
                .orElseThrow();
    }

    /** A column's min, max and null count over the whole file, as text. */
    private static List<Object> fileStatistics(ParquetFileReader reader, String column) {
        Statistics<?> all = null;
        for (BlockMetaData block : reader.getFooter().getBlocks()) {
            Statistics<?> s = chunk(block, column).getStatistics();
            if (all == null) {
                all = s.copy();
            } else {
                all.mergeStatistics(s);
            }
        }
        List<Object> out = new ArrayList<>();
        out.add(all.hasNonNullValue() ? all.minAsString() : null);
        out.add(all.hasNonNullValue() ? all.maxAsString() : null);
        out.add(all.getNumNulls());
        return out;
    }
}
