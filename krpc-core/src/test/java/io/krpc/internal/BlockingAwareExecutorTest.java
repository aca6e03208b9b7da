package io.krpc.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BlockingAwareExecutorTest {
  private final CountDownLatch release = new CountDownLatch(1);
  private BlockingAwareExecutor pool;

  @AfterEach
  void tearDown() throws InterruptedException {
    release.countDown();
    if (pool != null) {
      pool.shutdown();
      assertThat(pool.awaitTermination(Duration.ofSeconds(10))).isTrue();
    }
  }

  private void blockOneWorker(CountDownLatch started) {
    pool.execute(
        () -> {
          started.countDown();
          try {
            release.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
  }

  @Test
  void tasksQueuedBehindBlockedWorkersRunOnAddedThreads() throws InterruptedException {
    pool = new BlockingAwareExecutor("test-pool", 2, Duration.ofMillis(5));
    CountDownLatch blocked = new CountDownLatch(2);
    blockOneWorker(blocked);
    blockOneWorker(blocked);
    assertThat(blocked.await(10, TimeUnit.SECONDS)).isTrue();

    CountDownLatch done = new CountDownLatch(100);
    for (int i = 0; i < 100; i++) {
      pool.execute(done::countDown);
    }
    assertThat(done.await(10, TimeUnit.SECONDS))
        .as("tasks behind two blocked workers ran")
        .isTrue();
    assertThat(pool.threads()).isGreaterThan(2);
    // Exactly the two blocked workers count as stalled; on a loaded machine a worker preempted in
    // the middle of a countDown task can look stalled for a moment, so wait until it is done.
    await().atMost(Duration.ofSeconds(10)).until(() -> pool.stalledThreads() == 2);
  }

  @Test
  void everyBlockedTaskGetsAThreadWhileOthersWait() throws InterruptedException {
    pool = new BlockingAwareExecutor("test-pool", 1, Duration.ofMillis(5));
    CountDownLatch blocked = new CountDownLatch(20);
    for (int i = 0; i < 20; i++) {
      blockOneWorker(blocked);
    }
    // With one base worker, 20 tasks that never end can only all start on 20 threads.
    assertThat(blocked.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(pool.threads() + pool.overflowThreads()).isGreaterThanOrEqualTo(20);
    // Each stalled worker was replaced, so that one stays free for short tasks.
    CountDownLatch ran = new CountDownLatch(1);
    pool.execute(ran::countDown);
    assertThat(ran.await(10, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void tasksAfterShutdownStillRun() throws InterruptedException {
    pool = new BlockingAwareExecutor("test-pool", 1, Duration.ofMillis(5));
    pool.shutdown();
    CountDownLatch ran = new CountDownLatch(1);
    pool.execute(ran::countDown);
    assertThat(ran.await(10, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void invalidOptionsNameTheOption() {
    assertThatThrownBy(() -> new BlockingAwareExecutor("p", 0, Duration.ofMillis(5)))
        .hasMessage("baseThreads: 0 (expected: >= 1)");
    assertThatThrownBy(() -> new BlockingAwareExecutor("p", 1, Duration.ZERO))
        .hasMessage("stallThreshold: PT0S (expected: >= 1 ms)");
  }

  @Test
  void sharedPoolLivesWhileAnyUserHoldsIt() throws InterruptedException {
    Executor first = DefaultExecutor.acquire();
    Executor second = DefaultExecutor.acquire();
    assertThat(second).isSameAs(first);
    DefaultExecutor.release(first);
    CountDownLatch ran = new CountDownLatch(1);
    second.execute(ran::countDown);
    assertThat(ran.await(10, TimeUnit.SECONDS)).isTrue();
    DefaultExecutor.release(second);
    assertThat(((BlockingAwareExecutor) second).awaitTermination(Duration.ofSeconds(10)))
        .as("the last release shut the pool down")
        .isTrue();

    Executor next = DefaultExecutor.acquire();
    try {
      assertThat(next).isNotSameAs(first);
    } finally {
      DefaultExecutor.release(next);
    }
    assertThatThrownBy(() -> DefaultExecutor.release(next))
        .isInstanceOf(IllegalStateException.class);
  }
}
