package dev.coffer.oci.layout;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.oci.digest.Digest;
import dev.coffer.oci.manifest.ConfigFile;
import dev.coffer.oci.manifest.Descriptor;
import dev.coffer.oci.manifest.ImageIndex;
import dev.coffer.oci.manifest.ImageManifest;
import dev.coffer.oci.manifest.Json;
import dev.coffer.oci.manifest.MediaTypes;
import dev.coffer.oci.manifest.Platform;
import dev.coffer.oci.store.ImageConfig;
import io.airlift.compress.zstd.ZstdOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/**
 * Builds a small OCI image in memory and writes it as an OCI image layout (directory or tar)
 * or as a {@code docker save} archive. Output is deterministic: the same layers and config
 * always give the same digests. Used by {@code coffer demo}, and by tests to make the images
 * they import, push and run.
 */
public final class ImageBuilder {
    public enum Compression { NONE, GZIP, ZSTD }

    /** A blob of the built image. */
    public record Blob(String mediaType, Digest digest, byte[] bytes) {
        public Descriptor descriptor() {
            return new Descriptor(mediaType, digest, bytes.length);
        }
    }

    /** The built image: its manifest, config and layer blobs. */
    public record BuiltImage(Blob manifest, Blob config, List<Blob> layers, List<Digest> diffIds, Platform platform) {
        public BuiltImage {
            layers = List.copyOf(layers);
            diffIds = List.copyOf(diffIds);
        }

        public Digest manifestDigest() {
            return manifest.digest();
        }

        /** Every blob: config, layers, manifest. */
        public List<Blob> blobs() {
            List<Blob> all = new ArrayList<>();
            all.add(config);
            all.addAll(layers);
            all.add(manifest);
            return all;
        }
    }

    private final List<TarLayer> layers = new ArrayList<>();
    private ImageConfig config = ImageConfig.of(List.of("/bin/sh"));
    private Compression compression = Compression.GZIP;
    private String manifestMediaType = MediaTypes.OCI_MANIFEST;

    public ImageBuilder layer(TarLayer layer) {
        layers.add(layer);
        return this;
    }

    public ImageBuilder config(ImageConfig newConfig) {
        this.config = newConfig;
        return this;
    }

    public ImageBuilder compression(Compression newCompression) {
        this.compression = newCompression;
        return this;
    }

    /** Docker v2 schema 2 media types instead of OCI ones (what older registries and tools emit). */
    public ImageBuilder dockerMediaTypes() {
        this.manifestMediaType = MediaTypes.DOCKER_MANIFEST;
        return this;
    }

    public BuiltImage build() throws IOException {
        boolean docker = manifestMediaType.equals(MediaTypes.DOCKER_MANIFEST);
        List<Blob> layerBlobs = new ArrayList<>();
        List<Digest> diffIds = new ArrayList<>();
        for (TarLayer layer : layers) {
            byte[] tar = layer.toTar();
            diffIds.add(Digest.sha256(tar));
            byte[] stored;
            String type;
            switch (compression) {
                case NONE -> {
                    stored = tar;
                    type = MediaTypes.OCI_LAYER;
                }
                case GZIP -> {
                    stored = gzip(tar);
                    type = docker ? MediaTypes.DOCKER_LAYER_GZIP : MediaTypes.OCI_LAYER_GZIP;
                }
                case ZSTD -> {
                    stored = zstd(tar);
                    type = MediaTypes.OCI_LAYER_ZSTD;
                }
                default -> throw new IllegalStateException("unknown compression " + compression);
            }
            layerBlobs.add(new Blob(type, Digest.sha256(stored), stored));
        }
        byte[] configBytes = new ConfigFile(config, diffIds).toJson();
        Blob configBlob = new Blob(docker ? MediaTypes.DOCKER_CONFIG : MediaTypes.OCI_CONFIG,
                Digest.sha256(configBytes), configBytes);
        ImageManifest manifest = new ImageManifest(manifestMediaType, configBlob.descriptor(),
                layerBlobs.stream().map(Blob::descriptor).toList());
        byte[] manifestBytes = manifest.toJson();
        Blob manifestBlob = new Blob(manifestMediaType, Digest.sha256(manifestBytes), manifestBytes);
        return new BuiltImage(manifestBlob, configBlob, layerBlobs, diffIds,
                new Platform(config.os(), config.architecture(), ""));
    }

