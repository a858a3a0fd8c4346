package io.otellake.archiver;

import io.otellake.schemas.LakeSchema;
import io.otellake.schemas.Signal;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import org.apache.avro.LogicalType;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.util.Utf8;
import org.apache.parquet.avro.AvroReadSupport;
import org.apache.parquet.avro.AvroSchemaConverter;
import org.apache.parquet.avro.AvroWriteSupport;
import org.apache.parquet.column.ParquetProperties;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.conf.ParquetConfiguration;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.api.InitContext;
import org.apache.parquet.hadoop.api.ReadSupport;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.LocalInputFile;
import org.apache.parquet.io.LocalOutputFile;
import org.apache.parquet.io.MessageColumnIO;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.io.api.RecordConsumer;
import org.apache.parquet.io.api.RecordMaterializer;
import org.apache.parquet.schema.ColumnOrder;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;
import org.apache.parquet.schema.Types;

/**
 * Writes lake rows as Parquet files that every common reader opens without options: zstd, dictionary encoding or the
 * encodings {@link ColumnEncodings} picks, column statistics, standard three-level lists, a bloom filter on {@code
 * trace_id}, nanosecond UTC timestamps, and the schema version and writer in the key-value metadata.
 */
public final class ParquetFiles {
    static final String WRITER = "otel-lake-archiver " + version();

    /**
     * zstd's level on the archiver's write path: zstd's default, fast. The compactor, which writes the files that are
     * kept, uses {@link CompactionConfig#zstdLevel()}.
     */
    public static final int ZSTD_LEVEL = 3;

    private static final long ROW_GROUP_BYTES = ArchiverConfig.DEFAULT_ROW_GROUP_BYTES;
    private static final int PAGE_BYTES = 1024 * 1024;
    private static final String ZSTD_LEVEL_KEY = "parquet.compression.codec.zstd.level";
    private static final String TIMESTAMP_NANOS = "timestamp-nanos";
    /** Columns of random ids, for which a dictionary only costs time; a column a schema lacks is ignored. */
    private static final List<String> RANDOM_IDS =
            List.of("span_id", "parent_span_id", "links.list.element.span_id", "links.list.element.trace_id");

    private ParquetFiles() {}

    /** Writes the rows, in the order given, to a new file at {@code path}. */
    public static void write(Signal signal, List<GenericRecord> rows, Path path) throws IOException {
        write(signal, rows, path, ROW_GROUP_BYTES, ZSTD_LEVEL);
    }

    /**
     * The same, with row groups cut at {@code rowGroupBytes} ({@link ArchiverConfig#rowGroupBytes()}), compressed at
     * zstd level {@code zstdLevel} ({@link #ZSTD_LEVEL} on the write path).
     */
    public static void write(Signal signal, List<GenericRecord> rows, Path path, long rowGroupBytes, int zstdLevel)
            throws IOException {
        Schema avro = LakeSchema.of(signal);
        long traces = signal == Signal.TRACES ? Math.max(1, distinctTraceIds(avro, rows)) : 0;
        write(
                avro,
                LakeSchema.fileMetadata(signal, WRITER),
                traces,
                rows.iterator(),
                path,
                WritePath.LAKE,
                rowGroupBytes,
                zstdLevel);
    }

    /**
     * Writes the buffered rows of a file in reading order, as {@link #write(Signal, List, Path, long, int)} does, the
     * bloom filter of a span file sized by the distinct trace ids its sort keys count, without a pass over the rows.
     */
    public static void write(SortedRows rows, Path path, long rowGroupBytes, int zstdLevel) throws IOException {
        Signal signal = rows.signal();
        write(
                LakeSchema.of(signal),
                LakeSchema.fileMetadata(signal, WRITER),
                signal == Signal.TRACES ? Math.max(1, rows.distinctTraceIds()) : 0,
                rows.list().iterator(),
                path,
                WritePath.LAKE,
                rowGroupBytes,
                zstdLevel);
    }

    /**
     * Writes rows of any schema with the lake's settings; with {@code traceIdBloom}, a bloom filter on the
     * {@code trace_id} column sized for the file's distinct trace ids.
     */
    static void write(
            Schema avro, Map<String, String> metadata, boolean traceIdBloom, List<GenericRecord> rows, Path path)
            throws IOException {
        long traces = traceIdBloom ? distinctTraceIds(avro, rows) : 0;
        write(avro, metadata, traceIdBloom ? Math.max(1, traces) : 0, rows.iterator(), path);
    }

