package dev.coffer.agent.tee;

import dev.coffer.agent.skr.EvidenceSource;
import dev.coffer.attest.evidence.EvidenceKind;

import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The agent's {@code --tee} choice ({@code none} or one of {@link GuestTee#KINDS}): opens the
 * {@link GuestTee} it names, refusing one the machine does not have.
 */
public final class TeeSources {
    public static final String NONE = "none";
    public static final String SIM = EvidenceKind.SIMULATED.label();
    public static final String SNP = EvidenceKind.SEV_SNP.label();

    private TeeSources() {}

    /**
     * The evidence source for {@code --tee}: empty for none; sim needs the launch-context file
     * the runtime wrote for {@code group}; snp looks for the guest interface under "/".
     *
     * @throws IllegalArgumentException for an unknown name or a missing/extra launch context
     * @throws IllegalArgumentException for a declared evidence kind the agent cannot run in (sgx, tdx)
     * @throws TeeException when the TEE is not there or the context is not trustworthy
     */
    public static Optional<GuestTee> open(String tee, Path launchContext, String group) {
        return open(tee, launchContext, group, Path.of("/"), null);
    }

    /**
     * As {@link #open(String, Path, String)}, probing under {@code root} for a secure processor
     * and, with {@code simChipDirectory}, loading the simulated chip from there rather than from the
     * directory the launch context names (a microVM's fixed {@link SimTeeFiles#GUEST_DIRECTORY}).
     *
     * @throws TeeException for {@code none} where a secure processor is present: a launch with one
     *                      binds its policy through HOST_DATA, and the host may not switch that off
     */
    public static Optional<GuestTee> open(String tee, Path launchContext, String group, Path root, Path simChipDirectory) {
        if (tee == null || tee.equals(NONE)) {
            if (launchContext != null) {
                throw new IllegalArgumentException("expected --launch-context only with --tee sim, found it with --tee none");
            }
            Optional<String> present = secureProcessor(root);
            if (present.isPresent()) {
                throw new TeeException("expected tee sim or snp on a machine whose secure processor is present (found "
                        + present.get() + "), found tee none; a launch with a secure processor binds its policy through"
                        + " HOST_DATA, which the host may not switch off: launch it with its TEE");
            }
            return Optional.empty();
        }
        EvidenceKind kind = GuestTee.KINDS.stream().filter(k -> k.label().equals(tee)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("expected --tee " + choices() + ", found \"" + tee + "\""));
        // exhaustive over the kinds: a TEE the agent can run in is a case here (and a member of GuestTee.KINDS)
        return Optional.of(switch (kind) {
            case SIMULATED -> {
                if (launchContext == null) {
                    throw new IllegalArgumentException("expected --launch-context FILE with --tee sim (the runtime writes it in"
                            + " the group's state directory), found none");
                }
                // a simulated chip the host holds must not stand in for real hardware: its HOST_DATA is the host's word
                Optional<String> hardware = hardwareSecureProcessor(root);
                if (hardware.isPresent()) {
                    throw new TeeException("expected tee snp on a machine whose secure processor is real hardware (found "
                            + hardware.get() + "), found tee sim; the simulated chip is the host's, so it cannot bind this"
                            + " launch: launch it with --tee snp");
                }
                yield SimLaunchContext.open(launchContext, group, simChipDirectory);
            }
            case SEV_SNP -> {
                if (launchContext != null) {
                    throw new IllegalArgumentException("expected no --launch-context with --tee snp (the hardware holds the"
                            + " launch), found one");
                }
                yield SnpEvidenceSource.detect(root);
            }
            // not in GuestTee.KINDS, so refused above with the choices; a TEE the agent learns to run in moves up here
            case SGX, TDX -> throw new IllegalArgumentException("expected --tee " + choices() + ", found \"" + tee + "\"");
        });
    }

    /** {@code none|sim|snp}: what {@code --tee} accepts, derived from {@link GuestTee#KINDS}. */
    public static String choices() {
        return String.join("|", Stream.concat(Stream.of(NONE), GuestTee.KINDS.stream().map(EvidenceKind::label)).toList());
    }

    /**
     * The secure processor this machine has, by what names it under {@code root}: the kernel's
     * configfs-tsm report interface (SEV-SNP and TDX guests), the SEV-SNP or TDX guest device, or
     * a simulated chip installed in the guest's fixed directory.
     */
    public static Optional<String> secureProcessor(Path root) {
        Optional<String> hardware = hardwareSecureProcessor(root);
        if (hardware.isPresent()) return hardware;
        return present(root, SimTeeFiles.GUEST_DIRECTORY.toString().substring(1) + "/"
                + dev.coffer.attest.sim.SimulatedSecureProcessor.VCEK_CERTIFICATE_FILE);
    }

    /** A real secure processor's guest interface under {@code root}: configfs-tsm, /dev/sev-guest or /dev/tdx_guest. */
    public static Optional<String> hardwareSecureProcessor(Path root) {
        for (String p : java.util.List.of(SnpEvidenceSource.CONFIGFS_TSM, SnpEvidenceSource.SEV_GUEST, "dev/tdx_guest")) {
            Optional<String> found = present(root, p);
            if (found.isPresent()) return found;
        }
        return Optional.empty();
    }

    private static Optional<String> present(Path root, String relative) {
        return java.nio.file.Files.exists(root.resolve(relative), java.nio.file.LinkOption.NOFOLLOW_LINKS)
                ? Optional.of("/" + relative) : Optional.empty();
    }

    /**
     * The launch-bound data (HOST_DATA for SEV-SNP and the simulated TEE) as {@code tee} reports
     * it for this launch: {@link GuestTee#launchBoundData()}.
     */
    public static byte[] launchHostData(EvidenceSource tee) {
        return guestTee(tee).launchBoundData();
    }

    /** The startup check: {@link GuestTee#requirePolicyBound(byte[])} of the TEE {@code tee} is. */
    public static byte[] requirePolicyBound(EvidenceSource tee, byte[] policyBytes) {
        return guestTee(tee).requirePolicyBound(policyBytes);
    }

    private static GuestTee guestTee(EvidenceSource tee) {
        if (tee instanceof GuestTee g) return g;
        // fail closed: only a TEE this agent opened itself can vouch for the launch
        throw new TeeException("expected the guest's own TEE (" + String.join(" or ", GuestTee.KINDS.stream().map(EvidenceKind::label)
                .toList()) + ") for the startup check, found " + (tee == null ? "none" : "a " + tee.tee() + " evidence source that is not one"));
    }
}
