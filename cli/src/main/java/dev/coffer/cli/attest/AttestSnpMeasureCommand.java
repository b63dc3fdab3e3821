package dev.coffer.cli.attest;

import dev.coffer.attest.measure.snp.DirectBoot;
import dev.coffer.attest.measure.snp.FirmwareFormatException;
import dev.coffer.attest.measure.snp.LaunchDigest;
import dev.coffer.attest.measure.snp.LaunchDigestCalculator;
import dev.coffer.attest.measure.snp.LaunchInputs;
import dev.coffer.attest.measure.snp.MeasuredStep;
import dev.coffer.attest.measure.snp.OvmfFirmware;
import dev.coffer.attest.measure.snp.SevMode;
import dev.coffer.attest.measure.snp.VcpuSignature;
import dev.coffer.attest.measure.snp.VmmType;
import dev.coffer.cli.CofferException;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.UsageException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** {@code coffer attest snp-measure}: the MEASUREMENT a QEMU direct-boot SEV-SNP (or SEV, SEV-ES) launch will have. */
@Command(name = "snp-measure", mixinStandardHelpOptions = true,
        description = {"Compute the launch MEASUREMENT the AMD secure processor will report for a guest that",
                "QEMU (or EC2, GCE) launches from an OVMF firmware, optionally booting a kernel directly: the",
                "reference value a verifier or key vault expects. Computed from the inputs alone, exactly as",
                "SNP_LAUNCH_UPDATE chains it (SHA-384 over each page's PAGE_INFO: the firmware's pages, the",
                "firmware's SEV metadata sections, the SEV hashes table of kernel/initrd/command line, one VMSA",
                "per vCPU). The flags are sev-snp-measure's. Prints the MEASUREMENT (96 hex digits; 64 for SEV",
                "and SEV-ES) on its own line.",
                "",
                "What must match the launch: the very OVMF file, kernel, initrd and command line QEMU is given",
                "(-bios, -kernel, -initrd, -append, with kernel-hashes=on), the vCPU count (-smp) and CPU model",
                "(-cpu), and the guest features (SEV_FEATURES; 0x1 unless the VMM enables more).",
                "",
                "With --verbose, also the page-by-page log (type, GPA, contents' SHA-384, digest after),",
                "before the MEASUREMENT, or as \"log\" with -o json."},
        footer = {"", "Examples:",
                "  coffer attest snp-measure --mode snp --vcpus 4 --vcpu-type EPYC-v4 --ovmf OVMF.fd \\",
                "      --kernel vmlinuz --initrd initrd.img --append 'console=ttyS0'",
                "  coffer attest snp-measure --mode snp:ovmf-hash --ovmf OVMF.fd   # for --snp-ovmf-hash",
                "  coffer attest snp-measure --vcpus 1 --vcpu-type EPYC-Milan --ovmf OVMF.fd -o json --verbose"})
public final class AttestSnpMeasureCommand implements Runnable {
    static final String OVMF_HASH_MODE = "snp:ovmf-hash";

    @Mixin
    CommonOptions common;

    @Mixin
    OutputOption output;