    /** How many trace ids the rows hold; a count of the changes when they come sorted by trace id, as they do. */
    private static long distinctTraceIds(Schema avro, List<GenericRecord> rows) {
        int at = avro.getField("trace_id").pos();
        long changes = 0;
        String previous = null;
        for (GenericRecord r : rows) {
            String id = r.get(at).toString();
            int order = previous == null ? 1 : id.compareTo(previous);
            if (order < 0) {
                return rows.stream()
                        .map(row -> row.get(at).toString())
                        .distinct()
                        .count();
            }
            if (order > 0) {
                changes++;
            }
            previous = id;
        }
        return changes;
    }

    /**
     * Writes rows as they come, holding one row group in memory. {@code traceIdBloomNdv > 0} adds a bloom filter on
     * {@code trace_id} sized for that many distinct values (without a count, parquet-mr reserves its 1 MiB maximum).
     */
    static void write(
            Schema avro, Map<String, String> metadata, long traceIdBloomNdv, Iterator<GenericRecord> rows, Path path)
            throws IOException {
        write(avro, metadata, traceIdBloomNdv, rows, path, WritePath.LAKE, ROW_GROUP_BYTES, ZSTD_LEVEL);
    }

    /** How a file is written. */
    enum WritePath {
        /**
         * Rows straight to the column writers ({@link ColumnRowWriter}), with the lake's {@link ColumnEncodings}: what
         * the archiver and the compactor write. For a schema {@link ColumnRowWriter} does not know, {@link
         * #PARQUET_WRITER}.
         */
        LAKE,
        /** Rows straight to the column writers, with parquet-mr's default encodings: the same file as the next. */
        COLUMNS_DEFAULT_ENCODINGS,
        /** {@code ParquetWriter} and a {@code WriteSupport}, parquet-mr's own record path and default encodings. */
        PARQUET_WRITER
    }

    /**
     * Writes the rows the way {@code how} says, with row groups of {@code rowGroupBytes} (tests use small ones),
     * compressed at zstd level {@code zstdLevel}.
     */
    static void write(
            Schema avro,
            Map<String, String> metadata,
            long traceIdBloomNdv,
            Iterator<GenericRecord> rows,
            Path path,
            WritePath how,
            long rowGroupBytes,
            int zstdLevel)
            throws IOException {
        Files.deleteIfExists(path);
        PlainParquetConfiguration conf = new PlainParquetConfiguration();
        // parquet-mr's zstd codec reads its level from here; every zstd reader decodes every level
        conf.setInt(ZSTD_LEVEL_KEY, zstdLevel);
        // Three-level lists (LIST > list > element): what Spark, DuckDB, pyarrow and polars expect.
        conf.setBoolean(AvroWriteSupport.WRITE_OLD_LIST_STRUCTURE, false);
        MessageType parquet = parquetSchema(avro, conf);
        ColumnRowWriter.Compiled compiled =
                how == WritePath.PARQUET_WRITER ? null : compiled(parquet, avro, how == WritePath.LAKE);
        if (compiled == null) {
            writeWithWriteSupport(avro, parquet, conf, metadata, traceIdBloomNdv, rows, path, rowGroupBytes);
            return;
        }
        // The properties ParquetWriter.Builder builds from the settings writeWithWriteSupport gives it.
        ParquetProperties.Builder props = ParquetProperties.builder()
                .withDictionaryEncoding(true)
                .withPageSize(PAGE_BYTES)
                .withSizeStatisticsEnabled(false)
                .withExtraMetaData(metadata)
                // parquet-mr's writers, except that the dictionaries of string columns remember recent values (the
                // same bytes as parquet-mr's own), and for the lake the encodings ColumnEncodings picks
                .withValuesWriterFactory(
                        how == WritePath.LAKE
                                ? new ColumnEncodings(avro, new RememberingBinaryDictionaryWriter.Factory())
                                : new RememberingBinaryDictionaryWriter.Factory());
        for (String column : RANDOM_IDS) {
            props = props.withDictionaryEncoding(column, false).withStatisticsEnabled(column, false);
        }
        if (traceIdBloomNdv > 0) {
            props = props.withBloomFilterEnabled("trace_id", true).withBloomFilterNDV("trace_id", traceIdBloomNdv);
        }
        // The footer's key-value metadata as ParquetWriter merges it: the write support's, then the caller's.
        Map<String, String> footer = new HashMap<>(writeContextMetadata(avro));
        metadata.forEach((key, value) -> {
            if (key.equals(ParquetWriter.OBJECT_MODEL_NAME_PROP) || footer.put(key, value) != null) {
                throw new IllegalArgumentException("Duplicate metadata key " + key);
            }
        });
        try (ColumnRowWriter writer = new ColumnRowWriter(
                new LocalOutputFile(path),
                parquet,
                compiled,
                props.build(),
                conf,
                CompressionCodecName.ZSTD,
                rowGroupBytes,
                footer)) {
            while (rows.hasNext()) {
                writer.write(rows.next());
            }
        }
    }

