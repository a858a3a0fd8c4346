package io.otellake.ingest;

import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the Kafka cluster answers, for {@code GET /ready}: asked every {@link #INTERVAL} in the background
 * (describe the cluster, with a timeout of {@link #TIMEOUT}), so a readiness probe never waits for Kafka. It starts
 * reachable, since ingest only starts once Kafka answered; a change is logged once.
 */
final class KafkaReachability implements AutoCloseable {
    static final Duration INTERVAL = Duration.ofSeconds(1);
    static final Duration TIMEOUT = Duration.ofSeconds(2);

    private static final Logger LOG = LoggerFactory.getLogger(KafkaReachability.class);

    private final Admin admin;
    private final ScheduledExecutorService scheduler;
    private final AtomicBoolean reachable = new AtomicBoolean(true);
    private final String bootstrap;

    KafkaReachability(IngestConfig config) {
        this.bootstrap = config.kafkaBootstrap();
        Properties props = new Properties();
        props.putAll(config.kafkaClient().asMap()); // first: the settings below are ingest's own
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafkaBootstrap());
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, KafkaPublisher.CLIENT_ID + "-probe");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
        this.admin = Admin.create(props);
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ingest-kafka-probe");
            t.setDaemon(true);
            return t;
        });
        scheduler.scheduleWithFixedDelay(this::check, INTERVAL.toMillis(), INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }

    boolean reachable() {
        return reachable.get();
    }

    private void check() {
        boolean now;
        try {
            now = !admin.describeCluster()
                    .nodes()
                    .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                    .isEmpty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        } catch (Exception e) {
            now = false;
        }
        if (reachable.getAndSet(now) != now) {
            if (now) {
                LOG.info("Kafka at {} answers again: ready", bootstrap);
            } else {
                LOG.warn("Kafka at {} does not answer: not ready", bootstrap);
            }
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
        admin.close(Duration.ZERO);
    }
}
