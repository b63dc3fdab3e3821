package dev.coffer.agent.tee;

import dev.coffer.agent.skr.EvidenceSource;
import dev.coffer.attest.measure.HostData;
import dev.coffer.attest.snp.SnpReport;
import dev.coffer.attest.snp.SnpReportFormatException;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

/**
 * The agent's {@code --tee none|sim|snp} choice, and the startup check that binds the policy to
 * the launch.
 */
public final class TeeSources {
    public static final String NONE = "none";
    public static final String SIM = "sim";
    public static final String SNP = "snp";

    /** REPORT_DATA of the startup self-check report: a tag no host request can produce (see {@link HostChallenge}). */
    static final byte[] STARTUP_REPORT_DATA = Arrays.copyOf("coffer-agent-startup/v1".getBytes(StandardCharsets.US_ASCII), 64);

    private TeeSources() {}

    /**
     * The evidence source for {@code --tee}: empty for none; sim needs the launch-context file
     * the runtime wrote for {@code group}; snp looks for the guest interface under "/".
     *
     * @throws IllegalArgumentException for an unknown name or a missing/extra launch context
     * @throws TeeException when the TEE is not there or the context is not trustworthy
     */
    public static Optional<EvidenceSource> open(String tee, Path launchContext, String group) {
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
    public static Optional<EvidenceSource> open(String tee, Path launchContext, String group, Path root, Path simChipDirectory) {
        return switch (tee == null ? NONE : tee) {
            case NONE -> {
                if (launchContext != null) {
                    throw new IllegalArgumentException("expected --launch-context only with --tee sim, found it with --tee none");
                }
                Optional<String> present = secureProcessor(root);
                if (present.isPresent()) {
                    throw new TeeException("expected tee sim or snp on a machine whose secure processor is present (found "
                            + present.get() + "), found tee none; a launch with a secure processor binds its policy through"
                            + " HOST_DATA, which the host may not switch off: launch it with its TEE");
                }
                yield Optional.empty();
            }
            case SIM -> {
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
                yield Optional.of(SimLaunchContext.open(launchContext, group, simChipDirectory));
            }
            case SNP -> {
                if (launchContext != null) {
                    throw new IllegalArgumentException("expected no --launch-context with --tee snp (the hardware holds the"
                            + " launch), found one");
                }
                yield Optional.of(SnpEvidenceSource.detect(Path.of("/")));
            }
            default -> throw new IllegalArgumentException("expected --tee none|sim|snp, found \"" + tee + "\"");
        };
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
     * HOST_DATA as the TEE reports it for this launch, read from a fresh report: the value the
     * agent's policy must hash to. Nothing the host says on the command line is taken for it.
     */
    public static byte[] launchHostData(EvidenceSource tee) {
        byte[] raw = tee.evidence(STARTUP_REPORT_DATA).report();
        try {
            SnpReport report = SnpReport.parse(raw);
            if (!Arrays.equals(report.reportData(), STARTUP_REPORT_DATA)) {
                throw new TeeException("the " + tee.tee() + " TEE returned a report for other REPORT_DATA than the agent asked"
                        + " for; it cannot be used to bind the policy");
            }
            return report.hostData();
        } catch (SnpReportFormatException e) {
            throw new TeeException("the " + tee.tee() + " TEE returned no valid SNP report (" + e.getMessage() + ")", e);
        }
    }

    /**
     * The startup check: SHA-256(policy) must equal the launch's HOST_DATA. For allow-all (no
     * policy file) HOST_DATA must be all zeros, which is what the runtime binds such a launch to,
     * so a launch bound to a real policy can never be run without one.
     *
     * @param policyBytes the policy text, or null for allow-all
     * @return HOST_DATA as the fresh report gave it
     * @throws IllegalStateException naming both values when they differ
     */
    public static byte[] requirePolicyBound(EvidenceSource tee, byte[] policyBytes) {
        byte[] hostData = launchHostData(tee);
        if (policyBytes != null) {
            HostData.requireMatches(hostData, policyBytes);
        } else if (!Arrays.equals(hostData, new byte[32])) {
            throw new IllegalStateException("expected HOST_DATA of zeros for --policy allow-all, found "
                    + java.util.HexFormat.of().formatHex(hostData) + "; this launch is bound to a policy, so it must run that policy");
        }
        return hostData;
    }
}
