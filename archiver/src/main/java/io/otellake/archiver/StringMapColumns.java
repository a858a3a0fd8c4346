package io.otellake.archiver;

import io.otellake.schemas.AttributeMap;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.parquet.bytes.BytesInput;
import org.apache.parquet.bytes.BytesUtils;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.column.Encoding;
import org.apache.parquet.column.ParquetProperties;
import org.apache.parquet.column.page.DictionaryPage;
import org.apache.parquet.column.page.PageWriter;
import org.apache.parquet.column.statistics.Statistics;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.PrimitiveComparator;
import org.apache.parquet.schema.PrimitiveType;
import org.jspecify.annotations.Nullable;

/**
 * The two columns ({@code key_value.key}, {@code key_value.value}) of one top-level map of strings, such as {@code
 * resource_attributes} or {@code attributes}, for one row group: dictionary-encoded data pages of format version 1
 * with a plain fallback, written straight to parquet-mr's page writers instead of through its column writers, which
 * spend about 40 ns on every value (levels, dictionary, statistics, one virtual call after another).
 *
 * <p>Levels and ids are encoded a page at a time by {@link HybridRle}, into the bytes parquet-mr's encoder writes
 * value by value.
 *
 * <p>The point is the maps that repeat as the same object. A request's resource attributes are one {@link
 * AttributeMap} shared by all its spans or log records (24 entries as the OpenTelemetry Java agent sends them), and
 * {@code AttributeMap}s never change once built, so the dictionary ids, sizes and the smallest and largest key and
 * value of such a map are worked out once and then appended for every row that carries it, as a copy of two int
 * arrays. Any other map is written entry by entry through a dictionary keyed by the {@code String} (whose hash the
 * string keeps), and a page's statistics look at each distinct value once.
 *
 * <p>Guarantee: the columns hold the same values, levels, null counts and statistics as parquet-mr's column writers
 * would write, in the same encodings (RLE levels; {@code PLAIN_DICTIONARY} ids in the RLE/bit-packed hybrid with the
 * bit width of the dictionary so far, as parquet-mr writes them; a plain dictionary page of the entries the pages
 * use; plain values once the dictionary outgrows its limit, or from the first page when the dictionary does not make
 * that page smaller, as parquet-mr decides). Pages end at row boundaries, after {@code pageRowCountLimit} rows or when
 * a column's page holds about the page size (parquet-mr's own estimate: four bytes per dictionary id), so page
 * boundaries may fall at other rows than parquet-mr's; every reader finds them from the page headers. {@code
 * StringMapColumnsTest} compares the statistics with parquet-mr's writers' and reads every row back with parquet-mr
 * and DuckDB, as {@code ColumnRowWriterTest} does for whole files of every signal.
 */
final class StringMapColumns {
    /** A power of two: the maps remembered, by identity. */
    private static final int CACHE_SLOTS = 64;

    private final Column keys;
    private final Column values;
    /** The definition level of a map's entries. */
    private final int entryDefinition;

    /** The bit width of the definition levels (that of the repetition levels is 1). */
    private final int definitionBits;

    /** The page's repetition levels, then its definition levels, while they are encoded. */
    private int[] levels = new int[1024];

    /** The levels' encoding: RLE, with the length before them, as in a version 1 data page. */
    private final HybridRle levelBytes = new HybridRle();

    private final int pageRowCountLimit;
    private final int pageBytes;

    /** Per row of the current page: its number of entries, or {@code -1 - d} for a null at definition level d. */
    private int[] rows = new int[1024];

    private int rowCount;
    private int valueCount;

    private final Object[] cachedMaps = new Object[CACHE_SLOTS];
    private final CachedMap[] cached = new CachedMap[CACHE_SLOTS];

