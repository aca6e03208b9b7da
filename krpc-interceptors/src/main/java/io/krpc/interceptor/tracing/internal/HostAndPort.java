package io.krpc.interceptor.tracing.internal;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import org.jspecify.annotations.Nullable;

/**
 * A host and an optional port ({@code -1} when unknown), parsed from a channel authority or taken
 * from a socket address, for the {@code server.address} and {@code server.port} span attributes.
 */
public record HostAndPort(String host, int port) {

  /** Parses {@code host}, {@code host:port}, {@code [v6]} or {@code [v6]:port}. */
  public static @Nullable HostAndPort parseAuthority(@Nullable String authority) {
    if (authority == null || authority.isEmpty()) {
      return null;
    }
    int colon = authority.lastIndexOf(':');
    int bracket = authority.lastIndexOf(']');
    if (colon < 0 || colon < bracket) {
      return new HostAndPort(stripBrackets(authority), -1);
    }
    String host = stripBrackets(authority.substring(0, colon));
    try {
      return new HostAndPort(host, Integer.parseInt(authority.substring(colon + 1)));
    } catch (NumberFormatException e) {
      return new HostAndPort(stripBrackets(authority), -1);
    }
  }

  /** Returns the host and port of {@code address}, or null if it is no IP socket address. */
  public static @Nullable HostAndPort of(@Nullable SocketAddress address) {
    if (address instanceof InetSocketAddress) {
      InetSocketAddress inet = (InetSocketAddress) address;
      return new HostAndPort(inet.getHostString(), inet.getPort());
    }
    return null;
  }

  private static String stripBrackets(String host) {
    return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
  }
}
