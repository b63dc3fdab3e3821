package dev.coffer.oci.store;

import dev.coffer.oci.OciException;
import dev.coffer.oci.digest.Digest;
import dev.coffer.oci.manifest.ConfigFile;
import dev.coffer.oci.manifest.Descriptor;
import dev.coffer.oci.manifest.ImageManifest;
import dev.coffer.oci.manifest.ManifestDocument;
import dev.coffer.oci.reference.ImageReference;
import dev.coffer.oci.registry.RegistryClient;
import dev.coffer.oci.registry.RegistryCredentials;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The local image store under {@code <cofferHome>/oci}: verified blobs plus an index of names.
 * Safe to use from several threads and several processes at once.
 */
public final class ImageStore implements AutoCloseable {
    /** Manifests and configs are small; anything bigger is not what it claims to be. */
    static final int MAX_JSON_BLOB = 4 * 1024 * 1024;
    private static final java.time.Duration STALE_AFTER = java.time.Duration.ofHours(24);
    private static final Pattern ID_PREFIX = Pattern.compile("(?:sha256:)?[0-9a-f]{4,64}");

    private final Path ociDir;
    private final BlobStore blobs;
    private final ImageIndexFile index;
    private RegistryClient registryClient;

    private ImageStore(Path ociDir) throws IOException {
        this.ociDir = ociDir;
        this.blobs = new BlobStore(ociDir.resolve("blobs"));
        this.index = new ImageIndexFile(ociDir);
    }

    /** Opens (creating if needed) the store under {@code cofferHome/oci}. */
    public static ImageStore open(Path cofferHome) throws IOException {
        Path dir = cofferHome.resolve("oci");
        Files.createDirectories(dir);
        ImageStore store = new ImageStore(dir);
        store.removeStaleLeftovers();
        return store;
    }

    /**
     * Temporary blobs and import scratch directories of processes that were killed. Only old
     * ones: a young one may belong to a transfer running right now in another process.
     */
    private void removeStaleLeftovers() {
        Instant cutoff = Instant.now().minus(STALE_AFTER);
        try {
            for (Path p : blobs.temporaryFiles()) {
                if (Files.getLastModifiedTime(p).toInstant().isBefore(cutoff)) Files.deleteIfExists(p);
            }
            Path tmp = ociDir.resolve("tmp");
            if (Files.isDirectory(tmp)) {
                try (var dirs = Files.list(tmp)) {
                    for (Path d : dirs.toList()) {
                        if (Files.getLastModifiedTime(d).toInstant().isBefore(cutoff)) ArchiveImport.deleteTree(d);
                    }
                }
            }
        } catch (IOException ignored) {
            // Cleaning is opportunistic; the store works without it.
        }
    }

    public BlobStore blobs() {
        return blobs;
    }

    /** The raw stored file of a blob, for callers that need a path (it is verified on open, not here). */
    public Path blobPath(Digest digest) {
        return blobs.path(digest);
    }

    /**
     * Finds an image by reference ({@code busybox}, {@code reg:5000/app:1}, {@code app@sha256:...})
     * or by a prefix (4+ hex digits) of its id (the manifest digest).
     */
    public LocalImage resolve(String refOrIdPrefix) throws IOException {
        List<ImageIndexFile.Entry> entries = index.read();
        ImageIndexFile.Entry match = findByReference(entries, refOrIdPrefix);
        if (match == null) {
            List<ImageIndexFile.Entry> byId = findById(entries, refOrIdPrefix);
            Set<Digest> distinct = new LinkedHashSet<>();
            byId.forEach(e -> distinct.add(e.manifest()));
            if (distinct.size() > 1) {
                throw new OciException("image id prefix '" + refOrIdPrefix + "' matches " + distinct.size()
                        + " images; give more digits of the id (see 'coffer image ls')");
            }
            match = byId.isEmpty() ? null : byId.getFirst();
        }
        if (match == null) {
            throw new ImageNotFoundException("no local image '" + refOrIdPrefix + "' (" + entries.size()
                    + " images in the store" + suggestion(entries, refOrIdPrefix) + "); run 'coffer image import FILE'"
                    + " or 'coffer image pull " + refOrIdPrefix + "' first, 'coffer image ls' lists what is there");
        }
        return load(match);
    }

