/**
 * TLS and mutual TLS for {@link io.krpc.KServer} and {@link io.krpc.KClient}: {@link
 * io.krpc.tls.KrpcTls} makes {@link io.krpc.tls.ServerTls} and {@link io.krpc.tls.ClientTls}, which
 * turn into grpc-java's own {@link io.grpc.TlsServerCredentials} and {@link
 * io.grpc.TlsChannelCredentials}.
 */
package io.krpc.tls;
