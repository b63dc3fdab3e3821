package dev.coffer.agent.container;

import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The disks a sandbox was launched with, the only sources {@code mount_device} may name: a
 * host that could name any file or device could make the agent read (and, through the layer
 * check's messages, probe) whatever it likes. The layer check itself still decides whether the
 * content is the pinned layer; this decides where the agent may look at all.
 */
public sealed interface AttachedDisks {
    /** The agent's flag value for a microVM's disks: virtio block devices named by serial. */
    String VIRTIO = "virtio";

    /**
     * A microVM's layer disks: {@code /dev/disk/by-id/virtio-l<16 hex>}, attached by the host
     * with the serial "l" + the first 16 hex digits of the layer's root hash, so the serial must
     * also name the layer the request asks for.
     */
    record VirtioSerials() implements AttachedDisks {
        private static final Pattern SOURCE = Pattern.compile("/dev/disk/by-id/virtio-l([0-9a-f]{16})");

        @Override
        public Path check(String source, String deviceHash) {
            Matcher m = SOURCE.matcher(source == null ? "" : source);
            if (!m.matches()) {
                throw AgentException.invalid("expected the mount_device source to be one of the microVM's layer disks,"
                        + " /dev/disk/by-id/virtio-l<first 16 hex digits of the root hash>, found \"" + source
                        + "\"; the host may name only the disks it attached as layers");
            }
            if (deviceHash != null && !deviceHash.startsWith(m.group(1))) {
                throw AgentException.invalid("expected the mount_device source's serial l" + m.group(1) + " to name the layer"
                        + " whose root hash is deviceHash " + deviceHash + ", found another layer's disk");
            }
            return Path.of(source);
        }
    }

    /** The process sandbox's layer disk files, as the runtime prepared them and named them at launch. */
    record Files(Set<Path> files) implements AttachedDisks {
        public Files {
            files = Set.copyOf(files);
        }

        @Override
        public Path check(String source, String deviceHash) {
            Path p;
            try {
                p = Path.of(source).toAbsolutePath().normalize();
            } catch (RuntimeException e) {
                p = null;
            }
            if (p == null || !files.contains(p)) {
                throw AgentException.invalid("expected the mount_device source to be one of the layer disks the sandbox was"
                        + " launched with (--layer-disk; " + files.size() + " attached), found \"" + source
                        + "\"; the host may name only the layer disk files it prepared for this group");
            }
            return p;
        }
    }

    /** Development ({@code --policy allow-all} without {@code --layer-disk}): any source, as the host says. */
    record Unrestricted() implements AttachedDisks {
        @Override
        public Path check(String source, String deviceHash) {
            return Path.of(source);
        }
    }

    /**
     * The source {@code mount_device} may read for {@code deviceHash}.
     *
     * @throws AgentException (invalid) naming the source and what the sandbox has attached
     */
    Path check(String source, String deviceHash);

    /**
     * The disks from the agent's {@code --layer-disk} values: {@value #VIRTIO} alone, or absolute
     * files. With none, a policy-bound sandbox may mount no device; allow-all may mount any.
     *
     * @throws IllegalArgumentException for a relative path or virtio mixed with files
     */
    static AttachedDisks of(List<String> values, boolean allowAll) {
        if (values.isEmpty()) return allowAll ? new Unrestricted() : new Files(Set.of());
        if (values.contains(VIRTIO)) {
            if (values.size() != 1) {
                throw new IllegalArgumentException("expected --layer-disk " + VIRTIO + " alone or layer disk files, found both");
            }
            return new VirtioSerials();
        }
        Set<Path> files = new LinkedHashSet<>();
        for (String v : values) {
            Path p = Path.of(v);
            if (!p.isAbsolute()) {
                throw new IllegalArgumentException("expected --layer-disk as an absolute file or " + VIRTIO + ", found \"" + v + "\"");
            }
            files.add(p.normalize());
        }
        return new Files(files);
    }
}
