package io.krpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Thread-leak check for tests: remembers the live threads when made, and {@link
 * #assertNoneLeft(Duration)} waits until every thread started since has ended.
 */
final class LiveThreads {
  private final Set<String> before = names();

  /**
   * Waits at most {@code atMost} until no thread started since this snapshot is alive (grpc-java
   * releases its shared event loops and executors about a second after their last user).
   */
  void assertNoneLeft(Duration atMost) {
    await()
        .pollInSameThread()
        .atMost(atMost)
        .untilAsserted(
            () -> {
              Set<String> now = names();
              now.removeAll(before);
              assertThat(now).as("threads started by the test and still alive").isEmpty();
            });
  }

  private static Set<String> names() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(Thread::isAlive)
        .map(Thread::getName)
        // JVM and test-runner threads that come and go on their own.
        .filter(
            name ->
                !name.startsWith("Attach Listener")
                    && !name.startsWith("process reaper")
                    && !name.startsWith("ForkJoinPool.commonPool")
                    && !name.startsWith("Common-Cleaner")
                    && !name.startsWith("surefire")
                    && !name.startsWith("junit"))
        .collect(Collectors.toCollection(TreeSet::new));
  }
}
