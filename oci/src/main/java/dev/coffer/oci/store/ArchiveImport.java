package dev.coffer.oci.store;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.oci.OciException;
import dev.coffer.oci.digest.Digest;
import dev.coffer.oci.manifest.ConfigFile;
import dev.coffer.oci.manifest.Descriptor;
import dev.coffer.oci.manifest.ImageIndex;
import dev.coffer.oci.manifest.ImageManifest;
import dev.coffer.oci.manifest.Json;
import dev.coffer.oci.manifest.ManifestDocument;
import dev.coffer.oci.manifest.MediaTypes;
import dev.coffer.oci.manifest.Platform;
import dev.coffer.oci.reference.ImageReference;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * Imports an OCI image layout or a {@code docker save} archive. A tar is first unpacked into a
 * private scratch directory (entries are confined to it); then every blob is copied into the
 * store with its digest checked, and only when all of an image is in place is its name added.
 * On failure, blobs this import added that no image uses are removed again.
 */
final class ArchiveImport {
    private static final String CONTAINERD_NAME = "io.containerd.image.name";

    private final ImageStore store;
    private final Path ociDir;
    private final Set<Digest> added = new HashSet<>();
    private long done;
    private long total = -1;
    private ProgressListener progress = ProgressListener.NONE;
    private String phase = "";

    ArchiveImport(ImageStore store, Path ociDir) {
        this.store = store;
        this.ociDir = ociDir;
    }

