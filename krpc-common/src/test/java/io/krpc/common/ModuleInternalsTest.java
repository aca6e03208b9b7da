package io.krpc.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * CONTRIBUTING.md's rule "a module never imports another module's {@code internal} package",
 * checked over every module of the repository (a directory with a pom.xml and src/main/java): an
 * import of a package {@code ….internal…} is allowed only when the importing module declares that
 * {@code internal} package itself. Runs with krpc-common's tests, which every reactor build that
 * reaches any KRPC module includes; it reads source text only, so it is cheap and deterministic.
 */
class ModuleInternalsTest {
  private static final Pattern PACKAGE = Pattern.compile("(?m)^package\\s+([\\w.]+)\\s*;");
  private static final Pattern IMPORT =
      Pattern.compile("(?m)^import\\s+(?:static\\s+)?([\\w.]+?\\.internal)\\.[\\w.*]+\\s*;");

  @Test
  void noModuleImportsAnotherModulesInternalPackage() throws IOException {
    Path root = Path.of("").toAbsolutePath().getParent();
    List<Path> modules = new ArrayList<>();
    try (Stream<Path> dirs = Files.list(root)) {
      dirs.filter(d -> Files.isRegularFile(d.resolve("pom.xml")))
          .filter(d -> Files.isDirectory(d.resolve("src/main/java")))
          .sorted()
          .forEach(modules::add);
    }
    assertThat(modules.stream().map(m -> m.getFileName().toString()))
        .contains("krpc-common", "krpc-core", "krpc-benchmarks");
    TreeMap<String, String> violations = new TreeMap<>();
    for (Path module : modules) {
      List<Path> sources = javaFiles(module.resolve("src/main/java"));
      Set<String> own = new HashSet<>();
      for (Path source : sources) {
        Matcher m = PACKAGE.matcher(Files.readString(source, StandardCharsets.UTF_8));
        if (m.find()) {
          String pkg = m.group(1);
          int internal = (pkg + ".").indexOf(".internal.");
          if (internal >= 0) {
            own.add(pkg.substring(0, internal + ".internal".length()));
          }
        }
      }
      for (Path source : sources) {
        Matcher m = IMPORT.matcher(Files.readString(source, StandardCharsets.UTF_8));
        while (m.find()) {
          String internal = m.group(1);
          // the first ".internal" segment names the internal package tree the import reaches
          internal = internal.substring(0, internal.indexOf(".internal") + ".internal".length());
          if (!own.contains(internal)) {
            violations.put(root.relativize(source) + ": " + m.group().strip(), internal);
          }
        }
      }
    }
    assertThat(violations.keySet()).as("imports of another module's internal package").isEmpty();
  }

  private static List<Path> javaFiles(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(f -> f.toString().endsWith(".java")).sorted().toList();
    }
  }
}
