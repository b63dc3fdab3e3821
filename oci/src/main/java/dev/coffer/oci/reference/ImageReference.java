package dev.coffer.oci.reference;

import dev.coffer.oci.digest.Digest;

import java.util.regex.Pattern;

/**
 * An image reference as the OCI distribution spec and Docker write it:
 * {@code [registry/]namespace/repo[:tag][@sha256:...]}. Short names get Docker's defaults
 * ({@code busybox} is {@code docker.io/library/busybox:latest}) so that a name typed by a user
 * and the same name written in full resolve to the same image.
 *
 * @param registry   host[:port], never null ({@code docker.io} by default)
 * @param repository path inside the registry, never null
 * @param tag        the tag, or null when only a digest was given
 * @param digest     the manifest digest, or null
 */
public record ImageReference(String registry, String repository, String tag, Digest digest) {
    public static final String DOCKER_HUB = "docker.io";
    public static final String DEFAULT_TAG = "latest";

    private static final Pattern DOMAIN = Pattern.compile(
            "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
                    + "|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?");
    private static final Pattern PATH_COMPONENT = Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
    private static final Pattern TAG = Pattern.compile("[\\w][\\w.-]{0,127}");
    private static final int MAX_NAME_LENGTH = 255;

    public ImageReference {
        if (registry == null || !DOMAIN.matcher(registry).matches()) {
            throw new IllegalArgumentException("expected a registry host[:port], found '" + registry + "'");
        }
        if (repository == null || repository.isEmpty()) {
            throw new IllegalArgumentException("expected a repository name, found nothing");
        }
        for (String component : repository.split("/", -1)) {
            if (!PATH_COMPONENT.matcher(component).matches()) {
                throw new IllegalArgumentException("expected repository path components of lowercase letters, digits"
                        + " and separators (. _ __ -), found '" + component + "' in '" + repository
                        + "'; image names are lowercase");
            }
        }
        if (tag != null && !TAG.matcher(tag).matches()) {
            throw new IllegalArgumentException("expected a tag of up to 128 letters, digits, '_', '.', '-' (not"
                    + " starting with '.' or '-'), found '" + tag + "'");
        }
        if (tag == null && digest == null) {
            tag = DEFAULT_TAG;
        }
    }

    /** Parses a reference, applying Docker's defaults (docker.io, library/, latest). */
    public static ImageReference parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("expected an image reference like 'busybox:1.36' or"
                    + " 'registry.example:5000/team/app@sha256:...', found nothing");
        }
        if (!text.equals(text.strip()) || text.chars().anyMatch(Character::isWhitespace)) {
            throw new IllegalArgumentException("expected an image reference without spaces, found '" + text + "'");
        }
        try {
            return parseStrict(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid image reference '" + text + "': " + e.getMessage(), e);
        }
    }

    private static ImageReference parseStrict(String text) {
        String rest = text;
        Digest digest = null;
        int at = rest.indexOf('@');
        if (at >= 0) {
            digest = Digest.parse(rest.substring(at + 1));
            rest = rest.substring(0, at);
        }
        String tag = null;
        int lastSlash = rest.lastIndexOf('/');
        int colon = rest.lastIndexOf(':');
        if (colon > lastSlash) {
            tag = rest.substring(colon + 1);
            rest = rest.substring(0, colon);
            if (tag.isEmpty()) {
                throw new IllegalArgumentException("expected a tag after ':', found nothing");
            }
        }
        if (rest.isEmpty()) {
            throw new IllegalArgumentException("expected a repository name, found nothing");
        }
        if (rest.length() > MAX_NAME_LENGTH) {
            throw new IllegalArgumentException("expected a name of at most " + MAX_NAME_LENGTH + " characters, found "
                    + rest.length());
        }
        String registry;
        String repository;
        int slash = rest.indexOf('/');
        String first = slash < 0 ? rest : rest.substring(0, slash);
        // Docker's rule: the first component is a registry only if it looks like a host.
        if (slash >= 0 && (first.contains(".") || first.contains(":") || first.equals("localhost")
                || first.startsWith("[") || !first.equals(first.toLowerCase(java.util.Locale.ROOT)))) {
            registry = first;
            repository = rest.substring(slash + 1);
        } else {
            registry = DOCKER_HUB;
            repository = rest;
        }
        if (registry.equals("index.docker.io") || registry.equals("registry-1.docker.io")) {
            registry = DOCKER_HUB;
        }
        if (registry.equals(DOCKER_HUB) && !repository.contains("/")) {
            repository = "library/" + repository;
        }
        return new ImageReference(registry, repository, tag, digest);
    }

    /** The same image name with another tag and no digest. */
    public ImageReference withTag(String newTag) {
        return new ImageReference(registry, repository, newTag, null);
    }

    public ImageReference withDigest(Digest newDigest) {
        return new ImageReference(registry, repository, tag, newDigest);
    }

    /** registry/repository, without tag or digest. */
    public String name() {
        return registry + "/" + repository;
    }

    /** What to ask the registry for: the digest if pinned, else the tag. */
    public String manifestSelector() {
        return digest != null ? digest.toString() : tag;
    }

    /** The shortest form that parses back to this reference (docker.io/library/ dropped). */
    public String familiar() {
        String name;
        if (registry.equals(DOCKER_HUB)) {
            name = repository.startsWith("library/") ? repository.substring("library/".length()) : repository;
        } else {
            name = name();
        }
        return name + (tag != null ? ":" + tag : "") + (digest != null ? "@" + digest : "");
    }

    @Override
    public String toString() {
        return name() + (tag != null ? ":" + tag : "") + (digest != null ? "@" + digest : "");
    }
}
