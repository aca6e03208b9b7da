package io.krpc.internal;

import io.grpc.Metadata;
import io.grpc.ServerBuilder;
import io.grpc.ServerCall;
import io.grpc.ServerCallExecutorSupplier;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import org.jspecify.annotations.Nullable;

/**
 * Where a KServer's calls run. With the user's executor: every call there, and KRPC never shuts it
 * down. Without: the shared {@link DefaultExecutor}, except calls of the services declared
 * blocking, which get a thread each from a {@link PerCallExecutors per-call executor} of this
 * server. {@link #close()} after the server has terminated.
 */
public final class ServerExecutors implements AutoCloseable {
  private final @Nullable Executor shared;
  private final @Nullable ExecutorService perCall;

  private ServerExecutors(@Nullable Executor shared, @Nullable ExecutorService perCall) {
    this.shared = shared;
    this.perCall = perCall;
  }

  /**
   * Sets {@code builder}'s executors: {@code userExecutor} when not null, else the shared pool and,
   * when {@code blockingServices} (full service names) is not empty, a per-call executor for them
   * whose threads are named after {@code serverName}.
   */
  public static ServerExecutors install(
      ServerBuilder<?> builder,
      @Nullable Executor userExecutor,
      Set<String> blockingServices,
      String serverName) {
    if (userExecutor != null) {
      builder.executor(userExecutor);
      return new ServerExecutors(null, null);
    }
    Executor shared = DefaultExecutor.acquire();
    builder.executor(shared);
    if (blockingServices.isEmpty()) {
      return new ServerExecutors(shared, null);
    }
    ExecutorService perCall = PerCallExecutors.newExecutor("krpc-blocking-" + serverName);
    Set<String> names = Set.copyOf(blockingServices);
    builder.callExecutor(
        new ServerCallExecutorSupplier() {
          @Override
          public <ReqT, RespT> @Nullable Executor getExecutor(
              ServerCall<ReqT, RespT> call, Metadata metadata) {
            // null keeps the call on the shared pool.
            return names.contains(call.getMethodDescriptor().getServiceName()) ? perCall : null;
          }
        });
    return new ServerExecutors(shared, perCall);
  }

  /** Releases the shared pool and shuts the per-call executor down; call once. */
  @Override
  public void close() {
    if (perCall != null) {
      perCall.shutdown();
    }
    if (shared != null) {
      DefaultExecutor.release(shared);
    }
  }
}