    /** The direct writer of the schema, or null when it does not know one of its types. */
    private static ColumnRowWriter.Compiled compiled(MessageType parquet, Schema avro, boolean ownMapColumns) {
        try {
            return ColumnRowWriter.compile(parquet, avro, ownMapColumns);
        } catch (UnsupportedOperationException e) {
            return null;
        }
    }

    /** What parquet-avro puts in the footer: the Avro schema, which its readers and Spark use. */
    private static Map<String, String> writeContextMetadata(Schema avro) {
        return Map.of("parquet.avro.schema", avro.toString());
    }

    private static void writeWithWriteSupport(
            Schema avro,
            MessageType parquet,
            PlainParquetConfiguration conf,
            Map<String, String> metadata,
            long traceIdBloomNdv,
            Iterator<GenericRecord> rows,
            Path path,
            long rowGroupBytes)
            throws IOException {
        ParquetWriter.Builder<GenericRecord, ?> builder = new Builder(new LocalOutputFile(path), parquet, avro)
                .withConf(conf)
                .withCompressionCodec(CompressionCodecName.ZSTD)
                .withDictionaryEncoding(true)
                .withRowGroupSize(rowGroupBytes)
                .withPageSize(PAGE_BYTES)
                .withWriteMode(ParquetFileWriter.Mode.OVERWRITE)
                // Size statistics (byte and level histograms per page) serve no reader we support yet, and
                // collecting them was a twentieth of the write path.
                .withSizeStatisticsEnabled(false)
                .withExtraMetaData(metadata);
        for (String column : RANDOM_IDS) {
            // Random ids never fit a dictionary (parquet-mr would fill one, then fall back to plain), and their
            // min and max prune nothing.
            builder = builder.withDictionaryEncoding(column, false).withStatisticsEnabled(column, false);
        }
        if (traceIdBloomNdv > 0) {
            builder = builder.withBloomFilterEnabled("trace_id", true).withBloomFilterNDV("trace_id", traceIdBloomNdv);
        }
        try (ParquetWriter<GenericRecord> writer = builder.build()) {
            while (rows.hasNext()) {
                writer.write(rows.next());
            }
        }
    }

    /** A file's key-value metadata. */
    static Map<String, String> metadata(Path path) throws IOException {
        try (ParquetFileReader reader = ParquetFileReader.open(new LocalInputFile(path))) {
            return reader.getFooter().getFileMetaData().getKeyValueMetaData();
        }
    }

    /**
     * Reads a lake file back as rows of {@code avro}, one row group in memory at a time. Uses parquet-mr's record
     * assembly directly rather than {@code ParquetReader}, which would pull Hadoop's MapReduce classes in.
     */
    static RowReader read(Path path, Schema avro) throws IOException {
        return new RowReader(path, avro);
    }

    /** Rows of one file, in file order; close it when done. */
    static final class RowReader implements Iterator<GenericRecord>, AutoCloseable {
        private final ParquetFileReader reader;
        private final MessageColumnIO columns;
        private final RecordMaterializer<GenericRecord> materializer;
        private org.apache.parquet.io.RecordReader<GenericRecord> rows;
        private final long rowCount;
        private long left;
        private GenericRecord next;

        RowReader(Path path, Schema avro) throws IOException {
            this.reader = ParquetFileReader.open(new LocalInputFile(path));
            MessageType fileSchema = reader.getFooter().getFileMetaData().getSchema();
            Map<String, String> kv = reader.getFooter().getFileMetaData().getKeyValueMetaData();
            PlainParquetConfiguration conf = new PlainParquetConfiguration();
            conf.set("parquet.avro.read.schema", avro.toString());
            AvroReadSupport<GenericRecord> support = new AvroReadSupport<>(GenericData.get());
            Map<String, java.util.Set<String>> kvSets = new java.util.HashMap<>();
            kv.forEach((k, v) -> kvSets.put(k, java.util.Set.of(v)));
            ReadSupport.ReadContext context = support.init(new InitContext(conf, kvSets, fileSchema));
            this.materializer = support.prepareForRead(conf, kv, fileSchema, context);
            this.columns = new ColumnIOFactory().getColumnIO(context.getRequestedSchema(), fileSchema);
            this.rowCount = reader.getRecordCount();
            advance();
        }

