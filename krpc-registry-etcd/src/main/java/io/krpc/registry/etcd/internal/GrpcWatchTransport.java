package io.krpc.registry.etcd.internal;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.AuthGrpc;
import io.etcd.jetcd.api.AuthenticateRequest;
import io.etcd.jetcd.api.AuthenticateResponse;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.CallCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.netty.handler.ssl.SslContext;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registry's watch stream, through the stubs etcd's protocol is generated into ({@code
 * io.etcd.jetcd.api}, shipped with jetcd), on the jetcd client's own gRPC channel (so a registry
 * holds one connection to etcd, see {@link EtcdConnection}). When that channel cannot be reached it
 * falls back to a channel of its own, one member at a time: a random one first (so that many
 * clients spread over the cluster), the next one after each failed stream. The stream carries
 * etcd's {@code hasleader} metadata (require-leader) and, with auth on, a token fetched with the
 * registry's credentials and fetched again when etcd rejects it.
 */
final class GrpcWatchTransport implements WatchTransport {
  private static final Logger logger = LoggerFactory.getLogger(GrpcWatchTransport.class);
  private static final Metadata.Key<String> HAS_LEADER =
      Metadata.Key.of("hasleader", Metadata.ASCII_STRING_MARSHALLER);
  private static final Metadata.Key<String> TOKEN =
      Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER);

  /** Connection settings shared with the registry's jetcd client. */
  record Settings(
      List<URI> endpoints,
      @Nullable SslContext sslContext,
      @Nullable String username,
      @Nullable String password,
      Duration dialTimeout,
      int maxInboundMessageSize) {}

  private final Settings settings;
  private final EtcdConnection shared;
  private final Object lock = new Object();
  private int member;
  private @Nullable ManagedChannel channel;
  private volatile @Nullable String token;
  private boolean closed;

  /**
   * {@code shared} is the connection whose channel the stream rides (when reachable; a channel of
   * this transport's own otherwise), and which hears of every answer on the stream as proof of
   * life.
   */
  GrpcWatchTransport(Settings settings, EtcdConnection shared) {
    this.settings = settings;
    this.shared = shared;
    this.member = ThreadLocalRandom.current().nextInt(settings.endpoints().size());
  }

  @Override
  public Stream open(StreamListener listener) {
    long generation = shared.generation();
    ManagedChannel current = channel();
    boolean ridesConnection = current == shared.channel();
    Metadata headers = new Metadata();
    headers.put(HAS_LEADER, "true");
    WatchGrpc.WatchStub stub =
        WatchGrpc.newStub(current)
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
    if (settings.username() != null) {
      stub = stub.withCallCredentials(new TokenCredentials(current));
    }
    @SuppressWarnings("unchecked")
    ClientCallStreamObserver<WatchRequest>[] requests = new ClientCallStreamObserver[1];
    StreamObserver<WatchRequest> observer =
        stub.watch(
            new ClientResponseObserver<WatchRequest, WatchResponse>() {
              @Override
              public void beforeStart(ClientCallStreamObserver<WatchRequest> requestStream) {
                requests[0] = requestStream;
              }

              @Override
              public void onNext(WatchResponse response) {
                if (ridesConnection) {
                  shared.heard(
                      generation,
                      response.getHeader().getRaftTerm(),
                      response.getHeader().getRevision());
                }
                listener.onResponse(response);
              }

              @Override
              public void onError(Throwable error) {
                listener.onClosed(error);
              }

              @Override
              public void onCompleted() {
                listener.onClosed(null);
              }
            });
    return new Stream() {
      @Override
      public void send(WatchRequest request) {
        synchronized (observer) {
          observer.onNext(request);
        }
      }

      @Override
      public void close() {
        requests[0].cancel("watch stream closed by KRPC", null);
      }
    };
  }

  @Override
  public void failed(boolean tokenRejected) {
    if (tokenRejected) {
      token = null;
    }
    if (settings.endpoints().size() > 1) {
      ManagedChannel old;
      synchronized (lock) {
        member = (member + 1) % settings.endpoints().size();
        old = channel;
        channel = null;
      }
      if (old != null) {
        old.shutdownNow();
      }
    }
  }

  @Override
  public void reconnect() {
    ManagedChannel old;
    synchronized (lock) {
      old = channel;
      channel = null;
      token = null;
    }
    if (old != null) {
      old.shutdownNow();
    }
  }

  void close() {
    ManagedChannel old;
    synchronized (lock) {
      closed = true;
      old = channel;
      channel = null;
    }
    if (old != null) {
      old.shutdownNow();
    }
  }

  /** Whether the last stream opened rode the shared connection; for tests. */
  boolean ridesSharedChannel() {
    return shared.channel() != null;
  }

  private ManagedChannel channel() {
    ManagedChannel connection = shared.channel();
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("EtcdRegistry is closed");
      }
      if (connection != null) {
        return connection;
      }
      if (channel == null) {
        URI endpoint = settings.endpoints().get(member);
        NettyChannelBuilder builder =
            NettyChannelBuilder.forAddress(endpoint.getHost(), endpoint.getPort())
                .maxInboundMessageSize(settings.maxInboundMessageSize())
                .withOption(
                    io.netty.channel.ChannelOption.CONNECT_TIMEOUT_MILLIS,
                    (int) Math.min(Integer.MAX_VALUE, settings.dialTimeout().toMillis()));
        if (settings.sslContext() != null) {
          builder.sslContext(settings.sslContext()).useTransportSecurity();
        } else {
          builder.usePlaintext();
        }
        channel = builder.build();
      }
      return channel;
    }
  }

  /** Attaches the auth token, fetching one first when none is held. */
  private final class TokenCredentials extends CallCredentials {
    private final ManagedChannel channel;

    TokenCredentials(ManagedChannel channel) {
      this.channel = channel;
    }

    @Override
    public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
      String held = token;
      if (held != null) {
        applier.apply(tokenHeader(held));
        return;
      }
      AuthenticateRequest request =
          AuthenticateRequest.newBuilder()
              .setNameBytes(ByteString.copyFromUtf8(settings.username()))
              .setPasswordBytes(ByteString.copyFromUtf8(settings.password()))
              .build();
      AuthGrpc.newStub(channel)
          .withDeadlineAfter(settings.dialTimeout().toMillis() + 5000, TimeUnit.MILLISECONDS)
          .authenticate(
              request,
              new StreamObserver<>() {
                @Override
                public void onNext(AuthenticateResponse response) {
                  token = response.getToken();
                  applier.apply(tokenHeader(response.getToken()));
                }

                @Override
                public void onError(Throwable error) {
                  logger.debug("etcd authentication for the watch stream failed", error);
                  applier.fail(Status.fromThrowable(error));
                }

                @Override
                public void onCompleted() {}
              });
    }

    private Metadata tokenHeader(String value) {
      Metadata metadata = new Metadata();
      metadata.put(TOKEN, value);
      return metadata;
    }
  }

  static List<URI> uris(List<String> endpoints) {
    List<URI> result = new ArrayList<>();
    endpoints.forEach(e -> result.add(URI.create(e)));
    return result;
  }
}
