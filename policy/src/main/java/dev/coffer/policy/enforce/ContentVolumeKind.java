package dev.coffer.policy.enforce;

import java.util.regex.Pattern;

/**
 * The Kubernetes volumes whose files the kubelet writes and a container sees read-only: one
 * concept (a volume of host-supplied content, copied into the sandbox and pinned by
 * {@link FileDigest}s where the policy knows them), four kinds that differ only in name.
 *
 * <p>The forms of such a mount, declared here once: the host asks for {@code
 * sandbox:///files/KIND/NAME} (KIND is {@link #directory()}); the agent copies the content to the
 * container's own directory, {@code SANDBOX/containers/ID/files/KIND/NAME}, which is the source
 * the policy's {@link #policySource} pattern matches (the container's copy, made when it is
 * created: another container of the pod, created later, gets its own).
 */
public enum ContentVolumeKind {
    CONFIG_MAP("configMap", "configmap"),
    SECRET("secret", "secret"),
    PROJECTED("projected", "projected"),
    DOWNWARD_API("downwardAPI", "downward-api");

    /** What the host's create_container names: {@code sandbox:///files/KIND/NAME}. */
    public static final String REQUEST_PREFIX = "sandbox:///files/";
    /** The most bytes a volume holds: Kubernetes caps a ConfigMap or Secret at 1 MiB, a projection of several gets no more here. */
    public static final long MAX_VOLUME_BYTES = 1024 * 1024;
    /** The most bytes of such volumes one container gets: one create_container frame carries them (base64), with room to spare. */
    public static final long MAX_CONTAINER_BYTES = 2 * 1024 * 1024;
    /** The most files a volume holds. */
    public static final int MAX_FILES = 1024;
    /** A volume name, as Kubernetes names volumes: a DNS label. */
    public static final Pattern VOLUME_NAME = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

    private final String podSpecField;
    private final String directory;

    ContentVolumeKind(String podSpecField, String directory) {
        this.podSpecField = podSpecField;
        this.directory = directory;
    }

    /** The pod spec's field of this volume source ({@code spec.volumes[].configMap}, ...). */
    public String podSpecField() {
        return podSpecField;
    }

    /** The kubelet's plugin directory name ({@code kubernetes.io~configmap}) and the path segment in sources. */
    public String directory() {
        return directory;
    }

    /** The kind of pod spec field {@code field}, or null. */
    public static ContentVolumeKind ofPodSpecField(String field) {
        for (ContentVolumeKind k : values()) if (k.podSpecField.equals(field)) return k;
        return null;
    }

    /** The kind whose {@link #directory()} is {@code directory}, or null. */
    public static ContentVolumeKind ofDirectory(String directory) {
        for (ContentVolumeKind k : values()) if (k.directory.equals(directory)) return k;
        return null;
    }

    /** The source a host's mount of volume {@code name} names. */
    public String requestSource(String name) {
        return REQUEST_PREFIX + directory + "/" + name;
    }

    /**
     * The policy's source pattern for volume {@code namePattern} (an RE2 pattern of the name): any
     * container's copy ({@code [^/]+} is the container ID, which the agent validates).
     */
    public String policySource(String namePattern) {
        // the directory names are lowercase letters and '-', literal in RE2
        return "sandbox:///containers/[^/]+/files/" + directory + "/" + namePattern;
    }
}
