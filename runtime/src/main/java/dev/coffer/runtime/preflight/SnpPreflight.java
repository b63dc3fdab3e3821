package dev.coffer.runtime.preflight;

import dev.coffer.attest.measure.snp.OvmfFirmware;
import dev.coffer.runtime.guest.GuestBuildException;
import dev.coffer.runtime.guest.GuestImage;
import dev.coffer.runtime.sandbox.SnpSettings;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Whether this host can launch a group as an SEV-SNP guest, and if not, exactly what is missing.
 * The checks are declared once, in {@link #CHECKS}, in the order a user fixes them: the CPU, the
 * host kernel (KVM, kvm_amd's SNP support, the SEV firmware device), QEMU, the firmware, the
 * guest, and room for the guest's size. Each reads files under {@link HostProbe#root()} or asks
 * QEMU itself, so a prepared directory tree stands for another host in tests.
 */
public final class SnpPreflight {
    /** QEMU's first release with the {@code sev-snp-guest} object (upstream SNP support). */
    static final int[] MIN_QEMU = {9, 1};
    /** What QEMU, OVMF and the kernel need beside the guest's memory, in MiB (checked against MemAvailable). */
    static final int OVERHEAD_MIB = 256;

    /** One declared check: its name and how it is run against what earlier checks found. */
    record Declared(String name, Function<Findings, Check> run) {}

    /** What the checks found, for the checks after them and for the launch (C-bit, firmware). */
    static final class Findings {
        final HostProbe host;
        final SnpSettings settings;
        final Path guestDir;
        SevCpuid cpuid;
        Path qemu;
        String qemuVersion;
        Path firmware;
        OvmfFirmware ovmf;

        Findings(HostProbe host, SnpSettings settings, Path guestDir) {
            this.host = host;
            this.settings = settings;
            this.guestDir = guestDir;
        }
    }

    static final List<Declared> CHECKS = List.of(
            new Declared("cpu", SnpPreflight::cpu),
            new Declared("cpuid", SnpPreflight::cpuid),
            new Declared("kvm", SnpPreflight::kvm),
            new Declared("kvm_amd sev_snp", SnpPreflight::kvmAmdSnp),
            new Declared("/dev/sev", SnpPreflight::sevDevice),
            new Declared("qemu", SnpPreflight::qemu),
            new Declared("qemu sev-snp-guest", SnpPreflight::qemuSnpObject),
            new Declared("ovmf", SnpPreflight::firmware),
            new Declared("ovmf kernel hashes", SnpPreflight::kernelHashes),
            new Declared("guest", SnpPreflight::guest),
            new Declared("memory", SnpPreflight::memory),
            new Declared("vcpus", SnpPreflight::vcpus));

    /** The names of the checks, in order. */
    public static List<String> names() {
        return CHECKS.stream().map(Declared::name).toList();
    }

    /**
     * The outcome: every check, and what the launch takes from them.
     *
     * @param cpuid    the host's leaf 0x8000001F, or null when it could not be read
     * @param firmware the firmware the launch would use, or null when none was found
     */
    public record Result(List<Check> checks, SevCpuid cpuid, Path firmware) {
        public Result {
            checks = List.copyOf(checks);
        }

        public boolean ready() {
            return checks.stream().allMatch(Check::ok);
        }

        public List<Check> failing() {
            return checks.stream().filter(c -> !c.ok()).toList();
        }

        /** One screen: a verdict line, then a line per check and, under each that fails, what to do. */
        public String render() {
            return Preflights.render("SEV-SNP launch", checks);
        }
    }

    private SnpPreflight() {}

    /** Runs every check for a launch of {@code settings} with the guest built in {@code guestDir} (null: not checked). */
    public static Result check(HostProbe host, SnpSettings settings, Path guestDir) {
        Findings f = new Findings(host, settings, guestDir);
        List<Check> out = new ArrayList<>();
        for (Declared d : CHECKS) {
            Check c;
            try {
                c = d.run().apply(f);
            } catch (RuntimeException e) {
                c = Check.missing(d.name(), "the check itself failed: " + e, "report this as a bug in `coffer doctor`");
            }
            out.add(c);
        }
        return new Result(out, f.cpuid, f.firmware);
    }

    private static Check cpu(Findings f) {
        Optional<String> info = f.host.read("/proc/cpuinfo");
        if (info.isEmpty()) return Check.missing("cpu", "/proc/cpuinfo unreadable", "mount /proc");
        String vendor = field(info.get(), "vendor_id").orElse("unknown vendor");
        String model = field(info.get(), "model name").orElse("unknown model");
        List<String> flags = List.of(field(info.get(), "flags").orElse("").split("\\s+"));
        if (!vendor.equals("AuthenticAMD")) {
            return Check.missing("cpu", vendor + " " + model + ", not an AMD CPU",
                    "SEV-SNP needs an AMD EPYC 7003 (Milan) or newer host; use --tee sim here");
        }
        if (!flags.contains("sev_snp")) {
            return Check.missing("cpu", model + " without the sev_snp flag (" + (flags.contains("sev") ? "sev present" : "no sev either") + ")",
                    "enable SEV-SNP in the BIOS (SMEE, SEV-SNP, SNP memory coverage) on an EPYC 7003 or newer, and boot a host"
                            + " kernel with SNP host support (Linux >= 6.11); check `dmesg | grep -i sev`");
        }
        return Check.ok("cpu", model + " with sev_snp");
    }

    private static Check cpuid(Findings f) {
        if (!f.host.exists("/" + SevCpuid.DEVICE)) {
            return Check.missing("cpuid", "/" + SevCpuid.DEVICE + " missing (QEMU's cbitpos and reduced-phys-bits come from"
                    + " CPUID 0x8000001f)", "load the cpuid driver: modprobe cpuid (and run as root)");
        }
        SevCpuid leaf;
        try {
            leaf = SevCpuid.read(f.host.root());
        } catch (IOException e) {
            return Check.missing("cpuid", "/" + SevCpuid.DEVICE + " unreadable: " + e.getMessage(), "run as root");
        }
        f.cpuid = leaf;
        String found = String.format("leaf 0x8000001f: eax 0x%08x ebx 0x%08x, cbitpos %d, reduced-phys-bits %d", leaf.eax(),
                leaf.ebx(), leaf.cbitPosition(), leaf.reducedPhysBits());
        if (!leaf.snp() || leaf.cbitPosition() == 0 || leaf.reducedPhysBits() == 0) {
            return Check.missing("cpuid", found + ": SEV-SNP not reported",
                    "enable SEV-SNP in the BIOS; the CPU reports SNP in CPUID 0x8000001f EAX bit 4");
        }
        return Check.ok("cpuid", found);
    }

    private static Check kvm(Findings f) {
        if (!f.host.exists("/dev/kvm")) {
            return Check.missing("kvm", "/dev/kvm missing", "an SNP guest runs only under KVM: load kvm_amd on bare metal"
                    + " (modprobe kvm_amd), not inside another VM");
        }
        Path dev = f.host.file("/dev/kvm");
        if (!Files.isReadable(dev) || !Files.isWritable(dev)) {
            return Check.missing("kvm", "/dev/kvm not readable and writable by this user", "run as root or join the kvm group");
        }
        if (f.host.exists("/sys/module/kvm_pvm")) {
            return Check.missing("kvm", "/dev/kvm is PVM (kvm_pvm), a paravirtual KVM inside a VM", "run on an SNP host's bare metal");
        }
        if (!f.host.exists("/sys/module/kvm_amd")) {
            return Check.missing("kvm", "/dev/kvm present but kvm_amd not loaded" + (f.host.exists("/sys/module/kvm_intel")
                    ? " (kvm_intel is: an Intel host)" : ""), "modprobe kvm_amd on an AMD EPYC host");
        }
        return Check.ok("kvm", "/dev/kvm usable, kvm_amd loaded");
    }

    private static Check kvmAmdSnp(Findings f) {
        String param = "/sys/module/kvm_amd/parameters/sev_snp";
        if (!f.host.exists("/sys/module/kvm_amd")) return Check.skipped("kvm_amd sev_snp", "kvm_amd is not loaded");
        Optional<String> v = f.host.read(param);
        if (v.isEmpty()) {
            return Check.missing("kvm_amd sev_snp", param + " missing: this kernel's kvm_amd has no SNP support",
                    "boot a host kernel with SEV-SNP host support (Linux >= 6.11, CONFIG_KVM_AMD_SEV=y)");
        }
        if (!v.get().equals("Y") && !v.get().equals("1")) {
            return Check.missing("kvm_amd sev_snp", param + " is " + v.get(),
                    "reload kvm_amd with SNP: modprobe -r kvm_amd && modprobe kvm_amd sev_snp=1 (needs SNP enabled in the"
                            + " BIOS and the SEV firmware initialised: see `dmesg | grep -i -e sev -e ccp`)");
        }
        return Check.ok("kvm_amd sev_snp", param + " = " + v.get());
    }

    private static Check sevDevice(Findings f) {
        if (!f.host.exists("/dev/sev")) {
            return Check.missing("/dev/sev", "/dev/sev missing (the AMD secure processor's firmware device)",
                    "load the ccp driver (modprobe ccp) on an SNP-enabled host; its absence means the secure processor"
                            + " firmware did not initialise (`dmesg | grep -i ccp`)");
        }
        Path dev = f.host.file("/dev/sev");
        if (!Files.isReadable(dev) || !Files.isWritable(dev)) {
            return Check.missing("/dev/sev", "/dev/sev not readable and writable by this user", "run as root");
        }
        return Check.ok("/dev/sev", "/dev/sev usable");
    }

    private static Check qemu(Findings f) {
        Optional<Path> q = f.host.command(f.host.qemu());
        if (q.isEmpty()) {
            return Check.missing("qemu", f.host.qemu() + " not found", "install QEMU >= " + MIN_QEMU[0] + "." + MIN_QEMU[1]
                    + " (Debian 13: apt-get install qemu-system-x86)");
        }
        f.qemu = q.get();
        String text;
        try {
            HostProbe.Output out = HostProbe.run(List.of(q.get().toString(), "--version"));
            text = out.text();
        } catch (IOException e) {
            return Check.missing("qemu", q.get() + " --version failed: " + e.getMessage(), "reinstall QEMU");
        }
        Matcher m = Pattern.compile("QEMU emulator version (\\d+)\\.(\\d+)(\\.\\d+)?").matcher(text);
        if (!m.find()) {
            return Check.missing("qemu", q.get() + " --version says \"" + firstLine(text) + "\"", "install QEMU >= 9.1");
        }
        f.qemuVersion = m.group(1) + "." + m.group(2) + (m.group(3) == null ? "" : m.group(3));
        int major = Integer.parseInt(m.group(1));
        int minor = Integer.parseInt(m.group(2));
        if (major < MIN_QEMU[0] || (major == MIN_QEMU[0] && minor < MIN_QEMU[1])) {
            return Check.missing("qemu", "QEMU " + f.qemuVersion + " at " + q.get() + " (SEV-SNP needs " + MIN_QEMU[0] + "."
                    + MIN_QEMU[1] + " or newer)", "install QEMU >= 9.1 (Debian 13 and Ubuntu 25.04 have one; or build it from qemu.org)");
        }
        return Check.ok("qemu", "QEMU " + f.qemuVersion + " at " + q.get());
    }

    private static Check qemuSnpObject(Findings f) {
        if (f.qemu == null) return Check.skipped("qemu sev-snp-guest", "no QEMU found");
        String text;
        try {
            text = HostProbe.run(List.of(f.qemu.toString(), "-object", "help")).text();
        } catch (IOException e) {
            return Check.missing("qemu sev-snp-guest", f.qemu + " -object help failed: " + e.getMessage(), "reinstall QEMU");
        }
        for (String line : text.split("\n")) {
            if (line.strip().equals("sev-snp-guest")) return Check.ok("qemu sev-snp-guest", "QEMU offers the sev-snp-guest object");
        }
        return Check.missing("qemu sev-snp-guest", "QEMU " + (f.qemuVersion == null ? "" : f.qemuVersion + " ")
                + "has no sev-snp-guest object (`-object help` does not list it)",
                "install a QEMU >= 9.1 built with SEV support (x86_64 with KVM)");
    }

    private static Check firmware(Findings f) {
        Path chosen = f.settings.firmware();
        if (chosen == null) {
            for (Path p : SnpSettings.WELL_KNOWN_FIRMWARE) {
                if (Files.isRegularFile(f.host.file(p.toString()))) {
                    chosen = f.host.file(p.toString());
                    break;
                }
            }
            if (chosen == null) {
                return Check.missing("ovmf", "no AmdSev OVMF build at " + String.join(", ", SnpSettings.WELL_KNOWN_FIRMWARE.stream()
                        .map(Path::toString).toList()), "install your distribution's AmdSev build (Ubuntu's ovmf package has"
                        + " OVMF.amdsev.fd) or build edk2's OvmfPkg/AmdSev/AmdSevX64.dsc, and pass it with --ovmf FILE");
            }
        } else if (!Files.isRegularFile(chosen)) {
            return Check.missing("ovmf", "--ovmf " + chosen + ": no such file", "give the path of the AmdSev OVMF build");
        }
        f.firmware = chosen;
        OvmfFirmware fw;
        try {
            fw = OvmfFirmware.read(chosen);
        } catch (IOException | dev.coffer.attest.measure.snp.FirmwareFormatException e) {
            return Check.missing("ovmf", chosen + ": " + e.getMessage(), "use the AmdSev OVMF build (OVMF.amdsev.fd)");
        }
        f.ovmf = fw;
        if (!fw.hasFooterTable()) {
            return Check.missing("ovmf", chosen + " has no OVMF footer table GUID at its end: it is not an OVMF build",
                    "use the AmdSev OVMF build (OVMF.amdsev.fd, edk2 OvmfPkg/AmdSev/AmdSevX64.dsc)");
        }
        if (!fw.supportsSnp()) {
            return Check.missing("ovmf", chosen + " has no SEV metadata or SEV-ES reset block: it cannot start an SNP guest",
                    "use the AmdSev OVMF build (OVMF.amdsev.fd, edk2 OvmfPkg/AmdSev/AmdSevX64.dsc)");
        }
        return Check.ok("ovmf", chosen + " (SEV metadata: " + fw.sections().size() + " sections)");
    }

    /** The SEV hashes table QEMU writes: its GUID and length, then kernel, initrd and cmdline entries (GUID, length, SHA-256). */
    private static final int HASH_TABLE_BYTES = 16 + 2 + 3 * (16 + 2 + 32);

    private static Check kernelHashes(Findings f) {
        if (f.ovmf == null) return Check.skipped("ovmf kernel hashes", "no usable firmware");
        // the table must be there (QEMU writes the hashes into it) and in a page the launch measures as such
        boolean table = f.ovmf.supportsKernelHashes() && f.ovmf.hashesTableSize() >= HASH_TABLE_BYTES;
        if (!table || f.ovmf.section(dev.coffer.attest.measure.snp.SectionType.SNP_KERNEL_HASHES).isEmpty()) {
            return Check.missing("ovmf kernel hashes", f.firmware + " has no SEV hashes table (GUID " + OvmfFirmware.SEV_HASH_TABLE_GUID
                    + (!table ? " absent or zero" : " outside an SNP_KERNEL_HASHES page") + "): it cannot measure the"
                    + " guest's kernel, initramfs and command line", "use the AmdSev build (OVMF.amdsev.fd), not OVMF_CODE.fd or"
                    + " OvmfPkgX64: only it verifies kernel-hashes=on");
        }
        return Check.ok("ovmf kernel hashes", String.format("SEV hashes table at 0x%x (%d bytes)", f.ovmf.hashesTableGpa(),
                f.ovmf.hashesTableSize()));
    }

    private static Check guest(Findings f) {
        if (f.guestDir == null) return Check.skipped("guest", "no Coffer home given");
        GuestImage g;
        try {
            g = GuestImage.load(f.guestDir);
        } catch (GuestBuildException e) {
            return Check.missing("guest", withoutAdvice(e.getMessage()), "run `coffer guest build`");
        }
        if (!Files.isRegularFile(g.bzImage())) {
            return Check.missing("guest", "the guest in " + f.guestDir + " has no " + GuestImage.BZIMAGE_FILE + " (the compressed kernel"
                    + " OVMF boots and measures; guests built before SNP support lack it)", "run `coffer guest build` again");
        }
        return Check.ok("guest", "kernel " + g.kernelVersion() + ", " + g.bzImage().getFileName() + " for OVMF");
    }

    private static Check memory(Findings f) {
        Optional<String> info = f.host.read("/proc/meminfo");
        Optional<Long> availableKib = info.flatMap(t -> field(t, "MemAvailable")).map(v -> Long.parseLong(v.split("\\s+")[0]));
        if (availableKib.isEmpty()) return Check.missing("memory", "no MemAvailable in /proc/meminfo", "mount /proc");
        long availableMib = availableKib.get() / 1024;
        long needed = f.settings.memoryMib() + OVERHEAD_MIB;
        String found = f.settings.memoryMib() + " MiB for the guest (+" + OVERHEAD_MIB + " for QEMU), " + availableMib + " MiB available";
        if (availableMib < needed) {
            return Check.missing("memory", found, "give the guest less (--memory, at least " + SnpSettings.MIN_MEMORY_MIB
                    + ") or free memory; SNP guest memory is pinned, it cannot be swapped");
        }
        return Check.ok("memory", found);
    }

    private static Check vcpus(Findings f) {
        Optional<String> info = f.host.read("/proc/cpuinfo");
        long cpus = info.map(t -> t.lines().filter(l -> l.startsWith("processor")).count()).orElse(0L);
        if (cpus == 0) return Check.missing("vcpus", "no processors listed in /proc/cpuinfo", "mount /proc");
        String found = f.settings.vcpus() + " vCPU(s) of type " + f.settings.cpuType() + ", " + cpus + " host CPU(s)";
        if (f.settings.vcpus() > cpus) return Check.missing("vcpus", found, "ask for at most " + cpus + " with --vcpus");
        return Check.ok("vcpus", found);
    }

    /** The value of "key : value" in /proc-style text. */
    static Optional<String> field(String text, String key) {
        for (String line : text.split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).strip().equals(key)) return Optional.of(line.substring(colon + 1).strip());
        }
        return Optional.empty();
    }

    /** A guest error's finding without its "; run ..." advice, which the check's fix gives. */
    static String withoutAdvice(String message) {
        int at = message.lastIndexOf("; run ");
        return at > 0 ? message.substring(0, at) : message;
    }

    private static String firstLine(String text) {
        String s = text.strip();
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
