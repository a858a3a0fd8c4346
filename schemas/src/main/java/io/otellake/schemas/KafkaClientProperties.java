package io.otellake.schemas;

import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Kafka client settings that ingest and the archiver pass through to every Kafka client they make (producer,
 * consumer, admin), for what they do not set themselves: security above all ({@code security.protocol}, {@code
 * sasl.*}, {@code ssl.*}), which a managed Kafka (Amazon MSK, Confluent Cloud, Aiven, Strimzi with TLS) requires.
 *
 * <p>Each environment variable {@code OTEL_LAKE_KAFKA_CLIENT_<NAME>} sets the client property named by {@code NAME}
 * in lower case with {@code _} read as {@code .} (no Kafka client property has an underscore): {@code
 * OTEL_LAKE_KAFKA_CLIENT_SECURITY_PROTOCOL=SASL_SSL} sets {@code security.protocol}. Properties the services own,
 * because their guarantees rest on them (the idempotent producer with {@code acks=all}, offsets committed only after
 * upload, the bootstrap servers of their own setting), are refused at start-up with a sentence that says why.
 *
 * <p>Values may be secrets ({@code sasl.jaas.config}, key store passwords): {@link #toString()} names the properties
 * only, never their values.
 */
public final class KafkaClientProperties {
    public static final String ENV_PREFIX = "OTEL_LAKE_KAFKA_CLIENT_";

    /** Set by the services themselves; their guarantees depend on these values. */
    static final Set<String> OWNED = Set.of(
            "bootstrap.servers",
            "key.serializer",
            "value.serializer",
            "key.deserializer",
            "value.deserializer",
            "acks",
            "enable.idempotence",
            "transactional.id",
            "enable.auto.commit",
            "auto.offset.reset",
            "group.id",
            "group.instance.id",
            "isolation.level",
            "max.poll.records");

    private final Map<String, String> properties;

    private KafkaClientProperties(Map<String, String> properties) {
        this.properties = properties;
    }

    /** No pass-through properties. */
    public static KafkaClientProperties none() {
        return new KafkaClientProperties(Map.of());
    }

    /**
     * The properties the {@code OTEL_LAKE_KAFKA_CLIENT_*} variables of {@code env} set.
     *
     * @throws IllegalArgumentException naming the variable, when it sets a property the services own or names none
     */
    public static KafkaClientProperties fromEnv(Map<String, String> env) {
        return fromEnv(env, Map.of());
    }

    /**
     * The properties the {@code OTEL_LAKE_KAFKA_CLIENT_*} variables of {@code env} set, for a service that also sets
     * the properties named by the keys of {@code setByService} itself: a variable for one of them would be replaced
     * without a word, so it is refused, with the value's sentence that says what sets it instead.
     *
     * @throws IllegalArgumentException naming the variable, when it sets a property the services own, one of {@code
     *     setByService}, or names none
     */
    public static KafkaClientProperties fromEnv(Map<String, String> env, Map<String, String> setByService) {
        Map<String, String> properties = new TreeMap<>();
        env.forEach((variable, value) -> {
            if (!variable.startsWith(ENV_PREFIX)) {
                return;
            }
            String suffix = variable.substring(ENV_PREFIX.length());
            if (!suffix.matches("[A-Z0-9]+(_[A-Z0-9]+)*")) {
                throw new IllegalArgumentException(variable + " does not name a Kafka client property: after "
                        + ENV_PREFIX + " come the property's words in capitals joined by _ (SECURITY_PROTOCOL for"
                        + " security.protocol)");
            }
            String name = suffix.toLowerCase(Locale.ROOT).replace('_', '.');
            if (OWNED.contains(name)) {
                throw new IllegalArgumentException(variable + " sets " + name + ", which otel-lake sets itself: its"
                        + " guarantees (acknowledged means written, offsets committed only for archived data) rest"
                        + " on it; remove the variable");
            }
            String setBy = setByService.get(name);
            if (setBy != null) {
                throw new IllegalArgumentException(
                        variable + " sets " + name + ", which would be replaced: " + setBy + "; remove the variable");
            }
            properties.put(name, value);
        });
        return new KafkaClientProperties(Map.copyOf(properties));
    }

    /** The properties, to add to a client's configuration before the service's own. */
    public Map<String, String> asMap() {
        return properties;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KafkaClientProperties other && properties.equals(other.properties);
    }

    @Override
    public int hashCode() {
        return properties.hashCode();
    }

    /** The property names, never their values (which may be secrets). */
    @Override
    public String toString() {
        return "KafkaClientProperties" + new TreeMap<>(properties).keySet();
    }
}
