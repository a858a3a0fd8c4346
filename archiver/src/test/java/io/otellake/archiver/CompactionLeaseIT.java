package io.otellake.archiver;

import static org.assertj.core.api.Assertions.assertThat;

import io.otellake.infra.S3Server;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The compaction lease against a real S3 server and its conditional writes, with a clock the test moves. */
class CompactionLeaseIT {
    private final S3Server s3server = LakeServers.s3();
    private final String bucket = "lease-" + UUID.randomUUID().toString().substring(0, 8);
    private final MovableClock clock = new MovableClock(Instant.parse("2026-06-10T12:00:00Z"));
    private S3Store store;

    @BeforeEach
    void setUp() {
        store = new S3Store(ArchiverConfig.fromEnvironment(Map.of(
                "OTEL_LAKE_S3_ENDPOINT", s3server.endpoint().toString(),
                "OTEL_LAKE_S3_BUCKET", bucket,
                "OTEL_LAKE_S3_ACCESS_KEY", s3server.accessKey(),
                "OTEL_LAKE_S3_SECRET_KEY", s3server.secretKey())));
        store.ensureBucket();
    }

    @AfterEach
    void tearDown() {
        store.close();
    }

    @Test
    void oneHolderAtATimeRenewedBeforeItExpiresAndTakenOverOnlyAfter() {
        CompactionLease a = lease("archiver-a");
        CompactionLease b = lease("archiver-b");

        assertThat(a.hold()).isTrue();
        assertThat(b.hold()).as("a holds it").isFalse();
        assertThat(generations()).containsExactly("0000000000000000000.json");

        // Within its lease, a holds it without asking S3 again; with less than RENEW_BELOW left, a renews it.
        clock.advance(CompactionLease.TTL.minus(CompactionLease.RENEW_BELOW).minusSeconds(1));
        assertThat(a.hold()).isTrue();
        assertThat(generations()).hasSize(1);
        clock.advance(Duration.ofSeconds(2));
        assertThat(a.hold()).isTrue();
        assertThat(generations()).containsExactly("0000000000000000000.json", "0000000000000000001.json");

        // Past the first generation's expiry, but the renewal holds: b still waits.
        clock.advance(CompactionLease.RENEW_BELOW);
        assertThat(b.hold()).as("a renewed it").isFalse();

        // a stops asking (a crashed archiver); once its lease expires, b takes it over, and a has lost it.
        clock.advance(CompactionLease.TTL);
        assertThat(b.hold()).isTrue();
        assertThat(a.hold()).as("b took it over").isFalse();
        assertThat(generations())
                .as("b keeps the previous generation, deletes the older")
                .containsExactly("0000000000000000001.json", "0000000000000000002.json");
    }

    @Test
    void ofManyArchiversAskingAtOnceExactlyOneGetsIt() throws Exception {
        int archivers = 8;
        for (int round = 0; round < 5; round++) {
            List<Callable<Boolean>> asks = new ArrayList<>();
            for (int i = 0; i < archivers; i++) {
                CompactionLease lease = lease("archiver-" + round + "-" + i);
                asks.add(lease::hold);
            }
            ExecutorService pool = Executors.newFixedThreadPool(archivers);
            try {
                int holders = 0;
                for (Future<Boolean> answer : pool.invokeAll(asks)) {
                    holders += answer.get() ? 1 : 0;
                }
                assertThat(holders).as("holders in round " + round).isEqualTo(1);
            } finally {
                pool.shutdownNow();
            }
            clock.advance(CompactionLease.TTL.plusSeconds(1)); // the next round finds an expired lease
        }
    }

    @Test
    void anUnreadableGenerationDoesNotBlockCompactionForever() {
        assertThat(store.putIfAbsent("lake/" + CompactionLease.FOLDER + "0000000000000000007.json", new byte[] {'x'}))
                .isTrue();
        assertThat(lease("archiver-a").hold()).isTrue();
        assertThat(generations()).contains("0000000000000000008.json");
    }

    private CompactionLease lease(String owner) {
        return new CompactionLease(store, "lake/", owner, clock);
    }

    private List<String> generations() {
        String folder = "lake/" + CompactionLease.FOLDER;
        return store.list(folder).stream()
                .map(o -> o.key().substring(folder.length()))
                .toList();
    }

    /** A clock that moves only when the test says so. */
    private static final class MovableClock extends Clock {
        private volatile Instant now;

        MovableClock(Instant start) {
            this.now = start;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }
    }
}
