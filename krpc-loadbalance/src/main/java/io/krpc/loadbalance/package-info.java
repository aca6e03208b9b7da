/**
 * KRPC load-balancing policies for grpc-java, registered through {@link java.util.ServiceLoader}:
 * {@value io.krpc.loadbalance.KrpcLoadBalancers#P2C} and {@value
 * io.krpc.loadbalance.KrpcLoadBalancers#WRR} (see {@link io.krpc.loadbalance.KrpcLoadBalancers}),
 * and the {@link io.krpc.loadbalance.EndpointAttributes} through which resolvers describe
 * endpoints.
 */
package io.krpc.loadbalance;