    StringMapColumns(
            ColumnDescriptor key,
            ColumnDescriptor value,
            PageWriter keyPages,
            PageWriter valuePages,
            ParquetProperties props,
            int keyDictionaryBytes,
            int valueDictionaryBytes) {
        if (key.getMaxDefinitionLevel() != value.getMaxDefinitionLevel()
                || key.getMaxRepetitionLevel() != 1
                || value.getMaxRepetitionLevel() != 1) {
            throw new IllegalArgumentException("not the columns of a top-level map: " + key + ", " + value);
        }
        this.entryDefinition = key.getMaxDefinitionLevel();
        this.keys = new Column(key, keyPages, props, keyDictionaryBytes);
        this.values = new Column(value, valuePages, props, valueDictionaryBytes);
        this.definitionBits = BytesUtils.getWidthFromMaxInt(entryDefinition);
        this.pageRowCountLimit = props.getPageRowCountLimit();
        this.pageBytes = props.getPageSizeThreshold();
    }

    /** A row whose map holds entries; keys and values are {@code String}s or other {@code CharSequence}s. */
    void writeEntries(Map<?, ?> map) {
        int n = map.size();
        CachedMap hit = null;
        int slot = 0;
        if (map instanceof AttributeMap) {
            slot = System.identityHashCode(map) & (CACHE_SLOTS - 1);
            if (cachedMaps[slot] == map) {
                hit = cached[slot];
            }
        }
        if (hit != null && !keys.plain && !values.plain) {
            keys.appendIds(hit.keyIds(), hit.keys());
            values.appendIds(hit.valueIds(), hit.values());
        } else if (map instanceof AttributeMap attributes) {
            // By position, without an entry object for each. A map is remembered the second time it comes: most maps
            // (a span's own attributes) come once, and their ids and summaries would only be garbage.
            if (cachedMaps[slot] == map && !keys.plain && !values.plain) {
                int[] keyIds = new int[n];
                int[] valueIds = new int[n];
                for (int i = 0; i < n; i++) {
                    keyIds[i] = keys.add(attributes.keyAt(i));
                    valueIds[i] = values.add(attributes.valueAt(i));
                }
                if (!keys.plain && !values.plain) {
                    cached[slot] = new CachedMap(keyIds, valueIds, keys.summarize(keyIds), values.summarize(valueIds));
                }
            } else {
                for (int i = 0; i < n; i++) {
                    keys.add(attributes.keyAt(i));
                    values.add(attributes.valueAt(i));
                }
                cachedMaps[slot] = map;
                cached[slot] = null; // seen once
            }
        } else {
            int i = 0;
            for (Map.Entry<?, ?> e : map.entrySet()) {
                if (i == n) {
                    throw new IllegalStateException("a map changed while it was written");
                }
                keys.add(text(e.getKey(), "key"));
                values.add(text(e.getValue(), "value"));
                i++;
            }
            if (i != n) {
                throw new IllegalStateException("a map changed while it was written");
            }
        }
        addRow(n);
        valueCount += n;
    }

    /** A row whose map is empty ({@code d} is the map's own level) or null ({@code d} one less). */
    void writeNull(int d) {
        keys.nulls++;
        values.nulls++;
        addRow(-1 - d);
        valueCount++;
    }

    private static String text(@Nullable Object o, String what) {
        if (o == null) {
            throw new RuntimeException("Null-value for required field: " + what);
        }
        return o instanceof String s ? s : o.toString();
    }

    private void addRow(int code) {
        if (rowCount == rows.length) {
            rows = Arrays.copyOf(rows, rowCount * 2);
        }
        rows[rowCount++] = code;
    }

    /** Ends a row: writes the page when it is full. */
    void endRecord() throws IOException {
        if (rowCount >= pageRowCountLimit
                || keys.pageBufferedBytes() >= pageBytes
                || values.pageBufferedBytes() >= pageBytes) {
            writePage();
        }
    }

    /** The bytes held for this row group: pages written (compressed), and the page being filled. */
    long bufferedSize() {
        return keys.pages.getMemSize()
                + values.pages.getMemSize()
                + keys.pageBufferedBytes()
                + values.pageBufferedBytes()
                + rowCount / 4L;
    }

    /** Writes the last page and the dictionary pages; the end of the row group. */
    void flush() throws IOException {
        if (rowCount > 0) {
            writePage();
        }
        keys.writeDictionaryPage();
        values.writeDictionaryPage();
    }

