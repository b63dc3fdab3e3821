package dev.coffer.cli.layer;

import dev.coffer.cli.CofferException;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.UsageException;
import dev.coffer.layer.bench.LayerBenchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure layer tar -> root hash throughput on a synthetic layer, beside 'veritysetup format'",
                "hashing the very same ext4 image, in the same run (runs alternate, best of each side).",
                "Throughput is MB (10^6 bytes) of ext4 image per second; the goal is a ratio >= 0.8."},
        footer = {"", "Examples:",
                "  coffer layer bench",
                "  coffer layer bench --size-mb 2048 --runs 5 --dir /var/tmp -o json"})
final class BenchCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    OutputOption output;

    @Option(names = "--size-mb", defaultValue = "512", description = "Synthetic layer size in MiB (default: ${DEFAULT-VALUE}).")
    long sizeMb;

    @Option(names = "--runs", defaultValue = "3", description = "Timed runs of each side (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--dir", description = "Scratch directory (default: the system temporary directory).")
    Path dir;

    @Override
    public void run() {
        if (sizeMb < 1 || sizeMb > 65536) throw new UsageException("--size-mb must be between 1 and 65536, got " + sizeMb);
        if (runs < 1 || runs > 100) throw new UsageException("--runs must be between 1 and 100, got " + runs);
        LayerBenchmark.Report r;
        Path scratch = null;
        try {
            scratch = Files.createTempDirectory(dir != null ? dir : Path.of(System.getProperty("java.io.tmpdir")),
                    "coffer-layer-bench-");
            r = LayerBenchmark.run(scratch, sizeMb << 20, runs);
        } catch (IOException e) {
            throw new CofferException("layer benchmark failed: " + e.getMessage()
                    + "; it needs veritysetup (apt-get install cryptsetup-bin) and " + 3 * sizeMb
                    + " MiB of free space in the scratch directory", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CofferException("layer benchmark interrupted", e);
        } finally {
            if (scratch != null) {
                try {
                    Files.deleteIfExists(scratch);
                } catch (IOException ignored) {
                    // best effort: the files inside were already removed
                }
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("tarBytes", r.tarBytes());
            m.put("imageBytes", r.imageBytes());
            m.put("files", r.files());
            m.put("runs", r.runs());
            m.put("coffer", Map.of("seconds", r.oursSeconds(), "cpuSeconds", r.oursCpuSeconds(), "MBps", r.oursMBps()));
            m.put("veritysetup", Map.of("seconds", r.veritysetupSeconds(), "cpuSeconds", r.veritysetupCpuSeconds(),
                    "MBps", r.veritysetupMBps()));
            m.put("ratio", r.ratio());
            m.put("cpuRatio", r.cpuRatio());
            m.put("rootHash", r.ourRootHash());
            m.put("hashesAgree", r.hashesAgree());
            m.put("jitWarning", r.jitWarning());
            Json.print(out, m);
        } else {
            out.printf("layer: %.1f MiB tar, %d files -> %.1f MiB ext4 image (best of %d runs)%n",
                    r.tarBytes() / 1048576.0, r.files(), r.imageBytes() / 1048576.0, r.runs());
            out.printf("coffer tar -> root hash:   %8.1f MB/s  (%.2f s wall, %.2f s CPU)%n",
                    r.oursMBps(), r.oursSeconds(), r.oursCpuSeconds());
            out.printf("veritysetup format (ext4): %8.1f MB/s  (%.2f s wall, %.2f s CPU)%n",
                    r.veritysetupMBps(), r.veritysetupSeconds(), r.veritysetupCpuSeconds());
            out.printf("ratio: %.2fx by wall clock, %.2fx by CPU time (goal >= 0.80x)%n", r.ratio(), r.cpuRatio());
            if (!r.jitWarning().isEmpty()) out.println("warning: " + r.jitWarning());
            out.println("root hashes " + (r.hashesAgree() ? "agree: " : "DIFFER: ") + r.ourRootHash()
                    + (r.hashesAgree() ? "" : " vs " + r.veritysetupRootHash()));
        }
        out.flush();
        if (!r.hashesAgree()) {
            throw new CofferException("our root hash " + r.ourRootHash() + " differs from veritysetup's "
                    + r.veritysetupRootHash() + " for the same image; this is a bug, please report it");
        }
    }
}
