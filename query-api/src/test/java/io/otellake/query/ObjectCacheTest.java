package io.otellake.query;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ObjectCacheTest {
    @TempDir
    Path dir;

    /**
     * Two queries hold one damaged copy; the first to fail drops it. The second then fails on the missing file, and its
     * error must still name the object (a 503 for the archive file), not be an error no one recognises (a 500).
     */
    @Test
    void aDiscardedFileIsStillNamedByItsObjectKeyForTheQueriesThatHeldIt() throws Exception {
        ObjectCache cache = new ObjectCache(dir, 1 << 20);
        ObjectCache.Cached first = cache.get("lake/logs/a.parquet", "\"e1\"", t -> Files.writeString(t, "damaged"));
        ObjectCache.Cached second = cache.get("lake/logs/a.parquet", "\"e1\"", t -> {
            throw new AssertionError("fetched once");
        });
        assertThat(second.file()).isEqualTo(first.file());
        String error = "IO Error: Cannot open file \"" + first.file() + "\": No such file or directory";

        cache.discard(first.file());

        assertThat(Files.exists(first.file())).isFalse();
        assertThat(cache.damagedFileNamedIn(error))
                .isEqualTo(new ObjectCache.Damaged(first.file(), "lake/logs/a.parquet"));
        ObjectCache.Cached again = cache.get("lake/logs/a.parquet", "\"e1\"", t -> Files.writeString(t, "good"));
        assertThat(again.hit()).as("the next query fetches the object again").isFalse();
        assertThat(Files.readString(again.file())).isEqualTo("good");
    }
}
