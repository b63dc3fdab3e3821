package dev.coffer.policy.model;

import dev.coffer.policy.enforce.ContentVolumeKind;
import dev.coffer.policy.enforce.FileDigest;

import java.util.List;
import java.util.Objects;

/**
 * A volume mounted into a container: {@code volume} names an entry of the group's volumes
 * (an emptyDir living in the sandbox), mounted at {@code mountPath}.
 *
 * @param content null for a volume of the sandbox's own; for a Kubernetes volume whose files the
 *                host supplies (always read-only), its kind and, where known, its files
 */
public record MountInput(String volume, String mountPath, boolean readOnly, Content content) {
    /**
     * Host-supplied content: {@code files} null when the generator does not know it (the policy then
     * allows any), else exactly the files the volume must hold.
     */
    public record Content(ContentVolumeKind kind, List<FileDigest> files) {
        public Content {
            Objects.requireNonNull(kind, "kind");
            files = files == null ? null : FileDigest.sorted(files);
        }
    }

    public MountInput {
        Objects.requireNonNull(volume, "volume");
        Objects.requireNonNull(mountPath, "mountPath");
        if (!mountPath.startsWith("/")) {
            throw new IllegalArgumentException("mountPath must be absolute: found '" + mountPath
                    + "' for volume '" + volume + "'; use a path starting with '/'");
        }
        if (content != null && !readOnly) {
            throw new IllegalArgumentException("volume '" + volume + "' (" + content.kind().podSpecField() + ") is mounted"
                    + " writable at " + mountPath + "; its files come from the host and are mounted read-only");
        }
    }

    /** A mount of a volume of the sandbox's own. */
    public MountInput(String volume, String mountPath, boolean readOnly) {
        this(volume, mountPath, readOnly, null);
    }
}
