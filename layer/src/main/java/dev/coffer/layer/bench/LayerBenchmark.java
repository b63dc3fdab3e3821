package dev.coffer.layer.bench;

import dev.coffer.layer.LayerDisk;
import dev.coffer.layer.LayerHash;
import dev.coffer.layer.LayerHasher;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Layer tar to root hash throughput, measured beside {@code veritysetup format} hashing the very
 * ext4 image our conversion produces, in the same run. Both figures are in MB (10^6 bytes) of
 * ext4 image per second, so their ratio is the ratio of wall-clock times: the conversion (tar
 * parsing, ext4 layout, hashing) against hashing alone.
 */
public final class LayerBenchmark {
    /**
     * What one run measured: the best wall-clock time of {@code runs} timed repetitions of each
     * side (taken in alternation, so both see the same machine load), and the CPU seconds of
     * that same best repetition.
     */
    public record Report(long tarBytes, long imageBytes, long files, int runs,
                         double oursSeconds, double oursCpuSeconds,
                         double veritysetupSeconds, double veritysetupCpuSeconds,
                         String ourRootHash, String veritysetupRootHash, String jitWarning) {
        public double oursMBps() {
            return imageBytes / 1e6 / oursSeconds;
        }

        public double veritysetupMBps() {
            return imageBytes / 1e6 / veritysetupSeconds;
        }

        /** Our throughput over veritysetup's, by wall-clock time. The goal is at least 0.8. */
        public double ratio() {
            return oursMBps() / veritysetupMBps();
        }

        /** The same ratio by CPU time, which machine load disturbs less. NaN if not measurable. */
        public double cpuRatio() {
            return veritysetupCpuSeconds / oursCpuSeconds;
        }

        public boolean hashesAgree() {
            return ourRootHash.equals(veritysetupRootHash);
        }
    }

    private LayerBenchmark() {}

    /**
     * Writes a synthetic layer of about {@code sizeBytes} under {@code workDir}, then measures.
     * Needs {@code veritysetup} on the PATH or in /usr/sbin.
     */
    public static Report run(Path workDir, long sizeBytes, int runs) throws IOException, InterruptedException {
        Files.createDirectories(workDir);
        Path tar = workDir.resolve("bench-layer.tar");
        Path disk = workDir.resolve("bench-layer.disk");
        Path image = workDir.resolve("bench-layer.ext4");
        Path hashDev = workDir.resolve("bench-layer.verity");
        try {
            Synthetic layer = writeSyntheticLayer(tar, sizeBytes);
            LayerHasher hasher = new LayerHasher(workDir);

            // veritysetup hashes the very image our conversion writes.
            LayerDisk built = hasher.buildDisk(tar, disk);
            try (FileChannel src = FileChannel.open(disk);
                 FileChannel dst = FileChannel.open(image, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                         StandardOpenOption.TRUNCATE_EXISTING)) {
                long done = 0;
                while (done < built.dataSize()) done += src.transferTo(done, built.dataSize() - done, dst);
            }
            Files.delete(disk);

            // Warm-up: the JIT compiles the hot paths, the page cache holds both inputs.
            LayerHash warm = hasher.rootHash(tar);
            hasher.rootHash(tar);
            String theirs = veritysetupFormat(image, hashDev);

            double ours = Double.MAX_VALUE;
            double oursCpu = Double.NaN;
            double verity = Double.MAX_VALUE;
            double verityCpu = Double.NaN;
            for (int i = 0; i < runs; i++) {
                double c0 = processCpuSeconds();
                long t0 = System.nanoTime();
                LayerHash h = hasher.rootHash(tar);
                double wall = (System.nanoTime() - t0) / 1e9;
                double cpu = processCpuSeconds() - c0;
                if (!h.rootHash().equals(warm.rootHash())) throw new IllegalStateException("hash changed between runs");
                if (wall < ours) {
                    ours = wall;
                    oursCpu = cpu;
                }

                double k0 = childrenCpuSeconds();
                t0 = System.nanoTime();
                veritysetupFormat(image, hashDev);
                wall = (System.nanoTime() - t0) / 1e9;
                double kcpu = childrenCpuSeconds() - k0;
                if (wall < verity) {
                    verity = wall;
                    verityCpu = kcpu;
                }
            }
            return new Report(layer.tarBytes(), warm.imageSize(), layer.files(), runs, ours, oursCpu,
                    verity, verityCpu, warm.rootHash(), theirs, jitWarning());
        } finally {
            Files.deleteIfExists(tar);
            Files.deleteIfExists(disk);
            Files.deleteIfExists(image);
            Files.deleteIfExists(hashDev);
        }
    }

    /**
     * Why this JVM cannot hash at full speed, or "" if it can. SHA-256 runs on the CPU's SHA
     * extensions only through HotSpot's C2 intrinsic; a JVM limited to C1
     * ({@code -XX:TieredStopAtLevel=1}, a common start-up tweak) or to the interpreter hashes
     * in plain Java, about ten times slower, and every layer figure then measures that flag.
     */
    public static String jitWarning() {
        String vmInfo = System.getProperty("java.vm.info", "");
        if (vmInfo.contains("interpreted mode")) {
            return "this JVM runs interpreted (-Xint): SHA-256 runs without its C2 intrinsic, about 10x slower";
        }
        try {
            HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            if (vm == null) return "";
            boolean tiered = Boolean.parseBoolean(vm.getVMOption("TieredCompilation").getValue());
            int stopAt = Integer.parseInt(vm.getVMOption("TieredStopAtLevel").getValue());
            if (tiered && stopAt < 4) {
                return "this JVM runs with -XX:TieredStopAtLevel=" + stopAt + " (no C2 compiler), so SHA-256 runs"
                        + " without its SHA-NI/AVX2 intrinsic, about 10x slower; run the JVM without that flag";
            }
            if (!Boolean.parseBoolean(vm.getVMOption("UseSHA256Intrinsics").getValue())) {
                return "SHA-256 intrinsics are off (CPU without SHA-NI/AVX2, or -XX:-UseSHA256Intrinsics);"
                        + " hashing runs in plain Java";
            }
        } catch (IllegalArgumentException e) {
            // Not HotSpot, or a build without these flags: nothing we can say.
        }
        return "";
    }

