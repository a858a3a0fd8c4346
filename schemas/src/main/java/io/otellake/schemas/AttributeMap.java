package io.otellake.schemas;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A small map of attribute texts in insertion order, as {@link AttributeCodec#encode} builds it: entries in an array,
 * looked up by a linear scan that compares keys' hash codes first (a {@code String} caches its hash, and the wire
 * reader of spans hands out the same key instance span after span) and the keys themselves only where those match.
 * Built once per span or log record and then only read (by the Parquet writer, which walks its entries), it costs a
 * fraction of a {@code LinkedHashMap}: no table and no node per entry beyond the entry itself. Read-only to its users;
 * equal to any map with the same entries.
 *
 * <p>Public so that writers can rely on what the type guarantees: an {@code AttributeMap} never changes once {@code
 * AttributeCodec} has handed it out (it is built only inside this package, and offers no way to change it from
 * outside), so whatever a writer works out from one (the archiver's Parquet writer remembers the dictionary ids of a
 * request's shared resource attributes) stays true for as long as it holds the map.
 */
public final class AttributeMap extends AbstractMap<String, String> {
    private Entry<String, String>[] entries;
    private int[] hashes;
    private int size;
    private @Nullable Set<Entry<String, String>> entrySet;

    @SuppressWarnings("unchecked")
    AttributeMap(int capacity) {
        entries = new Entry[Math.max(capacity, 1)];
        hashes = new int[entries.length];
    }

    /** Adds or replaces the value of {@code key}; a replaced key keeps its place, as in {@code LinkedHashMap}. */
    void add(String key, String value) {
        int hash = key.hashCode();
        int at = indexOf(key, hash);
        if (at >= 0) {
            entries[at] = new SimpleImmutableEntry<>(key, value);
            return;
        }
        if (size == entries.length) {
            entries = Arrays.copyOf(entries, size * 2);
            hashes = Arrays.copyOf(hashes, size * 2);
        }
        hashes[size] = hash;
        entries[size++] = new SimpleImmutableEntry<>(key, value);
    }

    /** Removes {@code key} if present, keeping the order of the others. */
    void delete(String key) {
        int at = indexOf(key);
        if (at >= 0) {
            System.arraycopy(entries, at + 1, entries, at, size - at - 1);
            System.arraycopy(hashes, at + 1, hashes, at, size - at - 1);
            entries[--size] = null;
        }
    }

    private int indexOf(@Nullable Object key) {
        return key instanceof String ? indexOf(key, key.hashCode()) : -1;
    }

    private int indexOf(Object key, int hash) {
        for (int i = 0; i < size; i++) {
            if (hashes[i] == hash && entries[i].getKey().equals(key)) {
                return i;
            }
        }
        return -1;
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
        return at < 0 ? null : entries[at].getValue();
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
                            return entries[next++];
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
            action.accept(entries[i].getKey(), entries[i].getValue());
        }
    }
}
