package io.otellake.schemas;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A small map of attribute texts in insertion order, as {@link AttributeCodec#encode} builds it: keys and values in
 * two arrays, looked up by a linear scan. While it is built, the scan that finds a repeated key compares the keys'
 * hash codes first (a {@code String} caches its hash, and the wire reader of spans hands out the same key instance
 * span after span) and the keys themselves only where those match; {@link #built} then drops the hash codes. It costs
 * a fraction of a {@code LinkedHashMap}: no table, and no object per entry (the archiver holds a file's rows in memory
 * until it writes them, and every object a row keeps is one more for the garbage collector to copy; an entry is made
 * only for whoever walks {@link #entrySet}). Read-only to its users; equal to any map with the same entries.
 *
 * <p>Public so that writers can rely on what the type guarantees: an {@code AttributeMap} never changes once {@code
 * AttributeCodec} has handed it out (it is built only inside this package, and offers no way to change it from
 * outside), so whatever a writer works out from one (the archiver's Parquet writer remembers the dictionary ids of a
 * request's shared resource attributes) stays true for as long as it holds the map. Writers may read it by position,
 * {@link #keyAt} and {@link #valueAt}, without the entries.
 */
public final class AttributeMap extends AbstractMap<String, String> {
    private String[] keys;
    private String[] values;
    private int @Nullable [] hashes; // while the map is built
    private int size;
    private @Nullable Set<Entry<String, String>> entrySet;

    AttributeMap(int capacity) {
        keys = new String[Math.max(capacity, 1)];
        values = new String[keys.length];
        hashes = new int[keys.length];
    }

    /** A built map of {@code size} entries over arrays that no one changes: see {@link #withValues}. */
    private AttributeMap(String[] keys, String[] values, int size) {
        this.keys = keys;
        this.values = values;
        this.size = size;
    }

    /**
     * Whether this map's keys are, one by one, the very instances {@code keys[0, count)}: then those have no key twice,
     * since a built map has none, and a map of them is this one's keys with other values.
     */
    boolean hasKeys(String[] keys, int count) {
        if (size != count) {
            return false;
        }
        for (int i = 0; i < count; i++) {
            if (this.keys[i] != keys[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * A built map of this one's keys, in their order, with {@code values} (as many): its keys are this map's array, not a
     * copy, which is safe because neither map changes once built. The archiver holds a file's rows until it writes
     * them, and spans of one kind carry the same keys: one array fewer per row for the garbage collector to copy.
     */
    AttributeMap withValues(String[] values) {
        if (hashes != null) {
            throw new IllegalStateException("a map being built could still change its keys");
        }
        if (values.length < size) {
            throw new IllegalArgumentException(values.length + " values for " + size + " keys");
        }
        return new AttributeMap(keys, values, size);
    }

    /** Whether the two maps share one array of keys (for tests). */
    boolean sharesKeysWith(AttributeMap other) {
        return keys == other.keys;
    }

    /** Adds or replaces the value of {@code key}; a replaced key keeps its place, as in {@code LinkedHashMap}. */
    void add(String key, String value) {
        int[] h = building();
        int at = indexOf(key);
        if (at >= 0) {
            values[at] = value;
            return;
        }
        if (size == keys.length) {
            keys = Arrays.copyOf(keys, size * 2);
            values = Arrays.copyOf(values, size * 2);
            hashes = h = Arrays.copyOf(h, size * 2);
        }
        h[size] = key.hashCode();
        keys[size] = key;
        values[size++] = value;
    }

    /** Removes {@code key} if present, keeping the order of the others. */
    void delete(String key) {
        int[] h = building();
        int at = indexOf(key);
        if (at >= 0) {
            System.arraycopy(keys, at + 1, keys, at, size - at - 1);
            System.arraycopy(values, at + 1, values, at, size - at - 1);
            System.arraycopy(h, at + 1, h, at, size - at - 1);
            size--;
            keys[size] = null;
            values[size] = null;
        }
    }

    /** Ends the building: drops what only the building needed, and returns the map. */
    AttributeMap built() {
        hashes = null;
        return this;
    }

    private int[] building() {
        int[] h = hashes;
        if (h == null) {
            throw new IllegalStateException("an AttributeMap does not change once built");
        }
        return h;
    }

    private int indexOf(@Nullable Object key) {
        if (!(key instanceof String)) {
            return -1;
        }
        int[] h = hashes;
        int hash = h == null ? 0 : key.hashCode();
        for (int i = 0; i < size; i++) {
            if ((h == null || h[i] == hash) && keys[i].equals(key)) {
                return i;
            }
        }
        return -1;
    }

    /** Whether {@code other} holds the same keys and values in the same order: everything a writer writes of it. */
    boolean sameInOrder(AttributeMap other) {
        return size == other.size
                && Arrays.equals(keys, 0, size, other.keys, 0, size)
                && Arrays.equals(values, 0, size, other.values, 0, size);
    }

    /** The key of the entry at {@code index}, in insertion order. */
    public String keyAt(int index) {
        return keys[Objects.checkIndex(index, size)];
    }

    /** The value of the entry at {@code index}, in insertion order. */
    public String valueAt(int index) {
        return values[Objects.checkIndex(index, size)];
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public boolean isEmpty() {
        return size == 0;
    }

    @Override
    public boolean containsKey(Object key) {
        return indexOf(key) >= 0;
    }

    @Override
    public @Nullable String get(Object key) {
        int at = indexOf(key);
        return at < 0 ? null : values[at];
    }

    @Override
    public Set<Entry<String, String>> entrySet() {
        Set<Entry<String, String>> set = entrySet;
        if (set == null) {
            set = new AbstractSet<>() {
                @Override
                public Iterator<Entry<String, String>> iterator() {
                    return new Iterator<>() {
                        private int next;

                        @Override
                        public boolean hasNext() {
                            return next < size;
                        }

                        @Override
                        public Entry<String, String> next() {
                            if (next >= size) {
                                throw new NoSuchElementException();
                            }
                            int at = next++;
                            return new SimpleImmutableEntry<>(keys[at], values[at]);
                        }
                    };
                }

                @Override
                public int size() {
                    return size;
                }
            };
            entrySet = set;
        }
        return set;
    }

    @Override
    public void forEach(java.util.function.BiConsumer<? super String, ? super String> action) {
        for (int i = 0; i < size; i++) {
            action.accept(keys[i], values[i]);
        }
    }
}
