package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

class InFlightBudgetTest {
    @Test
    void reservesUpToTheLimitExactlyAndGivesBackOnClose() {
        InFlightBudget budget = new InFlightBudget(100);
        try (InFlightBudget.Reservation first = budget.reservation();
                InFlightBudget.Reservation second = budget.reservation()) {
            assertThat(first.grow(60)).isTrue();
            assertThat(second.grow(41)).as("one byte too many").isFalse();
            assertThat(second.grow(40)).as("exactly the rest").isTrue();
            assertThat(budget.reserved()).isEqualTo(100);
            first.close();
            assertThat(budget.reserved()).isEqualTo(40);
            first.close();
            assertThat(budget.reserved()).as("close is idempotent").isEqualTo(40);
        }
        assertThat(budget.reserved()).isZero();
    }

    @Test
    void aReadingStreamReservesWhatItReadsAndThrowsWhenTheBudgetIsExhausted() throws Exception {
        InFlightBudget budget = new InFlightBudget(1000);
        try (InFlightBudget.Reservation other = budget.reservation();
                InFlightBudget.Reservation held = budget.reservation()) {
            assertThat(other.grow(500)).isTrue();
            InputStream in = held.reading(new ByteArrayInputStream(new byte[800]), 800);
            assertThat(in.readNBytes(500)).hasSize(500);
            assertThat(held.held()).isEqualTo(500);
            assertThatThrownBy(() -> in.read()).isInstanceOf(InFlightBudget.OverBudget.class);
            assertThat(budget.reserved()).isEqualTo(1000);
        }
        assertThat(budget.reserved()).isZero();
    }

    /** Whether waiting for other requests could help decides between throttling (429) and too large (413). */
    @Test
    void aReadThatDoesNotFitSaysWhetherItCouldFitAnIdleBudget() throws Exception {
        InFlightBudget budget = new InFlightBudget(1000);
        try (InFlightBudget.Reservation other = budget.reservation();
                InFlightBudget.Reservation held = budget.reservation()) {
            assertThat(other.grow(500)).isTrue();
            assertThat(held.grow(300)).as("a compressed body").isTrue();
            InputStream fits = held.reading(new ByteArrayInputStream(new byte[700]), 700);
            assertThatThrownBy(() -> fits.readNBytes(700))
                    .isInstanceOfSatisfying(InFlightBudget.OverBudget.class, e -> assertThat(e.neverFits())
                            .as("300 + 700 fit an idle budget of 1000")
                            .isFalse());
            held.close();
        }
        try (InFlightBudget.Reservation held = budget.reservation()) {
            assertThat(held.grow(300)).isTrue();
            InputStream never = held.reading(new ByteArrayInputStream(new byte[701]), 701);
            assertThatThrownBy(() -> never.readNBytes(701))
                    .isInstanceOfSatisfying(InFlightBudget.OverBudget.class, e -> assertThat(e.neverFits())
                            .as("300 + 701 do not")
                            .isTrue());
            assertThat(held.couldFit(700)).isTrue();
            assertThat(held.couldFit(701)).isFalse();
        }
        assertThat(budget.reserved()).isZero();
    }

    @Test
    void bytesBeyondTheCapAreNotReserved() throws Exception {
        InFlightBudget budget = new InFlightBudget(100);
        try (InFlightBudget.Reservation held = budget.reservation()) {
            byte[] read =
                    held.reading(new ByteArrayInputStream(new byte[150]), 100).readNBytes(101);
            assertThat(read)
                    .as("one byte past the body limit, to refuse it as too large")
                    .hasSize(101);
            assertThat(held.held()).isEqualTo(100);
        }
    }

    @Test
    void bodiesBeingReadHoldAtMostTheReadingLimitAndTheRestStaysForArrivedRequests() throws Exception {
        InFlightBudget budget = new InFlightBudget(1000, 400);
        try (InFlightBudget.Reservation stalled = budget.reservation();
                InFlightBudget.Reservation other = budget.reservation();
                InFlightBudget.Reservation arrived = budget.reservation()) {
            InputStream slow = stalled.reading(new ByteArrayInputStream(new byte[800]), 800);
            assertThat(slow.readNBytes(400)).hasSize(400);
            assertThatThrownBy(slow::read)
                    .as("the reading limit is reached, not the budget")
                    .isInstanceOf(InFlightBudget.OverBudget.class);
            InputStream another = other.reading(new ByteArrayInputStream(new byte[10]), 10);
            assertThatThrownBy(another::read).isInstanceOf(InFlightBudget.OverBudget.class);
            assertThat(budget.reading()).isEqualTo(400);

            assertThat(arrived.grow(600))
                    .as("a request that has arrived uses the rest")
                    .isTrue();
            assertThat(budget.reserved()).isEqualTo(1000);
            stalled.doneReading();
            assertThat(budget.reading())
                    .as("a read body no longer counts as being read")
                    .isZero();
            assertThat(budget.reserved()).as("but stays reserved").isEqualTo(1000);
        }
        assertThat(budget.reserved()).isZero();
        assertThat(budget.reading()).isZero();
    }

    @Test
    void theReadingLimitIsHalfTheBudgetAndAtLeastOneBodyOfTheLargestSize() {
        assertThat(InFlightBudget.readingLimit(256, 8)).isEqualTo(128);
        assertThat(InFlightBudget.readingLimit(100, 80)).isEqualTo(80);
        assertThat(InFlightBudget.readingLimit(64, 64)).isEqualTo(64);
    }
}
