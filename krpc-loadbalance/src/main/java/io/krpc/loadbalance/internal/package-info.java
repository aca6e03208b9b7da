/**
 * Implementation of the KRPC load-balancing policies. Not an API: names and signatures here may
 * change in any release; select the policies by name through {@link
 * io.krpc.loadbalance.KrpcLoadBalancers}.
 */
package io.krpc.loadbalance.internal;