    List<LocalImage> run(Path source, ImageReference name, ProgressListener listener) throws IOException {
        this.progress = listener;
        this.phase = "importing " + source.getFileName();
        Path scratch = null;
        try {
            Path dir;
            if (Files.isDirectory(source)) {
                dir = source;
            } else if (Files.isRegularFile(source)) {
                scratch = ociDir.resolve("tmp").resolve("import-" + UUID.randomUUID());
                Files.createDirectories(scratch);
                extractTar(source, scratch);
                dir = scratch;
            } else {
                throw new OciException("expected an OCI image layout (directory or tar) or a docker save archive,"
                        + " found no file at " + source + "; check the path");
            }
            List<LocalImage> images;
            if (Files.isRegularFile(dir.resolve("index.json")) && Files.isRegularFile(dir.resolve("oci-layout"))) {
                images = importLayout(dir, name, source);
            } else if (Files.isRegularFile(dir.resolve("manifest.json"))) {
                images = importDockerSave(dir, name, source);
            } else {
                throw new OciException("expected an OCI image layout (oci-layout + index.json) or a docker save"
                        + " archive (manifest.json) in " + source + ", found neither; create it with"
                        + " 'docker save' or an OCI tool (skopeo, buildah, crane)");
            }
            return images;
        } catch (IOException | RuntimeException e) {
            try {
                store.discardUnreferenced(added);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        } finally {
            if (scratch != null) deleteTree(scratch);
        }
    }

    // ---- OCI image layout ----

    private List<LocalImage> importLayout(Path dir, ImageReference override, Path source) throws IOException {
        JsonNode layout = Json.read(Files.readAllBytes(dir.resolve("oci-layout")), source + " oci-layout");
        String version = layout.path("imageLayoutVersion").asText();
        if (!version.startsWith("1.")) {
            throw new OciException(source + " is OCI image layout version '" + version
                    + "'; expected 1.x: convert it with a current OCI tool");
        }
        ManifestDocument top = ManifestDocument.parse(Files.readAllBytes(dir.resolve("index.json")),
                MediaTypes.OCI_INDEX, source + " index.json");
        if (!(top instanceof ImageIndex index) || index.manifests().isEmpty()) {
            throw new OciException(source + " index.json lists no images; expected at least one manifest");
        }
        record Named(ImageReference name, Descriptor manifest) {}
        List<Named> found = new ArrayList<>();
        for (Descriptor d : index.manifests()) {
            ImageReference name = layoutName(d, override, index.manifests().size(), source);
            found.add(new Named(name, d));
        }
        total = 0;
        List<Descriptor> chosen = new ArrayList<>();
        for (Named n : found) {
            chosen.add(platformManifest(dir, n.manifest(), source + " image " + n.name()));
        }
        for (Descriptor m : chosen) {
            ImageManifest manifest = readManifest(dir, m, source);
            total += manifest.config().size() + manifest.layers().stream().mapToLong(Descriptor::size).sum();
        }
        List<LocalImage> out = new ArrayList<>();
        for (int i = 0; i < found.size(); i++) {
            Descriptor m = chosen.get(i);
            ImageManifest manifest = readManifest(dir, m, source);
            copyBlob(dir, manifest.config(), source);
            ConfigFile config = ConfigFile.parse(store.blobs().readVerified(manifest.config().digest(),
                    ImageStore.MAX_JSON_BLOB), source + " config " + manifest.config().digest());
            if (config.diffIds().size() != manifest.layers().size()) {
                throw new OciException(source + " image " + found.get(i).name() + " has " + manifest.layers().size()
                        + " layers but its config lists " + config.diffIds().size() + " diff ids; the image is malformed");
            }
            for (Descriptor layer : manifest.layers()) {
                copyBlob(dir, layer, source);
            }
            copyBlob(dir, m, source);
            out.addAll(store.register(List.of(found.get(i).name()), m.digest()));
        }
        return out;
    }

    private ImageReference layoutName(Descriptor d, ImageReference override, int count, Path source)
            throws OciException {
        if (override != null) {
            if (count > 1) {
                throw new OciException(source + " holds " + count + " images; a name can only be given when it"
                        + " holds one: import without --name to use the names it carries");
            }
            return override;
        }
        String full = d.annotations().get(CONTAINERD_NAME);
        String refName = d.annotations().get(Descriptor.REF_NAME);
        String candidate = full != null ? full : refName;
        if (candidate != null && (candidate.contains("/") || candidate.contains(":"))) {
            try {
                return ImageReference.parse(candidate);
            } catch (IllegalArgumentException e) {
                throw new OciException(source + " names an image '" + candidate + "', which is not a valid"
                        + " reference (" + e.getMessage() + "); give a name with --name", e);
            }
        }
        throw new OciException(source + " image " + d.digest().shortHex() + " carries "
                + (refName == null ? "no name" : "only the tag '" + refName + "'")
                + "; expected a full name (org.opencontainers.image.ref.name = repo:tag): give one with --name REPO:TAG");
    }

    private Descriptor platformManifest(Path dir, Descriptor d, String what) throws IOException {
        if (MediaTypes.INDEXES.contains(d.mediaType())) {
            byte[] bytes = readLayoutBlob(dir, d, what);
            ManifestDocument doc = ManifestDocument.parse(bytes, d.mediaType(), what);
            if (doc instanceof ImageIndex nested) {
                Descriptor pick = nested.select(Platform.LINUX_AMD64, what);
                return platformManifest(dir, pick, what + " (" + Platform.LINUX_AMD64 + ")");
            }
            throw new OciException(what + " is listed as an index but is a manifest; the layout is malformed");
        }
        return d;
    }

    private ImageManifest readManifest(Path dir, Descriptor d, Path source) throws IOException {
        String what = source + " manifest " + d.digest();
        ManifestDocument doc = ManifestDocument.parse(readLayoutBlob(dir, d, what), d.mediaType(), what);
        if (doc instanceof ImageManifest m) return m;
        throw new OciException(what + " is an index where a manifest was expected; the layout is malformed");
    }

    private byte[] readLayoutBlob(Path dir, Descriptor d, String what) throws IOException {
        Path p = layoutBlob(dir, d.digest(), what);
        if (Files.size(p) != d.size() || d.size() > ImageStore.MAX_JSON_BLOB) {
            throw new OciException(what + ": blob " + d.digest() + " has " + Files.size(p) + " bytes, the descriptor"
                    + " says " + d.size() + "; the archive is corrupt");
        }
        byte[] bytes = Files.readAllBytes(p);
        Digest actual = Digest.sha256(bytes);
        if (!actual.equals(d.digest())) {
            throw new BlobTamperedException(what + ": blob " + d.digest() + " in the archive hashes to " + actual
                    + "; the archive is corrupt or was altered, nothing was imported");
        }
        return bytes;
    }

    private Path layoutBlob(Path dir, Digest digest, String what) throws OciException {
        Path p = dir.resolve("blobs").resolve(digest.algorithm()).resolve(digest.hex());
        if (!Files.isRegularFile(p)) {
            throw new OciException(what + ": blob " + digest + " is missing from the archive (expected "
                    + dir.relativize(p) + "); the archive is incomplete");
        }
        return p;
    }

    private void copyBlob(Path dir, Descriptor d, Path source) throws IOException {
        Path p = layoutBlob(dir, d.digest(), source.toString());
        copyInto(p, d.digest(), d.size(), source + " blob " + d.digest());
    }

    private Digest copyInto(Path file, Digest expected, long size, String what) throws IOException {
        boolean existed = expected != null && store.blobs().has(expected);
        try (InputStream in = new CountingInput(Files.newInputStream(file))) {
            Digest d = store.blobs().put(in, expected, size, what);
            if (!existed) {
                added.add(d);
            }
            return d;
        }
    }

    // ---- docker save ----

    private List<LocalImage> importDockerSave(Path dir, ImageReference override, Path source) throws IOException {
        byte[] bytes = Files.readAllBytes(dir.resolve("manifest.json"));
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(bytes);
        } catch (IOException e) {
            throw new OciException(source + " manifest.json is not valid JSON; expected a docker save archive", e);
        }
        if (root == null || !root.isArray() || root.isEmpty()) {
            throw new OciException(source + " manifest.json is not a non-empty array; expected a docker save archive");
        }
        if (override != null && root.size() > 1) {
            throw new OciException(source + " holds " + root.size() + " images; a name can only be given when it"
                    + " holds one: import without --name to use the names it carries");
        }
        total = 0;
        for (JsonNode image : root) {
            total += fileSize(dir, image.path("Config").asText(), source);
            for (JsonNode l : image.path("Layers")) total += fileSize(dir, l.asText(), source);
        }
        List<LocalImage> out = new ArrayList<>();
        for (JsonNode image : root) {
            List<ImageReference> names = new ArrayList<>();
            if (override != null) {
                names.add(override);
            } else {
                for (JsonNode t : image.path("RepoTags")) {
                    try {
                        names.add(ImageReference.parse(t.asText()));
                    } catch (IllegalArgumentException e) {
                        throw new OciException(source + " names an image '" + t.asText() + "', which is not a valid"
                                + " reference (" + e.getMessage() + "); give a name with --name", e);
                    }
                }
            }
            String configPath = image.path("Config").asText();
            if (names.isEmpty()) {
                throw new OciException(source + " image " + configPath + " has no RepoTags; give a name with --name REPO:TAG");
            }
            Path configFile = inside(dir, configPath, source);
            Digest configDigest = copyInto(configFile, null, Files.size(configFile), source + " " + configPath);
            ConfigFile config = ConfigFile.parse(store.blobs().readVerified(configDigest, ImageStore.MAX_JSON_BLOB),
                    source + " " + configPath);
            JsonNode layerPaths = image.path("Layers");
            if (layerPaths.size() != config.diffIds().size()) {
                throw new OciException(source + " image " + names.getFirst() + " lists " + layerPaths.size()
                        + " layers but its config has " + config.diffIds().size() + " diff ids; the archive is corrupt");
            }
            List<Descriptor> layers = new ArrayList<>();
            for (int i = 0; i < layerPaths.size(); i++) {
                Path layerFile = inside(dir, layerPaths.get(i).asText(), source);
                boolean gzip = isGzip(layerFile);
                Digest expected = gzip ? null : config.diffIds().get(i);
                Digest d = copyInto(layerFile, expected, Files.size(layerFile),
                        source + " layer " + layerPaths.get(i).asText() + " (diff id " + config.diffIds().get(i) + ")");
                layers.add(new Descriptor(gzip ? MediaTypes.OCI_LAYER_GZIP : MediaTypes.OCI_LAYER, d, Files.size(layerFile)));
            }
            ImageManifest manifest = new ImageManifest(MediaTypes.OCI_MANIFEST,
                    new Descriptor(MediaTypes.OCI_CONFIG, configDigest, Files.size(configFile)), layers);
            byte[] manifestBytes = manifest.toJson();
            Digest manifestDigest = Digest.sha256(manifestBytes);
            boolean existed = store.blobs().has(manifestDigest);
            store.blobs().put(manifestBytes, manifestDigest, source + " manifest");
            if (!existed) added.add(manifestDigest);
            out.addAll(store.register(names, manifestDigest));
        }
        return out;
    }

