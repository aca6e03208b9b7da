package io.krpc.registry.etcd.internal;

import io.krpc.registry.etcd.internal.EtcdGateway.EtcdRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Lists every key under a prefix in pages: at most {@code pageLimit} keys per response, each next
 * page continuing after the last key of the previous one, and every page read at the revision of
 * the first, so the result is one consistent snapshot whatever its size. A page that finds that
 * revision compacted away starts the listing over (a bounded number of times). Stateless: runs on
 * any thread.
 */
final class RangeLister {
  private static final int MAX_RESTARTS = 3;

  private final EtcdGateway gateway;
  private final int pageLimit;

  RangeLister(EtcdGateway gateway, int pageLimit) {
    this.gateway = gateway;
    this.pageLimit = pageLimit;
  }

  /** The records under {@code prefix} and the revision they were read at. */
  record Listing(List<EtcdRecord> records, long revision) {}

  /**
   * Lists {@code prefix}; {@code serializable} reads answer from the member the client talks to
   * (re-lists after an outage), otherwise through the leader.
   */
  CompletableFuture<Listing> list(String prefix, boolean serializable) {
    return list(prefix, serializable, 0);
  }

  // handle() yields the next step's future, flattened by thenCompose(f -> f) below
  @SuppressWarnings("FutureReturnValueIgnored")
  private CompletableFuture<Listing> list(String prefix, boolean serializable, int restarts) {
    List<EtcdRecord> records = new ArrayList<>();
    return page(prefix, prefixEnd(prefix), prefix, 0, serializable, records)
        .handle(
            (revision, error) -> {
              if (error == null) {
                return CompletableFuture.completedFuture(new Listing(records, revision));
              }
              if (restarts < MAX_RESTARTS && EtcdErrors.isCompacted(EtcdErrors.unwrap(error))) {
                return list(prefix, serializable, restarts + 1);
              }
              return CompletableFuture.<Listing>failedFuture(EtcdErrors.unwrap(error));
            })
        .thenCompose(f -> f);
  }

  private CompletableFuture<Long> page(
      String prefix,
      String end,
      String from,
      long revision,
      boolean serializable,
      List<EtcdRecord> records) {
    return gateway
        .range(from, end, revision, pageLimit, serializable)
        .thenCompose(
            page -> {
              records.addAll(page.records());
              long at = revision == 0 ? page.revision() : revision;
              if (!page.more() || page.records().isEmpty()) {
                return CompletableFuture.completedFuture(at);
              }
              String last = page.records().get(page.records().size() - 1).key();
              return page(prefix, end, last + '\0', at, serializable, records);
            });
  }

  /** The first key after every key that starts with {@code prefix} (etcd's range end). */
  static String prefixEnd(String prefix) {
    // prefixes are ASCII ('/'-terminated service paths): incrementing the last char is exact
    char last = prefix.charAt(prefix.length() - 1);
    return prefix.substring(0, prefix.length() - 1) + (char) (last + 1);
  }
}
