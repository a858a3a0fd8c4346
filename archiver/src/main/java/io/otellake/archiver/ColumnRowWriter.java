package io.otellake.archiver;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.util.Utf8;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.column.ColumnWriteStore;
import org.apache.parquet.column.ColumnWriter;
import org.apache.parquet.column.ParquetProperties;
import org.apache.parquet.compression.CompressionCodecFactory;
import org.apache.parquet.conf.ParquetConfiguration;
import org.apache.parquet.hadoop.CodecFactory;
import org.apache.parquet.hadoop.ColumnChunkPageWriteStore;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;

/**
 * Writes Avro rows straight into parquet-mr's column writers, with the repetition and definition levels worked out
 * once per schema, instead of going through a {@code WriteSupport} and parquet-mr's record shredding ({@code
 * MessageColumnIO}), which tracks fields, levels and cached nulls by name at run time for every value, and was the
 * largest single cost of the write path.
 *
 * <p>The file is the one {@link ParquetWriter} with {@link ParquetFiles.RowWriteSupport} writes, byte for byte: every
 * column receives the same values with the same levels, row groups end where {@code InternalParquetRecordWriter}
 * ends them (the same size checks), and the footer carries the same key-value metadata ({@code parquet.avro.schema},
 * {@code writer.model.name=avro}, then the caller's). It knows the schemas {@code RowWriteSupport} knows: records,
 * maps of strings, three-level lists, strings, longs, ints, booleans, doubles, floats and {@code [null, T]} unions;
 * {@link #compile} throws {@link UnsupportedOperationException} for anything else, and the caller falls back.
 */
final class ColumnRowWriter implements AutoCloseable {
    private final ParquetFileWriter file;
    private final MessageType schema;
    private final ParquetProperties props;
    private final Map<String, String> extraMetaData;
    private final long rowGroupSizeThreshold;
    private final CodecFactory codecs;
    private final CompressionCodecFactory.BytesInputCompressor compressor;
    private final Compiled compiled;

    private ColumnWriteStore columnStore;
    private ColumnChunkPageWriteStore pageStore;
    private long recordCount;
    private long recordCountForNextMemCheck;
    private long nextRowGroupSize;
    private int rowGroupOrdinal;
    private boolean closed;
    private boolean aborted;

    /**
     * The rows of a schema, compiled: one {@link Node} per Avro field, one {@link Leaf} per Parquet column. Throws
     * {@link UnsupportedOperationException} when the schema holds a type this writer does not know.
     */
    static Compiled compile(MessageType parquet, Schema avro) {
        return compile(parquet, avro, false);
    }

    /**
     * With {@code ownMapColumns}, the top-level maps of strings ({@code resource_attributes}, {@code attributes} and
     * the like) are written by {@link StringMapColumns} instead of parquet-mr's column writers: the same values in the
     * same encodings, with other page boundaries (see there), so only for files written with the lake's encodings.
     */
    static Compiled compile(MessageType parquet, Schema avro, boolean ownMapColumns) {
        List<Leaf> leaves = new ArrayList<>();
        List<MapNode> ownMaps = new ArrayList<>();
        RecordNode root = new RecordNode(parquet, avro, 0, 0, false, "", new Context(leaves, ownMapColumns, ownMaps));
        List<ColumnDescriptor> columns = parquet.getColumns();
        if (leaves.size() != columns.size()) {
            throw new UnsupportedOperationException("columns do not match " + parquet);
        }
        for (int i = 0; i < columns.size(); i++) {
            // the levels worked out here must be parquet-mr's own, column by column
            ColumnDescriptor column = columns.get(i);
            ColumnDescriptor mine = leaves.get(i).descriptor;
            if (!java.util.Arrays.equals(column.getPath(), mine.getPath())
                    || column.getMaxDefinitionLevel() != mine.getMaxDefinitionLevel()
                    || column.getMaxRepetitionLevel() != mine.getMaxRepetitionLevel()) {
                throw new UnsupportedOperationException("levels of " + column);
            }
            leaves.get(i).descriptor = column;
        }
        // parquet-mr's column writers get the other columns; the page store still writes every column, in order
        List<Type> kept = new ArrayList<>();
        for (Type field : parquet.getFields()) {
            if (ownMaps.stream().noneMatch(m -> m.name.equals(field.getName()))) {
                kept.add(field);
            }
        }
        MessageType storeSchema = ownMaps.isEmpty() ? parquet : new MessageType(parquet.getName(), kept);
        return new Compiled(root, leaves.toArray(new Leaf[0]), ownMaps.toArray(new MapNode[0]), storeSchema);
    }