    /**
     * One name in the store and what it points at: {@code image} if it loads and verifies,
     * else {@code problem} says what is wrong (a tampered manifest or config, a missing blob).
     */
    public record Listing(ImageReference reference, Digest manifestDigest, Instant created, LocalImage image,
                          String problem) {
        public boolean ok() {
            return image != null;
        }
    }

    /** Every name, including images that fail verification (for listing; they cannot be used). */
    public List<Listing> listAll() throws IOException {
        List<Listing> out = new ArrayList<>();
        for (ImageIndexFile.Entry e : index.read()) {
            try {
                out.add(new Listing(e.reference(), e.manifest(), e.created(), load(e), null));
            } catch (OciException broken) {
                out.add(new Listing(e.reference(), e.manifest(), e.created(), null, broken.getMessage()));
            }
        }
        out.sort(Comparator.comparing(l -> l.reference().toString()));
        return out;
    }

    /** All images, by reference; fails if any of them does not verify. */
    public List<LocalImage> list() throws IOException {
        List<LocalImage> out = new ArrayList<>();
        for (ImageIndexFile.Entry e : index.read()) {
            out.add(load(e));
        }
        out.sort(Comparator.comparing(i -> i.reference().toString()));
        return out;
    }

    /**
     * The uncompressed tar of {@code layer}. Both the stored blob's digest and the diff id are
     * verified while reading; a mismatch throws {@link BlobTamperedException} at end of stream
     * (and {@code close()} reads to the end first, so it cannot be missed).
     */
    public InputStream openLayer(LayerBlob layer) throws IOException {
        Path p = blobs.path(layer.digest());
        if (!Files.isRegularFile(p)) {
            throw new OciException("layer " + layer.digest() + " is missing from the store (" + p
                    + "); remove the image with 'coffer image rm' and import or pull it again");
        }
        return new LayerStream(layer, p);
    }

    /** Imports the single image of an OCI layout (directory or tar) or a {@code docker save} archive. */
    public LocalImage importArchive(Path fileOrDir) throws IOException {
        return importArchive(fileOrDir, null, ProgressListener.NONE);
    }

    /**
     * Imports the single image of an archive, named {@code name} if given (else by the name the
     * archive carries).
     */
    public LocalImage importArchive(Path fileOrDir, ImageReference name, ProgressListener progress)
            throws IOException {
        List<LocalImage> all = importAll(fileOrDir, name, progress);
        return all.getFirst();
    }

    /** Imports every image an archive holds (a docker save may hold several). */
    public List<LocalImage> importAll(Path fileOrDir, ImageReference name, ProgressListener progress)
            throws IOException {
        return new ArchiveImport(this, ociDir).run(fileOrDir, name, progress == null ? ProgressListener.NONE : progress);
    }

    /** Pulls from an OCI distribution registry, with default client options. */
    public LocalImage pull(ImageReference ref, RegistryCredentials creds, ProgressListener progress)
            throws IOException {
        synchronized (this) {
            if (registryClient == null) {
                registryClient = new RegistryClient(RegistryClient.Options.defaults());
            }
        }
        return pull(ref, creds, progress, registryClient);
    }

