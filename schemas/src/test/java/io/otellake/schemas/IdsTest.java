package io.otellake.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class IdsTest {
    @Test
    void hexIsAsciiHexOfTheExactLengthInEitherCase() {
        assertThat(Ids.isHex("0af7651916cd43dd8448eb211c80319c", 32)).isTrue();
        assertThat(Ids.isHex("0AF7651916CD43DD8448EB211C80319C", 32)).isTrue();
        assertThat(Ids.isHex("0af7651916cd43dd8448eb211c80319", 32)).isFalse();
        assertThat(Ids.isHex("0af7651916cd43dd8448eb211c80319g", 32)).isFalse();
        assertThat(Ids.isHex("", 0)).isTrue();
    }

    @Test
    void digitsOfOtherScriptsAndFullwidthFormsAreNotHex() {
        // Character.digit(ch, 16) takes all of these
        assertThat(Ids.isHex("\uFF10af7651916cd43dd8448eb211c80319c", 32))
                .as("fullwidth 0")
                .isFalse();
        assertThat(Ids.isHex("\uFF21\uFF41", 2)).as("fullwidth A and a").isFalse();
        assertThat(Ids.isHex("\u0660\u0661", 2)).as("Arabic-Indic 0 and 1").isFalse();
        assertThat(Ids.isHex("\u0966", 1)).as("Devanagari 0").isFalse();
    }
}
