package dev.coffer.policy.model;

import java.util.Objects;

/**
 * A volume mounted into a container: {@code volume} names an entry of the group's volumes
 * (an emptyDir living in the sandbox), mounted at {@code mountPath}.
 */
public record MountInput(String volume, String mountPath, boolean readOnly) {
    public MountInput {
        Objects.requireNonNull(volume, "volume");
        Objects.requireNonNull(mountPath, "mountPath");
        if (!mountPath.startsWith("/")) {
            throw new IllegalArgumentException("mountPath must be absolute: found '" + mountPath
                    + "' for volume '" + volume + "'; use a path starting with '/'");
        }
    }
}
