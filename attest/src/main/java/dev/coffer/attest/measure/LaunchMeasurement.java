package dev.coffer.attest.measure;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * The launch MEASUREMENT of a Coffer sandbox under the simulated secure processor: SHA-384 over
 * named launch artifacts. (Real SNP hardware measures guest pages page by page; a simulated
 * launch has no guest pages, so it measures the artifacts that determine them.)
 *
 * <p>Algorithm, version 1 — deterministic, independent of the order artifacts are added:
 * <pre>
 *   h = SHA-384( "coffer-launch-measurement/v1\n"
 *                || for each artifact, sorted by name (UTF-8 byte order):
 *                     u32be(len(name)) || name (UTF-8) || u64be(len(content)) || SHA-384(content) )
 * </pre>
 * Conventional names: the process sandbox measures {@link #AGENT} (the agent's code) and
 * {@link #LAUNCH_PARAMETERS}; the microVM measures {@link #KERNEL}, {@link #INITRD} and
 * {@link #CMDLINE}. Length prefixes keep "ab"+"c" and "a"+"bc" apart.
 */
public final class LaunchMeasurement {
    public static final String DOMAIN = "coffer-launch-measurement/v1\n";
    public static final String AGENT = "agent";
    public static final String LAUNCH_PARAMETERS = "launch-parameters";
    public static final String KERNEL = "kernel";
    public static final String INITRD = "initrd";
    public static final String CMDLINE = "cmdline";

    private final Map<String, Artifact> artifacts = new TreeMap<>();

    /** A measured artifact: its length and SHA-384. */
    public record Artifact(String name, long length, byte[] sha384) {
        public String sha384Hex() {
            return HexFormat.of().formatHex(sha384);
        }
    }

    public LaunchMeasurement add(String name, byte[] content) {
        MessageDigest d = sha384();
        d.update(content);
        return put(name, content.length, d.digest());
    }

    public LaunchMeasurement addText(String name, String text) {
        return add(name, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Streams a file (kernels and initrds are large). */
    public LaunchMeasurement addFile(String name, Path file) throws IOException {
        MessageDigest d = sha384();
        long n = 0;
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            for (int r; (r = in.read(buf)) > 0; n += r) d.update(buf, 0, r);
        }
        return put(name, n, d.digest());
    }

    private LaunchMeasurement put(String name, long length, byte[] digest) {
        if (name == null || name.isEmpty()) throw new IllegalArgumentException("a launch artifact needs a non-empty name");
        if (artifacts.containsKey(name)) {
            throw new IllegalArgumentException("launch artifact '" + name + "' was added twice; each name is measured once");
        }
        artifacts.put(name, new Artifact(name, length, digest));
        return this;
    }

    /** The artifacts in measurement order, for showing what a measurement covers. */
    public java.util.List<Artifact> artifacts() {
        return java.util.List.copyOf(artifacts.values());
    }

    /** The 48-byte MEASUREMENT. */
    public byte[] compute() {
        if (artifacts.isEmpty()) throw new IllegalStateException("no launch artifacts added; a measurement of nothing proves nothing");
        MessageDigest d = sha384();
        d.update(DOMAIN.getBytes(StandardCharsets.US_ASCII));
        // TreeMap orders by String.compareTo (UTF-16); names are compared as UTF-8 bytes to keep
        // the order independent of Java. For the ASCII names Coffer uses both orders agree.
        artifacts.values().stream().sorted((a, b) -> java.util.Arrays.compareUnsigned(
                a.name.getBytes(StandardCharsets.UTF_8), b.name.getBytes(StandardCharsets.UTF_8))).forEach(a -> {
            byte[] name = a.name.getBytes(StandardCharsets.UTF_8);
            d.update(java.nio.ByteBuffer.allocate(4).putInt(name.length).array());
            d.update(name);
            d.update(java.nio.ByteBuffer.allocate(8).putLong(a.length).array());
            d.update(a.sha384);
        });
        return d.digest();
    }

    private static MessageDigest sha384() {
        try {
            return MessageDigest.getInstance("SHA-384");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-384", e);
        }
    }
}