        /** The file's row count, from its footer. */
        long rowCount() {
            return rowCount;
        }

        private void advance() throws IOException {
            while (left == 0) {
                PageReadStore pages = reader.readNextRowGroup();
                if (pages == null) {
                    next = null;
                    return;
                }
                left = pages.getRowCount();
                rows = columns.getRecordReader(pages, materializer);
            }
            next = rows.read();
            left--;
        }

        @Override
        public boolean hasNext() {
            return next != null;
        }

        @Override
        public GenericRecord next() {
            if (next == null) {
                throw new java.util.NoSuchElementException();
            }
            GenericRecord current = next;
            try {
                advance();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return current;
        }

        @Override
        public void close() throws IOException {
            reader.close();
        }
    }

    /**
     * The Parquet schema of an Avro schema. parquet-avro 1.18 does not map Avro's {@code timestamp-nanos} (it writes a
     * bare INT64), so those columns are annotated here as {@code TIMESTAMP(NANOS, isAdjustedToUTC=true)}.
     */
    static MessageType parquetSchema(Schema avro, ParquetConfiguration conf) {
        MessageType converted = new AvroSchemaConverter(conf).convert(avro);
        return new MessageType(converted.getName(), annotateFields(converted, avro));
    }

    private static List<Type> annotateFields(GroupType group, Schema record) {
        List<Type> out = new ArrayList<>(group.getFieldCount());
        for (Type field : group.getFields()) {
            out.add(annotate(field, nonNull(record.getField(field.getName()).schema())));
        }
        return out;
    }

    private static Type annotate(Type type, Schema avro) {
        if (type.isPrimitive()) {
            LogicalType logical = avro.getLogicalType();
            if (logical != null
                    && logical.getName().equals(TIMESTAMP_NANOS)
                    && type.asPrimitiveType().getPrimitiveTypeName() == PrimitiveType.PrimitiveTypeName.INT64) {
                return Types.primitive(PrimitiveType.PrimitiveTypeName.INT64, type.getRepetition())
                        .as(LogicalTypeAnnotation.timestampType(true, LogicalTypeAnnotation.TimeUnit.NANOS))
                        .named(type.getName());
            }
            PrimitiveType.PrimitiveTypeName primitive = type.asPrimitiveType().getPrimitiveTypeName();
            if (primitive == PrimitiveType.PrimitiveTypeName.DOUBLE
                    || primitive == PrimitiveType.PrimitiveTypeName.FLOAT) {
                // parquet-mr 1.18 marks floating columns with the new IEEE_754_TOTAL_ORDER column order, whose
                // footer readers older than 2025 (polars among them) reject outright; the classic order reads
                // everywhere.
                return type.asPrimitiveType().withColumnOrder(ColumnOrder.typeDefined());
            }
            return type;
        }
        GroupType group = type.asGroupType();
        if (avro.getType() == Schema.Type.RECORD) {
            return group.withNewFields(annotateFields(group, avro));
        }
        if (avro.getType() == Schema.Type.ARRAY) {
            // LIST > repeated group list > element
            GroupType list = group.getType(0).asGroupType();
            Type element = annotate(list.getType(0), nonNull(avro.getElementType()));
            return group.withNewFields(list.withNewFields(element));
        }
        return type; // maps of strings: nothing to annotate
    }

    private static Schema nonNull(Schema schema) {
        if (schema.getType() == Schema.Type.UNION) {
            for (Schema branch : schema.getTypes()) {
                if (branch.getType() != Schema.Type.NULL) {
                    return branch;
                }
            }
        }
        return schema;
    }

    /** The archiver's version, which the build writes into {@code archiver.properties}. */
    private static String version() {
        try (InputStream in = ParquetFiles.class.getResourceAsStream("archiver.properties")) {
            if (in == null) {
                throw new IllegalStateException("archiver.properties is missing from the archiver's classes");
            }
            Properties properties = new Properties();
            properties.load(in);
            return Objects.requireNonNull(properties.getProperty("version"), "version in archiver.properties");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read archiver.properties", e);
        }
    }

