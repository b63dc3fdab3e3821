package dev.coffer.runtime.guest;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The read-only JRE/agent disk: a staged directory turned into a deterministic ext4 image with a
 * dm-verity hash tree appended, whose root hash the (measured) kernel command line carries.
 *
 * <p>Determinism: mkfs.ext4 gets a fixed UUID, hash seed and clock (E2FSPROGS_FAKE_TIME), the
 * staged files fixed modes and mtimes; the inode change times that mkfs copies from the host (and
 * that nobody can set) are then overwritten with debugfs, as are owners. Verity uses the same
 * parameters as the layer disks: SHA-256, 4 KiB blocks, 32 zero bytes of salt, no superblock.
 */
final class AgentDisk {
    static final long EPOCH_SECONDS = 1_000_000_000L; // 2001-09-09: any fixed instant works
    static final String SALT = "0".repeat(64);
    private static final String FS_UUID = "c0ffe400-6e57-4a6e-8d15-000000000001";
    private static final String HASH_SEED = "c0ffe400-6e57-4a6e-8d15-000000000002";
    private static final Pattern ROOT_HASH = Pattern.compile("(?m)^Root hash:\\s+([0-9a-f]{64})\\s*$");

    private AgentDisk() {}

    record Result(String rootHash, long dataBlocks) {}

    /** Normalizes {@code stage} in place and writes the verity-protected image to {@code image}. */
    static Result create(Path stage, Path image) throws IOException {
        List<Path> all = normalize(stage);
        long bytes = 0;
        for (Path p : all) {
            if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) bytes += (Files.size(p) + 4095) / 4096 * 4096;
        }
        // room for metadata (inode tables, directories, block bitmaps) plus a margin
        long size = ((bytes + bytes / 8 + (all.size() + 64) * 4096L + (8L << 20)) + (1L << 20) - 1) >> 20 << 20;
        Files.deleteIfExists(image);
        try (var ch = java.nio.channels.FileChannel.open(image, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(0);
            ch.position(size - 1);
            ch.write(java.nio.ByteBuffer.wrap(new byte[1]));
        }
        Map<String, String> fakeTime = Map.of("E2FSPROGS_FAKE_TIME", Long.toString(EPOCH_SECONDS));
        HostCommand.run(List.of("mkfs.ext4", "-q", "-F", "-b", "4096", "-I", "256", "-m", "0",
                "-O", "^has_journal,^resize_inode", "-U", FS_UUID,
                "-E", "hash_seed=" + HASH_SEED + ",root_owner=0:0,nodiscard,lazy_itable_init=0,lazy_journal_init=0",
                "-L", "coffer-agent", "-d", stage.toString(), image.toString()), 300, fakeTime, null);
        Path commands = image.resolveSibling(image.getFileName() + ".debugfs");
        try (var w = Files.newBufferedWriter(commands)) {
            List<String> inFs = new ArrayList<>(List.of("/", "/lost+found"));
            for (Path p : all) inFs.add("/" + stage.relativize(p).toString().replace('\\', '/'));
            for (String p : inFs) {
                if (p.contains("\"") || p.contains("\n")) throw new GuestBuildException("unexpected file name " + p + " in the agent disk");
                for (String field : new String[] {"ctime", "atime", "mtime", "crtime"}) {
                    w.write("sif \"" + p + "\" " + field + " " + EPOCH_SECONDS + "\n");
                }
                w.write("sif \"" + p + "\" uid 0\nsif \"" + p + "\" gid 0\n");
            }
        }
        HostCommand.run(List.of("debugfs", "-w", "-f", commands.toString(), image.toString()), 300, fakeTime, null);
        Files.delete(commands);
        HostCommand.run(List.of("e2fsck", "-fn", image.toString()), 300);
        long dataBlocks = size / 4096;
        String out = HostCommand.run(List.of("veritysetup", "format", "--no-superblock", "--salt=" + SALT,
                "--hash=sha256", "--data-block-size=4096", "--hash-block-size=4096", "--data-blocks=" + dataBlocks,
                "--hash-offset=" + size, image.toString(), image.toString()), 300);
        Matcher m = ROOT_HASH.matcher(out);
        if (!m.find()) throw new GuestBuildException("expected veritysetup format to print a root hash, found: " + out.strip());
        return new Result(m.group(1), dataBlocks);
    }

