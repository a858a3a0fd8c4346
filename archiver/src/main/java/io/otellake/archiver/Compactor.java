package io.otellake.archiver;

import io.otellake.schemas.LakeSchema;
import io.otellake.schemas.Signal;
import io.otellake.schemas.TenantId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Merges the small files of closed hour partitions into a few large sorted ones, and rolls a closed day's trace index
 * files up into a few.
 *
 * <p><b>What readers see.</b> A compacted file is named {@code compacted-<millis>-<random>.parquet} and names the
 * files it replaces (same folder) in its Parquet key-value metadata, {@value #COMPACTED_FROM_KEY}, and in its S3
 * metadata. The steps are: upload the compacted file, then delete its inputs. A reader that lists a folder and finds a
 * compacted file ignores the inputs it names that are still listed; the query API does exactly this. So at any moment
 * the listed files, less the replaced ones, hold every row once: before the upload, the inputs alone; after it, the
 * compacted file, whose inputs are ignored until they are gone. An upload is atomic on S3, and inputs are deleted
 * only after it, so a reader never misses a row. A crash between the upload and the deletes leaves inputs that the
 * next pass deletes before it does anything else in that folder. Readers that glob the files directly (DuckDB, Spark)
 * can see a compacted hour's rows twice for the seconds between the upload and the deletes.
 *
 * <p><b>What it never touches.</b> Only files whose batch is committed in Kafka (their {@code otel-lake-offsets} end
 * below the group's committed offset) are merged, so the archiver's own recovery, which deletes the files of an
 * uncommitted batch, never meets a compacted copy of them. Open hours (less than {@link CompactionConfig#grace()}
 * since their end) and hours older than {@link CompactionConfig#lookback()} are left alone, and so are hours (and
 * index days) that the tenant's retention deletes now or within {@link #EXPIRY_MARGIN}, by the clock when the pass
 * comes to them (a pass may run longer than the margin): retention may run in another
 * archiver at the same moment, and a compacted file written from inputs it had just deleted would bring expired
 * records back until its next run.
 *
 * <p><b>One compactor per lake at a time.</b> Two compactors merging the same hour at once would each write a
 * compacted file of the same rows. Every archiver may have compaction on: a pass runs only while its archiver holds
 * the compaction {@link Lease}, which it checks again just before each upload of a compacted file.
 *
 * <p>A closed day's trace index files (under {@code _index/traces/tenant=<t>/dt=<day>/}, in hour folders) are rolled
 * up the same way, into compacted files at the top of the day folder that name their inputs relative to it.
 */
final class Compactor implements AutoCloseable {
    static final String COMPACTED_FROM_KEY = "otel_lake.compacted_from";
    static final String S3_COMPACTED_FROM = "otel-lake-compacted-from";
    static final String COMPACTED_PREFIX = "compacted-";
    /** The names of a compacted file's inputs must fit S3's 2 KB of user metadata. */
    private static final int MAX_NAMES = 1500;
    /** The admin client's Kafka client id. */
    static final String CLIENT_ID = "otel-lake-compactor";

    private static final Logger log = LoggerFactory.getLogger(Compactor.class);
    /** What follows a day's folder in an hour folder's name. */
    private static final Pattern HOUR_FOLDER = Pattern.compile("hour=(\\d{2})/");

    private static final Pattern SOURCE = Pattern.compile("(.+)-(\\d+)");
    private static final Pattern OFFSETS = Pattern.compile("(\\d+)-(\\d+)");

    /** Hours and index days that retention deletes within this long are not compacted any more. */
    static final Duration EXPIRY_MARGIN = Duration.ofHours(1);

    private final ArchiverConfig config;
    private final CompactionConfig compaction;
    private final Clock clock;
    private final String root;
    private final S3Store store;
    private final Admin admin;
    private final ArchiverMetrics metrics;
    /** Where inputs and output are written; what a killed archiver left there is removed by the next one. */
    private final SpoolFolder spool;

    private final Lease lease;
    private final @Nullable RetentionPolicy retention;

    /** A compactor for a lake without retention. */
    Compactor(ArchiverConfig config, CompactionConfig compaction, Clock clock, ArchiverMetrics metrics) {
        this(config, compaction, clock, metrics, null);
    }

    /**
     * @param retention the lake's retention, if it has one, whether this archiver or another one applies it: hours
     *     and index days that have expired, or expire within {@link #EXPIRY_MARGIN}, are left to it, never compacted
     *     (see the class comment)
     */
    Compactor(
            ArchiverConfig config,
            CompactionConfig compaction,
            Clock clock,
            ArchiverMetrics metrics,
            @Nullable RetentionPolicy retention) {
        this.retention = retention;
        this.config = config;
        this.compaction = compaction;
        this.clock = clock;
        this.metrics = metrics;
        this.spool = SpoolFolder.claim(config.spoolDir());
        this.root = config.root();
        this.store = new S3Store(config);
        Properties props = new Properties();
        props.putAll(config.kafkaClient().asMap()); // first: the settings below are the archiver's own
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafkaBootstrap());
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, CLIENT_ID);
        this.admin = Admin.create(props);
        this.lease = new Lease(Lease.Kind.COMPACTION, store, root, Lease.ownerId(config), clock);
    }

    /** What one pass did. */
    record Pass(int hoursCompacted, int filesMerged, int filesWritten, int indexDaysRolledUp) {}

    /** One pass over every tenant's closed hours within the lookback, then over the trace index's closed days. */
    Pass runOnce() {
        try {
            if (!lease.hold()) {
                log.info("compaction pass skipped: another archiver holds the compaction lease");
                metrics.maintenanceRun("compaction", "skipped");
                return new Pass(0, 0, 0, 0);
            }
            Pass pass = pass();
            metrics.maintenanceRun("compaction", true);
            return pass;
        } catch (RuntimeException e) {
            metrics.maintenanceRun("compaction", false);
            throw e;
        }
    }

    /** A pass, while this archiver holds the lease. */
    private Pass pass() {
        Instant now = clock.instant();
        Committed committed = new Committed();
        int hours = 0;
        int merged = 0;
        int written = 0;
        for (Signal signal : Signal.values()) {
            for (String tenantFolder : store.listFolders(root + signal.pathSegment() + "/")) {
                TenantId tenant = tenantOf(tenantFolder);
                if (tenant == null) {
                    log.warn("compaction skips {}: not a tenant folder", tenantFolder);
                    continue;
                }
                for (LocalDate day : days(now)) {
                    Map<String, List<S3Store.Listed>> byHour = new LinkedHashMap<>();
                    for (S3Store.Listed o : store.list(tenantFolder + "dt=" + day + "/")) {
                        int slash = o.key().lastIndexOf('/');
                        byHour.computeIfAbsent(o.key().substring(0, slash + 1), k -> new ArrayList<>())
                                .add(o);
                    }
                    String dayFolder = tenantFolder + "dt=" + day + "/";
                    for (Map.Entry<String, List<S3Store.Listed>> hour : byHour.entrySet()) {
                        Instant hourEnd = hourEnd(day, hour.getKey().substring(dayFolder.length()));
                        if (hourEnd == null) {
                            if (!hour.getKey().equals(dayFolder)) {
                                log.warn("compaction skips {}: not an hour folder", hour.getKey());
                            }
                            continue;
                        }
                        // The time of day now, not at the pass's start: a pass can run for longer than the margin.
                        if (hourEnd.plus(compaction.grace()).isAfter(now)
                                || expiresSoon(tenant, hourEnd, clock.instant())) {
                            continue;
                        }
                        int[] done = compactFolder(Kind.of(signal), hour.getKey(), hour.getValue(), committed);
                        if (done[0] > 0) {
                            hours++;
                            merged += done[0];
                            written += done[1];
                        }
                    }
                }
            }
        }
        int indexDays = rollUpTraceIndex(now, committed);
        return new Pass(hours, merged, written, indexDays);
    }

    /** What is merged: the rows of a signal's hour partition, or a day of the trace index. */
    private record Kind(
            String label,
            Schema schema,
            Comparator<GenericRecord> order,
            boolean traceIdBloom,
            Map<String, String> fileMetadata) {
        static Kind of(Signal signal) {
            return new Kind(
                    signal.pathSegment(),
                    LakeSchema.of(signal),
                    HourFile.order(signal),
                    signal == Signal.TRACES,
                    LakeSchema.fileMetadata(signal, ParquetFiles.WRITER));
        }

        static Kind traceIndex() {
            return new Kind(
                    "trace_index",
                    TraceIndex.SCHEMA,
                    TraceIndex.ORDER,
                    true,
                    Map.of(
                            LakeSchema.SCHEMA_VERSION_KEY, "1",
                            LakeSchema.SIGNAL_KEY, "trace_index",
                            LakeSchema.WRITER_KEY, ParquetFiles.WRITER));
        }
    }

    /**
     * Compacts the Parquet files below {@code folder} (their names relative to it), after finishing what an earlier,
     * interrupted pass left. Returns {inputs merged, files written}.
     */
    private int[] compactFolder(Kind kind, String folder, List<S3Store.Listed> listed, Committed committed) {
        List<S3Store.Listed> files = new ArrayList<>();
        for (S3Store.Listed o : listed) {
            if (o.key().startsWith(folder) && o.key().endsWith(".parquet")) {
                files.add(o);
            }
        }
        // A crash between a compacted file's upload and the deletes of its inputs: finish the deletes first.
        List<String> superseded = new ArrayList<>();
        for (S3Store.Listed o : files) {
            if (o.key().startsWith(COMPACTED_PREFIX, o.key().lastIndexOf('/') + 1)) {
                store.metadata(o.key())
                        .map(m -> m.get(S3_COMPACTED_FROM))
                        .ifPresent(from -> superseded.addAll(Arrays.asList(from.split(","))));
            }
        }
        files.removeIf(o -> {
            if (superseded.contains(name(o, folder))) {
                store.delete(o.key());
                log.info("deleted {}, already merged into a compacted file", o.key());
                return true;
            }
            return false;
        });
        List<S3Store.Listed> candidates = new ArrayList<>();
        for (S3Store.Listed o : files) {
            if (o.size() < compaction.targetBytes() / 2 && committed.covers(o.key())) {
                candidates.add(o);
            }
        }
        List<List<S3Store.Listed>> groups = new ArrayList<>();
        List<S3Store.Listed> group = new ArrayList<>();
        long groupBytes = 0;
        int groupNames = 0;
        for (S3Store.Listed o : candidates) {
            int nameLength = name(o, folder).length() + 1;
            if (!group.isEmpty()
                    && (groupBytes + o.size() > compaction.targetBytes() || groupNames + nameLength > MAX_NAMES)) {
                groups.add(group);
                group = new ArrayList<>();
                groupBytes = 0;
                groupNames = 0;
            }
            group.add(o);
            groupBytes += o.size();
            groupNames += nameLength;
        }
        groups.add(group);
        int merged = 0;
        int written = 0;
        for (List<S3Store.Listed> inputs : groups) {
            // An object that is no file of this kind (copied in by hand, say) is left out and left alone: merging it
            // is impossible, and failing on it would stop every later pass at the same object.
            while (inputs.size() >= 2) {
                try {
                    merge(kind, folder, inputs);
                    merged += inputs.size();
                    written++;
                    break;
                } catch (UnusableInput e) {
                    log.warn("compaction leaves {} alone: {}", e.input.key(), e.getMessage());
                    inputs.remove(e.input);
                }
            }
        }
        return new int[] {merged, written};
    }

    /** An input that is not a Parquet file of the kind being merged. */
    private static final class UnusableInput extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final transient S3Store.Listed input;

        UnusableInput(S3Store.Listed input, String message, @Nullable Throwable cause) {
            super(message, cause);
            this.input = input;
        }
    }

    private void merge(Kind kind, String folder, List<S3Store.Listed> inputs) {
        String names =
                String.join(",", inputs.stream().map(o -> name(o, folder)).toList());
        String name = COMPACTED_PREFIX + clock.millis() + "-"
                + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x100000, 0xFFFFFF)) + ".parquet";
        Map<String, String> fileMetadata = new HashMap<>(kind.fileMetadata());
        fileMetadata.put(COMPACTED_FROM_KEY, names);
        long rows = mergeFiles(
                inputs,
                kind.schema(),
                kind.order(),
                fileMetadata,
                kind.traceIdBloom(),
                folder + name,
                Map.of(S3_COMPACTED_FROM, names));
        for (S3Store.Listed o : inputs) {
            store.delete(o.key());
        }
        metrics.compacted(kind.label(), inputs.size());
        log.info("compacted {} files of {} into {} ({} rows)", inputs.size(), folder, name, rows);
    }

    /** Rolls the trace index files of each closed day within the lookback up, the same way as hour partitions. */
    private int rollUpTraceIndex(Instant now, Committed committed) {
        int days = 0;
        for (String tenantFolder : store.listFolders(root + TraceIndex.FOLDER)) {
            TenantId tenant = tenantOf(tenantFolder);
            if (tenant == null) {
                continue;
            }
            for (LocalDate day : days(now)) {
                Instant dayEnd = day.plusDays(1).atStartOfDay().toInstant(ZoneOffset.UTC);
                if (dayEnd.plus(compaction.grace()).isAfter(now) || expiresSoon(tenant, dayEnd, clock.instant())) {
                    continue;
                }
                String dayFolder = tenantFolder + "dt=" + day + "/";
                int[] done = compactFolder(Kind.traceIndex(), dayFolder, store.list(dayFolder), committed);
                if (done[0] > 0) {
                    days++;
                }
            }
        }
        return days;
    }

    /** Downloads the inputs, merges their sorted rows into one sorted file and uploads it; returns the row count. */
    private long mergeFiles(
            List<S3Store.Listed> inputs,
            Schema schema,
            Comparator<GenericRecord> order,
            Map<String, String> fileMetadata,
            boolean traceIdBloom,
            String key,
            Map<String, String> s3Metadata) {
        List<Path> local = new ArrayList<>();
        Path out = null;
        List<ParquetFiles.RowReader> readers = new ArrayList<>();
        try {
            Path folder = spool.path();
            out = folder.resolve("out.parquet");
            for (int i = 0; i < inputs.size(); i++) {
                Path file = folder.resolve("in-" + i + ".parquet");
                store.download(inputs.get(i).key(), inputs.get(i).size(), file);
                local.add(file);
            }
            long rowCount = 0;
            String signal = fileMetadata.get(LakeSchema.SIGNAL_KEY);
            for (int i = 0; i < local.size(); i++) {
                ParquetFiles.RowReader reader;
                try {
                    String fileSignal = ParquetFiles.metadata(local.get(i)).get(LakeSchema.SIGNAL_KEY);
                    if (!signal.equals(fileSignal)) {
                        throw new UnusableInput(
                                inputs.get(i),
                                "its " + LakeSchema.SIGNAL_KEY + " is " + fileSignal + ", not " + signal,
                                null);
                    }
                    reader = ParquetFiles.read(local.get(i), schema);
                } catch (UnusableInput e) {
                    throw e;
                } catch (IOException | RuntimeException e) {
                    throw new UnusableInput(inputs.get(i), "not a readable Parquet file: " + e.getMessage(), e);
                }
                readers.add(reader);
                rowCount += reader.rowCount();
            }
            Merge merge = new Merge(readers, order);
            try {
                ParquetFiles.write(
                        schema,
                        fileMetadata,
                        traceIdBloom ? Math.max(1, rowCount) : 0,
                        merge,
                        out,
                        ParquetFiles.WritePath.LAKE,
                        config.rowGroupBytes(),
                        compaction.zstdLevel());
            } catch (Merge.InputFailed e) {
                // a row group past the first that does not read: as unusable as a file that does not open
                throw new UnusableInput(
                        inputs.get(e.input),
                        "not a readable Parquet file: " + e.getCause().getMessage(),
                        e);
            }
            Map<String, String> metadata = new HashMap<>(s3Metadata);
            metadata.put("otel-lake-rows", Long.toString(merge.count));
            // before the upload's every call, not only its first: a large file goes up in parts, and the lease is
            // only sure to outlast one S3 call; an archiver that took it over would merge the same inputs again
            store.put(key, out, metadata, () -> {
                if (!lease.hold()) {
                    throw new IllegalStateException(
                            "compaction lease lost to another archiver while uploading " + key + "; this pass stops");
                }
            });
            return merge.count;
        } catch (IOException e) {
            throw new UncheckedIOException("compacting into " + key + " failed", e);
        } finally {
            for (ParquetFiles.RowReader reader : readers) {
                try {
                    reader.close();
                } catch (IOException e) {
                    log.warn("closing a compaction input failed: {}", e.getMessage());
                }
            }
            if (out != null) {
                local.add(out);
            }
            for (Path file : local) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException e) {
                    log.warn("could not delete spool file {}: {}", file, e.getMessage());
                }
            }
        }
    }

    /** A k-way merge of sorted row streams: one row per input in memory, beside the readers' row groups. */
    private static final class Merge implements Iterator<GenericRecord> {
        private record Head(GenericRecord row, int input) {}

        /** Reading the next row of an input failed; says which input. */
        static final class InputFailed extends RuntimeException {
            private static final long serialVersionUID = 1L;
            final int input;

            InputFailed(int input, RuntimeException cause) {
                super(cause);
                this.input = input;
            }
        }

        private final List<ParquetFiles.RowReader> inputs;
        private final PriorityQueue<Head> heads;
        long count;

        Merge(List<ParquetFiles.RowReader> inputs, Comparator<GenericRecord> order) {
            this.inputs = inputs;
            this.heads = new PriorityQueue<>(
                    Math.max(1, inputs.size()),
                    Comparator.comparing(Head::row, order).thenComparingInt(Head::input));
            for (int i = 0; i < inputs.size(); i++) {
                if (inputs.get(i).hasNext()) {
                    heads.add(new Head(inputs.get(i).next(), i));
                }
            }
        }

        @Override
        public boolean hasNext() {
            return !heads.isEmpty();
        }

        @Override
        public GenericRecord next() {
            Head head = heads.poll();
            if (head == null) {
                throw new NoSuchElementException();
            }
            ParquetFiles.RowReader input = inputs.get(head.input());
            if (input.hasNext()) {
                GenericRecord row;
                try {
                    row = input.next();
                } catch (RuntimeException e) {
                    throw new InputFailed(head.input(), e);
                }
                heads.add(new Head(row, head.input()));
            }
            count++;
            return head.row();
        }
    }

    /** The group's committed offsets, read once per pass. */
    private final class Committed {
        private @Nullable Map<TopicPartition, OffsetAndMetadata> offsets;

        /** Whether the file's batch is committed; files without batch metadata (compacted ones) always are. */
        boolean covers(String key) {
            Optional<Map<String, String>> metadata = store.metadata(key);
            if (metadata.isEmpty()) {
                return false; // gone meanwhile
            }
            String source = metadata.get().get("otel-lake-source");
            String range = metadata.get().get("otel-lake-offsets");
            if (source == null || range == null) {
                return true;
            }
            Matcher s = SOURCE.matcher(source);
            Matcher r = OFFSETS.matcher(range);
            if (!s.matches() || !r.matches()) {
                return false;
            }
            try {
                OffsetAndMetadata committed =
                        offsets().get(new TopicPartition(s.group(1), Integer.parseInt(s.group(2))));
                return committed != null && Long.parseLong(r.group(2)) < committed.offset();
            } catch (NumberFormatException e) {
                return false; // numbers no archiver wrote: not known to be committed, so left alone
            }
        }

        private Map<TopicPartition, OffsetAndMetadata> offsets() {
            if (offsets == null) {
                try {
                    offsets = admin.listConsumerGroupOffsets(config.groupId())
                            .partitionsToOffsetAndMetadata()
                            .get(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while reading the committed offsets", e);
                } catch (ExecutionException | TimeoutException e) {
                    throw new IllegalStateException(
                            "cannot read the committed offsets of group " + config.groupId() + ": " + e.getMessage(),
                            e);
                }
            }
            return offsets;
        }
    }

    private List<LocalDate> days(Instant now) {
        List<LocalDate> days = new ArrayList<>();
        LocalDate last = now.atZone(ZoneOffset.UTC).toLocalDate();
        for (LocalDate d =
                        now.minus(compaction.lookback()).atZone(ZoneOffset.UTC).toLocalDate();
                !d.isAfter(last);
                d = d.plusDays(1)) {
            days.add(d);
        }
        return days;
    }

    /**
     * The end of the hour whose folder is {@code rest} inside {@code day}'s folder, or null when {@code rest} is no
     * hour folder: hour=24 and the like, and folders inside an hour folder (which the listing of a day also returns),
     * are left alone.
     */
    private static @Nullable Instant hourEnd(LocalDate day, String rest) {
        Matcher m = HOUR_FOLDER.matcher(rest);
        if (!m.matches() || Integer.parseInt(m.group(1)) > 23) {
            return null;
        }
        return day.atTime(Integer.parseInt(m.group(1)), 0)
                .toInstant(ZoneOffset.UTC)
                .plusSeconds(3600);
    }

    /**
     * Whether retention deletes (or is about to delete) what ends at {@code end} in this tenant's data. Compacting
     * it would be wasted, and racy: another archiver's retention could delete the inputs while this one merges them,
     * and the merged file would then hold expired records until retention's next run.
     */
    private boolean expiresSoon(TenantId tenant, Instant end, Instant now) {
        if (retention == null) {
            return false;
        }
        return !end.isAfter(now.minus(retention.of(tenant.value())).plus(EXPIRY_MARGIN));
    }

    /** The tenant a folder {@code .../tenant=<id>/} is, or null when it is no valid tenant folder. */
    private static @Nullable TenantId tenantOf(String folder) {
        String segment = folder.substring(folder.lastIndexOf('/', folder.length() - 2) + 1, folder.length() - 1);
        if (!segment.startsWith("tenant=")) {
            return null;
        }
        try {
            return TenantId.of(segment.substring("tenant=".length()));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static String name(S3Store.Listed o, String folder) {
        return o.key().substring(folder.length());
    }

    @Override
    public void close() {
        try {
            admin.close();
            store.close();
        } finally {
            spool.close();
        }
    }

    /**
     * Gives up the compaction lease (see {@link Lease#release()}), so that the next archiver, this one
     * restarted included, compacts at once. Only once no pass runs or will run; S3 failures propagate.
     */
    void releaseLease() {
        lease.release();
    }
}
