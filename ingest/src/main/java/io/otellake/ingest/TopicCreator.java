package io.otellake.ingest;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates ingest's topics at start-up when they are missing, with the configured partitions, replication and
 * retention, and a {@code max.message.bytes} that fits the largest accepted body. Topics that exist are left as they
 * are: their settings belong to whoever created them (a warning says when their record size limit is too small).
 */
final class TopicCreator {
    private static final Logger LOG = LoggerFactory.getLogger(TopicCreator.class);
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(5);

    private final IngestConfig config;

    TopicCreator(IngestConfig config) {
        this.config = config;
    }

    /**
     * Creates the traces, logs and metrics topics if missing.
     *
     * @throws IngestStartException if Kafka does not answer within the start-up timeout or refuses to create a topic
     */
    void ensureTopics() {
        List<String> topics = config.topics();
        Properties props = new Properties();
        props.putAll(config.kafkaClient().asMap()); // first: the settings below are ingest's own
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafkaBootstrap());
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, KafkaPublisher.CLIENT_ID + "-admin");
        int timeoutMs = (int) config.kafkaStartupTimeout().toMillis();
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, timeoutMs);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, timeoutMs);
        Admin admin;
        try {
            admin = Admin.create(props);
        } catch (KafkaException e) {
            throw new IngestStartException(
                    "Cannot create a Kafka client for " + config.kafkaBootstrap() + " (set "
                            + IngestConfig.ENV_KAFKA_BOOTSTRAP + "): " + e.getMessage(),
                    e);
        }
        Duration closeTimeout = CLOSE_TIMEOUT;
        try {
            Set<String> existing = get(admin.listTopics().names(), "list the topics");
            List<NewTopic> missing = new ArrayList<>();
            for (String topic : topics) {
                if (!existing.contains(topic)) {
                    missing.add(newTopic(topic));
                }
            }
            create(admin, missing);
            List<String> kept = topics.stream().filter(existing::contains).toList();
            warnIfTooSmall(admin, kept);
        } catch (IngestStartException e) {
            closeTimeout = Duration.ZERO; // do not wait again for a Kafka that did not answer
            throw e;
        } finally {
            admin.close(closeTimeout);
        }
    }

    private NewTopic newTopic(String topic) {
        return new NewTopic(topic, config.topicPartitions(), config.topicReplication())
                .configs(Map.of(
                        TopicConfig.RETENTION_MS_CONFIG, Long.toString(config.topicRetentionMs()),
                        TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(config.maxRecordBytes()),
                        TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG,
                                Integer.toString(minInSyncReplicas(config.topicReplication()))));
    }

    /**
     * How many replicas must have a record before {@code acks=all} acknowledges it, and so before ingest answers
     * success. Kafka's default of 1 lets the leader alone acknowledge once its followers fall out of sync, and a record
     * acknowledged so is lost with that broker. With 3 or more replicas, 2 must have it (one broker may be down and
     * writes go on); with 1 or 2, requiring 2 would stop every write while one broker is down, so 1.
     */
    static int minInSyncReplicas(int replication) {
        return replication >= 3 ? 2 : 1;
    }

    private void create(Admin admin, Collection<NewTopic> topics) {
        if (topics.isEmpty()) {
            return;
        }
        Map<String, KafkaFuture<Void>> results = admin.createTopics(topics).values();
        for (NewTopic topic : topics) {
            try {
                get(results.get(topic.name()), "create topic " + topic.name());
                LOG.info(
                        "Created topic {} with {} partitions, replication {}, {}",
                        topic.name(),
                        topic.numPartitions(),
                        topic.replicationFactor(),
                        topic.configs());
            } catch (IngestStartException e) {
                if (e.getCause() instanceof TopicExistsException) {
                    continue; // another ingest created it meanwhile
                }
                if (!(e.getCause() instanceof InvalidReplicationFactorException
                        || e.getCause() instanceof InvalidPartitionsException)) {
                    throw e;
                }
                throw new IngestStartException(
                        e.getMessage() + ". Check " + IngestConfig.ENV_TOPIC_PARTITIONS + " and "
                                + IngestConfig.ENV_TOPIC_REPLICATION
                                + " (the replication factor cannot exceed the number of brokers).",
                        e.getCause());
            }
        }
    }

    private void warnIfTooSmall(Admin admin, List<String> topics) {
        if (topics.isEmpty()) {
            return;
        }
        List<ConfigResource> resources = topics.stream()
                .map(t -> new ConfigResource(ConfigResource.Type.TOPIC, t))
                .toList();
        Map<ConfigResource, Config> configs =
                get(admin.describeConfigs(resources).all(), "describe the topics");
        configs.forEach((resource, topicConfig) -> {
            var entry = topicConfig.get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
            if (entry != null && entry.value() != null && Long.parseLong(entry.value()) < config.maxRecordBytes()) {
                LOG.warn(
                        "Topic {} exists with max.message.bytes={}, less than the {} bytes a body of {} ({}) may"
                                + " need: Kafka will refuse the largest requests, and ingest will answer them 413."
                                + " Raise the topic's max.message.bytes, or lower {}.",
                        resource.name(),
                        entry.value(),
                        config.maxRecordBytes(),
                        IngestConfig.ENV_MAX_BODY_BYTES,
                        config.maxBodyBytes(),
                        IngestConfig.ENV_MAX_BODY_BYTES);
            }
        });
    }

    private <T> T get(KafkaFuture<T> future, String what) {
        long timeoutMs = config.kafkaStartupTimeout().toMillis();
        try {
            return future.get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (TimeoutException | org.apache.kafka.common.errors.TimeoutException e) {
            throw unreachable(what, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof org.apache.kafka.common.errors.TimeoutException) {
                throw unreachable(what, e.getCause());
            }
            throw new IngestStartException(
                    "Kafka at " + config.kafkaBootstrap() + " refused to " + what + ": "
                            + withoutFinalPeriod(e.getCause().getMessage()),
                    e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IngestStartException("Interrupted while waiting for Kafka to " + what, e);
        }
    }

    private static String withoutFinalPeriod(String message) {
        String m = String.valueOf(message).strip();
        while (m.endsWith(".")) {
            m = m.substring(0, m.length() - 1);
        }
        return m;
    }

    private IngestStartException unreachable(String what, Throwable cause) {
        return new IngestStartException(
                "Kafka at " + config.kafkaBootstrap() + " did not answer within "
                        + config.kafkaStartupTimeout().toMillis() + " ms (trying to " + what
                        + "). Start Kafka, or point "
                        + IngestConfig.ENV_KAFKA_BOOTSTRAP + " at it; " + IngestConfig.ENV_KAFKA_STARTUP_TIMEOUT_MS
                        + " sets how long to wait.",
                cause);
    }
}
