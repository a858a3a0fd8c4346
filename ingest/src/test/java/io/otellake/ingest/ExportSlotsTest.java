package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ExportSlotsTest {
    @Test
    void slotsThenWaitingPlacesThenARefusalAtOnce() throws Exception {
        ExportSlots slots = new ExportSlots(2, 1, Duration.ofSeconds(30));
        assertThat(slots.tryEnter()).isTrue();
        assertThat(slots.tryEnter()).isTrue();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            CompletableFuture<Boolean> waiter = waiter(slots, pool);

            long started = System.nanoTime();
            assertThat(slots.tryEnter()).as("no waiting place left").isFalse();
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
            assertThat(waiter).isNotDone();

            slots.exit();
            assertThat(waiter.get(10, TimeUnit.SECONDS))
                    .as("the waiter takes the freed slot")
                    .isTrue();
            assertThat(slots.waiting()).isZero();
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aWaiterGivesUpAfterTheLongestWait() {
        ExportSlots slots = new ExportSlots(1, 4, Duration.ofMillis(200));
        assertThat(slots.tryEnter()).isTrue();

        long started = System.nanoTime();
        assertThat(slots.tryEnter()).isFalse();

        assertThat(Duration.ofNanos(System.nanoTime() - started))
                .isBetween(Duration.ofMillis(150), Duration.ofSeconds(5));
        assertThat(slots.waiting()).isZero();
        slots.exit();
        assertThat(slots.tryEnter()).isTrue();
    }

    @Test
    void closingAnswersTheWaitersAtOnceAndRefusesNewcomers() throws Exception {
        ExportSlots slots = new ExportSlots(1, 4, Duration.ofSeconds(60));
        assertThat(slots.tryEnter()).isTrue();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            CompletableFuture<Boolean> waiter = waiter(slots, pool);
            long closed = System.nanoTime();
            slots.close();

            assertThat(waiter.get(10, TimeUnit.SECONDS)).isFalse();
            assertThat(Duration.ofNanos(System.nanoTime() - closed)).isLessThan(Duration.ofSeconds(5));
            assertThat(slots.isClosed()).isTrue();
            assertThat(slots.tryEnter()).as("no slot free: no wait").isFalse();
            slots.exit(); // the request in its slot finishes
            assertThat(slots.tryEnter())
                    .as("an admitted request still takes a free slot")
                    .isTrue();
        } finally {
            pool.shutdownNow();
        }
    }

    /** A request waiting for a slot in another thread, once it waits. */
    private static CompletableFuture<Boolean> waiter(ExportSlots slots, ExecutorService pool)
            throws InterruptedException {
        CompletableFuture<Boolean> waiter = CompletableFuture.supplyAsync(slots::tryEnter, pool);
        while (slots.waiting() != 1) {
            Thread.sleep(5);
        }
        return waiter;
    }
}
