package io.otellake.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.util.LinkedMultiValueMap;

class LogFilterTest {
    @Test
    void countedRepetitionAddsUpEveryCountTimesTheGroupsAroundIt() {
        Map<String, Long> cases = new LinkedHashMap<>();
        cases.put("timeout", 0L);
        cases.put("a*b+c?", 0L);
        cases.put("[0-9a-f]{32}", 32L);
        cases.put("x{2,5}y{3,}", 8L);
        cases.put("[0-9a-f]{1000}[0-9a-f]{1000}z", 2000L);
        cases.put("[0-9a-f]{500}[0-9a-f]{500}z", 1000L);
        cases.put("(\\w{20}){50}z", 20L + 50 + 49 * 20); // the inner twenty, copied fifty times
        cases.put("(a|b|c){1000}", 1000L);
        cases.put("((ab){3}){4}", 3L + 4 + 3 * 3);
        cases.put("[{]{5}\\{9}", 5L); // a brace in a class, an escaped one: not repetitions
        cases.put("a{,5}b{x}", 0L); // RE2 reads these braces as literals
        cases.put("\\p{Greek}{3}", 3L);
        cases.put("[]{]{4}", 4L); // a leading ']' belongs to the class
        cases.put("(a{7}", 7L); // unbalanced: RE2 refuses it later, the count still adds up
        cases.forEach((regex, expected) ->
                assertThat(LogFilter.countedRepetition(regex)).as(regex).isEqualTo(expected));
    }

    @Test
    void aRegexThatRepeatsTooMuchIsRefusedBeforeItRuns() {
        LinkedMultiValueMap<String, String> params = new LinkedMultiValueMap<>();
        params.add("regex", "[0-9a-f]{1000}[0-9a-f]{1000}z");
        assertThatThrownBy(() -> LogFilter.parse(params))
                .isInstanceOf(BadRequestException.class)
                .hasMessage("regex repeats more than 1000 times in all through counted repetitions such as {n}: too"
                        + " costly to run on long bodies");

        params.set("regex", "[0-9a-f]{500}[0-9a-f]{500}z");
        assertThat(LogFilter.parse(params).regex()).isEqualTo("[0-9a-f]{500}[0-9a-f]{500}z");
    }
}
