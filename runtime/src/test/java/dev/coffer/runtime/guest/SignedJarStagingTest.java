package dev.coffer.runtime.guest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The agent disk carries Bouncy Castle's signed jars unsigned: same classes, nothing for the JVM to verify. */
class SignedJarStagingTest {
    private static Path jarOf(Class<?> c) throws Exception {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    @Test
    void aSignedJarIsStagedWithoutItsSignatureAndWithEveryClassUnchanged(@TempDir Path dir) throws Exception {
        Path signed = jarOf(org.bouncycastle.crypto.digests.SHA384Digest.class);
        try (ZipFile z = new ZipFile(signed.toFile())) {
            assertTrue(z.stream().anyMatch(e -> AgentDisk.isSignatureFile(e.getName())), "expected Bouncy Castle's jar to be signed");
        }
        Path staged = dir.resolve("bc.jar");
        AgentDisk.stageJar(signed, staged);
        int classes = 0;
        try (ZipFile original = new ZipFile(signed.toFile()); JarFile copy = new JarFile(staged.toFile(), true)) {
            assertFalse(copy.stream().anyMatch(e -> AgentDisk.isSignatureFile(e.getName())));
            for (var e : original.stream().toList()) {
                if (AgentDisk.isSignatureFile(e.getName()) || e.getName().equals(JarFile.MANIFEST_NAME)) continue;
                JarEntry c = copy.getJarEntry(e.getName());
                byte[] bytes = copy.getInputStream(c).readAllBytes();
                assertArrayEquals(original.getInputStream(e).readAllBytes(), bytes, e.getName());
                // read in full with verification on: an unsigned jar has no signers
                assertNull(c.getCodeSigners(), e.getName());
                if (e.getName().endsWith(".class")) classes++;
            }
            assertTrue(classes > 1000, "expected Bouncy Castle's classes, found " + classes);
            // the main section stays; the per-entry digest sections go
            assertEquals(jarMain(signed, "Bundle-SymbolicName"), copy.getManifest().getMainAttributes().getValue("Bundle-SymbolicName"));
            assertTrue(copy.getManifest().getEntries().isEmpty());
        }
        Path again = dir.resolve("bc-again.jar");
        AgentDisk.stageJar(signed, again);
        assertArrayEquals(Files.readAllBytes(staged), Files.readAllBytes(again), "staging must be reproducible");
    }

    @Test
    void anUnsignedJarIsCopiedAsIs(@TempDir Path dir) throws Exception {
        Path plain = jarOf(com.fasterxml.jackson.core.JsonParser.class);
        Path staged = dir.resolve("plain.jar");
        AgentDisk.stageJar(plain, staged);
        assertArrayEquals(Files.readAllBytes(plain), Files.readAllBytes(staged));
    }

    @Test
    void signatureFilesAreRecognisedOnlyAtTheTopOfMetaInf() {
        for (String n : new String[] {"META-INF/BC1024KE.SF", "META-INF/BC1024KE.DSA", "meta-inf/x.rsa", "META-INF/A.EC", "META-INF/SIG-X"}) {
            assertTrue(AgentDisk.isSignatureFile(n), n);
        }
        for (String n : new String[] {"META-INF/MANIFEST.MF", "META-INF/versions/9/x.SF", "org/x.SF", "META-INF/services/x"}) {
            assertFalse(AgentDisk.isSignatureFile(n), n);
        }
    }

    private static String jarMain(Path jar, String name) throws Exception {
        try (JarFile j = new JarFile(jar.toFile(), false)) {
            return j.getManifest().getMainAttributes().getValue(name);
        }
    }
}
