package io.otellake.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.ArrayValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.common.v1.KeyValueList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AttributeCodecTest {

    static KeyValue kv(String key, AnyValue value) {
        return KeyValue.newBuilder().setKey(key).setValue(value).build();
    }

    static AnyValue str(String s) {
        return AnyValue.newBuilder().setStringValue(s).build();
    }

    /**
     * The archiver's Parquet writer remembers what it worked out from an {@link AttributeMap} by the object: no one
     * outside this package may change one, by any of the ways a {@code Map} offers.
     */
    @Test
    void theMapsEncodeReturnsCannotBeChangedFromOutside() {
        Map<String, String> m = AttributeCodec.encode(List.of(kv("a", str("1")), kv("b", str("2"))))
                .values();
        assertThat(m).isInstanceOf(AttributeMap.class);

        List<Runnable> changes = List.of(
                () -> m.put("c", "3"),
                () -> m.putAll(Map.of("c", "3")),
                () -> m.remove("a"),
                () -> m.clear(),
                () -> m.replaceAll((k, v) -> "x"),
                () -> m.merge("a", "x", (x, y) -> y),
                () -> m.compute("a", (k, v) -> "x"),
                () -> m.entrySet().iterator().next().setValue("x"),
                () -> {
                    var it = m.entrySet().iterator();
                    it.next();
                    it.remove();
                },
                () -> m.keySet().remove("a"),
                () -> m.values().remove("1"),
                () -> m.entrySet().removeIf(e -> true));
        for (Runnable change : changes) {
            assertThatThrownBy(change::run).isInstanceOf(UnsupportedOperationException.class);
        }
        assertThat(m).containsExactly(Map.entry("a", "1"), Map.entry("b", "2"));
    }

    /** Keys are compared by hash first: keys of one hash ("Aa" and "BB") stay apart, a repeated key replaces. */
    @Test
    void keysOfTheSameHashStayApartAndARepeatedKeyReplacesInPlace() {
        assertThat("Aa".hashCode()).isEqualTo("BB".hashCode());
        AnyValue seven = AnyValue.newBuilder().setIntValue(7).build();
        AttributeCodec.Encoded e = AttributeCodec.encode(List.of(
                kv("Aa", str("1")),
                kv("BB", seven),
                kv("C#", str("3")), // "C#" hashes as "Aa" too
                kv("Aa", seven),
                kv("BB", str("2"))));

        assertThat(e.values()).isInstanceOf(AttributeMap.class);
        assertThat(e.values()).containsExactly(Map.entry("Aa", "7"), Map.entry("BB", "2"), Map.entry("C#", "3"));
        assertThat(e.values().get("C#")).isEqualTo("3");
        assertThat(e.values().get("Ab")).isNull();
        assertThat(e.values().containsKey(1)).isFalse();
        assertThat(e.types()).containsExactly(Map.entry("Aa", "int"));
        AttributeMap byPosition = (AttributeMap) e.values();
        assertThat(List.of(byPosition.keyAt(0), byPosition.keyAt(1), byPosition.keyAt(2)))
                .containsExactly("Aa", "BB", "C#");
        assertThat(List.of(byPosition.valueAt(0), byPosition.valueAt(1), byPosition.valueAt(2)))
                .containsExactly("7", "2", "3");
        assertThatThrownBy(() -> byPosition.keyAt(3)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> byPosition.valueAt(-1)).isInstanceOf(IndexOutOfBoundsException.class);
        // built: the package's own builders cannot change it either
        assertThatThrownBy(() -> byPosition.add("D", "4")).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> byPosition.delete("Aa")).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void stringsNeedNoTypeEntrySoEnginesFilterOnThePlainMap() {
        AttributeCodec.Encoded e = AttributeCodec.encode(List.of(kv("http.route", str("/users/{id}"))));

        assertThat(e.values()).containsExactlyEntriesOf(Map.of("http.route", "/users/{id}"));
        assertThat(e.types()).isEmpty();
    }

    @Test
    void everyOtherTypeIsWrittenAsTextAndTyped() {
        AnyValue nested = AnyValue.newBuilder()
                .setArrayValue(ArrayValue.newBuilder()
                        .addValues(str("a"))
                        .addValues(AnyValue.newBuilder().setIntValue(7)))
                .build();
        AnyValue map = AnyValue.newBuilder()
                .setKvlistValue(KeyValueList.newBuilder()
                        .addValues(
                                kv("k", AnyValue.newBuilder().setBoolValue(true).build())))
                .build();
        AttributeCodec.Encoded e = AttributeCodec.encode(List.of(
                kv("i", AnyValue.newBuilder().setIntValue(-42).build()),
                kv("d", AnyValue.newBuilder().setDoubleValue(0.25).build()),
                kv("b", AnyValue.newBuilder().setBoolValue(false).build()),
                kv(
                        "y",
                        AnyValue.newBuilder()
                                .setBytesValue(ByteString.copyFrom(new byte[] {1, 2, (byte) 255}))
                                .build()),
                kv("a", nested),
                kv("m", map),
                kv("e", AnyValue.getDefaultInstance())));

        assertThat(e.values())
                .containsExactlyInAnyOrderEntriesOf(Map.of(
                        "i", "-42",
                        "d", "0.25",
                        "b", "false",
                        "y", "AQL/",
                        "a", "{\"values\":[{\"stringValue\":\"a\"},{\"intValue\":\"7\"}]}",
                        "m", "{\"values\":[{\"key\":\"k\",\"value\":{\"boolValue\":true}}]}",
                        "e", ""));
        assertThat(e.types())
                .containsExactlyInAnyOrderEntriesOf(Map.of(
                        "i", "int", "d", "double", "b", "bool", "y", "bytes", "a", "array", "m", "kvlist", "e",
                        "empty"));
    }

    @Test
    void doublesSurviveExactlyIncludingTheAwkwardOnes() {
        for (double d : new double[] {
            0.1, -0.0, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.MIN_VALUE, 1e300
        }) {
            AnyValue v = AnyValue.newBuilder().setDoubleValue(d).build();
            AttributeCodec.EncodedValue e = AttributeCodec.encodeValue(v);
            assertThat(AttributeCodec.decodeValue(e.text(), e.type())).isEqualTo(v);
        }
    }

    @Test
    void aDoubleIsTheShortestTextThatReadsBackAsItOnEveryJavaVersion() {
        // Java 17's Double.toString prints these as 9.999999999999999E22, 1.9999999999999998E23,
        // 8.409999999999999E21 and 2.82879384806159008E17; Java 19+ as below
        Map<Double, String> texts = new LinkedHashMap<>();
        texts.put(1.0E23, "1.0E23");
        texts.put(2.0E23, "2.0E23");
        texts.put(8.41E21, "8.41E21");
        texts.put(2.82879384806159E17, "2.82879384806159E17");
        texts.put(0.002, "0.002");
        texts.put(100.0, "100.0");
        texts.put(1.0E7, "1.0E7");
        texts.put(-0.0, "-0.0");
        texts.put(Double.NaN, "NaN");
        texts.put(Double.NEGATIVE_INFINITY, "-Infinity");
        texts.forEach((d, text) -> {
            AttributeCodec.EncodedValue e = AttributeCodec.encodeValue(
                    AnyValue.newBuilder().setDoubleValue(d).build());
            assertThat(e.text()).as("%s", d).isEqualTo(text);
            assertThat(Double.parseDouble(e.text())).isEqualTo(d);
        });
    }

    @Test
    void doublesInsideArraysAndKvlistsSurviveExactlyIncludingNegativeZero() {
        AnyValue negativeZero = AnyValue.newBuilder().setDoubleValue(-0.0).build();
        AnyValue array = AnyValue.newBuilder()
                .setArrayValue(ArrayValue.newBuilder()
                        .addValues(negativeZero)
                        .addValues(AnyValue.newBuilder().setDoubleValue(0.0))
                        .addValues(AnyValue.newBuilder().setDoubleValue(-0.5))
                        .addValues(AnyValue.newBuilder().setDoubleValue(Double.NaN)))
                .build();
        AnyValue kvlist = AnyValue.newBuilder()
                .setKvlistValue(KeyValueList.newBuilder()
                        .addValues(kv("zero", negativeZero))
                        .addValues(KeyValue.newBuilder().setKey("no value"))
                        .addValues(kv("nested", array)))
                .build();

        for (AnyValue v : List.of(array, kvlist)) {
            AttributeCodec.EncodedValue e = AttributeCodec.encodeValue(v);
            assertThat(e.text()).contains("{\"doubleValue\":-0.0}");
            assertThat(AttributeCodec.decodeValue(e.text(), e.type())).isEqualTo(v);
        }
    }

    @Test
    void aStringThatLooksLikeANumberStaysAString() {
        AttributeCodec.Encoded e = AttributeCodec.encode(List.of(kv("code", str("42"))));

        assertThat(AttributeCodec.decode(e.values(), e.types())).containsExactly(kv("code", str("42")));
    }

    @Test
    void corruptTextIsRefusedWithTheType() {
        assertThatThrownBy(() -> AttributeCodec.decodeValue("x", "int"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("int");
        assertThatThrownBy(() -> AttributeCodec.decodeValue("x", "weird"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("weird");
    }
}
