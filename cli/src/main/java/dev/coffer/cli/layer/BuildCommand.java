package dev.coffer.cli.layer;

import dev.coffer.cli.CofferException;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.UsageException;
import dev.coffer.layer.LayerDisk;
import dev.coffer.layer.LayerDiskCache;
import dev.coffer.layer.LayerHasher;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

@Command(name = "build", mixinStandardHelpOptions = true,
        description = {"Write the layer disk a sandbox mounts: the ext4 image, then a dm-verity superblock and",
                "hash tree at the hash offset. Disks are cached in $COFFER_HOME/layers by diffID, so",
                "building a layer again is a cache hit. Open a disk with:",
                "  veritysetup open DISK NAME DISK ROOT_HASH --hash-offset=HASH_OFFSET"},
        footer = {"", "Examples:",
                "  coffer layer build layer.tar.gz -o layer.disk",
                "  coffer layer build layer.tar --diff-id sha256:0a1b... --json",
                "  coffer layer build layer.tar --no-cache -o /tmp/layer.disk"})
final class BuildCommand implements Runnable {
    private static final Pattern DIFF_ID = Pattern.compile("sha256:[0-9a-f]{64}");

    @ParentCommand
    LayerCommand parent;

    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Parameters(paramLabel = "FILE", description = "Layer tar (plain, gzip or zstd).")
    Path file;

    @Option(names = {"-o", "--out"}, paramLabel = "DISK",
            description = "Also write the disk here (a copy of the cached disk; with --no-cache, the only copy).")
    Path out;

    @Option(names = "--diff-id", paramLabel = "sha256:HEX",
            description = "The layer's expected diffID: a cached disk is used without reading FILE, and FILE must hash to it.")
    String diffId;

    @Option(names = "--no-cache", description = "Do not read or fill the disk cache; requires -o.")
    boolean noCache;

    @Option(names = "--json", description = "Print the disk layout as JSON.")
    boolean json;

    @Override
    public void run() {
        if (diffId != null && !DIFF_ID.matcher(diffId).matches()) {
            throw new UsageException("--diff-id must be sha256: followed by 64 lowercase hex digits, got '" + diffId + "'");
        }
        if (noCache && out == null) throw new UsageException("--no-cache needs -o DISK: the disk has to go somewhere");
        if (Files.isDirectory(file)) throw new UsageException(file + " is a directory; give a layer tar file");
        if (out != null && Files.isDirectory(out)) throw new UsageException(out + " is a directory; give the disk file path");

        LayerDisk disk;
        boolean hit = false;
        try {
            if (noCache) {
                disk = new LayerHasher(out.toAbsolutePath().getParent()).buildDisk(open(), out, diffId);
            } else {
                LayerDiskCache cache = new LayerDiskCache(parent.cacheDir());
                String id = diffId;
                if (id == null) {
                    // Hashing the tar costs far less than building the disk again.
                    try (InputStream in = open()) {
                        id = LayerHasher.diffId(in);
                    }
                }
                hit = cache.lookup(id).isPresent();
                disk = cache.getOrBuild(id, this::open);
                if (out != null) disk = copyTo(disk, out);
            }
        } catch (IOException e) {
            throw LayerCommand.failure(file, e);
        }
        print(disk, hit);
    }

    private InputStream open() throws IOException {
        return Files.newInputStream(file);
    }

    private static LayerDisk copyTo(LayerDisk disk, Path out) throws IOException {
        Path abs = out.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        Path partial = Files.createTempFile(abs.getParent(), "." + abs.getFileName() + ".", ".partial");
        try {
            Files.copy(disk.file(), partial, StandardCopyOption.REPLACE_EXISTING);
            Files.move(partial, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            Files.deleteIfExists(partial);
            throw new CofferException("cannot write " + out + " (" + e.getMessage() + "); the disk is still cached at "
                    + disk.file(), e);
        }
        return new LayerDisk(abs, disk.rootHash(), disk.dataSize(), disk.hashOffset(), disk.diffId());
    }

    private void print(LayerDisk disk, boolean hit) {
        PrintWriter w = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("disk", disk.file().toString());
            m.put("rootHash", disk.rootHash());
            m.put("diffId", disk.diffId());
            m.put("dataSize", disk.dataSize());
            m.put("hashOffset", disk.hashOffset());
            m.put("cacheHit", hit);
            Json.print(w, m);
            return;
        }
        w.println("disk:        " + disk.file() + (hit ? "  (cache hit)" : ""));
        w.println("root hash:   " + disk.rootHash());
        if (disk.diffId() != null) w.println("diffID:      " + disk.diffId());
        w.println("data size:   " + disk.dataSize() + " bytes (ext4 image)");
        w.println("hash offset: " + disk.hashOffset() + " (verity superblock, then the hash tree)");
        w.println("open with:   veritysetup open " + disk.file() + " NAME " + disk.file() + " " + disk.rootHash()
                + " --hash-offset=" + disk.hashOffset());
        w.flush();
    }
}
