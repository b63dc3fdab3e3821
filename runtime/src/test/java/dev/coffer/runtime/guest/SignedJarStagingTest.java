package dev.coffer.runtime.guest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The agent disk carries Bouncy Castle's signed jars unsigned (so CDS can archive their classes
 * and nothing is verified at the guest's start): the same classes, no signature files, no
 * per-entry digests, and the same bytes every time.
 */
class SignedJarStagingTest {
    private static Path jarOf(Class<?> c) throws Exception {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    @Test
    void aSignedJarIsStagedWithoutSignatureOrDigestsAndEveryOtherEntryUnchanged(@TempDir Path dir) throws Exception {
        Path signed = jarOf(org.bouncycastle.crypto.digests.SHA384Digest.class);
        try (JarFile original = new JarFile(signed.toFile(), false)) {
            assertTrue(original.stream().anyMatch(e -> AgentDisk.isSignatureFile(e.getName())),
                    "expected Bouncy Castle's jar " + signed + " to be signed (else this test proves nothing)");
            assertFalse(original.getManifest().getEntries().isEmpty(), "expected per-entry digests in the signed jar's manifest");
        }
        Path staged = dir.resolve("bc.jar");
        AgentDisk.stageJar(signed, staged);

        int classes = 0;
        try (ZipFile original = new ZipFile(signed.toFile()); JarFile copy = new JarFile(staged.toFile(), true)) {
            assertEquals(java.util.List.of(), copy.stream().map(JarEntry::getName).filter(AgentDisk::isSignatureFile).toList(),
                    "signature files left in the staged jar");
            Manifest manifest = copy.getManifest();
            assertTrue(manifest.getEntries().isEmpty(), "per-entry digest sections left: " + manifest.getEntries().keySet());
            String raw = new String(copy.getInputStream(copy.getJarEntry(JarFile.MANIFEST_NAME)).readAllBytes(), StandardCharsets.UTF_8);
            assertFalse(raw.contains("-Digest"), "a digest attribute is left in the manifest:\n" + raw);
            // the main section stays whole: Multi-Release decides which classes a JDK 25 loads
            Attributes main = mainAttributes(signed);
            assertEquals(main, manifest.getMainAttributes());
            assertEquals("true", manifest.getMainAttributes().getValue("Multi-Release"));

            var originalNames = original.stream().map(java.util.zip.ZipEntry::getName)
                    .filter(n -> !AgentDisk.isSignatureFile(n)).toList();
            assertEquals(originalNames, copy.stream().map(JarEntry::getName).toList(), "entries and their order");
            for (var e : original.stream().toList()) {
                if (AgentDisk.isSignatureFile(e.getName()) || e.getName().equals(JarFile.MANIFEST_NAME)) continue;
                JarEntry c = copy.getJarEntry(e.getName());
                byte[] bytes = copy.getInputStream(c).readAllBytes();
                assertArrayEquals(original.getInputStream(e).readAllBytes(), bytes, e.getName());
                // read in full with verification on: nothing is signed any more
                assertNull(c.getCodeSigners(), e.getName());
                if (e.getName().endsWith(".class")) classes++;
            }
        }
        assertTrue(classes > 1000, "expected Bouncy Castle's classes, found " + classes);

        Path again = dir.resolve("bc-again.jar");
        AgentDisk.stageJar(signed, again);
        assertEquals(-1L, Files.mismatch(staged, again), "staging a signed jar twice must give the same bytes");
    }

    @Test
    void everySignedJarOnTheAgentDiskIsStagedUnsigned(@TempDir Path dir) throws Exception {
        // bcprov, bcpkix and bcutil: each signed, each staged without its signature
        for (Class<?> c : new Class<?>[] {org.bouncycastle.jce.provider.BouncyCastleProvider.class,
                org.bouncycastle.cert.X509CertificateHolder.class, org.bouncycastle.asn1.cmc.CMCStatus.class}) {
            Path jar = jarOf(c);
            Path staged = dir.resolve(jar.getFileName());
            AgentDisk.stageJar(jar, staged);
            try (JarFile copy = new JarFile(staged.toFile(), true)) {
                assertFalse(copy.stream().anyMatch(e -> AgentDisk.isSignatureFile(e.getName())), jar + " staged with a signature file");
                assertTrue(copy.getManifest().getEntries().isEmpty(), jar + " staged with per-entry digests");
                JarEntry cls = copy.getJarEntry(c.getName().replace('.', '/') + ".class");
                copy.getInputStream(cls).readAllBytes();
                assertNull(cls.getCodeSigners(), c.getName());
            }
        }
    }

    /**
     * A signed jar whose class was altered after signing (a damaged download, a hostile mirror
     * that did not re-sign): staging refuses it, naming the entry, rather than carrying it
     * unsigned, and leaves no disk-ready copy behind to be mistaken for a good one.
     */
    @Test
    void aSignedJarAlteredAfterSigningIsRefusedNotLaunderedIntoAnUnsignedOne(@TempDir Path dir) throws Exception {
        Path altered = alteredAfterSigning(dir.resolve("altered.jar"));
        Path staged = dir.resolve("staged.jar");
        GuestBuildException e = org.junit.jupiter.api.Assertions.assertThrows(GuestBuildException.class,
                () -> AgentDisk.stageJar(altered, staged));
        assertTrue(e.getMessage().contains(VICTIM) && e.getMessage().contains(altered.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("delete the jar"), "the message says what to do: " + e.getMessage());
    }

    static final String VICTIM = "org/bouncycastle/crypto/digests/SHA384Digest.class";

    /** Bouncy Castle's signed jar with one class changed after signing and the signature kept, written to {@code target}. */
    private static Path alteredAfterSigning(Path target) throws Exception {
        Path signed = jarOf(org.bouncycastle.crypto.digests.SHA384Digest.class);
        try (ZipFile in = new ZipFile(signed.toFile());
             java.util.zip.ZipOutputStream out = new java.util.zip.ZipOutputStream(Files.newOutputStream(target))) {
            for (var e : in.stream().toList()) {
                byte[] bytes = in.getInputStream(e).readAllBytes();
                if (e.getName().equals(VICTIM)) bytes[bytes.length - 1] ^= 1;
                out.putNextEntry(new java.util.zip.ZipEntry(e.getName()));
                out.write(bytes);
                out.closeEntry();
            }
        }
        return target;
    }

    /**
     * What the launcher does to the CLI's library directory after a build: the signed jars become
     * the very bytes the agent disk carries, unsigned jars are not touched, a second pass changes
     * nothing, and a jar altered after signing stops it with the jar left as it was.
     */
    @Test
    void aLibraryDirectoryIsStrippedInPlaceLikeTheAgentDisk(@TempDir Path dir) throws Exception {
        Path lib = Files.createDirectories(dir.resolve("lib"));
        Path signed = jarOf(org.bouncycastle.crypto.digests.SHA384Digest.class);
        Path unsigned = jarOf(com.fasterxml.jackson.core.JsonFactory.class);
        Files.copy(signed, lib.resolve("bc.jar"));
        Files.copy(unsigned, lib.resolve("plain.jar"));
        Path agentDiskCopy = dir.resolve("staged.jar");
        AgentDisk.stageJar(signed, agentDiskCopy);

        assertEquals(java.util.List.of(lib.resolve("bc.jar")), UnsignedJars.stripIn(lib));
        assertArrayEquals(Files.readAllBytes(agentDiskCopy), Files.readAllBytes(lib.resolve("bc.jar")), "the agent disk's bytes");
        assertArrayEquals(Files.readAllBytes(unsigned), Files.readAllBytes(lib.resolve("plain.jar")), "an unsigned jar is not rewritten");
        assertEquals(java.util.List.of(), UnsignedJars.stripIn(lib), "a second pass finds nothing signed");

        Path altered = alteredAfterSigning(lib.resolve("altered.jar"));
        byte[] before = Files.readAllBytes(altered);
        GuestBuildException e = org.junit.jupiter.api.Assertions.assertThrows(GuestBuildException.class, () -> UnsignedJars.stripIn(lib));
        assertTrue(e.getMessage().contains(VICTIM), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(altered), "the altered jar is left as it was");
        try (var left = Files.list(lib)) {
            assertEquals(java.util.List.of("altered.jar", "bc.jar", "plain.jar"), left.map(p -> p.getFileName().toString()).sorted().toList(),
                    "no temporary copy is left");
        }
    }

    /** A signed jar whose manifest is not a manifest: a precise build error, not a half-written jar taken for good. */
    @Test
    void aSignedJarWithAMalformedManifestIsRefused(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("bad.jar");
        try (java.util.zip.ZipOutputStream out = new java.util.zip.ZipOutputStream(Files.newOutputStream(bad))) {
            out.putNextEntry(new java.util.zip.ZipEntry("META-INF/MANIFEST.MF"));
            out.write("Manifest-Version: 1.0\r\nthis line has no colon\r\n\r\n".getBytes(StandardCharsets.UTF_8));
            out.closeEntry();
            out.putNextEntry(new java.util.zip.ZipEntry("META-INF/X.SF"));
            out.write("Signature-Version: 1.0\r\n\r\n".getBytes(StandardCharsets.UTF_8));
            out.closeEntry();
            out.putNextEntry(new java.util.zip.ZipEntry("a/B.class"));
            out.write(new byte[] {(byte) 0xca, (byte) 0xfe});
            out.closeEntry();
        }
        GuestBuildException e = org.junit.jupiter.api.Assertions.assertThrows(GuestBuildException.class,
                () -> AgentDisk.stageJar(bad, dir.resolve("out.jar")));
        assertTrue(e.getMessage().contains(bad.toString()) && e.getMessage().contains("META-INF/MANIFEST.MF"), e.getMessage());
    }

    @Test
    void anUnsignedJarIsCopiedByteForByte(@TempDir Path dir) throws Exception {
        Path plain = jarOf(com.fasterxml.jackson.core.JsonParser.class);
        Path staged = dir.resolve("plain.jar");
        AgentDisk.stageJar(plain, staged);
        assertEquals(-1L, Files.mismatch(plain, staged));
    }

    @Test
    void aManifestKeepsItsMainSectionAndLosesEntrySections() throws Exception {
        String manifest = "Manifest-Version: 1.0\r\nMulti-Release: true\r\nBundle-Name: bc\r\n\r\n"
                + "Name: org/x/A.class\r\nSHA-256-Digest: AAAA\r\n\r\n"
                + "Name: org/x/B.class\r\nSHA-256-Digest: BBBB\r\n\r\n";
        String out = new String(AgentDisk.withoutEntrySections(new ByteArrayInputStream(manifest.getBytes(StandardCharsets.UTF_8))),
                StandardCharsets.UTF_8);
        assertEquals("Manifest-Version: 1.0\r\nMulti-Release: true\r\nBundle-Name: bc\r\n\r\n", out);
    }

    @Test
    void signatureFilesAreRecognisedOnlyDirectlyUnderMetaInf() {
        for (String n : new String[] {"META-INF/BC1024KE.SF", "META-INF/BC1024KE.DSA", "meta-inf/x.rsa", "META-INF/A.EC", "META-INF/SIG-X"}) {
            assertTrue(AgentDisk.isSignatureFile(n), n);
        }
        for (String n : new String[] {"META-INF/MANIFEST.MF", "META-INF/versions/9/x.SF", "org/x.SF", "META-INF/services/x",
                "META-INF/maven/x/pom.properties"}) {
            assertFalse(AgentDisk.isSignatureFile(n), n);
        }
    }

    private static Attributes mainAttributes(Path jar) throws Exception {
        try (JarFile j = new JarFile(jar.toFile(), false)) {
            return j.getManifest().getMainAttributes();
        }
    }
}
