package io.krpc.registry.etcd.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.krpc.registry.Registry;
import io.krpc.registry.RegistryException;
import io.krpc.registry.ServiceInstance;
import io.krpc.registry.etcd.RecordFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Merging what several formats list for one service. */
class FormatMergeTest {
  private static final List<RecordFormat> FORMATS =
      List.of(RecordFormat.KRPC_GO, RecordFormat.KRPC, RecordFormat.ETCD_NAMING);
  private static final ServiceInstance GO =
      ServiceInstance.builder("s", "10.0.0.1", 1).weight(7).build();
  private static final ServiceInstance OWN =
      ServiceInstance.builder("s", "10.0.0.1", 1).weight(300).metadata(Map.of("zone", "a")).build();
  private static final ServiceInstance NAMING_ONLY = ServiceInstance.of("s", "10.0.0.2", 1);
  private static final ServiceInstance NAMING_OF_GO = ServiceInstance.of("s", "10.0.0.3", 1);
  private static final ServiceInstance GO_ONLY =
      ServiceInstance.builder("s", "10.0.0.3", 1).weight(9).build();

  @Test
  void krpcRecordWinsThenListOrder() {
    assertThat(
            FormatMerge.merge(
                FORMATS,
                List.of(List.of(GO, GO_ONLY), List.of(OWN), List.of(NAMING_ONLY, NAMING_OF_GO))))
        .containsExactly(OWN, NAMING_ONLY, GO_ONLY); // sorted by endpoint
  }

  @Test
  void listenerWaitsForEveryFormatAndReportsOneErrorPerEpisode() {
    List<List<ServiceInstance>> updates = new ArrayList<>();
    List<RegistryException> errors = new ArrayList<>();
    FormatMerge.Listener merged =
        new FormatMerge.Listener(
            FORMATS,
            new Registry.Listener() {
              @Override
              public void onUpdate(List<ServiceInstance> instances) {
                updates.add(instances);
              }

              @Override
              public void onError(RegistryException error) {
                errors.add(error);
              }
            });
    merged.part(0).onUpdate(List.of(GO));
    merged.part(1).onUpdate(List.of());
    assertThat(updates).isEmpty();
    merged.part(2).onUpdate(List.of(NAMING_ONLY));
    assertThat(updates).containsExactly(List.of(GO, NAMING_ONLY));
    merged.part(2).onUpdate(List.of(NAMING_ONLY)); // unchanged: not delivered again
    assertThat(updates).hasSize(1);

    merged.part(0).onError(new RegistryException("down"));
    merged.part(1).onError(new RegistryException("down"));
    assertThat(errors).hasSize(1);
    merged.part(1).onUpdate(List.of(OWN)); // back: delivered
    assertThat(updates.get(updates.size() - 1)).containsExactly(OWN, NAMING_ONLY);
  }
}
