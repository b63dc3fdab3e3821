package dev.coffer.oci.manifest;

import java.util.Locale;

/**
 * The platform an index entry is for. {@code variant} and {@code osVersion} may be empty.
 * Registries spell one platform several ways ("x86_64", "amd64/v1"); {@link #normalized()}
 * gives the canonical form containerd compares, so Coffer picks the same entry containerd does.
 */
public record Platform(String os, String architecture, String variant, String osVersion) {
    /** The platform Coffer runs containers on (and containerd's default on an x86-64 host). */
    public static final Platform LINUX_AMD64 = new Platform("linux", "amd64", "");

    public Platform {
        os = os == null ? "" : os;
        architecture = architecture == null ? "" : architecture;
        variant = variant == null ? "" : variant;
        osVersion = osVersion == null ? "" : osVersion;
    }

    public Platform(String os, String architecture, String variant) {
        this(os, architecture, variant, "");
    }

    /**
     * containerd's normalisation (its platforms package): lower case; x86_64 and x86-64 are
     * amd64, whose "v1" variant is the baseline (empty); aarch64 is arm64, whose "v8" is the
     * baseline; i386 is 386; armhf is arm/v7, armel arm/v6, and arm's bare variants get a "v".
     */
    public Platform normalized() {
        String o = os.toLowerCase(Locale.ROOT);
        if (o.equals("macos")) o = "darwin";
        String a = architecture.toLowerCase(Locale.ROOT);
        String v = variant.toLowerCase(Locale.ROOT);
        switch (a) {
            case "i386" -> {
                a = "386";
                v = "";
            }
            case "x86_64", "x86-64", "amd64" -> {
                a = "amd64";
                if (v.equals("v1")) v = "";
            }
            case "aarch64", "arm64" -> {
                a = "arm64";
                if (v.equals("8") || v.equals("v8")) v = "";
            }
            case "armhf" -> {
                a = "arm";
                v = "v7";
            }
            case "armel" -> {
                a = "arm";
                v = "v6";
            }
            case "arm" -> {
                if (v.isEmpty() || v.equals("7")) v = "v7";
                else if (v.equals("5") || v.equals("6") || v.equals("8")) v = "v" + v;
            }
            default -> { }
        }
        return new Platform(o, a, v, osVersion);
    }

    /**
     * Whether an index entry for {@code entry} runs here, as containerd's matcher decides on
     * Linux: the same OS, architecture and variant once both are normalised ({@code os.version}
     * is compared only for Windows images, so it does not count here).
     */
    public boolean matches(Platform entry) {
        Platform want = normalized();
        Platform have = entry.normalized();
        return want.os.equals(have.os) && want.architecture.equals(have.architecture) && want.variant.equals(have.variant);
    }

    /**
     * The platforms whose images run here, best first, as containerd's {@code platforms.Only}
     * orders them: this platform, for amd64/vN each lower level down to the baseline, then 386
     * (an x86-64 kernel runs 32-bit binaries). Coffer runs on x86-64 only, so other
     * architectures get themselves alone.
     */
    public java.util.List<Platform> preference() {
        Platform self = normalized();
        java.util.List<Platform> out = new java.util.ArrayList<>(java.util.List.of(self));
        if (self.architecture.equals("amd64")) {
            int level = self.variant.matches("v[0-9]+") ? Integer.parseInt(self.variant.substring(1)) : 1;
            for (int l = level - 1; l >= 1; l--) out.add(new Platform(self.os, "amd64", l == 1 ? "" : "v" + l, self.osVersion));
            out.add(new Platform(self.os, "386", "", self.osVersion));
        }
        return java.util.List.copyOf(out);
    }

    @Override
    public String toString() {
        return os + "/" + architecture + (variant.isEmpty() ? "" : "/" + variant)
                + (osVersion.isEmpty() ? "" : " (os.version " + osVersion + ")");
    }
}
