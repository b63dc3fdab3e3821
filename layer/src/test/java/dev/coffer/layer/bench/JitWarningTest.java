package dev.coffer.layer.bench;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The benchmark must say when its JVM cannot use the SHA-256 intrinsic: a launcher flag such as
 * -XX:TieredStopAtLevel=1 makes every layer figure about ten times worse, and the figures alone
 * do not show why. Each case runs in a JVM of its own, started with the flags under test.
 */
class JitWarningTest {
    /** Prints the warning of the JVM it runs in between markers. */
    public static void main(String[] args) {
        System.out.println("WARNING[" + LayerBenchmark.jitWarning() + "]");
    }

    private static String warningUnder(String... flags) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(flags));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), JitWarningTest.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "finished");
        assertEquals(0, p.exitValue(), out);
        int at = out.indexOf("WARNING[");
        assertTrue(at >= 0, out);
        return out.substring(at + "WARNING[".length(), out.lastIndexOf(']'));
    }

    @Test
    void c1OnlyJvmIsNamedWithItsFlag() throws Exception {
        String w = warningUnder("-XX:TieredStopAtLevel=1");
        assertTrue(w.contains("-XX:TieredStopAtLevel=1") && w.contains("SHA-256"), w);
    }

    @Test
    void interpreterIsNamed() throws Exception {
        assertTrue(warningUnder("-Xint").contains("-Xint"));
    }

    @Test
    void disabledIntrinsicIsNamed() throws Exception {
        String w = warningUnder("-XX:+UnlockDiagnosticVMOptions", "-XX:-UseSHA256Intrinsics");
        assertTrue(w.contains("intrinsics are off"), w);
    }

    @Test
    void defaultJvmOnThisMachineIsQuietOnlyWhereTheCpuHasTheExtensions() throws Exception {
        String w = warningUnder("-XX:+UseSerialGC");
        boolean cpuHasExtensions = java.nio.file.Files.readString(Path.of("/proc/cpuinfo")).matches("(?s).*\\b(sha_ni|avx2)\\b.*");
        assertEquals(cpuHasExtensions, w.isEmpty(), w);
    }
}
