package io.krpc.spring;

import io.krpc.registry.InMemoryRegistry;
import io.krpc.registry.Registry;
import io.krpc.registry.etcd.EtcdRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/**
 * The {@link Registry} bean: an {@link EtcdRegistry} from {@code krpc.registry.etcd.*}, or the
 * in-memory registry (one JVM) when no endpoints are set. A {@code Registry} bean of the
 * application's own wins.
 */
@AutoConfiguration
@EnableConfigurationProperties(KrpcProperties.class)
public class KrpcRegistryAutoConfiguration {
  private static final Logger logger = LoggerFactory.getLogger(KrpcRegistryAutoConfiguration.class);

  @Bean(destroyMethod = "close")
  @ConditionalOnMissingBean(Registry.class)
  Registry krpcRegistry(KrpcProperties properties) {
    KrpcProperties.Etcd etcd = properties.getRegistry().getEtcd();
    if (etcd.getEndpoints().isEmpty()) {
      logger.info("KRPC registry: in-memory (krpc.registry.etcd.endpoints is not set)");
      return new InMemoryRegistry();
    }
    EtcdRegistry.Builder builder = EtcdRegistry.builder()
        .endpoints(etcd.getEndpoints())
        .dialTimeout(etcd.getDialTimeout())
        .leaseTtl(etcd.getLeaseTtl())
        .keyPrefix(etcd.getKeyPrefix());
    if (etcd.getRequestTimeout() != null) {
      builder.requestTimeout(etcd.getRequestTimeout());
    }
    if (etcd.getUsername() != null) {
      if (etcd.getPassword() == null) {
        throw new IllegalStateException("krpc.registry.etcd.username: '" + etcd.getUsername()
            + "' without krpc.registry.etcd.password (expected: both or neither)");
      }
      builder.username(etcd.getUsername()).password(etcd.getPassword());
    }
    if (etcd.getTrustCertificates() != null) {
      named("krpc.registry.etcd.trust-certificates", etcd.getTrustCertificates(),
          () -> builder.trustCertificates(etcd.getTrustCertificates()));
    }
    if ((etcd.getClientCertificate() == null) != (etcd.getClientKey() == null)) {
      throw new IllegalStateException("krpc.registry.etcd.client-certificate: "
          + etcd.getClientCertificate() + " and krpc.registry.etcd.client-key: "
          + etcd.getClientKey() + " (expected: both or neither)");
    }
    if (etcd.getClientCertificate() != null) {
      named("krpc.registry.etcd.client-certificate", etcd.getClientCertificate(),
          () -> builder.clientCertificate(etcd.getClientCertificate(), etcd.getClientKey()));
    }
    logger.info("KRPC registry: etcd at {}", etcd.getEndpoints());
    return builder.build();
  }

  /** Runs a builder call, naming the property and its value if the builder refuses it. */
  private static void named(String property, Object value, Runnable call) {
    try {
      call.run();
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new IllegalStateException(property + ": " + value + " (" + e.getMessage() + ")", e);
    }
  }
}
