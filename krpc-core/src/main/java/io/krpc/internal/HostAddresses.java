package io.krpc.internal;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.Collections;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Finds the address a server registers when the user gave none. */
public final class HostAddresses {
  private static final Logger logger = LoggerFactory.getLogger(HostAddresses.class);

  private HostAddresses() {}

  /**
   * The first non-loopback IPv4 address of an interface that is up, as the Go KRPC chooses; {@code
   * 127.0.0.1} when there is none.
   */
  public static String defaultHost() {
    try {
      for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        if (!nic.isUp() || nic.isLoopback()) {
          continue;
        }
        for (InetAddress address : Collections.list(nic.getInetAddresses())) {
          if (address instanceof Inet4Address && !address.isLoopbackAddress()
              && !address.isLinkLocalAddress()) {
            return address.getHostAddress();
          }
        }
      }
    } catch (SocketException e) {
      logger.warn("Cannot list network interfaces; registering 127.0.0.1", e);
    }
    return "127.0.0.1";
  }
}
