package io.krpc.benchmarks.lb;

import io.grpc.ManagedChannelBuilder;
import io.grpc.ServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * One Netty epoll event loop (one thread) for a whole side of the {@code lb} benchmark ({@code
 * --one-loop}): all four servers in the servers' JVM, or all channels of the client. By default
 * each side, pinned to one core, runs grpc-java's default groups (two threads per core the JVM saw
 * at start) and the servers reply from a timer thread, so a reply crosses two or three threads on
 * each core. With one loop a call is issued, answered and completed on that loop's thread
 * (callbacks on a direct executor, as grpc-java's own benchmarks run them), and the servers reply
 * from the loop's own scheduler ({@code schedule}; epoll's timer is precise to microseconds).
 * Measured (lb.md): the delays served are more exact (p99 0.56-0.67 ms instead of 0.69-0.83 ms at
 * 0.5 ms x4/x16), the client's p99 is not lower, so the thread hops were not where the tail comes
 * from.
 *
 * <p>Only with epoll (Linux): {@link #createOrNull} returns null elsewhere, and the harness keeps
 * grpc-java's default transport and a timer thread.
 */
final class EventLoops implements AutoCloseable {
  private final EventLoopGroup group;

  private EventLoops(EventLoopGroup group) {
    this.group = group;
  }

  /** One epoll event loop named {@code name}, or null where epoll is not available. */
  static @Nullable EventLoops createOrNull(String name) {
    if (!Epoll.isAvailable()) {
      return null;
    }
    return new EventLoops(new EpollEventLoopGroup(1, new DefaultThreadFactory(name, true)));
  }

  /** The loop, as a scheduler: tasks run on its one thread. */
  EventLoopGroup group() {
    return group;
  }

  /** A KServer customizer that puts the server's accepting and serving on this loop. */
  void onServer(ServerBuilder<?> builder) {
    if (builder instanceof NettyServerBuilder netty) {
      netty
          .bossEventLoopGroup(group)
          .workerEventLoopGroup(group)
          .channelType(EpollServerSocketChannel.class);
    } else {
      throw new IllegalStateException("not a Netty server builder: " + builder.getClass());
    }
  }

  /** A KClient customizer that puts the channel's transports on this loop. */
  void onChannel(ManagedChannelBuilder<?> builder) {
    if (builder instanceof NettyChannelBuilder netty) {
      netty.eventLoopGroup(group).channelType(EpollSocketChannel.class);
    } else {
      throw new IllegalStateException("not a Netty channel builder: " + builder.getClass());
    }
  }

  @Override
  public void close() {
    var unused = group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
