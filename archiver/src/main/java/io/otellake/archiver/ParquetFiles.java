package io.otellake.archiver;

import io.otellake.schemas.LakeSchema;
import io.otellake.schemas.Signal;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.LogicalType;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.parquet.avro.AvroSchemaConverter;
import org.apache.parquet.avro.AvroWriteSupport;
import org.apache.parquet.conf.ParquetConfiguration;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalOutputFile;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;
import org.apache.parquet.schema.Types;

/**
 * Writes lake rows as Parquet files that every common reader opens without options: zstd, dictionary encoding,
 * column statistics, standard three-level lists, a bloom filter on {@code trace_id}, nanosecond UTC timestamps, and
 * the schema version and writer in the key-value metadata.
 */
public final class ParquetFiles {
    static final String WRITER = "otel-lake-archiver " + version();

    private static final int ROW_GROUP_BYTES = 64 * 1024 * 1024;
    private static final int PAGE_BYTES = 1024 * 1024;
    private static final String TIMESTAMP_NANOS = "timestamp-nanos";

    private ParquetFiles() {}

    /** Writes the rows, in the order given, to a new file at {@code path}. */
    public static void write(Signal signal, List<GenericRecord> rows, Path path) throws IOException {
        Files.deleteIfExists(path);
        PlainParquetConfiguration conf = new PlainParquetConfiguration();
        // Three-level lists (LIST > list > element): what Spark, DuckDB, pyarrow and polars expect.
        conf.setBoolean(AvroWriteSupport.WRITE_OLD_LIST_STRUCTURE, false);
        Schema avro = LakeSchema.of(signal);
        MessageType parquet = parquetSchema(avro, conf);
        ParquetWriter.Builder<GenericRecord, ?> builder = new Builder(new LocalOutputFile(path), parquet, avro)
                .withConf(conf)
                .withCompressionCodec(CompressionCodecName.ZSTD)
                .withDictionaryEncoding(true)
                .withRowGroupSize(ROW_GROUP_BYTES)
                .withPageSize(PAGE_BYTES)
                .withWriteMode(ParquetFileWriter.Mode.OVERWRITE)
                .withExtraMetaData(LakeSchema.fileMetadata(signal, WRITER));
        if (signal == Signal.TRACES) {
            // Sized for the file's own trace ids: without a count, parquet-mr reserves its 1 MiB maximum per file.
            long traces = rows.stream()
                    .map(r -> r.get("trace_id").toString())
                    .distinct()
                    .count();
            builder = builder.withBloomFilterEnabled("trace_id", true)
                    .withBloomFilterNDV("trace_id", Math.max(1, traces));
        }
        try (ParquetWriter<GenericRecord> writer = builder.build()) {
            for (GenericRecord row : rows) {
                writer.write(row);
            }
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

    private static String version() {
        String v = ParquetFiles.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
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
            return new AvroWriteSupport<>(parquet, avro, GenericData.get());
        }

        @Override
        protected WriteSupport<GenericRecord> getWriteSupport(ParquetConfiguration conf) {
            return new AvroWriteSupport<>(parquet, avro, GenericData.get());
        }
    }
}
