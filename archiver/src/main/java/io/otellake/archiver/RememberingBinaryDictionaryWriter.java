package io.otellake.archiver;

import java.util.Arrays;
import org.apache.parquet.bytes.ByteBufferAllocator;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.column.Encoding;
import org.apache.parquet.column.ParquetProperties;
import org.apache.parquet.column.values.ValuesWriter;
import org.apache.parquet.column.values.dictionary.DictionaryValuesWriter.PlainBinaryDictionaryValuesWriter;
import org.apache.parquet.column.values.factory.DefaultValuesWriterFactory;
import org.apache.parquet.column.values.factory.ValuesWriterFactory;
import org.apache.parquet.column.values.fallback.FallbackValuesWriter;
import org.apache.parquet.column.values.plain.PlainValuesWriter;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.PrimitiveType;

/**
 * parquet-mr's dictionary writer of a string column, which also remembers the dictionary ids of the last binaries it
 * was given, by identity: when the very same {@link Binary} object comes again, it appends the remembered id instead
 * of looking the value up in the dictionary, which hashes all its bytes ({@code Binary.hashCode} is not cached) and
 * compares them again byte by byte with the entry it finds, even when that entry is the same object.
 *
 * <p>The output is parquet-mr's own, byte for byte: the same ids in the same order, the same dictionary, the same
 * sizes for the page, dictionary and fallback checks. A dictionary id never changes while its entry is in the
 * dictionary, and the remembered ids are forgotten whenever the dictionary is cleared (a new row group, or a fallback
 * to plain encoding on the first page). Only binaries over constant bytes are remembered: one that reuses its bytes
 * may hold other bytes the next time it comes.
 *
 * <p>Values repeat as the same object because {@link ColumnRowWriter}'s string columns keep the binaries of recent
 * values, and the flatteners share the resource and scope values between the rows of a scope: attribute keys, service
 * names, routes, status codes and most resource columns are found here. For spans that took about a tenth off the CPU
 * of writing a file (an A/B of {@code ParquetFiles.write} alone, over the same sorted rows).
 */
final class RememberingBinaryDictionaryWriter extends PlainBinaryDictionaryValuesWriter {
    /** A power of two; slots come from a value's length and two of its bytes, as in {@code ColumnRowWriter}. */
    private static final int SLOTS = 64;

    private final Binary[] binaries = new Binary[SLOTS];
    private final int[] ids = new int[SLOTS];

    RememberingBinaryDictionaryWriter(
            int maxDictionaryByteSize, Encoding dataPage, Encoding dictionaryPage, ByteBufferAllocator allocator) {
        super(maxDictionaryByteSize, dataPage, dictionaryPage, allocator);
    }

    @Override
    public void writeBytes(Binary v) {
        if (v.isBackingBytesReused()) {
            super.writeBytes(v);
            return;
        }
        int slot = slot(v);
        if (binaries[slot] == v) {
            encodedValues.add(ids[slot]);
            return;
        }
        // PlainBinaryDictionaryValuesWriter.writeBytes, keeping the id
        int id = binaryDictionaryContent.getInt(v);
        if (id == -1) {
            id = binaryDictionaryContent.size();
            binaryDictionaryContent.put(v.copy(), id);
            dictionaryByteSize += 4L + v.length();
        }
        encodedValues.add(id);
        binaries[slot] = v;
        ids[slot] = id;
    }

    private static int slot(Binary v) {
        int n = v.length();
        if (n == 0) {
            return 0;
        }
        // constant binaries from a whole array (all of ColumnRowWriter's) hand out that array without copying it
        byte[] bytes = v.getBytesUnsafe();
        return (n * 0x9E3779B1 + bytes[n - 1] * 31 + bytes[n >> 1]) & (SLOTS - 1);
    }

    @Override
    protected void clearDictionaryContent() {
        super.clearDictionaryContent();
        Arrays.fill(binaries, null);
    }

    /**
     * {@link DefaultValuesWriterFactory}, except that dictionary-encoded BINARY columns of format version 1 (the lake's)
     * get a {@link RememberingBinaryDictionaryWriter} where parquet-mr's {@code DefaultV1ValuesWriterFactory} puts a
     * {@code PlainBinaryDictionaryValuesWriter}, with the same settings and the same plain fallback.
     */
    static final class Factory implements ValuesWriterFactory {
        private final DefaultValuesWriterFactory defaults = new DefaultValuesWriterFactory();
        private ParquetProperties props;

        @Override
        public void initialize(ParquetProperties properties) {
            this.props = properties;
            defaults.initialize(properties);
        }

        @Override
        public ValuesWriter newValuesWriter(ColumnDescriptor column) {
            if (column.getPrimitiveType().getPrimitiveTypeName() != PrimitiveType.PrimitiveTypeName.BINARY
                    || props.getWriterVersion() != ParquetProperties.WriterVersion.PARQUET_1_0
                    || !props.isDictionaryEnabled(column)) {
                return defaults.newValuesWriter(column);
            }
            return withPlainFallback(props, props.getDictionaryPageSizeThreshold());
        }
    }

    /**
     * A dictionary of at most {@code maxDictionaryBytes} that falls back to plain encoding, as parquet-mr's format
     * version 1 writers do.
     */
    static ValuesWriter withPlainFallback(ParquetProperties props, int maxDictionaryBytes) {
        return FallbackValuesWriter.of(
                new RememberingBinaryDictionaryWriter(
                        maxDictionaryBytes, Encoding.PLAIN_DICTIONARY, Encoding.PLAIN_DICTIONARY, props.getAllocator()),
                new PlainValuesWriter(props.getInitialSlabSize(), props.getPageSizeThreshold(), props.getAllocator()));
    }
}
