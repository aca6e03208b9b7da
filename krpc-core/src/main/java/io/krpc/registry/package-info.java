/**
 * The KRPC registry SPI: {@link io.krpc.registry.Registry}, {@link
 * io.krpc.registry.ServiceInstance} and the embedded {@link io.krpc.registry.InMemoryRegistry}.
 */
package io.krpc.registry;
