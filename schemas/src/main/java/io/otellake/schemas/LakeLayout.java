package io.otellake.schemas;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Where objects live in the bucket: {@code <prefix>/<signal>/tenant=<tenant>/dt=<yyyy-MM-dd>/hour=<HH>/<file>}.
 *
 * <p>Guarantee: every key built here starts with {@link #tenantPrefix(Signal, TenantId)} of its tenant, because
 * tenant ids and file names are validated and cannot hold {@code /} or {@code ..}.
 */
public record LakeLayout(String prefix) {
    private static final Pattern PREFIX = Pattern.compile("([A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*)?");
    private static final Pattern FILE_NAME = Pattern.compile("[A-Za-z0-9_+=-][A-Za-z0-9_.+=-]{0,200}");

    public LakeLayout {
        Objects.requireNonNull(prefix, "prefix");
        if (!PREFIX.matcher(prefix).matches() || prefix.contains("..")) {
            throw new IllegalArgumentException(
                    "lake prefix must be empty or slash-separated segments of A-Z a-z 0-9 _ . - without a leading"
                            + " or trailing slash; got '" + prefix + "'");
        }
    }

    /** The key of a file in a partition. */
    public String objectKey(Partition partition, String fileName) {
        if (!FILE_NAME.matcher(fileName).matches()) {
            throw new IllegalArgumentException("illegal file name '" + fileName + "'");
        }
        return root() + partition.path() + fileName;
    }

    /** The key prefix of a partition, ending in {@code /}. */
    public String partitionPrefix(Partition partition) {
        return root() + partition.path();
    }

    /** The key prefix of the whole day holding a partition, ending in {@code /}. */
    public String dayPrefix(Partition partition) {
        return tenantPrefix(partition.signal(), partition.tenant()) + "dt=" + partition.date() + "/";
    }

    /** The key prefix of everything a tenant has of one signal, ending in {@code /}. */
    public String tenantPrefix(Signal signal, TenantId tenant) {
        return root() + signal.pathSegment() + "/tenant=" + tenant.value() + "/";
    }

    /** Every hour partition that overlaps [start, end), oldest first. Empty when end is not after start. */
    public static List<Partition> hoursBetween(Signal signal, TenantId tenant, Instant start, Instant end) {
        List<Partition> out = new ArrayList<>();
        if (!end.isAfter(start)) {
            return out;
        }
        for (Partition p = Partition.of(signal, tenant, start); p.start().isBefore(end); p = p.next()) {
            out.add(p);
        }
        return out;
    }

    private String root() {
        return prefix.isEmpty() ? "" : prefix + "/";
    }
}