    /**
     * Pulls with a given client. On failure nothing is left behind: no index entry, no
     * temporary files, and blobs this pull added that no image uses are removed again.
     */
    public LocalImage pull(ImageReference ref, RegistryCredentials creds, ProgressListener progress,
                           RegistryClient client) throws IOException {
        Set<Digest> added = new HashSet<>();
        try {
            Digest manifest = client.pull(ref, creds, blobs, progress == null ? ProgressListener.NONE : progress, added);
            ImageReference name = ref.tag() != null ? ref.withDigest(null) : ref;
            return register(List.of(name), manifest).getFirst();
        } catch (IOException | RuntimeException e) {
            try {
                discardUnreferenced(added);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /**
     * Removes an image by reference (that name only) or by id prefix (every name of that
     * image), then deletes the blobs no remaining image uses.
     *
     * @return the images removed
     */
    public List<LocalImage> remove(String refOrId) throws IOException {
        return index.update(entries -> {
            List<ImageIndexFile.Entry> victims = new ArrayList<>();
            ImageIndexFile.Entry byRef = findByReference(entries, refOrId);
            if (byRef != null) {
                victims.add(byRef);
            } else {
                List<ImageIndexFile.Entry> byId = findById(entries, refOrId);
                Set<Digest> distinct = new HashSet<>();
                byId.forEach(e -> distinct.add(e.manifest()));
                if (distinct.size() > 1) {
                    throw new OciException("image id prefix '" + refOrId + "' matches " + distinct.size()
                            + " images; give more digits of the id (see 'coffer image ls')");
                }
                victims.addAll(byId);
            }
            if (victims.isEmpty()) {
                throw new ImageNotFoundException("no local image '" + refOrId + "' to remove; 'coffer image ls'"
                        + " lists the images in the store");
            }
            List<LocalImage> removed = new ArrayList<>();
            Set<Digest> candidates = new HashSet<>();
            for (ImageIndexFile.Entry v : victims) {
                candidates.add(v.manifest());
                try {
                    LocalImage img = load(v);
                    removed.add(img);
                    candidates.addAll(blobsOf(img));
                } catch (OciException unreadable) {
                    // A tampered image must still be removable; its blobs go if unreferenced.
                    removed.add(new LocalImage(v.reference(), v.manifest(), v.manifest(),
                            ImageConfig.of(List.of()), List.of(), 0, v.created()));
                }
            }
            entries.removeAll(victims);
            deleteUnreferenced(entries, candidates);
            return removed;
        });
    }

    @Override
    public void close() {
        synchronized (this) {
            if (registryClient != null) {
                registryClient.close();
                registryClient = null;
            }
        }
    }

    // ---- used by ArchiveImport and pull ----

    /**
     * Names {@code manifest} under each of {@code names}, after checking that the manifest,
     * config and every layer are in the store. Replaces earlier images of the same name.
     */
    List<LocalImage> register(List<ImageReference> names, Digest manifest) throws IOException {
        return index.update(entries -> {
            Instant now = Instant.now();
            List<LocalImage> out = new ArrayList<>();
            Set<Digest> replacedBlobs = new HashSet<>();
            for (ImageReference name : names) {
                LocalImage img = load(new ImageIndexFile.Entry(name, manifest, now));
                for (LayerBlob l : img.layers()) {
                    if (!blobs.has(l.digest())) {
                        throw new OciException("layer " + l.digest() + " of " + name + " vanished from the store"
                                + " while it was being added (removed concurrently?); run the command again");
                    }
                }
                for (ImageIndexFile.Entry old : entries) {
                    if (old.reference().equals(name) && !old.manifest().equals(manifest)) {
                        replacedBlobs.add(old.manifest());
                        try {
                            replacedBlobs.addAll(blobsOf(load(old)));
                        } catch (OciException unreadable) {
                            // its other blobs cannot be named; they stay
                        }
                    }
                }
                entries.removeIf(e -> e.reference().equals(name));
                entries.add(new ImageIndexFile.Entry(name, manifest, now));
                out.add(img);
            }
            // A re-pulled tag that moved leaves the old image's blobs unused: drop them.
            deleteUnreferenced(entries, replacedBlobs);
            return out;
        });
    }

    /** Deletes blobs from {@code candidates} that no indexed image uses. */
    void discardUnreferenced(Collection<Digest> candidates) throws IOException {
        if (candidates.isEmpty()) return;
        index.update(entries -> {
            deleteUnreferenced(entries, candidates);
            return null;
        });
    }

    private void deleteUnreferenced(List<ImageIndexFile.Entry> remaining, Collection<Digest> candidates)
            throws IOException {
        Set<Digest> keep = new HashSet<>();
        for (ImageIndexFile.Entry e : remaining) {
            keep.add(e.manifest());
            try {
                keep.addAll(blobsOf(load(e)));
            } catch (OciException unreadable) {
                // Cannot tell what a broken image uses: keep everything rather than guess.
                return;
            }
        }
        for (Digest d : candidates) {
            if (!keep.contains(d)) {
                blobs.delete(d);
            }
        }
    }

    private static List<Digest> blobsOf(LocalImage img) {
        List<Digest> out = new ArrayList<>();
        out.add(img.manifestDigest());
        out.add(img.configDigest());
        img.layers().forEach(l -> out.add(l.digest()));
        return out;
    }

    LocalImage load(ImageIndexFile.Entry e) throws IOException {
        String what = "manifest " + e.manifest() + " of " + e.reference();
        ManifestDocument doc = ManifestDocument.parse(blobs.readVerified(e.manifest(), MAX_JSON_BLOB), null, what);
        if (!(doc instanceof ImageManifest manifest)) {
            throw new OciException(what + " is an index, expected a single-platform manifest; re-import the image");
        }
        Digest configDigest = manifest.config().digest();
        ConfigFile config = ConfigFile.parse(blobs.readVerified(configDigest, MAX_JSON_BLOB),
                "config " + configDigest + " of " + e.reference());
        if (config.diffIds().size() != manifest.layers().size()) {
            throw new OciException("image " + e.reference() + " has " + manifest.layers().size()
                    + " layers but its config lists " + config.diffIds().size()
                    + " diff ids; the image is malformed, rebuild it");
        }
        List<LayerBlob> layers = new ArrayList<>();
        long size = manifest.config().size();
        for (int i = 0; i < manifest.layers().size(); i++) {
            Descriptor d = manifest.layers().get(i);
            layers.add(new LayerBlob(d.digest(), config.diffIds().get(i), d.mediaType(), d.size()));
            size += d.size();
        }
        return new LocalImage(e.reference(), e.manifest(), configDigest, config.config(), layers, size,
                e.created());
    }

    private static ImageIndexFile.Entry findByReference(List<ImageIndexFile.Entry> entries, String text) {
        ImageReference ref;
        try {
            ref = ImageReference.parse(text);
        } catch (IllegalArgumentException notAReference) {
            return null;
        }
        for (ImageIndexFile.Entry e : entries) {
            ImageReference have = e.reference();
            if (!have.name().equals(ref.name())) continue;
            if (ref.digest() != null) {
                // A digest may name the manifest or the index it was chosen from.
                if ((ref.digest().equals(e.manifest()) || ref.digest().equals(have.digest()))
                        && (ref.tag() == null || ref.tag().equals(have.tag()))) {
                    return e;
                }
            } else if (ref.tag().equals(have.tag())) {
                return e;
            }
        }
        return null;
    }

    /** Names whose last path component matches what was typed: "demo" when "coffer.local/demo:1" exists. */
    private static String suggestion(List<ImageIndexFile.Entry> entries, String text) {
        String typed = text.contains("@") ? text.substring(0, text.indexOf('@')) : text;
        int colon = typed.lastIndexOf(':');
        if (colon > typed.lastIndexOf('/')) typed = typed.substring(0, colon);
        String last = typed.substring(typed.lastIndexOf('/') + 1);
        List<String> similar = entries.stream().map(e -> e.reference().toString())
                .filter(r -> {
                    String name = r.contains("@") ? r.substring(0, r.indexOf('@')) : r;
                    int c = name.lastIndexOf(':');
                    if (c > name.lastIndexOf('/')) name = name.substring(0, c);
                    return name.substring(name.lastIndexOf('/') + 1).equals(last);
                }).sorted().limit(3).toList();
        return similar.isEmpty() ? "" : "; did you mean " + String.join(" or ", similar) + "?";
    }

    private static List<ImageIndexFile.Entry> findById(List<ImageIndexFile.Entry> entries, String text) {
        String t = text.toLowerCase(Locale.ROOT);
        if (!ID_PREFIX.matcher(t).matches()) return List.of();
        String hex = t.startsWith("sha256:") ? t.substring(7) : t;
        List<ImageIndexFile.Entry> out = new ArrayList<>();
        for (ImageIndexFile.Entry e : entries) {
            if (e.manifest().hex().startsWith(hex)) out.add(e);
        }
        return out;
    }
}
