package io.otellake.archiver;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One writer's own folder under the configured spool folder ({@code OTEL_LAKE_ARCHIVER_SPOOL_DIR}), where Parquet
 * files are written before they are uploaded.
 *
 * <p>Guarantee: what a writer that ended without cleaning up (SIGKILL, a crash, a power cut) left in its folder is
 * deleted by the next writer that claims a folder under the same spool folder, and a folder whose writer still runs is
 * never touched. Ownership is an operating-system lock on {@code spool-<id>.lock} beside the folder {@code
 * spool-<id>}: taken before the folder exists, held while the writer lives, released by the operating system when its
 * process ends, however it ends. So archivers may share one spool folder, on one machine or on a shared disk whose
 * file locks work (a local disk; not every network file system).
 *
 * <p>Not covered: files of the layout before this class (directly in the spool folder) are left alone, and so is a
 * folder whose lock file someone else deleted. On a network file system whose locks are advisory or cached, two
 * machines' archivers must not share a spool folder.
 */
final class SpoolFolder implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(SpoolFolder.class);
    private static final String PREFIX = "spool-";
    private static final String LOCK_SUFFIX = ".lock";
    /** The lock files this JVM's claims hold; guarded by itself, which also serializes claims and closes. */
    private static final Set<Path> HELD = new HashSet<>();

    private final Path folder;
    private final Path lockFile;
    private final FileChannel channel;

    private SpoolFolder(Path folder, Path lockFile, FileChannel channel) {
        this.folder = folder;
        this.lockFile = lockFile;
        this.channel = channel;
    }

    /**
     * Removes what writers that are gone left under {@code root}, then takes a folder of its own there. Claims in one
     * JVM run one at a time, and never open another claim's lock file: closing any channel of a file drops every
     * lock the process holds on it (POSIX record locks), so a sweep that opened a live claim's lock file would give
     * its lock away.
     *
     * @throws UncheckedIOException naming the folder when it cannot be created or locked
     */
    static SpoolFolder claim(Path root) {
        synchronized (HELD) {
            try {
                Files.createDirectories(root);
                sweep(root);
                while (true) {
                    String name = PREFIX + UUID.randomUUID();
                    Path lockFile = root.resolve(name + LOCK_SUFFIX);
                    FileChannel channel =
                            FileChannel.open(lockFile, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                    try {
                        FileLock lock = channel.tryLock();
                        // A sweeping writer in another process may have locked and deleted the new file between its
                        // creation and our lock: then the lock protects nothing, so take another name.
                        if (lock != null && Files.exists(lockFile)) {
                            Path folder = root.resolve(name);
                            Files.createDirectories(folder);
                            HELD.add(lockFile.toAbsolutePath().normalize());
                            return new SpoolFolder(folder, lockFile, channel);
                        }
                    } catch (IOException | RuntimeException e) {
                        channel.close();
                        Files.deleteIfExists(lockFile);
                        throw e;
                    }
                    channel.close();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(
                        "cannot claim a spool folder under " + root + " (OTEL_LAKE_ARCHIVER_SPOOL_DIR): "
                                + e.getMessage(),
                        e);
            }
        }
    }

    /** The folder, created again if something removed it. */
    Path path() throws IOException {
        return Files.createDirectories(folder);
    }

    /** Deletes the folder with what is in it, then gives up the lock. */
    @Override
    public void close() {
        synchronized (HELD) {
            try {
                deleteTree(folder);
                Files.deleteIfExists(lockFile);
            } catch (IOException e) {
                log.warn(
                        "could not delete spool folder {}; the next archiver to start removes it: {}",
                        folder,
                        e.getMessage());
            } finally {
                HELD.remove(lockFile.toAbsolutePath().normalize());
                try {
                    channel.close();
                } catch (IOException e) {
                    log.warn("could not release the lock on {}: {}", lockFile, e.getMessage());
                }
            }
        }
    }

    /**
     * Deletes the folder of every lock file under {@code root} that no running writer holds. Best effort: a leftover
     * that cannot be removed (another user's, a read-only one) is logged and left, never a reason not to start.
     */
    private static void sweep(Path root) throws IOException {
        List<Path> lockFiles = new ArrayList<>();
        try (DirectoryStream<Path> found = Files.newDirectoryStream(root, PREFIX + "*" + LOCK_SUFFIX)) {
            found.forEach(lockFiles::add);
        }
        for (Path lockFile : lockFiles) {
            if (HELD.contains(lockFile.toAbsolutePath().normalize())) {
                continue; // a writer in this JVM holds it; opening the file would release its lock
            }
            try {
                sweep(root, lockFile);
            } catch (IOException | RuntimeException e) {
                log.warn("could not remove the spool folder of {}, leaving it: {}", lockFile, e.toString());
            }
        }
    }

    private static void sweep(Path root, Path lockFile) throws IOException {
        String name = lockFile.getFileName().toString();
        Path folder = root.resolve(name.substring(0, name.length() - LOCK_SUFFIX.length()));
        FileChannel channel;
        try {
            channel = FileChannel.open(lockFile, StandardOpenOption.WRITE);
        } catch (NoSuchFileException e) {
            return; // another writer swept it meanwhile
        }
        try (channel) {
            FileLock lock = channel.tryLock();
            if (lock == null) {
                return; // a writer in another process holds it
            }
            long[] removed = deleteTree(folder);
            Files.deleteIfExists(lockFile);
            if (removed[0] > 0) {
                log.info(
                        "removed {} files ({} bytes) that a stopped archiver left in {}",
                        removed[0],
                        removed[1],
                        folder);
            }
        }
    }

    /** Deletes a folder and everything in it; returns the count and bytes of the files it held. */
    private static long[] deleteTree(Path folder) throws IOException {
        long[] removed = new long[2];
        if (!Files.exists(folder)) {
            return removed;
        }
        List<Path> paths;
        try (Stream<Path> walk = Files.walk(folder)) {
            paths = walk.sorted(Comparator.reverseOrder()).toList();
        }
        for (Path path : paths) {
            if (Files.isRegularFile(path)) {
                removed[0]++;
                removed[1] += Files.size(path);
            }
            Files.deleteIfExists(path);
        }
        return removed;
    }
}
