package io.otellake.query;

/**
 * What a query cost, returned with every answer.
 *
 * @param partitions hour partitions in the range
 * @param files Parquet files read
 * @param bytesFetched bytes fetched from S3 (cache misses)
 * @param cacheHits files served from the local cache
 * @param elapsedMs wall time of the whole request
 */
record QueryStats(int partitions, int files, long bytesFetched, int cacheHits, long elapsedMs) {
    static QueryStats of(ArchiveFiles.Fetched fetched, long startedNanos) {
        return new QueryStats(
                fetched.partitions(),
                fetched.files().size(),
                fetched.bytes(),
                fetched.cacheHits(),
                (System.nanoTime() - startedNanos) / 1_000_000);
    }
}