    /** parquet-avro's builder, with our Parquet schema instead of its own conversion. */
    private static final class Builder extends ParquetWriter.Builder<GenericRecord, Builder> {
        private final MessageType parquet;
        private final Schema avro;

        Builder(OutputFile file, MessageType parquet, Schema avro) {
            super(file);
            this.parquet = parquet;
            this.avro = avro;
        }

        @Override
        protected Builder self() {
            return this;
        }

        @Override
        protected WriteSupport<GenericRecord> getWriteSupport(org.apache.hadoop.conf.Configuration conf) {
            return writeSupport(parquet, avro);
        }

        @Override
        protected WriteSupport<GenericRecord> getWriteSupport(ParquetConfiguration conf) {
            return writeSupport(parquet, avro);
        }
    }

    /** {@link RowWriteSupport} where it knows every type of the schema, else parquet-avro's own. */
    static WriteSupport<GenericRecord> writeSupport(MessageType parquet, Schema avro) {
        try {
            return new RowWriteSupport(parquet, avro);
        } catch (UnsupportedOperationException e) {
            return new AvroWriteSupport<>(parquet, avro, GenericData.get());
        }
    }

    /**
     * Writes generic records with the same Parquet records, and the same footer, as parquet-avro's {@code
     * AvroWriteSupport} (three-level lists), for the types the lake uses: records, maps of strings, arrays, strings,
     * longs (also {@code timestamp-nanos}), ints, booleans, doubles, floats and {@code [null, T]} unions. It is
     * compiled once per file from the two schemas, so a row costs no schema lookups by name, no logical-type
     * conversion lookups, and strings are encoded with {@link String#getBytes} into array-backed binaries (parquet-avro
     * goes through a {@code CharsetEncoder} into buffer-backed ones, whose hashing and comparing in the dictionary and
     * statistics were a fifth of the write path). A schema with any other type gets parquet-avro's writer. Files are
     * written by {@link ColumnRowWriter}, which makes the same file without a {@code RecordConsumer}; this is its
     * fallback, and the reference its tests compare it with.
     */
    static final class RowWriteSupport extends WriteSupport<GenericRecord> {
        private final MessageType parquet;
        private final Schema avro;
        private final RecordWriter root;
        private RecordConsumer consumer;

        RowWriteSupport(MessageType parquet, Schema avro) {
            this.parquet = parquet;
            this.avro = avro;
            this.root = new RecordWriter(parquet, avro);
        }

        @Override
        public String getName() {
            return "avro"; // what parquet-avro records as writer.model.name: readers treat the files alike
        }

        @Override
        public WriteContext init(org.apache.hadoop.conf.Configuration configuration) {
            return context();
        }

        @Override
        public WriteContext init(ParquetConfiguration configuration) {
            return context();
        }

        private WriteContext context() {
            return new WriteContext(parquet, writeContextMetadata(avro));
        }

        @Override
        public void prepareForWrite(RecordConsumer recordConsumer) {
            this.consumer = recordConsumer;
        }

        @Override
        public void write(GenericRecord record) {
            consumer.startMessage();
            root.writeFields(consumer, record);
            consumer.endMessage();
        }

        private interface ValueWriter {
            void write(RecordConsumer out, Object value);
        }

        private static ValueWriter compile(Type type, Schema schema) {
            Schema avro = nonNullOrUnsupported(schema);
            switch (avro.getType()) {
                case STRING:
                    return (out, v) -> out.addBinary(binary(v));
                case LONG:
                    return (out, v) -> out.addLong(((Number) v).longValue());
                case INT:
                    return (out, v) -> out.addInteger(((Number) v).intValue());
                case BOOLEAN:
                    return (out, v) -> out.addBoolean((Boolean) v);
                case DOUBLE:
                    return (out, v) -> out.addDouble(((Number) v).doubleValue());
                case FLOAT:
                    return (out, v) -> out.addFloat(((Number) v).floatValue());
                case RECORD:
                    return new RecordWriter(type.asGroupType(), avro);
                case MAP:
                    return map(type.asGroupType(), avro);
                case ARRAY:
                    return array(type.asGroupType(), avro);
                default:
                    throw new UnsupportedOperationException(avro.getType().getName());
            }
        }

