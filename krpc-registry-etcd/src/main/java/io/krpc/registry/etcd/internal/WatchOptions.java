package io.krpc.registry.etcd.internal;

import java.time.Duration;

/**
 * The tuning of a registry's discovery side, fixed when it is built.
 *
 * @param requestTimeout the bound of each etcd call
 * @param emptyHold how long an empty re-list after an outage is held back (the lease TTL: the time
 *     live owners need to register again after etcd lost its data)
 * @param pageLimit the most keys per range response
 * @param coalesce the least time between two snapshots of one service to its listeners
 * @param relistJitter the longest random delay before a re-list after an outage, so that many
 *     clients coming back do not all list at once
 */
public record WatchOptions(
    Duration requestTimeout,
    Duration emptyHold,
    int pageLimit,
    Duration coalesce,
    Duration relistJitter) {}