    private static boolean isGzip(Path p) throws IOException {
        try (InputStream in = Files.newInputStream(p)) {
            byte[] m = in.readNBytes(2);
            return m.length == 2 && (m[0] & 0xff) == 0x1f && (m[1] & 0xff) == 0x8b;
        }
    }

    private long fileSize(Path dir, String rel, Path source) throws IOException {
        return Files.size(inside(dir, rel, source));
    }

    /** Resolves an archive-relative path, refusing anything that leads outside the archive. */
    private static Path inside(Path dir, String rel, Path source) throws IOException {
        if (rel == null || rel.isEmpty()) {
            throw new OciException(source + " manifest.json has an empty path; expected Config and Layers file names");
        }
        Path p = dir.resolve(rel).normalize();
        Path root = dir.toRealPath();
        Path real;
        try {
            real = p.toRealPath();
        } catch (NoSuchFileException e) {
            throw new OciException(source + " manifest.json names '" + rel + "', which is not in the archive;"
                    + " the archive is incomplete");
        }
        if (!real.startsWith(root) || !Files.isRegularFile(real)) {
            throw new OciException(source + " manifest.json names '" + rel + "', which is outside the archive or"
                    + " not a file; refusing it");
        }
        return real;
    }

    // ---- tar extraction into the scratch directory ----

