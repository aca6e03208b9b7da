package io.krpc.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class EtcdClusterIT {

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

  @Test
  void singleMemberRestartKeepsOrWipesData() throws Exception {
    Path dir;
    try (EtcdCluster etcd = EtcdCluster.builder().start()) {
      EtcdMember member = etcd.member(0);
      dir = member.dataDir().getParent();
      assertThat(etcd.endpoints()).containsExactly(member.endpoint());
      assertThat(etcd.authority()).isEqualTo("127.0.0.1:" + member.clientPort());
      assertThat(member.isHealthy()).isTrue();
      assertThat(Files.size(member.logFile())).isPositive();
      assertThat(etcd.leaderIndex()).isZero();

      put(member.endpoint(), "k", "v1");
      member.kill();
      assertThat(member.isRunning()).isFalse();
      assertThat(member.isHealthy()).isFalse();
      member.restart(true);
      assertThat(get(member.endpoint(), "k")).contains(b64("v1"));

      member.restart(false);
      assertThat(get(member.endpoint(), "k")).doesNotContain(b64("v1"));

      member.pause();
      assertThat(member.isPaused()).isTrue();
      assertThat(member.isHealthy()).isFalse();
      member.resume();
      await().atMost(Duration.ofSeconds(5)).until(member::isHealthy);

      member.stop();
      assertThat(member.isRunning()).isFalse();
      member.restart(true);
      assertThat(member.isHealthy()).isTrue();
    }
    assertThat(dir).doesNotExist();
  }

  @Test
  void threeMembersSurviveLeaderKill() throws Exception {
    try (EtcdCluster etcd = EtcdCluster.builder().members(3).start()) {
      assertThat(etcd.endpoints()).hasSize(3);
      int leader = etcd.leaderIndex();
      assertThat(leader).isBetween(0, 2);
      int other = (leader + 1) % 3;
      put(etcd.member(other).endpoint(), "k", "v");

      etcd.member(leader).kill();
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> etcd.leaderIndex() >= 0 && etcd.leaderIndex() != leader);
      assertThat(get(etcd.member(other).endpoint(), "k")).contains(b64("v"));
      assertThatThrownBy(() -> etcd.member(leader).restart(false))
          .hasMessageContaining("EtcdCluster.restart(false)");
      etcd.member(leader).restart(true);
      assertThat(etcd.member(leader).isHealthy()).isTrue();

      etcd.restart(false);
      assertThat(get(etcd.member(0).endpoint(), "k")).doesNotContain(b64("v"));
    }
  }

  static void put(String endpoint, String key, String value) throws Exception {
    post(
        endpoint + "/v3/kv/put", "{\"key\":\"" + b64(key) + "\",\"value\":\"" + b64(value) + "\"}");
  }

  static String get(String endpoint, String key) throws Exception {
    return post(endpoint + "/v3/kv/range", "{\"key\":\"" + b64(key) + "\"}");
  }

  private static String post(String url, String body) throws Exception {
    HttpResponse<String> response =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(url))
                .timeout(Duration.ofSeconds(5))
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return response.body();
  }

  static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }
}