    /**
     * A schema's writer tree; one per file, since its leaves hold that file's column writers. {@code storeSchema} is
     * the schema without the maps in {@code ownMaps}, whose columns the maps write themselves.
     */
    record Compiled(RecordNode root, Leaf[] leaves, MapNode[] ownMaps, MessageType storeSchema) {}

    /** What compiling a schema collects. */
    private record Context(List<Leaf> leaves, boolean ownMapColumns, List<MapNode> ownMaps) {}

    /**
     * @param extraMetaData the footer's key-value metadata as {@code ParquetWriter} would merge it: the write
     *     support's, then the caller's
     */
    ColumnRowWriter(
            OutputFile out,
            MessageType schema,
            Compiled compiled,
            ParquetProperties props,
            ParquetConfiguration conf,
            CompressionCodecName codec,
            long rowGroupSize,
            Map<String, String> extraMetaData)
            throws IOException {
        this.schema = schema;
        this.compiled = compiled;
        this.props = props;
        this.extraMetaData = extraMetaData;
        this.rowGroupSizeThreshold = rowGroupSize;
        this.nextRowGroupSize = rowGroupSize;
        this.file = new ParquetFileWriter(
                out,
                schema,
                ParquetFileWriter.Mode.OVERWRITE,
                rowGroupSize,
                ParquetWriter.MAX_PADDING_SIZE_DEFAULT,
                null,
                props);
        this.codecs = new CodecFactory(conf, props.getPageSizeThreshold());
        try {
            file.start();
            this.compressor = codecs.getCompressor(codec);
            initStore();
        } catch (IOException | RuntimeException e) {
            codecs.release();
            file.abort();
            throw e;
        }
        this.recordCountForNextMemCheck = props.getMinRowCountForPageSizeCheck();
    }

    /** Writes one row; a null in a required field throws, and the writer cannot be used any more. */
    void write(IndexedRecord row) throws IOException {
        if (aborted) {
            throw new IOException("Writer has been aborted due to a previous error and cannot accept further writes");
        }
        try {
            compiled.root.writeFields(row, 0);
            columnStore.endRecord();
            for (MapNode map : compiled.ownMaps) {
                map.own.endRecord();
            }
            ++recordCount;
            checkBlockSizeReached();
        } catch (Throwable t) {
            aborted = true;
            throw t;
        }
    }

    private void initStore() {
        pageStore = new ColumnChunkPageWriteStore(
                compressor,
                schema,
                props.getAllocator(),
                props.getColumnIndexTruncateLength(),
                props.getPageWriteChecksumEnabled(),
                file.getEncryptor(),
                rowGroupOrdinal);
        columnStore = props.newColumnWriteStore(compiled.storeSchema, pageStore, pageStore);
        for (Leaf leaf : compiled.leaves) {
            if (!leaf.ownedByMap) {
                leaf.column = columnStore.getColumnWriter(leaf.descriptor);
            }
        }
        for (MapNode map : compiled.ownMaps) {
            ColumnDescriptor key = map.key.descriptor;
            ColumnDescriptor value = ((Leaf) map.value).descriptor;
            map.own = new StringMapColumns(
                    key,
                    value,
                    pageStore.getPageWriter(key),
                    pageStore.getPageWriter(value),
                    props,
                    ColumnEncodings.dictionaryBytes(key, props),
                    ColumnEncodings.dictionaryBytes(value, props));
        }
    }