    private void writePage() throws IOException {
        // both pages carry the same levels; the page writer compresses each page before it returns
        if (levels.length < valueCount) {
            levels = new int[Math.max(valueCount, levels.length * 2)];
        }
        int n = 0;
        for (int i = 0; i < rowCount; i++) {
            int code = rows[i];
            levels[n++] = 0;
            for (int j = 1; j < code; j++) {
                levels[n++] = 1;
            }
        }
        BytesInput r = levelBytes(n, 1);
        n = 0;
        for (int i = 0; i < rowCount; i++) {
            int code = rows[i];
            if (code > 0) {
                Arrays.fill(levels, n, n + code, entryDefinition);
                n += code;
            } else {
                levels[n++] = -1 - code;
            }
        }
        BytesInput d = levelBytes(n, definitionBits);
        keys.writePage(r, d, Encoding.RLE, Encoding.RLE, valueCount, rowCount);
        values.writePage(r, d, Encoding.RLE, Encoding.RLE, valueCount, rowCount);
        rowCount = 0;
        valueCount = 0;
    }

    /** The first {@code n} levels as parquet-mr's level writers write them: a 4-byte length, then the RLE hybrid. */
    private BytesInput levelBytes(int n, int bitWidth) {
        levelBytes.clear();
        levelBytes.appendIntLittleEndian(0);
        levelBytes.encode(levels, n, bitWidth);
        levelBytes.putIntLittleEndian(0, levelBytes.length() - 4);
        return BytesInput.from(levelBytes.toByteArray());
    }

    /** What a remembered map appends to the two columns. */
    private record CachedMap(int[] keyIds, int[] valueIds, Summary keys, Summary values) {}

    /** Of a map's keys or values: what they take plain, the smallest and the largest. */
    private record Summary(long raw, Binary min, Binary max) {}

    /**
     * The dictionary's ids by text: an open-addressing table of the strings and their ids, without the entry object and
     * boxed id a {@code HashMap} makes for each new value (most values of span attributes are new: URLs with ids in
     * them). Uses the hash each {@code String} keeps.
     */
    static final class TextIds {
        private String[] texts = new String[1024];
        /** Per slot, the text's hash in the high half and its id in the low: most probes read only this. */
        private long[] hashAndId = new long[1024];

        private int size;

        /** The id of {@code s}, or -1. */
        int get(String s) {
            int mask = texts.length - 1;
            int hash = s.hashCode();
            for (int i = mix(hash) & mask; ; i = (i + 1) & mask) {
                long entry = hashAndId[i];
                if (entry == 0) {
                    return -1;
                }
                if ((int) (entry >>> 32) == hash) {
                    String t = texts[i];
                    if (t == s) {
                        return (int) entry - 1;
                    }
                    if (t.equals(s)) {
                        // keep the newer of two equal texts: the rows of one request share its instance, so the
                        // next look-ups of it end at the identity check
                        texts[i] = s;
                        return (int) entry - 1;
                    }
                }
            }
        }

        /** Adds {@code s}, which is not there yet, with its id. */
        void put(String s, int id) {
            if ((size + 1) * 2 > texts.length) {
                grow();
            }
            insert(s, id);
            size++;
        }

        private void insert(String s, int id) {
            int mask = texts.length - 1;
            int hash = s.hashCode();
            int i = mix(hash) & mask;
            while (hashAndId[i] != 0) {
                i = (i + 1) & mask;
            }
            texts[i] = s;
            hashAndId[i] = (long) hash << 32 | (id + 1L); // never 0, the mark of an empty slot
        }

        private void grow() {
            String[] oldTexts = texts;
            long[] oldEntries = hashAndId;
            texts = new String[oldTexts.length * 2];
            hashAndId = new long[oldEntries.length * 2];
            for (int i = 0; i < oldTexts.length; i++) {
                if (oldEntries[i] != 0) {
                    insert(oldTexts[i], (int) oldEntries[i] - 1);
                }
            }
        }

        /** Spreads the hash's bits, so that hashes that differ only in their high bits do not collide in a run. */
        private static int mix(int h) {
            h *= 0x9e3779b9;
            return h ^ (h >>> 16);
        }
    }

