package io.krpc.spring;

import io.krpc.registry.InMemoryRegistry;
import io.krpc.registry.Registry;
import io.krpc.registry.etcd.EtcdRegistry;
import io.krpc.registry.etcd.RecordFormat;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
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
    EtcdRegistry.Builder builder =
        EtcdRegistry.builder()
            .endpoints(etcd.getEndpoints())
            .dialTimeout(etcd.getDialTimeout())
            .leaseTtl(etcd.getLeaseTtl())
            .keyPrefix(etcd.getKeyPrefix());
    if (etcd.getRequestTimeout() != null) {
      builder.requestTimeout(etcd.getRequestTimeout());
    }
    if (etcd.getUsername() != null) {
      if (etcd.getPassword() == null) {
        throw new IllegalStateException(
            "krpc.registry.etcd.username: '"
                + etcd.getUsername()
                + "' without krpc.registry.etcd.password (expected: both or neither)");
      }
      builder.username(etcd.getUsername()).password(etcd.getPassword());
    }
    Path trust = etcd.getTrustCertificates();
    if (trust != null) {
      named("krpc.registry.etcd.trust-certificates", trust, () -> builder.trustCertificates(trust));
    }
    Path clientCertificate = etcd.getClientCertificate();
    Path clientKey = etcd.getClientKey();
    if ((clientCertificate == null) != (clientKey == null)) {
      throw new IllegalStateException(
          "krpc.registry.etcd.client-certificate: "
              + etcd.getClientCertificate()
              + " and krpc.registry.etcd.client-key: "
              + etcd.getClientKey()
              + " (expected: both or neither)");
    }
    if (clientCertificate != null && clientKey != null) {
      named(
          "krpc.registry.etcd.client-certificate",
          clientCertificate,
          () -> builder.clientCertificate(clientCertificate, clientKey));
    }
    RecordFormat[] formats = recordFormats(etcd);
    named(
        "krpc.registry.etcd.record-formats",
        etcd.getRecordFormats(),
        () -> builder.recordFormats(formats));
    logger.info(
        "KRPC registry: etcd at {}, record formats {}",
        etcd.getEndpoints(),
        etcd.getRecordFormats());
    EtcdRegistry[] built = new EtcdRegistry[1];
    named(
        "krpc.registry.etcd.record-formats",
        etcd.getRecordFormats() + " with record-format-prefixes " + etcd.getRecordFormatPrefixes(),
        () -> built[0] = builder.build());
    return built[0];
  }

  private static RecordFormat[] recordFormats(KrpcProperties.Etcd etcd) {
    List<RecordFormat> formats = new ArrayList<>();
    for (KrpcProperties.RecordFormatName name : etcd.getRecordFormats()) {
      RecordFormat format =
          switch (name) {
            case KRPC -> RecordFormat.KRPC; // the builder gives it key-prefix
            case KRPC_GO -> RecordFormat.KRPC_GO;
            case ETCD_NAMING -> RecordFormat.ETCD_NAMING;
            case GO_ZERO -> RecordFormat.GO_ZERO;
            case KRATOS -> RecordFormat.KRATOS;
          };
      String prefix = etcd.getRecordFormatPrefixes().get(name);
      if (prefix != null) {
        try {
          format = format.withKeyPrefix(prefix);
        } catch (IllegalArgumentException e) {
          throw new IllegalStateException(
              "krpc.registry.etcd.record-format-prefixes."
                  + name.name().toLowerCase(Locale.ROOT).replace('_', '-')
                  + ": '"
                  + prefix
                  + "' ("
                  + e.getMessage()
                  + ")",
              e);
        }
      }
      formats.add(format);
    }
    return formats.toArray(RecordFormat[]::new);
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
