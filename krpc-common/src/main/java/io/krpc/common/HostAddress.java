package io.krpc.common;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketAddress;
import java.net.SocketException;
import java.util.Collections;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The address KRPC reports as the {@code ip} label when a call has no IP transport address (the
 * in-process transport) and on the client side: the host's first non-loopback IPv4 address, looked
 * up once, or {@code 127.0.0.1} when the host has none.
 *
 * <p>Thread-safe; the lookup happens on first use and its result never changes.
 */
public final class HostAddress {
  private static final Logger logger = LoggerFactory.getLogger(HostAddress.class);

  private HostAddress() {}

  /** Returns the host's first non-loopback IPv4 address, or the loopback address. */
  public static InetAddress hostIpv4() {
    return Holder.HOST_IPV4;
  }

  /**
   * Returns the IP of {@code address} when it is an {@link InetSocketAddress} with a resolved
   * address, else {@link #hostIpv4()}.
   */
  public static InetAddress ipOf(SocketAddress address) {
    if (address instanceof InetSocketAddress) {
      InetAddress ip = ((InetSocketAddress) address).getAddress();
      if (ip != null) {
        return ip;
      }
    }
    return Holder.HOST_IPV4;
  }

  private static final class Holder {
    static final InetAddress HOST_IPV4 = lookUp();

    private static InetAddress lookUp() {
      try {
        for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
          if (!nic.isUp() || nic.isLoopback()) {
            continue;
          }
          for (InetAddress address : Collections.list(nic.getInetAddresses())) {
            if (address instanceof Inet4Address
                && !address.isLoopbackAddress()
                && !address.isLinkLocalAddress()) {
              return address;
            }
          }
        }
      } catch (SocketException | RuntimeException e) {
        logger.warn("Cannot list network interfaces; reporting ip=127.0.0.1 in metrics", e);
      }
      return InetAddress.getLoopbackAddress();
    }
  }
}
