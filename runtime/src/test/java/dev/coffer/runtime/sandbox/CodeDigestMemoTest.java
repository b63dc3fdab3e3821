package dev.coffer.runtime.sandbox;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The jars' remembered digests: the same measurement as hashing, and never a digest of another file. */
class CodeDigestMemoTest {
    @TempDir
    Path dir;

    private String manifest(String classpath) throws Exception {
        CodeDigestMemo memo = CodeDigestMemo.in(dir);
        String text = SimTeeLaunch.agentCodeManifest(classpath, memo);
        memo.save();
        return text;
    }

    @Test
    void rememberedDigestsMeasureAsHashingDoes() throws Exception {
        Path a = Files.writeString(dir.resolve("a.jar"), "agent code");
        Path b = Files.writeString(dir.resolve("b.jar"), "library");
        String cp = a + File.pathSeparator + b;
        String hashed = SimTeeLaunch.agentCodeManifest(cp);
        assertEquals(hashed, manifest(cp), "first launch: hashed and remembered");
        List<String> memo = Files.readAllLines(dir.resolve(CodeDigestMemo.FILE));
        assertEquals(2, memo.size(), String.join("\n", memo));
        assertEquals(hashed, manifest(cp), "second launch: from the memo");
    }

    @Test
    void aJarRewrittenWithItsSizeAndTimeKeptIsHashedAgain() throws Exception {
        Path a = Files.writeString(dir.resolve("a.jar"), "agent code");
        String before = manifest(a.toString());
        FileTime mtime = Files.getLastModifiedTime(a);
        Thread.sleep(20); // a change time distinct from the remembered one, whatever the file system's granularity
        Files.writeString(a, "agent cod3");
        Files.setLastModifiedTime(a, mtime);
        String after = manifest(a.toString());
        assertNotEquals(before, after, "another jar must measure differently");
        assertEquals(SimTeeLaunch.agentCodeManifest(a.toString()), after);
    }

    @Test
    void aForgedOrDamagedMemoIsNotTaken() throws Exception {
        Path a = Files.writeString(dir.resolve("a.jar"), "agent code");
        // a digest for this path, but not for this file (another inode and times)
        Files.writeString(dir.resolve(CodeDigestMemo.FILE), "f".repeat(96) + " 1 2 10 2020-01-01T00:00:00Z 2020-01-01T00:00:00Z "
                + a.toAbsolutePath() + "\nnot a line\n", StandardCharsets.UTF_8);
        String text = manifest(a.toString());
        assertEquals(SimTeeLaunch.agentCodeManifest(a.toString()), text);
        assertTrue(!text.contains("f".repeat(96)), text);
        List<String> memo = Files.readAllLines(dir.resolve(CodeDigestMemo.FILE));
        assertEquals(1, memo.size(), "only what this launch used is kept: " + memo);
    }
}
