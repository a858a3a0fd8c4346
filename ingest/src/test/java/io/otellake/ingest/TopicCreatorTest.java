package io.otellake.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TopicCreatorTest {
    @Test
    void withThreeReplicasOrMoreAnAcknowledgedRecordIsOnTwoBrokers() {
        assertThat(TopicCreator.minInSyncReplicas(1)).isEqualTo(1);
        assertThat(TopicCreator.minInSyncReplicas(2)).isEqualTo(1);
        assertThat(TopicCreator.minInSyncReplicas(3)).isEqualTo(2);
        assertThat(TopicCreator.minInSyncReplicas(5)).isEqualTo(2);
    }
}
