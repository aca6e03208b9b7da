package io.krpc.registry;

import org.jspecify.annotations.Nullable;

/**
 * A registry backend failed or could not be reached. Unchecked, like {@code
 * StatusRuntimeException}.
 */
public class RegistryException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** An exception with a message that says what failed. */
  public RegistryException(String message) {
    super(message);
  }

  /** An exception with a message that says what failed, and its cause (null when unknown). */
  public RegistryException(String message, @Nullable Throwable cause) {
    super(message, cause);
  }
}