    /** One of the two columns: its dictionary, and the values of the page being filled. */
    private static final class Column {
        final PageWriter pages;
        final PrimitiveType type;
        final PrimitiveComparator<Binary> comparator;
        final boolean statistics;
        final int maxDictionaryBytes;
        final HybridRle idBytes = new HybridRle();

        final TextIds ids = new TextIds();
        final List<Binary> entries = new ArrayList<>();
        long dictionaryBytes;
        /** The entries the dictionary-encoded pages written so far refer to: the dictionary page holds these. */
        int usedDictionarySize;
        /** Once true, for the rest of the row group: values are plain and the dictionary no longer grows. */
        boolean plain;

        boolean firstPage = true;
        /** Per dictionary id, the last page whose statistics have seen it. */
        int[] seenInPage = new int[256];

        int page = 1;

        // the page being filled
        int[] pageIds = new int[1024];
        int idCount;
        byte[] plainBytes = new byte[0];
        int plainLength;
        /** What the page's values take plain (a 4-byte length and the bytes each): parquet-mr's measure. */
        long rawBytes;

        long nulls;

        @Nullable
        Binary min;

        @Nullable
        Binary max;

        Column(ColumnDescriptor descriptor, PageWriter pages, ParquetProperties props, int maxDictionaryBytes) {
            this.pages = pages;
            this.type = descriptor.getPrimitiveType();
            this.comparator = type.comparator();
            this.statistics = props.getStatisticsEnabled(descriptor);
            this.maxDictionaryBytes = maxDictionaryBytes;
            if (!props.isDictionaryEnabled(descriptor)
                    || props.getWriterVersion() != ParquetProperties.WriterVersion.PARQUET_1_0) {
                throw new IllegalArgumentException("not a dictionary column of format version 1: " + descriptor);
            }
            if (type.getPrimitiveTypeName() != PrimitiveType.PrimitiveTypeName.BINARY) {
                throw new IllegalArgumentException("not a column of strings: " + descriptor);
            }
        }

        /** Appends a value; returns its dictionary id, or -1 once the column is plain. */
        int add(String s) {
            if (plain) {
                // no look-up in the dictionary: once it has outgrown its limit, most values are new to it, and hashing
                // one costs as much as encoding it
                Binary b = Binary.fromConstantByteArray(s.getBytes(StandardCharsets.UTF_8));
                appendPlain(b);
                see(b);
                rawBytes += 4L + b.length();
                return -1;
            }
            int known = ids.get(s);
            int id;
            Binary b;
            if (known < 0) {
                b = Binary.fromConstantByteArray(s.getBytes(StandardCharsets.UTF_8));
                id = entries.size();
                ids.put(s, id);
                entries.add(b);
                dictionaryBytes += 4L + b.length();
                if (id == seenInPage.length) {
                    seenInPage = Arrays.copyOf(seenInPage, id * 2);
                }
            } else {
                id = known;
                b = entries.get(id);
            }
            if (idCount == pageIds.length) {
                pageIds = Arrays.copyOf(pageIds, idCount * 2);
            }
            pageIds[idCount++] = id;
            rawBytes += 4L + b.length();
            if (seenInPage[id] != page) {
                seenInPage[id] = page;
                see(b);
            }
            if (dictionaryBytes > maxDictionaryBytes) {
                fallBack();
            }
            return id;
        }

        /** The ids of a remembered map, with what they take plain and their smallest and largest value. */
        void appendIds(int[] add, Summary summary) {
            int n = add.length;
            if (idCount + n > pageIds.length) {
                pageIds = Arrays.copyOf(pageIds, Math.max(pageIds.length * 2, idCount + n));
            }
            System.arraycopy(add, 0, pageIds, idCount, n);
            idCount += n;
            rawBytes += summary.raw();
            see(summary.min());
            see(summary.max());
        }

        /** What the entries of these ids take plain, and the smallest and largest of them. */
        Summary summarize(int[] idsOfMap) {
            long raw = 0;
            Binary lo = null;
            Binary hi = null;
            for (int id : idsOfMap) {
                Binary b = entries.get(id);
                raw += 4L + b.length();
                if (lo == null || comparator.compare(b, lo) < 0) {
                    lo = b;
                }
                if (hi == null || comparator.compare(b, hi) > 0) {
                    hi = b;
                }
            }
            return new Summary(raw, lo, hi);
        }