    // The row group bookkeeping of parquet-mr 1.18's InternalParquetRecordWriter, so that row groups end at the
    // same rows as with ParquetWriter.
    private void checkBlockSizeReached() throws IOException {
        if (recordCount >= props.getRowGroupRowCountLimit()) {
            flushRowGroupToStore();
            initStore();
            recordCountForNextMemCheck = Math.min(
                    Math.max(props.getMinRowCountForPageSizeCheck(), recordCount / 2),
                    props.getMaxRowCountForPageSizeCheck());
        } else if (recordCount >= recordCountForNextMemCheck) {
            long memSize = bufferedSize();
            long recordSize = memSize / recordCount;
            if (memSize > (nextRowGroupSize - 2 * recordSize)) {
                flushRowGroupToStore();
                initStore();
                recordCountForNextMemCheck = Math.min(
                        Math.max(props.getMinRowCountForPageSizeCheck(), recordCount / 2),
                        props.getMaxRowCountForPageSizeCheck());
            } else {
                recordCountForNextMemCheck = Math.min(
                        Math.max(
                                props.getMinRowCountForPageSizeCheck(),
                                (recordCount + (long) (nextRowGroupSize / ((float) recordSize))) / 2),
                        recordCount + props.getMaxRowCountForPageSizeCheck());
            }
        }
    }

    private long bufferedSize() {
        long size = columnStore.getBufferedSize();
        for (MapNode map : compiled.ownMaps) {
            size += map.own.bufferedSize();
        }
        return size;
    }

