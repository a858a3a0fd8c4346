package io.otellake.infra;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class PropertyValuesTest {
    @Test
    void escapedValuesReadBackExactlyThroughTheIso88591Loader() throws Exception {
        String value = " /home/Jürgen Ødegård/otel-lake\\data\t€ 𝄞\n";
        String line = "key=" + PropertyValues.escape(value) + "\n";
        assertThat(line)
                .isEqualTo("key=\\ /home/J\\u00fcrgen \\u00d8deg\\u00e5rd/otel-lake\\\\data\\t\\u20ac"
                        + " \\ud834\\udd1e\\n\n");

        Properties properties = new Properties();
        // Kafka and S3Proxy load from a stream, which means ISO-8859-1.
        properties.load(new ByteArrayInputStream(line.getBytes(StandardCharsets.UTF_8)));
        assertThat(properties.getProperty("key")).isEqualTo(value);
    }
}