    /**
     * Writes an OCI image layout into {@code dir} whose index names the image {@code name}
     * (a reference such as "coffer.local/demo:1", stored as org.opencontainers.image.ref.name).
     */
    public Path writeLayout(Path dir, String name) throws IOException {
        BuiltImage image = build();
        Map<String, byte[]> files = layoutFiles(List.of(image), name, false);
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            Path p = dir.resolve(f.getKey());
            Files.createDirectories(p.getParent());
            Files.write(p, f.getValue());
        }
        return dir;
    }

    /** The same layout as {@link #writeLayout}, as one tar file. */
    public Path writeLayoutTar(Path tarFile, String name) throws IOException {
        writeTar(tarFile, layoutFiles(List.of(build()), name, false));
        return tarFile;
    }

    /**
     * Writes a layout whose index entry {@code name} is a multi-platform index over the
     * images of {@code builders} (each with its config's os/architecture).
     */
    public static Path writeMultiPlatformLayout(Path dir, String name, List<ImageBuilder> builders)
            throws IOException {
        List<BuiltImage> images = new ArrayList<>();
        for (ImageBuilder b : builders) images.add(b.build());
        for (Map.Entry<String, byte[]> f : layoutFiles(images, name, true).entrySet()) {
            Path p = dir.resolve(f.getKey());
            Files.createDirectories(p.getParent());
            Files.write(p, f.getValue());
        }
        return dir;
    }

    /** The platform index over {@code images}, as a registry would serve it for a multi-arch tag. */
    public static Blob platformIndex(List<BuiltImage> images) {
        List<Descriptor> entries = new ArrayList<>();
        for (BuiltImage img : images) {
            entries.add(new Descriptor(img.manifest().mediaType(), img.manifestDigest(), img.manifest().bytes().length,
                    img.platform(), Map.of()));
        }
        byte[] bytes = new ImageIndex(MediaTypes.OCI_INDEX, entries).toJson();
        return new Blob(MediaTypes.OCI_INDEX, Digest.sha256(bytes), bytes);
    }

    /**
     * Writes a {@code docker save} archive: manifest.json, the config as {@code <hex>.json} and
     * each layer as an uncompressed {@code <diffid hex>/layer.tar}.
     */
    public Path writeDockerArchive(Path tarFile, String repoTag) throws IOException {
        BuiltImage image = build();
        Map<String, byte[]> files = new LinkedHashMap<>();
        String configName = image.config().digest().hex() + ".json";
        files.put(configName, image.config().bytes());
        ArrayNode layerNames = Json.MAPPER.createArrayNode();
        for (TarLayer layer : layers) {
            byte[] tar = layer.toTar();
            String name = Digest.sha256(tar).hex() + "/layer.tar";
            files.put(name, tar);
            layerNames.add(name);
        }
        ArrayNode manifest = Json.MAPPER.createArrayNode();
        ObjectNode entry = manifest.addObject();
        entry.put("Config", configName);
        entry.putArray("RepoTags").add(repoTag);
        entry.set("Layers", layerNames);
        files.put("manifest.json", Json.write(manifest));
        writeTar(tarFile, files);
        return tarFile;
    }

    private static Map<String, byte[]> layoutFiles(List<BuiltImage> images, String name, boolean asIndex) {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        Descriptor top;
        for (BuiltImage img : images) {
            for (Blob b : img.blobs()) {
                files.put("blobs/sha256/" + b.digest().hex(), b.bytes());
            }
        }
        if (asIndex) {
            Blob index = platformIndex(images);
            files.put("blobs/sha256/" + index.digest().hex(), index.bytes());
            top = new Descriptor(MediaTypes.OCI_INDEX, index.digest(), index.bytes().length, null,
                    Map.of(Descriptor.REF_NAME, name));
        } else {
            BuiltImage img = images.getFirst();
            top = new Descriptor(img.manifest().mediaType(), img.manifestDigest(), img.manifest().bytes().length,
                    null, Map.of(Descriptor.REF_NAME, name));
        }
        files.put("index.json", new ImageIndex(MediaTypes.OCI_INDEX, List.of(top)).toJson());
        return files;
    }

    private static void writeTar(Path tarFile, Map<String, byte[]> files) throws IOException {
        if (tarFile.getParent() != null) Files.createDirectories(tarFile.getParent());
        try (OutputStream out = Files.newOutputStream(tarFile);
             TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            java.util.Set<String> dirs = new java.util.HashSet<>();
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                String[] parts = f.getKey().split("/");
                StringBuilder d = new StringBuilder();
                for (int i = 0; i < parts.length - 1; i++) {
                    d.append(parts[i]).append('/');
                    if (dirs.add(d.toString())) {
                        TarArchiveEntry de = new TarArchiveEntry(d.toString());
                        de.setModTime(new Date(0));
                        tar.putArchiveEntry(de);
                        tar.closeArchiveEntry();
                    }
                }
                TarArchiveEntry e = new TarArchiveEntry(f.getKey());
                e.setSize(f.getValue().length);
                e.setMode(0100644);
                e.setModTime(new Date(0));
                tar.putArchiveEntry(e);
                tar.write(f.getValue());
                tar.closeArchiveEntry();
            }
            tar.finish();
        }
    }

    private static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        // GZIPOutputStream writes a zero mtime, so the output is reproducible.
        try (GZIPOutputStream gz = new GZIPOutputStream(out, 64 * 1024)) {
            gz.write(data);
        }
        return out.toByteArray();
    }

    private static byte[] zstd(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZstdOutputStream z = new ZstdOutputStream(out)) {
            z.write(data);
        }
        return out.toByteArray();
    }
}
