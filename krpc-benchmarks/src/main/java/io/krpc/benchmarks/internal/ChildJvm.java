package io.krpc.benchmarks.internal;

import java.io.File;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;

/** What a benchmark needs to start one of its own classes in a child JVM. */
public final class ChildJvm {
  private ChildJvm() {}

  /**
   * This JVM's class path as seen from {@code anchor}'s class loader, which under {@code exec:java}
   * lives in the plugin's class loaders rather than in {@code java.class.path}.
   */
  public static String classPath(Class<?> anchor) {
    Set<String> entries = new LinkedHashSet<>();
    for (ClassLoader cl = anchor.getClassLoader(); cl != null; cl = cl.getParent()) {
      if (cl instanceof URLClassLoader urls) {
        for (URL url : urls.getURLs()) {
          try {
            entries.add(Path.of(url.toURI()).toString());
          } catch (URISyntaxException | IllegalArgumentException e) {
            // not a file: the child cannot use it either
          }
        }
      }
    }
    for (String entry : System.getProperty("java.class.path", "").split(File.pathSeparator)) {
      if (!entry.isEmpty()) {
        entries.add(entry);
      }
    }
    return String.join(File.pathSeparator, entries);
  }
}