        private static Schema nonNullOrUnsupported(Schema schema) {
            if (schema.getType() != Schema.Type.UNION) {
                return schema;
            }
            List<Schema> branches = schema.getTypes();
            if (branches.size() == 2 && branches.get(0).getType() == Schema.Type.NULL) {
                return branches.get(1);
            }
            if (branches.size() == 2 && branches.get(1).getType() == Schema.Type.NULL) {
                return branches.get(0);
            }
            throw new UnsupportedOperationException("union " + schema);
        }

        private static Binary binary(Object value) {
            if (value instanceof String s) {
                return Binary.fromConstantByteArray(s.getBytes(StandardCharsets.UTF_8));
            }
            if (value instanceof Utf8 u) {
                return Binary.fromReusedByteArray(u.getBytes(), 0, u.getByteLength());
            }
            return Binary.fromConstantByteArray(value.toString().getBytes(StandardCharsets.UTF_8));
        }

        /** MAP > repeated key_value > (key, value) */
        private static ValueWriter map(GroupType group, Schema avro) {
            GroupType entries = group.getType(0).asGroupType();
            String entriesName = entries.getName();
            String keyName = entries.getType(0).getName();
            Type valueType = entries.getType(1);
            String valueName = valueType.getName();
            ValueWriter values = compile(valueType, avro.getValueType());
            return (out, v) -> {
                Map<?, ?> map = (Map<?, ?>) v;
                out.startGroup();
                if (!map.isEmpty()) {
                    out.startField(entriesName, 0);
                    for (Map.Entry<?, ?> e : map.entrySet()) {
                        out.startGroup();
                        out.startField(keyName, 0);
                        out.addBinary(binary(e.getKey()));
                        out.endField(keyName, 0);
                        if (e.getValue() != null) {
                            out.startField(valueName, 1);
                            values.write(out, e.getValue());
                            out.endField(valueName, 1);
                        }
                        out.endGroup();
                    }
                    out.endField(entriesName, 0);
                }
                out.endGroup();
            };
        }

        /** LIST > repeated list > element */
        private static ValueWriter array(GroupType group, Schema avro) {
            Type repeated = group.getType(0);
            if (repeated.isPrimitive()
                    || repeated.asGroupType().getFieldCount() != 1
                    || !repeated.getName().equals("list")) {
                throw new UnsupportedOperationException("two-level list " + group);
            }
            String listName = repeated.getName();
            Type elementType = repeated.asGroupType().getType(0);
            String elementName = elementType.getName();
            ValueWriter elements = compile(elementType, avro.getElementType());
            return (out, v) -> {
                Collection<?> list = (Collection<?>) v;
                out.startGroup();
                if (!list.isEmpty()) {
                    out.startField(listName, 0);
                    for (Object element : list) {
                        out.startGroup();
                        if (element != null) {
                            out.startField(elementName, 0);
                            elements.write(out, element);
                            out.endField(elementName, 0);
                        }
                        out.endGroup();
                    }
                    out.endField(listName, 0);
                }
                out.endGroup();
            };
        }

        private static final class RecordWriter implements ValueWriter {
            private final int[] positions;
            private final String[] names;
            private final boolean[] required;
            private final ValueWriter[] writers;

            RecordWriter(GroupType group, Schema avro) {
                int n = group.getFieldCount();
                positions = new int[n];
                names = new String[n];
                required = new boolean[n];
                writers = new ValueWriter[n];
                for (int i = 0; i < n; i++) {
                    Type type = group.getType(i);
                    Schema.Field field = avro.getField(type.getName());
                    if (field == null) {
                        throw new UnsupportedOperationException("no Avro field " + type.getName());
                    }
                    positions[i] = field.pos();
                    names[i] = type.getName();
                    required[i] = type.isRepetition(Type.Repetition.REQUIRED);
                    writers[i] = compile(type, field.schema());
                }
            }

            void writeFields(RecordConsumer out, IndexedRecord record) {
                for (int i = 0; i < writers.length; i++) {
                    Object value = record.get(positions[i]);
                    if (value == null) {
                        if (required[i]) {
                            throw new RuntimeException("Null-value for required field: " + names[i]);
                        }
                        continue;
                    }
                    out.startField(names[i], i);
                    writers[i].write(out, value);
                    out.endField(names[i], i);
                }
            }

            @Override
            public void write(RecordConsumer out, Object value) {
                out.startGroup();
                writeFields(out, (IndexedRecord) value);
                out.endGroup();
            }
        }
    }
}
