package io.otellake.query;

/**
 * What a query cost, returned with every answer.
 *
 * @param partitions hour partitions in the range (for a trace lookup without a range: index days, then hours)
 * @param files Parquet files read
 * @param rowsScanned rows in the files read, from their footers: what a full scan would touch; DuckDB skips row
 *     groups whose statistics rule them out, so the rows it decodes are at most this many
 * @param bytesFetched bytes fetched from S3 (cache misses)
 * @param cacheHits files served from the local cache
 * @param elapsedMs wall time of the whole request
 */
record QueryStats(int partitions, int files, long rowsScanned, long bytesFetched, int cacheHits, long elapsedMs) {
    static QueryStats of(ArchiveFiles.Fetched fetched, long rowsScanned, long startedNanos) {
        return new QueryStats(
                fetched.partitions(),
                fetched.files().size(),
                rowsScanned,
                fetched.bytes(),
                fetched.cacheHits(),
                (System.nanoTime() - startedNanos) / 1_000_000);
    }
}