    /** Fixed modes (0755 directories and executables, 0644 the rest) and mtimes; the walk in sorted order. */
    private static List<Path> normalize(Path stage) throws IOException {
        List<Path> all;
        try (Stream<Path> s = Files.walk(stage)) {
            all = new ArrayList<>(s.filter(p -> !p.equals(stage)).sorted().toList());
        }
        FileTime t = FileTime.fromMillis(EPOCH_SECONDS * 1000);
        for (Path p : all) {
            if (Files.isSymbolicLink(p)) continue;
            boolean exec = Files.isDirectory(p) || Files.isExecutable(p);
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(exec ? "rwxr-xr-x" : "rw-r--r--"));
        }
        for (Path p : all) {
            if (!Files.isSymbolicLink(p)) Files.setLastModifiedTime(p, t);
        }
        Files.setLastModifiedTime(stage, t);
        return all;
    }

    /**
     * Copies a jar (without its signature, if it is signed: see {@link #stageUnsigned}), or packs a
     * class directory (a module built but not yet jarred) deterministically.
     */
    static void stageJar(Path source, Path target) throws IOException {
        if (Files.isRegularFile(source)) {
            if (!stageUnsigned(source, target)) Files.copy(source, target);
            return;
        }
        List<Path> files;
        try (Stream<Path> s = Files.walk(source)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        }
        try (OutputStream out = Files.newOutputStream(target); JarOutputStream jar = new JarOutputStream(out)) {
            for (Path f : files) {
                String name = source.relativize(f).toString().replace('\\', '/');
                if (name.equals(JarFile.MANIFEST_NAME)) continue;
                JarEntry e = new JarEntry(name);
                e.setTimeLocal(LocalDateTime.of(1980, 1, 1, 0, 0));
                jar.putNextEntry(e);
                Files.copy(f, jar);
                jar.closeEntry();
            }
        }
    }

    /**
     * Writes a signed jar to {@code target} without its signature and returns true; returns false
     * (writing nothing) for an unsigned jar. Every other entry keeps its name, order and bytes; the
     * manifest keeps its main section (Multi-Release among it) and loses the per-entry sections,
     * which carry only the signature's digests. Entry times are fixed, so the copy is reproducible.
     *
     * <p>Why: the JVM checks a signed jar when it first loads a class from it (a digest of every
     * entry it reads and the signer's certificate chain), and CDS never archives a signed jar's
     * classes ("Skipping ...: Signed JAR"); for Bouncy Castle's 10 MB of jars under emulation that
     * was seconds of the agent's start. Measured: loading and initialising the 295 Bouncy Castle
     * classes the agent uses took 349 ms signed and 72 ms unsigned and archived (host, the guest's
     * own JRE and JVM options, median of 5); opening the simulated chip cold, 907 ms and 330 ms;
     * under TCG the guest's launch-disk step (the first Bouncy Castle use) took a median 12.7 s
     * before and 8.1 s after, 6 interleaved runs each on a loaded 2-core host (ranges 9.9-18.2 s and
     * 6.0-11.7 s), and `coffer run` to the first output 41.6 s and 38.3 s. The signature adds
     * nothing inside the guest: the agent disk is
     * dm-verity protected and its root hash is on the kernel command line, which the launch
     * measurement covers, so it is the measurement, not the jar signature, that authenticates these
     * bytes (and on the build host this copy is read with verification on, so an entry altered
     * after signing fails the build rather than being carried unsigned). Nothing
     * in Coffer needs the signature either: the agent uses Bouncy Castle's lightweight API (ASN.1,
     * ECDSA P-384 over ECPrivateKeyParameters) and hands a BouncyCastleProvider object straight to
     * the builders that take one (host-side only); it never registers BC as a JCE provider, and
     * OpenJDK does not require signed providers in any case.
     */
    static boolean stageUnsigned(Path source, Path target) throws IOException {
        // read with verification on: an entry that does not match its signed digest fails here,
        // so stripping never turns a damaged or altered signed jar into a clean-looking unsigned one
        try (JarFile zip = new JarFile(source.toFile(), true)) {
            List<JarEntry> entries = zip.stream().toList();
            if (entries.stream().noneMatch(e -> isSignatureFile(e.getName()))) return false;
            try (OutputStream out = Files.newOutputStream(target);
                 JarOutputStream copy = new JarOutputStream(new java.io.BufferedOutputStream(out, 1 << 16))) {
                for (JarEntry e : entries) {
                    if (isSignatureFile(e.getName())) continue;
                    JarEntry c = new JarEntry(e.getName());
                    c.setTimeLocal(LocalDateTime.of(1980, 1, 1, 0, 0));
                    copy.putNextEntry(c);
                    byte[] bytes;
                    try (InputStream in = zip.getInputStream(e)) {
                        bytes = e.getName().equalsIgnoreCase(JarFile.MANIFEST_NAME) ? withoutEntrySections(in) : in.readAllBytes();
                    } catch (IOException | SecurityException bad) {
                        throw new GuestBuildException("expected the signed jar " + source + " to match its signature before"
                                + " the agent disk carries it unsigned, found its entry " + e.getName() + " unreadable or altered ("
                                + bad.getMessage() + "); delete the jar from the local Maven repository and build Coffer again", bad);
                    }
                    copy.write(bytes);
                    copy.closeEntry();
                }
            }
            return true;
        }
    }

    /** A manifest with its main section only: the per-entry sections (signature digests) dropped. */
    static byte[] withoutEntrySections(InputStream manifest) throws IOException {
        java.util.jar.Manifest m = new java.util.jar.Manifest(manifest);
        m.getEntries().clear();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        m.write(out);
        return out.toByteArray();
    }

    /**
     * The files that make a jar signed (JarFile verifies only when one is present): signature
     * files and signature block files directly under META-INF, as the JAR specification names them.
     */
    static boolean isSignatureFile(String name) {
        String upper = name.toUpperCase(java.util.Locale.ROOT);
        if (!upper.startsWith("META-INF/") || upper.indexOf('/', "META-INF/".length()) >= 0) return false;
        return upper.endsWith(".SF") || upper.endsWith(".RSA") || upper.endsWith(".DSA") || upper.endsWith(".EC")
                || upper.startsWith("META-INF/SIG-");
    }

    /** Adds the .class entries under {@code prefix} of a jar or class directory to {@code into}, by name. */
    static void collectClasses(Path source, String prefix, Map<String, byte[]> into) throws IOException {
        if (Files.isRegularFile(source)) {
            try (java.util.zip.ZipFile zip = new java.util.zip.ZipFile(source.toFile())) {
                for (var e : zip.stream().toList()) {
                    if (!e.isDirectory() && e.getName().startsWith(prefix) && e.getName().endsWith(".class")) {
                        try (InputStream in = zip.getInputStream(e)) {
                            into.put(e.getName(), in.readAllBytes());
                        }
                    }
                }
            }
            return;
        }
        try (Stream<Path> s = Files.walk(source)) {
            for (Path f : s.filter(Files::isRegularFile).toList()) {
                String name = source.relativize(f).toString().replace('\\', '/');
                if (name.startsWith(prefix) && name.endsWith(".class")) into.put(name, Files.readAllBytes(f));
            }
        }
    }
}