    /** A generated layer: how many files, how many tar bytes. */
    public record Synthetic(long files, long tarBytes) {}

    private static double processCpuSeconds() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime() / 1e9;
        }
        return Double.NaN;
    }

    /** User + system CPU of reaped child processes, from /proc/self/stat (Linux); NaN elsewhere. */
    private static double childrenCpuSeconds() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // fields 16 and 17 of stat (cutime, cstime) are at 13 and 14 after the command name
            return (Long.parseLong(f[13]) + Long.parseLong(f[14])) / 100.0;
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    /**
     * A layer shaped like a real one: a few hundred directories, many small files (configs,
     * scripts, Python modules) and a few large ones (shared libraries, binaries), with
     * incompressible content so nothing is free. Deterministic.
     */
    public static Synthetic writeSyntheticLayer(Path tar, long sizeBytes) throws IOException {
        SplittableRandom rnd = new SplittableRandom(20261123);
        long files = 0;
        long written = 0;
        byte[] content = new byte[8 << 20];
        for (int i = 0; i < content.length; i += 8) {
            long v = rnd.nextLong();
            for (int j = 0; j < 8; j++) content[i + j] = (byte) (v >>> (8 * j));
        }
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tar), 1 << 20)) {
            List<String> dirs = new ArrayList<>();
            for (int d = 0; d < 300; d++) {
                String dir = "usr/lib/pkg" + (d / 20) + "/mod" + d + "/";
                dirs.add(dir);
            }
            for (String d : List.of("usr/", "usr/lib/")) written += header(out, d, '5', 0755, 0);
            for (int d = 0; d < 15; d++) written += header(out, "usr/lib/pkg" + d + "/", '5', 0755, 0);
            for (String d : dirs) written += header(out, d, '5', 0755, 0);
            long bigBudget = sizeBytes * 2 / 3;
            int big = 0;
            while (written < bigBudget) {
                long size = (1L << 20) + rnd.nextLong(7L << 20);
                written += file(out, "usr/lib/libbig" + big++ + ".so", size, content, rnd);
                files++;
            }
            int small = 0;
            while (written < sizeBytes) {
                long size = 200 + rnd.nextLong(24 << 10);
                written += file(out, dirs.get(small % dirs.size()) + "f" + small++ + ".py", size, content, rnd);
                files++;
            }
            out.write(new byte[1024]);
            written += 1024;
        }
        return new Synthetic(files, written);
    }

    private static long file(OutputStream out, String name, long size, byte[] content, SplittableRandom rnd)
            throws IOException {
        long n = header(out, name, '0', 0644, size);
        long left = size;
        while (left > 0) {
            int off = rnd.nextInt(content.length / 2);
            int len = (int) Math.min(left, content.length - off);
            out.write(content, off, len);
            left -= len;
        }
        int pad = (int) (-size & 511);
        out.write(new byte[pad]);
        return n + size + pad;
    }

    private static long header(OutputStream out, String name, char type, int mode, long size) throws IOException {
        byte[] h = new byte[512];
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(n, 0, h, 0, n.length);
        octal(h, 100, 8, mode);
        octal(h, 108, 8, 0);
        octal(h, 116, 8, 0);
        octal(h, 124, 12, size);
        octal(h, 136, 12, 1700000000L);
        h[156] = (byte) type;
        System.arraycopy("ustar\00000".getBytes(StandardCharsets.US_ASCII), 0, h, 257, 8);
        for (int i = 148; i < 156; i++) h[i] = ' ';
        long sum = 0;
        for (byte b : h) sum += b & 0xff;
        octal(h, 148, 7, sum);
        out.write(h);
        return 512;
    }

    private static void octal(byte[] h, int off, int len, long v) {
        String s = Long.toOctalString(v);
        s = "0".repeat(len - 1 - s.length()) + s;
        System.arraycopy(s.getBytes(StandardCharsets.US_ASCII), 0, h, off, len - 1);
        h[off + len - 1] = 0;
    }

    static String veritysetup() {
        for (String dir : List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin")) {
            Path p = Path.of(dir, "veritysetup");
            if (Files.isExecutable(p)) return p.toString();
        }
        return "veritysetup";
    }

    private static String veritysetupFormat(Path data, Path hash) throws IOException, InterruptedException {
        Files.deleteIfExists(hash);
        Process p = new ProcessBuilder(veritysetup(), "format", "--no-superblock", "--hash=sha256",
                "--data-block-size=4096", "--hash-block-size=4096", "--salt=" + "0".repeat(64),
                data.toString(), hash.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(600, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("veritysetup format did not finish within 10 minutes");
        }
        if (p.exitValue() != 0) {
            throw new IOException("veritysetup format failed (exit " + p.exitValue() + "): " + out.strip());
        }
        for (String line : out.split("\n")) {
            if (line.startsWith("Root hash:")) return line.substring("Root hash:".length()).trim();
        }
        throw new IOException("veritysetup format printed no root hash: " + out.strip());
    }
}
