package dev.coffer.runtime.guest;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The Debian packages the guest is assembled from. Missing ones are installed with apt-get
 * (announced first): the guest is built from what the host's package manager vouches for.
 */
public final class HostPackages {
    /** Package → why the guest needs it. */
    static final List<String[]> REQUIRED = List.of(
            new String[] {"linux-image-amd64", "the guest kernel and its modules"},
            new String[] {"busybox-static", "the guest's shell and core tools"},
            new String[] {"crun", "the OCI runtime inside the guest"},
            new String[] {"cryptsetup-bin", "veritysetup/cryptsetup inside the guest and to format the agent disk"},
            new String[] {"dmsetup", "inside the guest, to check an opened volume's active device-mapper table"},
            new String[] {"e2fsprogs", "mkfs.ext4/debugfs for the agent disk"},
            new String[] {"qemu-system-x86", "to boot the microVM"},
            new String[] {"socat", "to carry the microVM's connections to the attestation services and key vaults it may reach"});

    private HostPackages() {}

    /** The required packages not installed on this host. */
    public static List<String> missing() {
        List<String> missing = new ArrayList<>();
        for (String[] p : REQUIRED) {
            String status;
            try {
                status = HostCommand.run(List.of("dpkg-query", "-W", "-f=${Status}", p[0]), 30);
            } catch (GuestBuildException e) {
                status = "";
            }
            if (!status.contains("install ok installed")) missing.add(p[0]);
        }
        return missing;
    }

    /** Installs what is missing, telling {@code announce} what and why before it starts. */
    public static void ensureInstalled(Consumer<String> announce) {
        List<String> missing = missing();
        if (missing.isEmpty()) return;
        for (String[] p : REQUIRED) {
            if (missing.contains(p[0])) announce.accept("installing Debian package " + p[0] + " (" + p[1] + ") with apt-get");
        }
        List<String> cmd = new ArrayList<>(List.of("apt-get", "install", "-y", "--no-install-recommends"));
        cmd.addAll(missing);
        try {
            HostCommand.run(cmd, 1800, java.util.Map.of("DEBIAN_FRONTEND", "noninteractive"), null);
        } catch (GuestBuildException e) {
            throw new GuestBuildException("expected to install " + String.join(" ", missing) + " with apt-get, it failed ("
                    + e.getMessage() + "); install them as root and run `coffer guest build` again", e);
        }
    }
}