        private void see(Binary b) {
            if (!statistics) {
                return;
            }
            if (min == null || comparator.compare(b, min) < 0) {
                min = b;
            }
            if (max == null || comparator.compare(b, max) > 0) {
                max = b;
            }
        }

        long pageBufferedBytes() {
            return plain ? plainLength : idCount * 4L;
        }

        /** The page's values and all that follow are plain; pages written before keep the dictionary. */
        private void fallBack() {
            plain = true;
            for (int i = 0; i < idCount; i++) {
                appendPlain(entries.get(pageIds[i]));
            }
            idCount = 0;
        }

        private void appendPlain(Binary b) {
            int n = b.length();
            if (plainLength + 4 + n > plainBytes.length) {
                plainBytes = Arrays.copyOf(plainBytes, Math.max(plainBytes.length * 2, plainLength + 4 + n + 1024));
            }
            plainLength = putPlain(plainBytes, plainLength, b);
        }

        /** Puts {@code b} at {@code at} as PLAIN encodes a BYTE_ARRAY (a 4-byte little-endian length, the bytes). */
        private static int putPlain(byte[] to, int at, Binary b) {
            int n = b.length();
            to[at] = (byte) n;
            to[at + 1] = (byte) (n >>> 8);
            to[at + 2] = (byte) (n >>> 16);
            to[at + 3] = (byte) (n >>> 24);
            System.arraycopy(b.getBytesUnsafe(), 0, to, at + 4, n);
            return at + 4 + n;
        }

        void writePage(BytesInput r, BytesInput d, Encoding rEncoding, Encoding dEncoding, int valueCount, int rowCount)
                throws IOException {
            BytesInput data;
            Encoding encoding;
            if (!plain) {
                BytesInput ids = encodedIds();
                if (firstPage && ids.size() + dictionaryBytes >= rawBytes) {
                    // parquet-mr's test on the first page: a dictionary that does not pay for itself is dropped
                    fallBack();
                    data = BytesInput.from(Arrays.copyOf(plainBytes, plainLength));
                    encoding = Encoding.PLAIN;
                } else {
                    data = ids;
                    encoding = Encoding.PLAIN_DICTIONARY;
                    usedDictionarySize = entries.size();
                }
            } else {
                data = BytesInput.from(Arrays.copyOf(plainBytes, plainLength));
                encoding = Encoding.PLAIN;
            }
            firstPage = false;
            Statistics<?> stats = statistics ? Statistics.createStats(type) : Statistics.noopStats(type);
            if (min != null) {
                stats.updateStats(min);
                stats.updateStats(max);
            }
            stats.incrementNumNulls(nulls);
            pages.writePage(BytesInput.concat(r, d, data), valueCount, rowCount, stats, rEncoding, dEncoding, encoding);
            idCount = 0;
            plainLength = 0;
            rawBytes = 0;
            nulls = 0;
            min = null;
            max = null;
            page++;
        }

        /** The page's ids as parquet-mr's dictionary writer encodes them: the bit width, then the RLE hybrid. */
        private BytesInput encodedIds() {
            int bitWidth = BytesUtils.getWidthFromMaxInt(entries.size() - 1);
            idBytes.clear();
            idBytes.appendByte(bitWidth);
            idBytes.encode(pageIds, idCount, bitWidth);
            return BytesInput.from(idBytes.toByteArray());
        }

        /** The entries the dictionary-encoded pages use, plain, as parquet-mr writes a dictionary page. */
        void writeDictionaryPage() throws IOException {
            if (usedDictionarySize == 0) {
                return;
            }
            int size = 0;
            for (int i = 0; i < usedDictionarySize; i++) {
                size += 4 + entries.get(i).length();
            }
            byte[] out = new byte[size];
            int at = 0;
            for (int i = 0; i < usedDictionarySize; i++) {
                at = putPlain(out, at, entries.get(i));
            }
            pages.writeDictionaryPage(
                    new DictionaryPage(BytesInput.from(out), usedDictionarySize, Encoding.PLAIN_DICTIONARY));
        }
    }
}
