package dev.coffer.cli.layer;

import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.UsageException;
import dev.coffer.layer.LayerHash;
import dev.coffer.layer.LayerHasher;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

@Command(name = "hash", mixinStandardHelpOptions = true,
        description = {"Print the dm-verity root hash of each layer tar (plain, gzip or zstd; '-' reads stdin).",
                "The image is hashed as it is produced and never written to disk."},
        footer = {"", "Examples:",
                "  coffer layer hash layer.tar",
                "  coffer layer hash --diff-id -o json blobs/sha256/*",
                "  docker save app | tar -xOf - <layer>.tar | coffer layer hash -"})
final class HashCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    OutputOption output;

    @Option(names = "--diff-id", description = "Also print the diffID (SHA-256 of the uncompressed tar).")
    boolean diffId;

    @Parameters(paramLabel = "FILE", arity = "1..*", description = "Layer tar files, or '-' for stdin.")
    List<String> files;

    @Override
    public void run() {
        PrintWriter out = spec.commandLine().getOut();
        LayerHasher hasher = new LayerHasher();
        List<Map<String, Object>> results = new java.util.ArrayList<>();
        for (String f : files) {
            LayerHash h = hash(hasher, f);
            if (output.json()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("file", f);
                m.put("rootHash", h.rootHash());
                if (h.diffId() != null) m.put("diffId", h.diffId());
                m.put("imageSize", h.imageSize());
                results.add(m);
            } else if (files.size() == 1 && !diffId) {
                out.println(h.rootHash());
            } else {
                out.println(h.rootHash() + (h.diffId() != null ? "  " + h.diffId() : "") + "  " + f);
            }
        }
        if (output.json()) Json.print(out, files.size() == 1 ? results.getFirst() : results);
        out.flush();
    }

    private LayerHash hash(LayerHasher hasher, String f) {
        if (f.equals("-")) {
            try {
                return hasher.rootHash(System.in, diffId);
            } catch (IOException e) {
                throw LayerCommand.failure(Path.of("stdin"), e);
            }
        }
        Path p = Path.of(f);
        if (Files.isDirectory(p)) throw new UsageException(f + " is a directory; give a layer tar file");
        try {
            if (!diffId) return hasher.rootHash(p);
            try (InputStream in = Files.newInputStream(p)) {
                return hasher.rootHash(in, true);
            }
        } catch (IOException e) {
            throw LayerCommand.failure(p, e);
        }
    }
}
