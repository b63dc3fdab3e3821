package dev.coffer.cli.layer;

import dev.coffer.cli.CliRun;
import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.cli.Json;
import dev.coffer.cli.CofferCommand;
import dev.coffer.cli.CofferException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LayerCommandTest {
    /** Golden vector v2 of shared/testdata/layer-hash/VECTORS.md: hello.txt = "hello\n". */
    static final String V2_ROOT = "7defd3190a48d2403eb6c439200eb0d6baee0b55866f70c1f3f5dc55b2b7f317";

    @TempDir
    Path tmp;

    /**
     * The coffer command with only 'layer' added, and Main's exit-code contract (1 failure,
     * 2 usage, one-line "coffer: ..." errors): independent of the other modules' commands.
     */
    CliRun run(String... args) {
        CommandLine cli = new CommandLine(new CofferCommand());
        cli.addSubcommand(new LayerCommand(() -> tmp.resolve("home")));
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("coffer: " + e.getMessage());
            cmd.getErr().flush();
            return e instanceof CofferException ce ? ce.exitCode() : 1;
        });
        cli.setParameterExceptionHandler((e, a) -> {
            e.getCommandLine().getErr().println("coffer: " + e.getMessage());
            return 2;
        });
        return CliRun.execute(cli, args);
    }

    /** hello.txt, mode 0644, mtime 0, as a USTAR tar. */
    static byte[] v2Tar() {
        byte[] h = new byte[512];
        byte[] name = "hello.txt".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(name, 0, h, 0, name.length);
        put(h, 100, "0000644");
        put(h, 108, "0000000");
        put(h, 116, "0000000");
        put(h, 124, "00000000006");
        put(h, 136, "00000000000");
        h[156] = '0';
        System.arraycopy("ustar\00000".getBytes(StandardCharsets.US_ASCII), 0, h, 257, 8);
        put(h, 329, "0000000");
        put(h, 337, "0000000");
        Arrays.fill(h, 148, 156, (byte) ' ');
        long sum = 0;
        for (byte b : h) sum += b & 0xff;
        put(h, 148, String.format("%06o", sum));
        h[155] = ' ';
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(h);
        byte[] data = new byte[512];
        System.arraycopy("hello\n".getBytes(StandardCharsets.US_ASCII), 0, data, 0, 6);
        out.writeBytes(data);
        out.writeBytes(new byte[1024]);
        return out.toByteArray();
    }

    private static void put(byte[] h, int off, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(b, 0, h, off, b.length);
    }

    @Test
    void hashPrintsTheRootHash() throws Exception {
        Path tar = tmp.resolve("v2.tar");
        Files.write(tar, v2Tar());
        CliRun r = run("layer", "hash", tar.toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals(V2_ROOT, r.out().trim());

        CliRun json = run("layer", "hash", "--diff-id", "-o", "json", tar.toString());
        assertEquals(0, json.exit(), json.err());
        JsonNode n = Json.MAPPER.readTree(json.out());
        assertEquals(V2_ROOT, n.get("rootHash").asText());
        assertTrue(n.get("diffId").asText().startsWith("sha256:"));
        assertEquals(61440, n.get("imageSize").asLong());
    }

    @Test
    void buildWritesAVerifiableDiskAndHitsTheCacheTheSecondTime() throws Exception {
        Path tar = tmp.resolve("v2.tar");
        Files.write(tar, v2Tar());
        Path disk = tmp.resolve("out/v2.disk");
        CliRun first = run("layer", "build", tar.toString(), "-o", disk.toString(), "--json");
        assertEquals(0, first.exit(), first.err());
        JsonNode n = Json.MAPPER.readTree(first.out());
        assertEquals(V2_ROOT, n.get("rootHash").asText());
        assertEquals(61440, n.get("dataSize").asLong());
        assertEquals(61440, n.get("hashOffset").asLong());
        assertFalse(n.get("cacheHit").asBoolean());
        assertTrue(Files.isRegularFile(disk));

        Process p = new ProcessBuilder("/usr/sbin/veritysetup", "verify", disk.toString(), disk.toString(), V2_ROOT,
                "--hash-offset=61440").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);

        CliRun second = run("layer", "build", tar.toString());
        assertEquals(0, second.exit(), second.err());
        assertTrue(second.out().contains("(cache hit)"), second.out());
        assertTrue(second.out().contains("--hash-offset=61440"), second.out());
        try (Stream<Path> cached = Files.list(tmp.resolve("home/layers"))) {
            assertEquals(1, cached.count());
        }
    }

    @Test
    void truncatedLayerFailsWithOneLineAndWritesNothing() throws Exception {
        Path tar = tmp.resolve("bad.tar");
        Files.write(tar, Arrays.copyOf(v2Tar(), 515)); // cut inside hello.txt's data
        Path disk = tmp.resolve("out2/bad.disk");
        CliRun r = run("layer", "build", tar.toString(), "-o", disk.toString(), "--no-cache");
        assertEquals(1, r.exit());
        assertTrue(r.err().startsWith("coffer: "), r.err());
        assertTrue(r.err().contains("truncated"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertFalse(Files.exists(disk));
        try (Stream<Path> left = Files.list(tmp.resolve("out2"))) {
            assertEquals(0, left.count(), "no partial file");
        }
        CliRun h = run("layer", "hash", tar.toString());
        assertEquals(1, h.exit());
        assertTrue(h.err().contains("truncated"), h.err());
    }

    @Test
    void usageErrors() {
        assertEquals(2, run("layer", "build", "x.tar", "--no-cache").exit());
        assertEquals(2, run("layer", "build", "x.tar", "--diff-id", "sha256:nothex").exit());
        assertEquals(2, run("layer", "hash").exit());
        CliRun missing = run("layer", "hash", tmp.resolve("missing.tar").toString());
        assertEquals(1, missing.exit());
        assertTrue(missing.err().contains("no such file"), missing.err());
        assertEquals(2, run("layer", "bench", "--size-mb", "0").exit());
    }

    @Test
    void helpHasExamples() {
        for (List<String> cmd : List.of(List.of("layer", "--help"), List.of("layer", "hash", "--help"),
                List.of("layer", "build", "--help"), List.of("layer", "bench", "--help"))) {
            CliRun r = run(cmd.toArray(String[]::new));
            assertEquals(0, r.exit());
            assertTrue(r.out().contains("Examples:"), String.join(" ", cmd));
        }
    }

    @Test
    void benchPrintsBothFiguresAndTheRatio() {
        CliRun r = run("layer", "bench", "--size-mb", "16", "--runs", "1", "--dir", tmp.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("coffer tar -> root hash:"), r.out());
        assertTrue(r.out().contains("veritysetup format (ext4):"), r.out());
        assertTrue(r.out().contains("ratio:"), r.out());
        assertTrue(r.out().contains("root hashes agree"), r.out());
    }

    /** The JSON report says whether this JVM could use the SHA-256 intrinsic, so slow figures explain themselves. */
    @Test
    void benchJsonCarriesTheJitWarningOfThisJvm() {
        CliRun r = run("layer", "bench", "--size-mb", "4", "--runs", "1", "--dir", tmp.toString(), "-o", "json");
        assertEquals(0, r.exit(), r.err());
        String expected = dev.coffer.layer.bench.LayerBenchmark.jitWarning();
        assertTrue(r.out().contains("\"jitWarning\"") && r.out().contains(expected), r.out());
    }
}
