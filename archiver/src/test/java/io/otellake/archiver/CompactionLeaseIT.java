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
        Lease a = lease("archiver-a");
        Lease b = lease("archiver-b");

        assertThat(a.hold()).isTrue();
        assertThat(b.hold()).as("a holds it").isFalse();
        assertThat(generations()).containsExactly("0000000000000000000.json");

        // Within its lease, a holds it without asking S3 again; with less than RENEW_BELOW left, a renews it.
        clock.advance(Lease.TTL.minus(Lease.RENEW_BELOW).minusSeconds(1));
        assertThat(a.hold()).isTrue();
        assertThat(generations()).hasSize(1);
        clock.advance(Duration.ofSeconds(2));
        assertThat(a.hold()).isTrue();
        assertThat(generations()).containsExactly("0000000000000000000.json", "0000000000000000001.json");

        // Past the first generation's expiry, but the renewal holds: b still waits.
        clock.advance(Lease.RENEW_BELOW);
        assertThat(b.hold()).as("a renewed it").isFalse();

        // a stops asking (a crashed archiver); once b has seen the same generation for TTL, b takes it over, and a
        // has lost it.
        clock.advance(Lease.TTL.minusSeconds(1));
        assertThat(b.hold())
                .as("b first saw generation 1 TTL ago, less a second")
                .isFalse();
        clock.advance(Duration.ofSeconds(1));
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
            List<Lease> leases = new ArrayList<>();
            for (int i = 0; i < archivers; i++) {
                leases.add(lease("archiver-" + round + "-" + i));
            }
            if (round > 0) {
                // new archivers next to the last round's lease: they see it, and take it over only TTL later
                assertThat(holders(leases))
                        .as("holders on first sight in round " + round)
                        .isZero();
                clock.advance(Lease.TTL);
            }
            assertThat(holders(leases)).as("holders in round " + round).isEqualTo(1);
            clock.advance(Lease.TTL.plusSeconds(1));
        }
    }

    /** How many of the leases answer true when all ask at once. */
    private static int holders(List<Lease> leases) throws Exception {
        List<Callable<Boolean>> asks = new ArrayList<>();
        for (Lease lease : leases) {
            asks.add(lease::hold);
        }
        ExecutorService pool = Executors.newFixedThreadPool(leases.size());
        try {
            int holders = 0;
            for (Future<Boolean> answer : pool.invokeAll(asks)) {
                holders += answer.get() ? 1 : 0;
            }
            return holders;
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void anArchiverWhoseClockIsAheadOrSteppedStillWaitsForTheLeaseToGoUnrenewed() {
        Lease a = lease("archiver-a");
        // b's time of day is an hour ahead of a's; the time that passes for b passes with the test's clock
        MovableClock ahead = new MovableClock(clock.instant().plus(Duration.ofHours(1)));
        Lease b = new Lease(
                Lease.Kind.COMPACTION, store, "lake/", "archiver-b", ahead, () -> clock.millis() * 1_000_000L);

        assertThat(a.hold()).isTrue();
        // by b's time of day a's lease (expires_ms) ended 50 minutes ago; b must not trust that
        assertThat(b.hold()).as("a holds it, whatever b's clock says").isFalse();
        clock.advance(Lease.TTL.minus(Lease.RENEW_BELOW).plusSeconds(1));
        assertThat(a.hold()).as("a renews it").isTrue();
        ahead.advance(Duration.ofDays(1)); // b's clock is stepped a day ahead
        assertThat(b.hold())
                .as("a renewed it, and a step of b's clock changes nothing")
                .isFalse();

        // a stops renewing: b takes over once it has seen a's last generation unchanged for TTL of its own time
        clock.advance(Lease.TTL.minusSeconds(1));
        assertThat(b.hold()).isFalse();
        clock.advance(Duration.ofSeconds(1));
        assertThat(b.hold()).isTrue();
        assertThat(a.hold()).as("b took it over").isFalse();
    }

    @Test
    void aReleasedLeaseIsTakenOverAtOnce() {
        Lease a = lease("archiver-a");
        Lease b = lease("archiver-b");
        assertThat(a.hold()).isTrue();
        assertThat(b.hold()).isFalse();

        b.release(); // not the holder: nothing to give up
        assertThat(generations()).containsExactly("0000000000000000000.json");
        a.release();
        assertThat(generations()).containsExactly("0000000000000000000.json", "0000000000000000001.json");

        assertThat(b.hold()).as("no TTL to wait out").isTrue();
        assertThat(a.hold()).as("b holds it now").isFalse();
    }

    @Test
    void anUnreadableGenerationDoesNotBlockCompactionForever() {
        String stray = "lake/" + Lease.Kind.COMPACTION.folder + "0000000000000000007.json";
        // not asserted: a conditional PUT that the SDK retried after it succeeded answers 412 (seen once here)
        store.putIfAbsent(stray, new byte[] {'x'});
        assertThat(store.get(stray)).hasValueSatisfying(body -> assertThat(body).containsExactly('x'));
        assertThat(lease("archiver-a").hold()).isTrue();
        assertThat(generations()).contains("0000000000000000008.json");
    }

    @Test
    void aGenerationNameBeyondTheLastGenerationDoesNotBlockCompactionForever() {
        // nineteen digits, as the pattern asks, but more than a long holds; and the largest long, which has no next
        String tooLarge = "lake/" + Lease.Kind.COMPACTION.folder + "9999999999999999999.json";
        String largest = "lake/" + Lease.Kind.COMPACTION.folder + Long.MAX_VALUE + ".json";
        store.putJson(tooLarge, "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        store.putJson(largest, "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        Lease a = lease("archiver-a");

        assertThat(a.hold()).isTrue();
        assertThat(lease("archiver-b").hold()).as("a holds it").isFalse();
        assertThat(generations())
                .containsExactly("0000000000000000000.json", Long.MAX_VALUE + ".json", "9999999999999999999.json");
    }

    private Lease lease(String owner) {
        return lease(owner, clock);
    }

    /** A lease whose time passes with {@code clock}, as {@link System#nanoTime()} passes with real time. */
    private Lease lease(String owner, MovableClock clock) {
        return new Lease(Lease.Kind.COMPACTION, store, "lake/", owner, clock, () -> clock.millis() * 1_000_000L);
    }

    private List<String> generations() {
        String folder = "lake/" + Lease.Kind.COMPACTION.folder;
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