    @Spec
    CommandSpec spec;

    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "snp",
            description = "snp, seves, sev, or " + OVMF_HASH_MODE + " (print the firmware's SNP digest alone) (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--vcpus", paramLabel = "N", description = "Number of vCPUs (QEMU's -smp); required for snp and seves.")
    Integer vcpus;

    @Option(names = "--vcpu-type", paramLabel = "TYPE",
            description = "QEMU CPU model (-cpu): EPYC, EPYC-v1..v4, EPYC-IBPB, EPYC-Rome[-v1..v4], EPYC-Milan[-v1..v2], EPYC-Genoa[-v1], EPYC-Turin[-v1].")
    String vcpuType;

    @Option(names = "--vcpu-sig", paramLabel = "VALUE", description = "The vCPU signature itself (CPUID 1 EAX), e.g. 0x00a00f11.")
    String vcpuSig;

    @Option(names = "--vcpu-family", paramLabel = "N", description = "vCPU family (with --vcpu-model and --vcpu-stepping).")
    Integer vcpuFamily;

    @Option(names = "--vcpu-model", paramLabel = "N", description = "vCPU model.")
    Integer vcpuModel;

    @Option(names = "--vcpu-stepping", paramLabel = "N", description = "vCPU stepping.")
    Integer vcpuStepping;

    @Option(names = "--vmm-type", paramLabel = "VMM", defaultValue = "qemu",
            description = "qemu, ec2 or gce: each starts vCPUs with its own registers (default: ${DEFAULT-VALUE}). EC2 and GCE set the signature themselves.")
    String vmmType;

    @Option(names = "--ovmf", required = true, paramLabel = "FILE", description = "The OVMF firmware image QEMU loads (an AmdSev build for --kernel).")
    Path ovmf;

    @Option(names = "--kernel", paramLabel = "FILE", description = "Kernel for direct boot (measured through the SEV hashes table).")
    Path kernel;

    @Option(names = "--initrd", paramLabel = "FILE", description = "Initrd for direct boot (needs --kernel; none hashes as empty).")
    Path initrd;

    @Option(names = "--append", paramLabel = "TEXT", description = "Kernel command line (needs --kernel), exactly as passed to QEMU's -append.")
    String append;

    @Option(names = "--guest-features", paramLabel = "HEX", defaultValue = "0x1",
            description = "SNP: the VMSA's SEV_FEATURES (0x1 = SNP active; 0x21 adds debug-swap) (default: ${DEFAULT-VALUE}).")
    String guestFeatures;

    @Option(names = "--snp-ovmf-hash", paramLabel = "HEX",
            description = "SNP: start from this firmware digest (from --mode " + OVMF_HASH_MODE + ") instead of hashing the firmware's pages.")
    String snpOvmfHash;

    @Override
    public void run() {
        OvmfFirmware firmware = readFirmware();
        if (mode.equalsIgnoreCase(OVMF_HASH_MODE)) {
            printFirmwareDigest(firmware);
            return;
        }
        SevMode sevMode = parse("--mode", () -> SevMode.parse(mode));
        VmmType vmm = parse("--vmm-type", () -> VmmType.parse(vmmType));
        if ((initrd != null || append != null) && kernel == null) {
            throw new UsageException((initrd != null ? "--initrd" : "--append") + " needs --kernel: QEMU measures an initrd and command line only with a kernel");
        }
        if (snpOvmfHash != null && sevMode != SevMode.SNP) {
            throw new UsageException("--snp-ovmf-hash applies to --mode snp only (SEV and SEV-ES hash the firmware itself)");
        }
        if (sevMode != SevMode.SEV && vcpus == null) {
            throw new UsageException("--vcpus N is required in mode " + sevMode.cliName() + ": every vCPU's VMSA is measured");
        }
        VcpuSignature sig = sevMode == SevMode.SEV ? null : vcpuSignature(vmm);
        long features = sevMode == SevMode.SNP ? hexValue("--guest-features", guestFeatures)
                : LaunchInputs.DEFAULT_GUEST_FEATURES;
        Optional<byte[]> seed = Optional.ofNullable(snpOvmfHash).map(h -> AttestInputs.hex("--snp-ovmf-hash", h, 48));
        Optional<DirectBoot> boot = Optional.ofNullable(kernel).map(k -> directBoot());

        LaunchInputs in = parse("the launch inputs", () -> new LaunchInputs(sevMode, firmware, seed, boot,
                vcpus == null ? 1 : vcpus, sig, vmm, features));
        LaunchDigest digest;
        try {
            digest = LaunchDigestCalculator.compute(in, common.verbose);
        } catch (FirmwareFormatException e) {
            throw new CofferException("firmware " + ovmf + ": " + e.getMessage());
        }
        print(in, digest, boot);
    }

    private OvmfFirmware readFirmware() {
        try {
            return OvmfFirmware.read(ovmf);
        } catch (NoSuchFileException e) {
            throw new CofferException("firmware " + ovmf + " does not exist; give the OVMF image QEMU loads (e.g. OVMF.fd of an AmdSev build)");
        } catch (FirmwareFormatException e) {
            throw new CofferException("firmware " + ovmf + ": " + e.getMessage());
        } catch (IOException e) {
            throw new CofferException("cannot read firmware " + ovmf + " (" + e.getMessage() + ")");
        }
    }

    private DirectBoot directBoot() {
        try {
            return DirectBoot.ofFiles(kernel, initrd, append);
        } catch (NoSuchFileException e) {
            throw new CofferException(e.getFile() + " does not exist; --kernel and --initrd name the files QEMU is given");
        } catch (IOException e) {
            throw new CofferException("cannot read the kernel or initrd (" + e.getMessage() + ")");
        }
    }

    private VcpuSignature vcpuSignature(VmmType vmm) {
        int given = (vcpuType != null ? 1 : 0) + (vcpuSig != null ? 1 : 0)
                + (vcpuFamily != null || vcpuModel != null || vcpuStepping != null ? 1 : 0);
        if (given > 1) throw new UsageException("give the vCPU as one of --vcpu-type, --vcpu-sig, or --vcpu-family/--vcpu-model/--vcpu-stepping");
        if (vcpuType != null) return parse("--vcpu-type", () -> VcpuSignature.ofType(vcpuType));
        if (vcpuSig != null) {
            long v = hexValue("--vcpu-sig", vcpuSig);
            if (v < 0 || v > 0xffffffffL) throw new UsageException("--vcpu-sig is a 32-bit value, found " + vcpuSig);
            return new VcpuSignature((int) v);
        }
        if (vcpuFamily != null || vcpuModel != null || vcpuStepping != null) {
            if (vcpuFamily == null || vcpuModel == null || vcpuStepping == null) {
                throw new UsageException("--vcpu-family, --vcpu-model and --vcpu-stepping go together; give all three");
            }
            return parse("--vcpu-family/--vcpu-model/--vcpu-stepping", () -> VcpuSignature.of(vcpuFamily, vcpuModel, vcpuStepping));
        }
        if (vmm == VmmType.QEMU) {
            throw new UsageException("QEMU puts the vCPU's signature in every VMSA: give --vcpu-type (the -cpu model, e.g. EPYC-v4) or --vcpu-sig");
        }
        return null;
    }

    /**
     * A hex value written with 0x. sev-snp-measure reads bare digits as decimal, so "21" would mean
     * 0x21 to some users and 21 to others: a bare value is accepted only where both agree (0-9).
     */
    static long hexValue(String option, String value) {
        String v = value.strip();
        if (v.matches("[0-9]")) return Long.parseLong(v);
        if (!v.matches("0[xX][0-9a-fA-F]{1,15}")) {
            throw new UsageException(option + " expects a hex value written with 0x (e.g. 0x21), up to 15 hex digits; found '" + value
                    + "' (bare digits are ambiguous: sev-snp-measure reads them as decimal)");
        }
        return Long.parseLong(v.substring(2), 16);
    }

    private void printFirmwareDigest(OvmfFirmware firmware) {
        String hex = HexFormat.of().formatHex(LaunchDigestCalculator.firmwareDigest(firmware));
        PrintWriter w = spec.commandLine().getOut();
        if (output.json()) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("mode", OVMF_HASH_MODE);
            j.put("ovmf", firmwareJson(firmware));
            j.put("ovmf_hash", hex);
            Json.print(w, j);
        } else {
            w.println(hex);
            w.flush();
        }
    }

    private void print(LaunchInputs in, LaunchDigest digest, Optional<DirectBoot> boot) {
        PrintWriter w = spec.commandLine().getOut();
        HexFormat hex = HexFormat.of();
        if (output.json()) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("mode", in.mode().cliName());
            j.put("measurement", digest.hex());
            j.put("vmm_type", in.vmm().cliName());
            if (in.mode() != SevMode.SEV) {
                j.put("vcpus", in.vcpus());
                j.put("vcpu_sig", in.vcpuSignature() == null ? null : in.vcpuSignature().toString());
            }
            if (in.mode() == SevMode.SNP) {
                j.put("guest_features", "0x" + Long.toHexString(in.guestFeatures()));
                j.put("snp_ovmf_hash", in.firmwareDigest().map(hex::formatHex).orElse(null));
            }
            j.put("ovmf", firmwareJson(in.firmware()));
            boot.ifPresent(b -> {
                Map<String, Object> k = new LinkedHashMap<>();
                k.put("kernel_sha256", hex.formatHex(b.kernelSha256()));
                k.put("initrd_sha256", hex.formatHex(b.initrdSha256()));
                k.put("cmdline_sha256", hex.formatHex(b.cmdlineSha256()));
                j.put("direct_boot", k);
            });
            if (common.verbose) j.put("log", digest.steps().stream().map(AttestSnpMeasureCommand::stepJson).toList());
            Json.print(w, j);
            return;
        }
        if (common.verbose) {
            for (MeasuredStep s : digest.steps()) w.println(s);
        }
        w.println(digest.hex());
        w.flush();
    }

    private Map<String, Object> firmwareJson(OvmfFirmware fw) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("path", ovmf.toString());
        f.put("size", fw.size());
        f.put("gpa", "0x" + Long.toHexString(fw.gpa()));
        f.put("kernel_hashes", fw.supportsKernelHashes());
        fw.apResetEip().ifPresent(eip -> f.put("ap_reset_eip", "0x" + Long.toHexString(eip)));
        List<Map<String, Object>> sections = new ArrayList<>();
        fw.sections().forEach(s -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("type", s.type().name());
            m.put("gpa", "0x" + Long.toHexString(s.gpa()));
            m.put("size", "0x" + Long.toHexString(s.size()));
            sections.add(m);
        });
        f.put("sev_metadata_sections", sections);
        return f;
    }

    private static Map<String, Object> stepJson(MeasuredStep step) {
        HexFormat hex = HexFormat.of();
        Map<String, Object> m = new LinkedHashMap<>();
        switch (step) {
            case MeasuredStep.Page p -> {
                m.put("page_type", p.type().name());
                m.put("gpa", "0x" + Long.toHexString(p.gpa()));
                m.put("contents_sha384", hex.formatHex(p.contentsSha384()));
                m.put("digest", hex.formatHex(p.digestAfter()));
            }
            case MeasuredStep.Blob b -> {
                m.put("blob", b.what());
                m.put("length", b.length());
                m.put("sha256", hex.formatHex(b.sha256()));
            }
        }
        return m;
    }

    private static <T> T parse(String what, java.util.function.Supplier<T> f) {
        try {
            return f.get();
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new UsageException(what + ": " + e.getMessage());
        }
    }
}
