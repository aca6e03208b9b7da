package io.krpc.examples.tour;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.krpc.KClient;
import io.krpc.KServer;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloRequest;
import io.krpc.examples.tour.Tour.Verdict;
import io.krpc.interceptor.client.CircuitBreakerInterceptor;
import io.krpc.interceptor.client.TimeoutInterceptor;
import io.krpc.interceptor.server.RateLimitConfig;
import io.krpc.interceptor.server.RateLimitInterceptor;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.trace.ReadWriteSpan;
import io.opentelemetry.sdk.trace.ReadableSpan;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SpanProcessor;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** The steps of the {@link Tour}, in the order they run. */
final class TourSteps {
  static final int COUNT = 10;
  private static final String SAY_HELLO = GreeterGrpc.getSayHelloMethod().getFullMethodName();

  private final Tour tour;

  TourSteps(Tour tour) {
    this.tour = tour;
  }

  void runAll() {
    tour.step(
        "Weighted round robin: krpc_wrr spreads calls by the registered weights 1:2:7",
        this::weights);
    tour.step("P2C: krpc_p2c routes around a slowed server", this::p2c);
    tour.step("Rate limit: calls over the server's limit end RESOURCE_EXHAUSTED", this::rateLimit);
    tour.step(
        "Circuit breaker: opens on failures, fails fast, closes when the server heals",
        this::breaker);
    tour.step(
        "Recovery: a handler exception is answered INTERNAL, its details stay on the server",
        this::recovery);
    tour.step(
        "Deadline: a default deadline ends a slow call, and slow calls are logged", this::deadline);
    tour.step(
        "Metrics: prpc_* metrics read from the server's and the client's /metrics", this::metrics);
    tour.step(
        "Tracing: the client's trace id reaches the server in the W3C traceparent", this::tracing);
    tour.step(
        "Drain: setServing(false) takes a server out of rotation without stopping it", this::drain);
    tour.step(
        "Graceful shutdown: a server leaves under load with 0 failed calls",
        this::gracefulShutdown);
  }

  private Verdict weights() throws Exception {
    String service = tour.service("wrr");
    List<KServer> servers = new ArrayList<>();
    for (int weight : new int[] {10, 20, 70}) {
      servers.add(tour.server(service, new TourGreeter(), b -> b.weight(weight)));
    }
    KClient client = tour.client(service, b -> b.loadBalancing("krpc_wrr"));
    Tour.awaitAnswersFrom(client, servers);
    Map<String, Integer> calls = new TreeMap<>();
    for (int i = 0; i < 100; i++) {
      calls.merge(Tour.hello(client, "wrr").getServer(), 1, Integer::sum);
    }
    List<Integer> counts = new ArrayList<>();
    for (KServer server : servers) {
      int n = calls.getOrDefault(server.instance().endpoint(), 0);
      counts.add(n);
      tour.say(
          "%-16s weight %3d -> %3d calls %s",
          server.instance().endpoint(), server.instance().weight(), n, "#".repeat(n / 2));
    }
    boolean shown =
        Math.abs(counts.get(0) - 10) <= 2
            && Math.abs(counts.get(1) - 20) <= 2
            && Math.abs(counts.get(2) - 70) <= 2;
    return new Verdict(
        shown,
        "100 calls split "
            + counts.get(0)
            + ":"
            + counts.get(1)
            + ":"
            + counts.get(2)
            + " over weights 10:20:70");
  }