    private void flushRowGroupToStore() throws IOException {
        try {
            if (recordCount > 0) {
                rowGroupOrdinal++;
                file.startBlock(recordCount);
                columnStore.flush();
                for (MapNode map : compiled.ownMaps) {
                    map.own.flush();
                }
                pageStore.flushToFileWriter(file);
                recordCount = 0;
                file.endBlock();
                nextRowGroupSize = Math.min(file.getNextRowGroupSize(), rowGroupSizeThreshold);
            }
        } finally {
            columnStore.close();
            pageStore.close();
            columnStore = null;
            pageStore = null;
        }
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (aborted) {
                file.abort();
                return;
            }
            flushRowGroupToStore();
            Map<String, String> footer = new HashMap<>(extraMetaData);
            footer.put(ParquetWriter.OBJECT_MODEL_NAME_PROP, "avro");
            file.end(footer);
        } catch (IOException | RuntimeException e) {
            file.abort();
            throw e;
        } finally {
            if (columnStore != null) {
                columnStore.close();
                pageStore.close();
            }
            file.close();
            codecs.release();
        }
    }

    /** One Avro value and everything under it. {@code r} is the repetition level of its first value. */
    abstract static class Node {
        final String name;
        /** The definition level of this node when it is present. */
        final int definition;

        final boolean optional;

        Node(String name, int definition, boolean optional) {
            this.name = name;
            this.definition = definition;
            this.optional = optional;
        }

        final void write(Object value, int r) {
            if (value == null) {
                if (!optional) {
                    throw new RuntimeException("Null-value for required field: " + name);
                }
                writeNull(r, definition - 1);
            } else {
                writeValue(value, r);
            }
        }

        abstract void writeValue(Object value, int r);

        /** Writes a null at levels {@code r} and {@code d} to every column under this node. */
        abstract void writeNull(int r, int d);
    }

    private static Node compile(
            Type type, Schema schema, int parentDefinition, int repetition, String path, Context context) {
        if (type.isRepetition(Type.Repetition.REPEATED)) {
            throw new UnsupportedOperationException("repeated field " + path);
        }
        boolean optional = type.isRepetition(Type.Repetition.OPTIONAL);
        int definition = parentDefinition + (optional ? 1 : 0);
        Schema avro = nonNull(schema, optional);
        String name = type.getName();
        if (type.isPrimitive()) {
            Leaf leaf = leaf(type.asPrimitiveType(), avro, definition, optional, name);
            leaf.descriptor =
                    new ColumnDescriptor((path + name).split("\\."), type.asPrimitiveType(), repetition, definition);
            context.leaves.add(leaf);
            return leaf;
        }
        GroupType group = type.asGroupType();
        String childPath = path + name + ".";
        switch (avro.getType()) {
            case RECORD:
                return new RecordNode(group, avro, definition, repetition, optional, childPath, context);
            case MAP:
                return new MapNode(group, avro, definition, repetition, optional, childPath, context);
            case ARRAY:
                return new ListNode(group, avro, definition, repetition, optional, childPath, context);
            default:
                throw new UnsupportedOperationException(avro.getType().getName() + " as a group: " + path + name);
        }
    }

    /** The type of a {@code [null, T]} union (or a plain type), which must be optional exactly when it is a union. */
    private static Schema nonNull(Schema schema, boolean optional) {
        if (schema.getType() != Schema.Type.UNION) {
            if (optional) {
                throw new UnsupportedOperationException("optional column of a non-null type " + schema);
            }
            return schema;
        }
        List<Schema> branches = schema.getTypes();
        if (!optional || branches.size() != 2) {
            throw new UnsupportedOperationException("union " + schema);
        }
        if (branches.get(0).getType() == Schema.Type.NULL) {
            return branches.get(1);
        }
        if (branches.get(1).getType() == Schema.Type.NULL) {
            return branches.get(0);
        }
        throw new UnsupportedOperationException("union " + schema);
    }

    private static Leaf leaf(PrimitiveType type, Schema avro, int definition, boolean optional, String name) {
        PrimitiveType.PrimitiveTypeName primitive = type.getPrimitiveTypeName();
        LogicalTypeAnnotation logical = type.getLogicalTypeAnnotation();
        switch (avro.getType()) {
            case STRING:
                if (primitive == PrimitiveType.PrimitiveTypeName.BINARY
                        && logical instanceof LogicalTypeAnnotation.StringLogicalTypeAnnotation) {
                    return new StringLeaf(name, definition, optional);
                }
                break;
            case LONG:
                if (primitive == PrimitiveType.PrimitiveTypeName.INT64) {
                    return new LongLeaf(name, definition, optional);
                }
                break;
            case INT:
                if (primitive == PrimitiveType.PrimitiveTypeName.INT32 && logical == null) {
                    return new IntLeaf(name, definition, optional);
                }
                break;
            case BOOLEAN:
                if (primitive == PrimitiveType.PrimitiveTypeName.BOOLEAN) {
                    return new BooleanLeaf(name, definition, optional);
                }
                break;
            case DOUBLE:
                if (primitive == PrimitiveType.PrimitiveTypeName.DOUBLE) {
                    return new DoubleLeaf(name, definition, optional);
                }
                break;
            case FLOAT:
                if (primitive == PrimitiveType.PrimitiveTypeName.FLOAT) {
                    return new FloatLeaf(name, definition, optional);
                }
                break;
            default:
                break;
        }
        throw new UnsupportedOperationException(avro.getType().getName() + " as " + type);
    }

    /** A record's fields, by position. The root record is the message itself. */
    static final class RecordNode extends Node {
        private final int[] positions;
        private final Node[] fields;

        RecordNode(
                GroupType group,
                Schema avro,
                int definition,
                int repetition,
                boolean optional,
                String path,
                Context context) {
            super(group.getName(), definition, optional);
            if (avro.getType() != Schema.Type.RECORD) {
                throw new UnsupportedOperationException("not a record: " + avro);
            }
            int n = group.getFieldCount();
            positions = new int[n];
            fields = new Node[n];
            for (int i = 0; i < n; i++) {
                Type type = group.getType(i);
                Schema.Field field = avro.getField(type.getName());
                if (field == null) {
                    throw new UnsupportedOperationException("no Avro field " + type.getName());
                }
                positions[i] = field.pos();
                fields[i] = compile(type, field.schema(), definition, repetition, path, context);
            }
        }

        void writeFields(IndexedRecord record, int r) {
            for (int i = 0; i < fields.length; i++) {
                fields[i].write(record.get(positions[i]), r);
            }
        }

        @Override
        void writeValue(Object value, int r) {
            writeFields((IndexedRecord) value, r);
        }

        @Override
        void writeNull(int r, int d) {
            for (Node field : fields) {
                field.writeNull(r, d);
            }
        }
    }

    /**
     * {@code MAP > repeated key_value > (required key, value)}; an empty map is a null at the map's level. A top-level
     * map of strings may write its two columns itself ({@link StringMapColumns}), when the schema was compiled so.
     */
    static final class MapNode extends Node {
        private final StringLeaf key;
        private final Node value;
        /** The repetition level of the entries after the first. */
        private final int repeated;
        /** Whether {@link #own} writes this map's columns. */
        private final boolean owned;
        /** The writer of this map's columns in the current row group, when {@link #owned}. */
        StringMapColumns own;

        MapNode(
                GroupType group,
                Schema avro,
                int definition,
                int repetition,
                boolean optional,
                String path,
                Context context) {
            super(group.getName(), definition, optional);
            if (group.getFieldCount() != 1 || group.getType(0).isPrimitive()) {
                throw new UnsupportedOperationException("map " + group);
            }
            GroupType entries = group.getType(0).asGroupType();
            if (!entries.isRepetition(Type.Repetition.REPEATED)
                    || entries.getFieldCount() != 2
                    || !entries.getType(0).isRepetition(Type.Repetition.REQUIRED)) {
                throw new UnsupportedOperationException("map " + group);
            }
            this.repeated = repetition + 1;
            String entriesPath = path + entries.getName() + ".";
            Node k = compile(
                    entries.getType(0),
                    Schema.create(Schema.Type.STRING),
                    definition + 1,
                    repeated,
                    entriesPath,
                    context);
            if (!(k instanceof StringLeaf)) {
                throw new UnsupportedOperationException("map key " + group);
            }
            this.key = (StringLeaf) k;
            this.value =
                    compile(entries.getType(1), avro.getValueType(), definition + 1, repeated, entriesPath, context);
            // only a field of the message itself: the column store leaves such fields out by name
            this.owned = context.ownMapColumns
                    && path.equals(group.getName() + ".")
                    && value instanceof StringLeaf
                    && !value.optional
                    && group.getType(0).asGroupType().getType(1).isRepetition(Type.Repetition.REQUIRED);
            if (owned) {
                key.ownedByMap = true;
                ((Leaf) value).ownedByMap = true;
                context.ownMaps.add(this);
            }
        }

        @Override
        void writeValue(Object v, int r) {
            Map<?, ?> map = (Map<?, ?>) v;
            if (map.isEmpty()) {
                writeNull(r, definition);
                return;
            }
            if (owned) {
                own.writeEntries(map);
                return;
            }
            int level = r;
            for (Map.Entry<?, ?> e : map.entrySet()) {
                key.write(e.getKey(), level);
                value.write(e.getValue(), level);
                level = repeated;
            }
        }

        @Override
        void writeNull(int r, int d) {
            if (owned) {
                own.writeNull(d);
                return;
            }
            key.writeNull(r, d);
            value.writeNull(r, d);
        }
    }

    /** {@code LIST > repeated list > element}; an empty list is a null at the list's level. */
    static final class ListNode extends Node {
        private final Node element;
        private final int repeated;

        ListNode(
                GroupType group,
                Schema avro,
                int definition,
                int repetition,
                boolean optional,
                String path,
                Context context) {
            super(group.getName(), definition, optional);
            if (group.getFieldCount() != 1 || group.getType(0).isPrimitive()) {
                throw new UnsupportedOperationException("two-level list " + group);
            }
            GroupType list = group.getType(0).asGroupType();
            if (!list.isRepetition(Type.Repetition.REPEATED)
                    || list.getFieldCount() != 1
                    || !list.getName().equals("list")) {
                throw new UnsupportedOperationException("two-level list " + group);
            }
            this.repeated = repetition + 1;
            this.element = compile(
                    list.getType(0),
                    avro.getElementType(),
                    definition + 1,
                    repeated,
                    path + list.getName() + ".",
                    context);
        }

        @Override
        void writeValue(Object v, int r) {
            Collection<?> list = (Collection<?>) v;
            if (list.isEmpty()) {
                writeNull(r, definition);
                return;
            }
            int level = r;
            for (Object e : list) {
                element.write(e, level);
                level = repeated;
            }
        }

        @Override
        void writeNull(int r, int d) {
            element.writeNull(r, d);
        }
    }

    /** One Parquet column. */
    abstract static class Leaf extends Node {
        ColumnDescriptor descriptor;
        /** The column's writer in the current row group. */
        ColumnWriter column;
        /** Whether a {@link MapNode} writes this column itself, without {@link #column}. */
        boolean ownedByMap;

        Leaf(String name, int definition, boolean optional) {
            super(name, definition, optional);
        }

        @Override
        final void writeNull(int r, int d) {
            column.writeNull(r, d);
        }
    }

    /**
     * A string column. Most of its values repeat (attribute keys, the resource and scope columns, which the
     * flatteners share as one {@code String} between a scope's rows, routes, names), so it keeps the binaries of
     * recent values in a small direct-mapped table: a value found there costs a {@code String.equals} instead of its
     * UTF-8 bytes, and the dictionary, which holds that same binary, compares it by identity instead of byte by byte.
     * The slot comes from the length and two characters, not {@code String.hashCode}, which for the new strings of
     * every decoded item would be a loop over all of them. A column whose values rarely repeat (ids, paths with ids in
     * them) stops looking after a few thousand values.
     */
    static final class StringLeaf extends Leaf {
        private static final int SLOTS = 256;
        private static final int CHECK_EVERY = 4096;

        private String[] strings = new String[SLOTS];
        private final Binary[] binaries = new Binary[SLOTS];
        private int lookups;
        private int hits;
        private String lastString;
        private Binary lastBinary;

        StringLeaf(String name, int definition, boolean optional) {
            super(name, definition, optional);
        }

        @Override
        void writeValue(Object value, int r) {
            column.write(value instanceof String s ? binary(s) : binary(value), r, definition);
        }

        private Binary binary(String s) {
            if (s == lastString) {
                return lastBinary;
            }
            Binary b;
            String[] seen = strings;
            int n = s.length();
            if (seen == null || n == 0) {
                b = Binary.fromConstantByteArray(s.getBytes(StandardCharsets.UTF_8));
            } else {
                int slot = (n * 0x9E3779B1 + s.charAt(n - 1) * 31 + s.charAt(n >> 1)) & (SLOTS - 1);
                String there = seen[slot];
                if (there != null && there.equals(s)) {
                    b = binaries[slot];
                    hits++;
                } else {
                    b = Binary.fromConstantByteArray(s.getBytes(StandardCharsets.UTF_8));
                    seen[slot] = s;
                    binaries[slot] = b;
                }
                if (++lookups == CHECK_EVERY) {
                    if (hits < CHECK_EVERY / 4) {
                        strings = null; // mostly new values: the lookups cost more than they save
                    }
                    lookups = 0;
                    hits = 0;
                }
            }
            lastString = s;
            lastBinary = b;
            return b;
        }

        private static Binary binary(Object value) {
            if (value instanceof Utf8 u) {
                return Binary.fromReusedByteArray(u.getBytes(), 0, u.getByteLength());
            }
            return Binary.fromConstantByteArray(value.toString().getBytes(StandardCharsets.UTF_8));
        }
    }

    static final class LongLeaf extends Leaf {
        LongLeaf(String name, int definition, boolean optional) {
            super(name, definition, optional);
        }

        @Override
        void writeValue(Object value, int r) {
            column.write(((Number) value).longValue(), r, definition);
        }
    }

    static final class IntLeaf extends Leaf {
        IntLeaf(String name, int definition, boolean optional) {
            super(name, definition, optional);
        }

        @Override
        void writeValue(Object value, int r) {
            column.write(((Number) value).intValue(), r, definition);
        }
    }

    static final class BooleanLeaf extends Leaf {
        BooleanLeaf(String name, int definition, boolean optional) {
            super(name, definition, optional);
        }

        @Override
        void writeValue(Object value, int r) {
            column.write((Boolean) value, r, definition);
        }
    }

    static final class DoubleLeaf extends Leaf {
        DoubleLeaf(String name, int definition, boolean optional) {
            super(name, definition, optional);
        }

        @Override
        void writeValue(Object value, int r) {
            column.write(((Number) value).doubleValue(), r, definition);
        }
    }

    static final class FloatLeaf extends Leaf {
        FloatLeaf(String name, int definition, boolean optional) {
            super(name, definition, optional);
        }

        @Override
        void writeValue(Object value, int r) {
            column.write(((Number) value).floatValue(), r, definition);
        }
    }
}