    private void extractTar(Path tar, Path into) throws IOException {
        InputStream raw = new BufferedInputStream(Files.newInputStream(tar), 64 * 1024);
        raw.mark(2);
        int b0 = raw.read();
        int b1 = raw.read();
        raw.reset();
        InputStream in = b0 == 0x1f && b1 == 0x8b ? new GZIPInputStream(raw, 64 * 1024) : raw;
        int entries = 0;
        try (TarArchiveInputStream tin = new TarArchiveInputStream(in)) {
            TarArchiveEntry e;
            while ((e = tin.getNextEntry()) != null) {
                entries++;
                String name = e.getName();
                Path target = confined(into, name, tar);
                if (target == null) continue;
                if (e.isDirectory()) {
                    Files.createDirectories(target);
                } else if (e.isSymbolicLink()) {
                    // docker save links repeated layers to their first copy; keep links that stay inside.
                    Path resolved = target.getParent().resolve(e.getLinkName()).normalize();
                    if (!resolved.startsWith(into) || e.getLinkName().startsWith("/")) {
                        throw new OciException(tar + " entry '" + name + "' links to '" + e.getLinkName()
                                + "', outside the archive; refusing to import it");
                    }
                    Files.createDirectories(target.getParent());
                    Files.deleteIfExists(target);
                    Files.createSymbolicLink(target, Path.of(e.getLinkName()));
                } else if (e.isLink()) {
                    Path linked = confined(into, e.getLinkName(), tar);
                    if (linked == null || !Files.isRegularFile(linked, LinkOption.NOFOLLOW_LINKS)) {
                        throw new OciException(tar + " entry '" + name + "' is a hard link to '" + e.getLinkName()
                                + "', which is not an earlier file of the archive; the archive is malformed");
                    }
                    Files.createDirectories(target.getParent());
                    Files.deleteIfExists(target);
                    Files.createLink(target, linked);
                } else if (e.isFile()) {
                    Files.createDirectories(target.getParent());
                    Files.deleteIfExists(target);
                    try (var out = Files.newOutputStream(target)) {
                        tin.transferTo(out);
                    }
                }
            }
        } catch (IOException e) {
            if (e instanceof OciException) throw e;
            throw new OciException("cannot read " + tar + " as a tar archive (" + e.getMessage()
                    + "); expected an OCI layout tar or a docker save archive: is the file complete?", e);
        }
        if (entries == 0) {
            throw new OciException(tar + " is empty or not a tar archive; expected an OCI layout tar or a docker save"
                    + " archive");
        }
    }

    private static Path confined(Path root, String name, Path tar) throws OciException {
        String n = name;
        while (n.startsWith("./")) n = n.substring(2);
        if (n.isEmpty() || n.equals(".")) return null;
        if (n.startsWith("/")) {
            throw new OciException(tar + " entry '" + name + "' has an absolute path; refusing to import it");
        }
        Path p = root.resolve(n).normalize();
        if (!p.startsWith(root) || p.equals(root)) {
            throw new OciException(tar + " entry '" + name + "' points outside the archive (..); refusing to import it");
        }
        return p;
    }

    static void deleteTree(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: a scratch directory left behind is harmless and lives under oci/tmp
                }
            });
        } catch (IOException ignored) {
            // same as above
        }
    }

    /** Reports bytes read from archive files to the progress listener. */
    private final class CountingInput extends java.io.FilterInputStream {
        CountingInput(InputStream in) {
            super(in);
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                done += n;
                progress.update(phase, done, total);
            }
            return n;
        }
    }
}