  private Verdict p2c() throws Exception {
    String service = tour.service("p2c");
    List<KServer> servers = new ArrayList<>();
    TourGreeter slowed = new TourGreeter();
    for (int i = 0; i < 3; i++) {
      servers.add(tour.server(service, i == 2 ? slowed : new TourGreeter(), b -> b));
    }
    KClient client = tour.client(service, b -> b.loadBalancing("krpc_p2c"));
    Tour.awaitAnswersFrom(client, servers);
    slowed.delayMillis = 40;
    tour.say(
        "%s now takes 40 ms per call; the others answer at once",
        servers.get(2).instance().endpoint());
    Map<String, Integer> calls = new ConcurrentHashMap<>();
    ExecutorService callers = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        done.add(
            callers.submit(
                () -> {
                  for (int i = 0; i < 50; i++) {
                    calls.merge(Tour.hello(client, "p2c").getServer(), 1, Integer::sum);
                  }
                  return null;
                }));
      }
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      callers.shutdownNow();
    }
    int total = calls.values().stream().mapToInt(Integer::intValue).sum();
    for (KServer server : servers) {
      int n = calls.getOrDefault(server.instance().endpoint(), 0);
      tour.say(
          "%-16s %3d calls (%4.1f%%)%s",
          server.instance().endpoint(),
          n,
          100.0 * n / total,
          server == servers.get(2) ? "  <- slowed" : "");
    }
    double slowShare = (double) calls.getOrDefault(servers.get(2).instance().endpoint(), 0) / total;
    return new Verdict(
        slowShare < 0.2,
        String.format(
            java.util.Locale.ROOT,
            "the slowed server got %.1f%% of %d calls from 8 callers (round robin: 33%%)",
            100 * slowShare,
            total));
  }

  private Verdict rateLimit() throws Exception {
    String service = tour.service("ratelimit");
    KServer server =
        tour.server(
            service,
            new TourGreeter(),
            b ->
                b.intercept(
                    RateLimitInterceptor.of(
                        Map.of(SAY_HELLO, new RateLimitConfig(5, 1.0, Duration.ZERO)))));
    KClient client = tour.client(service, b -> b);
    Tour.awaitAnswersFrom(client, List.of(server)); // takes one token
    tour.say("limit on %s: burst 5, then 1 call/s, no waiting", SAY_HELLO);
    Map<Status.Code, Integer> codes = new TreeMap<>();
    String refusal = null;
    for (int i = 0; i < 10; i++) {
      try {
        Tour.hello(client, "burst");
        codes.merge(Status.Code.OK, 1, Integer::sum);
      } catch (StatusRuntimeException e) {
        codes.merge(e.getStatus().getCode(), 1, Integer::sum);
        refusal = e.getStatus().getDescription();
      }
    }
    tour.say("10 calls at once: %s", codes);
    tour.say("refusal: %s", String.valueOf(refusal));
    int refused = codes.getOrDefault(Status.Code.RESOURCE_EXHAUSTED, 0);
    return new Verdict(
        refused >= 5 && codes.getOrDefault(Status.Code.OK, 0) >= 3,
        refused + " of 10 calls refused with RESOURCE_EXHAUSTED");
  }

  private Verdict breaker() throws Exception {
    String service = tour.service("breaker");
    TourGreeter greeter = new TourGreeter();
    KServer server = tour.server(service, greeter, b -> b);
    // gobreaker's parameters: 1 trial call when half-open, no counting interval, open for 500 ms,
    // the default trip rule (more than 5 consecutive failures).
    CircuitBreakerInterceptor breaker =
        CircuitBreakerInterceptor.of(
            "tour-breaker", 1, Duration.ZERO, Duration.ofMillis(500), null);
    KClient client = tour.client(service, b -> b.intercept(breaker));
    Tour.awaitAnswersFrom(client, List.of(server));
    greeter.failing = true;
    tour.say("the server now fails every call with UNAVAILABLE");
    int failedByServer = 0;
    long refusedNanos = -1;
    long receivedBefore = 0;
    for (int i = 0; i < 10 && refusedNanos < 0; i++) {
      receivedBefore = greeter.received.get();
      long start = System.nanoTime();
      try {
        Tour.hello(client, "breaker");
      } catch (StatusRuntimeException e) {
        String description = String.valueOf(e.getStatus().getDescription());
        if (description.contains("is OPEN")) {
          refusedNanos = System.nanoTime() - start;
          tour.say(
              "call %d: %s \"%s\" after %.2f ms, never sent",
              i + 1, e.getStatus().getCode(), description, refusedNanos / 1e6);
        } else {
          failedByServer++;
        }
      }
    }
    boolean refusedLocally = refusedNanos >= 0 && greeter.received.get() == receivedBefore;
    tour.say(
        "%d calls failed at the server before the breaker opened; state %s",
        failedByServer, breaker.circuitBreaker(SAY_HELLO).getState());
    greeter.failing = false;
    tour.say("the server heals; after the 500 ms open state one trial call goes through");
    Thread.sleep(600);
    String answer = Tour.hello(client, "trial").getMessage();
    String state = breaker.circuitBreaker(SAY_HELLO).getState().toString();
    tour.say("trial call answered \"%s\"; state %s", answer, state);
    return new Verdict(
        refusedLocally && state.equals("CLOSED"),
        "opened after "
            + failedByServer
            + " failures, refused without reaching the server, "
            + "closed again after the trial call");
  }

  private Verdict recovery() throws Exception {
    String service = tour.service("recovery");
    KServer server = tour.server(service, new TourGreeter(), b -> b);
    KClient client = tour.client(service, b -> b);
    Tour.awaitAnswersFrom(client, List.of(server));
    try {
      Tour.hello(client, TourGreeter.THROW);
      return new Verdict(false, "the throwing handler answered");
    } catch (StatusRuntimeException e) {
      Status status = e.getStatus();
      tour.say("the handler threw IllegalStateException(\"tour: a bug in the handler ...\")");
      tour.say("the client got %s \"%s\"", status.getCode(), status.getDescription());
      tour.say("the server logged the exception with its stack trace at ERROR (hidden here)");
      boolean leaked = String.valueOf(status.getDescription()).contains("tour: a bug");
      return new Verdict(
          status.getCode() == Status.Code.INTERNAL && !leaked,
          "INTERNAL, and the exception's text did not reach the client");
    }
  }

  private Verdict deadline() throws Exception {
    String service = tour.service("deadline");
    KServer server = tour.server(service, new TourGreeter(), b -> b);
    List<TimeoutInterceptor.SlowCall> slowCalls = new CopyOnWriteArrayList<>();
    KClient client =
        tour.client(
            service,
            b ->
                b.intercept(
                    TimeoutInterceptor.builder()
                        .defaultDeadline(Duration.ofMillis(300))
                        .slowThreshold(Duration.ofMillis(100))
                        .slowCallObserver(slowCalls::add)
                        .build()));
    Tour.awaitAnswersFrom(client, List.of(server));
    tour.say("TimeoutInterceptor: default deadline 300 ms, slow-call log (WARN) above 100 ms");
    GreeterGrpc.GreeterBlockingStub stub = Tour.stub(client); // no deadline of its own
    slowCalls.clear();
    stub.sayHello(HelloRequest.newBuilder().setName(TourGreeter.SLEEP + 150).build());
    tour.say("a 150 ms call succeeded; TimeoutInterceptor logged it at WARN:");
    slowCalls.forEach(slow -> tour.say("  WARN %s", slow.describe()));
    long start = System.nanoTime();
    try {
      stub.sayHello(HelloRequest.newBuilder().setName(TourGreeter.SLEEP + 2000).build());
      return new Verdict(false, "the 2 s call was not cut short");
    } catch (StatusRuntimeException e) {
      long millis = (System.nanoTime() - start) / 1_000_000;
      tour.say("a 2 s call ended %s after %d ms", e.getStatus().getCode(), millis);
      return new Verdict(
          e.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED
              && millis < 1500
              && !slowCalls.isEmpty(),
          "DEADLINE_EXCEEDED after " + millis + " ms instead of waiting 2 s");
    }
  }

  private Verdict metrics() throws Exception {
    String service = tour.service("metrics");
    KServer server = tour.server(service, new TourGreeter(), b -> b.metricsPort(0));
    KClient client = tour.client(service, b -> b.metricsPort(0));
    Tour.awaitAnswersFrom(client, List.of(server));
    for (int i = 0; i < 4; i++) {
      Tour.hello(client, "metrics");
    }
    List<String> lines = new ArrayList<>();
    for (String[] source :
        new String[][] {
          {
            "server", Integer.toString(server.metricsPort()), "prpc_server_req_client_handle_total{"
          },
          {"client", Integer.toString(client.metricsPort()), "prpc_client_req_client_handle_total{"}
        }) {
      String url = "http://127.0.0.1:" + source[1] + "/metrics";
      String text =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      tour.say("GET %s (the %s):", url, source[0]);
      text.lines()
          .filter(
              l ->
                  l.startsWith(source[2])
                      || l.startsWith(source[2].replace("_total{", "_seconds_count{")))
          .forEach(
              l -> {
                lines.add(l);
                tour.say("  %s", l);
              });
    }
    boolean both =
        lines.stream().anyMatch(l -> l.startsWith("prpc_server_"))
            && lines.stream().anyMatch(l -> l.startsWith("prpc_client_"));
    return new Verdict(
        both, "the Go KRPC's metric names, on the server's and the client's " + "/metrics");
  }

  private Verdict tracing() throws Exception {
    List<String> serverTraceIds = new CopyOnWriteArrayList<>();
    SpanProcessor recordServerSpans =
        new SpanProcessor() {
          @Override
          public void onStart(Context parentContext, ReadWriteSpan span) {}

          @Override
          public boolean isStartRequired() {
            return false;
          }

          @Override
          public void onEnd(ReadableSpan span) {
            if (span.getKind() == SpanKind.SERVER) {
              serverTraceIds.add(span.getSpanContext().getTraceId());
            }
          }

          @Override
          public boolean isEndRequired() {
            return true;
          }
        };
    OpenTelemetrySdk otel =
        tour.closeAtStepEnd(
            OpenTelemetrySdk.builder()
                .setTracerProvider(
                    SdkTracerProvider.builder().addSpanProcessor(recordServerSpans).build())
                .build());
    String service = tour.service("tracing");
    KServer server = tour.server(service, new TourGreeter(), b -> b.openTelemetry(otel));
    KClient client = tour.client(service, b -> b.openTelemetry(otel));
    Tour.awaitAnswersFrom(client, List.of(server));
    serverTraceIds.clear();
    Span operation = otel.getTracer("krpc-tour").spanBuilder("checkout").startSpan();
    String seenByHandler;
    try (Scope ignored = operation.makeCurrent()) {
      seenByHandler = Tour.hello(client, TourGreeter.TRACE).getMessage();
    } finally {
      operation.end();
    }
    String clientTraceId = operation.getSpanContext().getTraceId();
    tour.say("client span 'checkout'  trace id %s", clientTraceId);
    tour.say("handler's Span.current() trace id %s", seenByHandler);
    tour.say(
        "server span (recorded)  trace id %s",
        serverTraceIds.isEmpty() ? "none" : serverTraceIds.get(0));
    return new Verdict(
        clientTraceId.equals(seenByHandler) && serverTraceIds.contains(clientTraceId),
        "one trace id from the client's span to the server's span");
  }

  private Verdict drain() throws Exception {
    String service = tour.service("drain");
    KServer drained = tour.server(service, new TourGreeter(), b -> b);
    KServer other = tour.server(service, new TourGreeter(), b -> b);
    KClient client = tour.client(service, b -> b.healthCheck(""));
    Tour.awaitAnswersFrom(client, List.of(drained, other));
    tour.say("20 calls: %s", spread(client, 20));
    drained.setServing(false);
    tour.say(
        "%s.setServing(false): health NOT_SERVING, still registered and running",
        drained.instance().endpoint());
    awaitOnly(client, other.instance().endpoint());
    Map<String, Integer> whileDrained = spread(client, 20);
    tour.say("20 calls: %s", whileDrained);
    drained.setServing(true);
    Tour.awaitAnswersFrom(client, List.of(drained));
    tour.say("setServing(true): 20 calls: %s", spread(client, 20));
    return new Verdict(
        !whileDrained.containsKey(drained.instance().endpoint()),
        "no call reached the drained server; it came back with setServing(true)");
  }

  private static Map<String, Integer> spread(KClient client, int calls) {
    Map<String, Integer> spread = new TreeMap<>();
    for (int i = 0; i < calls; i++) {
      spread.merge(Tour.hello(client, "drain").getServer(), 1, Integer::sum);
    }
    return spread;
  }

  /** Calls until 10 answers in a row came from {@code endpoint} (at most 10 s). */
  private static void awaitOnly(KClient client, String endpoint) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    int inARow = 0;
    while (inARow < 10) {
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException("calls still reach other servers than " + endpoint);
      }
      inARow = Tour.hello(client, "drain").getServer().equals(endpoint) ? inARow + 1 : 0;
      if (inARow == 0) {
        Thread.sleep(10); // the health update is on its way to the balancer
      }
    }
  }

  private Verdict gracefulShutdown() throws Exception {
    String service = tour.service("shutdown");
    List<KServer> servers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      servers.add(
          tour.server(service, new TourGreeter(), b -> b.deregisterDelay(Duration.ofMillis(300))));
    }
    KServer leaving = servers.get(0);
    KClient client = tour.client(service, b -> b);
    Tour.awaitAnswersFrom(client, servers);
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicLong ok = new AtomicLong();
    AtomicInteger failed = new AtomicInteger();
    List<String> failures = new CopyOnWriteArrayList<>();
    ExecutorService callers = Executors.newFixedThreadPool(4);
    @SuppressWarnings("ModifiedButNotUsed") // the callers end when running turns false
    List<Future<?>> done = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      done.add(
          callers.submit(
              () -> {
                while (running.get()) {
                  try {
                    Tour.stub(client)
                        .withDeadlineAfter(5, TimeUnit.SECONDS)
                        .sayHello(HelloRequest.newBuilder().setName(TourGreeter.SLEEP + 5).build());
                    ok.incrementAndGet();
                  } catch (StatusRuntimeException e) {
                    failed.incrementAndGet();
                    failures.add(e.getStatus().toString());
                  }
                }
                return null;
              }));
    }
    try {
      Thread.sleep(500);
      long before = ok.get();
      long start = System.nanoTime();
      leaving.close(); // NOT_SERVING, deregister, wait 300 ms, drain in-flight calls, stop
      tour.say(
          "4 callers busy; %s closed in %d ms: deregistered, waited 300 ms, drained its calls",
          leaving.instance().endpoint(), (System.nanoTime() - start) / 1_000_000);
      Thread.sleep(500);
      tour.say("calls before the close %d, in all %d", before, ok.get() + failed.get());
    } finally {
      running.set(false);
      callers.shutdown();
      callers.awaitTermination(10, TimeUnit.SECONDS);
    }
    if (!failures.isEmpty()) {
      tour.say("failures: %s", failures.subList(0, Math.min(3, failures.size())));
    }
    return new Verdict(
        failed.get() == 0 && ok.get() > 0,
        ok.get() + " calls succeeded, " + failed.get() + " failed");
  }
}
