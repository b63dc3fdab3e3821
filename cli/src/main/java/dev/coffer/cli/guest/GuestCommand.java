package dev.coffer.cli.guest;

import dev.coffer.attest.measure.LaunchMeasurement;
import dev.coffer.cli.CofferException;
import dev.coffer.cli.CofferHome;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.UsageException;
import dev.coffer.runtime.guest.GuestBuildException;
import dev.coffer.runtime.guest.GuestBuilder;
import dev.coffer.runtime.guest.GuestEndorsements;
import dev.coffer.runtime.guest.GuestImage;
import dev.coffer.runtime.microvm.Accelerator;
import dev.coffer.runtime.microvm.BootTest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** {@code coffer guest}: build, measure and boot-test the microVM guest. */
@Command(name = "guest", mixinStandardHelpOptions = true,
        description = {"The microVM guest: Debian's kernel, an initramfs Coffer assembles (busybox, kernel modules,",
                "crun, veritysetup) and a jlinked JRE with the agent on a dm-verity-protected disk.",
                "Artifacts live in $COFFER_HOME/guest; builds are reproducible, so the measurement is too."},
        subcommands = {GuestCommand.Build.class, GuestCommand.Measure.class, GuestCommand.BootTestCommand.class,
                GuestEndorseCommand.class, GuestEndorsementsCommand.class},
        footer = {"", "Examples:",
                "  coffer guest build",
                "  coffer guest measure -o json",
                "  coffer guest boot-test --accel tcg",
                "  coffer guest endorsements"})
public final class GuestCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    private final Supplier<Path> home;

    public GuestCommand() {
        this(CofferHome::resolve);
    }

    /** With another Coffer home (tests). */
    public GuestCommand(Supplier<Path> home) {
        this.home = home;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    Path guestDir() {
        return home.get().resolve("guest");
    }

    Path home() {
        return home.get();
    }

    GuestImage loadGuest() {
        try {
            return GuestImage.load(guestDir());
        } catch (GuestBuildException e) {
            throw new CofferException(e.getMessage(), e);
        }
    }

    @Command(name = "build", mixinStandardHelpOptions = true,
            description = {"Build the guest from this host's Debian packages (installing missing ones with apt-get,",
                    "announced first) and print its launch measurement. The guest's measurement and the process",
                    "sandbox's (default launch flags) are endorsed with the home's endorsement key (created once",
                    "under $COFFER_HOME/endorsement) into $COFFER_HOME/guest/endorsements; the issuer DID is printed."},
            footer = {"", "With --snp-ovmf, the MEASUREMENT of `coffer run --tee snp` of this guest is endorsed too, for every",
                    "vCPU count and type named (each is a different MEASUREMENT); register them with the attestation",
                    "service (`coffer server endorsement add FILE`) that appraises the SNP host's groups.",
                    "", "Examples:", "  coffer guest build", "  COFFER_HOME=/srv/coffer coffer guest build -o json",
                    "  coffer guest build --snp-ovmf /usr/share/ovmf/OVMF.amdsev.fd --snp-vcpus 1,2,4 --snp-cpu-type EPYC-Milan"})
    static final class Build implements Runnable {
        @Spec
        CommandSpec spec;
        @picocli.CommandLine.ParentCommand
        GuestCommand parent;
        @Mixin
        CommonOptions common;
        @Mixin
        OutputOption output;

        @Option(names = "--snp-ovmf", paramLabel = "FILE",
                description = "Also endorse the guest's SEV-SNP launch through this AmdSev OVMF build.")
        Path snpOvmf;

        @Option(names = "--snp-vcpus", paramLabel = "N[,N...]", split = ",", defaultValue = "1",
                description = "With --snp-ovmf: the vCPU counts to endorse (default: ${DEFAULT-VALUE}).")
        List<Integer> snpVcpus;

        @Option(names = "--snp-cpu-type", paramLabel = "TYPE[,TYPE...]", split = ",",
                defaultValue = dev.coffer.runtime.sandbox.SnpSettings.DEFAULT_CPU_TYPE,
                description = "With --snp-ovmf: the vCPU types to endorse (default: ${DEFAULT-VALUE}).")
        List<String> snpCpuTypes;

        @Override
        public void run() {
            List<dev.coffer.runtime.sandbox.SnpSettings> snp = snpLaunches();
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            long t0 = System.nanoTime();
            GuestImage guest;
            try {
                guest = new GuestBuilder(parent.guestDir(), step -> {
                    err.printf("[%5.1fs] %s%n", (System.nanoTime() - t0) / 1e9, step);
                    err.flush();
                }).build();
            } catch (GuestBuildException e) {
                throw new CofferException(e.getMessage(), e);
            } catch (IOException e) {
                throw new CofferException("I/O error while building the guest in " + parent.guestDir() + ": " + e.getMessage()
                        + "; check disk space and permissions", e);
            }
            List<GuestEndorsements.Entry> endorsed = new java.util.ArrayList<>(endorseBuilt(parent.home(), guest));
            for (dev.coffer.runtime.sandbox.SnpSettings s : snp) {
                try {
                    endorsed.add(GuestEndorsements.endorseSnp(parent.home(), guest, s));
                } catch (IOException | RuntimeException e) {
                    throw new CofferException("the guest was built in " + guest.dir() + " but its SNP launch (" + s.vcpus() + " "
                            + s.cpuType() + " vCPUs, " + s.firmware() + ") could not be endorsed: " + e.getMessage(), e);
                }
            }
            printMeasured(out, output, guest, measure(guest), endorsed);
        }

        /** The SNP launches to endorse, checked before the (long) build starts. */
        private List<dev.coffer.runtime.sandbox.SnpSettings> snpLaunches() {
            if (snpOvmf == null) return List.of();
            if (!java.nio.file.Files.isRegularFile(snpOvmf)) {
                throw new UsageException("expected --snp-ovmf FILE to be the AmdSev OVMF build, found no file " + snpOvmf);
            }
            List<dev.coffer.runtime.sandbox.SnpSettings> out = new java.util.ArrayList<>();
            for (String type : snpCpuTypes) {
                for (int n : snpVcpus) {
                    try {
                        out.add(new dev.coffer.runtime.sandbox.SnpSettings(snpOvmf.toAbsolutePath(), type, n,
                                dev.coffer.runtime.sandbox.SnpSettings.DEFAULT_MEMORY_MIB, null, null, false));
                    } catch (IllegalArgumentException e) {
                        throw new UsageException(e.getMessage());
                    }
                }
            }
            return out;
        }
    }

    @Command(name = "measure", mixinStandardHelpOptions = true,
            description = {"Print the launch measurement of the built guest: SHA-384 over kernel, initramfs,",
                    "kernel command line and the agent disk's dm-verity root hash (the simulated secure processor's).",
                    "With --snp, the MEASUREMENT an AMD SEV-SNP secure processor computes for `coffer run --tee snp`",
                    "of this guest with the same --ovmf, --vcpus and --cpu-type: the reference value a key vault",
                    "pins or an endorsement states."},
            footer = {"", "Examples:", "  coffer guest measure", "  coffer guest measure -o json",
                    "  coffer guest measure --snp --ovmf /usr/share/ovmf/OVMF.amdsev.fd --vcpus 2 --cpu-type EPYC-Milan"})
    static final class Measure implements Runnable {
        @Spec
        CommandSpec spec;
        @picocli.CommandLine.ParentCommand
        GuestCommand parent;
        @Mixin
        CommonOptions common;
        @Mixin
        OutputOption output;

        @Option(names = "--snp", description = "The SEV-SNP launch's MEASUREMENT (QEMU direct boot through the AmdSev OVMF) "
                + "instead of the simulated one.")
        boolean snp;

        @Mixin
        dev.coffer.cli.doctor.SnpOptions snpOptions;

        @Override
        public void run() {
            GuestImage guest = parent.loadGuest();
            if (!snp) {
                printMeasured(spec.commandLine().getOut(), output, guest, measure(guest), List.of());
                return;
            }
            printSnpMeasured(spec.commandLine().getOut(), output, guest, snpSettings(snpOptions.settings()));
        }
    }

    /** The settings with the firmware resolved: --ovmf, else the first well-known AmdSev build present. */
    static dev.coffer.runtime.sandbox.SnpSettings snpSettings(dev.coffer.runtime.sandbox.SnpSettings s) {
        if (s.firmware() != null) {
            if (!java.nio.file.Files.isRegularFile(s.firmware())) {
                throw new UsageException("expected --ovmf FILE to be the AmdSev OVMF build, found no file " + s.firmware());
            }
            return s;
        }
        for (Path p : dev.coffer.runtime.sandbox.SnpSettings.WELL_KNOWN_FIRMWARE) {
            if (java.nio.file.Files.isRegularFile(p)) {
                return new dev.coffer.runtime.sandbox.SnpSettings(p, s.cpuType(), s.vcpus(), s.memoryMib(), s.idBlock(), s.idAuth(),
                        s.authorKey());
            }
        }
        throw new UsageException("expected an AmdSev OVMF build for the SNP measurement, found none at "
                + dev.coffer.runtime.sandbox.SnpSettings.WELL_KNOWN_FIRMWARE + "; give the one the SNP host boots with --ovmf FILE");
    }

    static void printSnpMeasured(PrintWriter out, OutputOption output, GuestImage guest, dev.coffer.runtime.sandbox.SnpSettings s) {
        byte[] measurement;
        var measured = dev.coffer.runtime.microvm.SnpLaunch.measured(guest, s);
        try {
            measurement = dev.coffer.runtime.microvm.SnpLaunch.launchMeasurement(guest, s);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new CofferException("expected " + e.getFile() + " for the SNP measurement, found none; rebuild the guest with"
                    + " `coffer guest build` (guests built before SNP support lack the bzImage)", e);
        } catch (IOException e) {
            throw new CofferException("cannot read the SNP launch's inputs: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            // a firmware that cannot launch or measure this guest (FirmwareFormatException), or a bad vCPU type
            throw new CofferException(e.getMessage(), e);
        }
        String hex = HexFormat.of().formatHex(measurement);
        if (output.json()) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("measurement", hex);
            j.put("tee", "snp");
            j.put("firmware", measured.firmware().toString());
            j.put("kernel", measured.kernel().toString());
            j.put("initrd", measured.initrd().toString());
            j.put("cmdline", measured.cmdline());
            j.put("vcpus", measured.vcpus());
            j.put("cpuType", measured.cpuType());
            j.put("guestFeatures", "0x" + Long.toHexString(measured.guestFeatures()));
            j.put("vmmType", measured.vmmType());
            Json.print(out, j);
            return;
        }
        out.println(hex);
        out.flush();
    }

    @Command(name = "boot-test", mixinStandardHelpOptions = true,
            description = {"Boot the built guest until the agent answers a ping over virtio-serial, beside a bare",
                    "boot of the same kernel and initramfs to init, and print the time split."},
            footer = {"", "Examples:", "  coffer guest boot-test", "  coffer guest boot-test --accel tcg --timeout 300 -o json"})
    static final class BootTestCommand implements Runnable {
        @Spec
        CommandSpec spec;
        @picocli.CommandLine.ParentCommand
        GuestCommand parent;
        @Mixin
        CommonOptions common;
        @Mixin
        OutputOption output;

        @Option(names = "--accel", paramLabel = "auto|kvm|tcg", defaultValue = "${env:COFFER_ACCEL:-auto}",
                description = "QEMU accelerator (default: $COFFER_ACCEL, else auto: kvm only with hardware KVM).")
        String accel;

        @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "240",
                description = "Give up on each boot after this many seconds (default: ${DEFAULT-VALUE}).")
        int timeoutSeconds;

        @Override
        public void run() {
            if (timeoutSeconds < 1) throw new UsageException("expected --timeout of at least 1 second, found " + timeoutSeconds);
            Accelerator.Choice choice;
            try {
                choice = Accelerator.choose(accel);
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
            GuestImage guest = parent.loadGuest();
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            err.println("accelerator: " + choice.accelerator().qemuName() + " (" + choice.reason() + ")");
            err.flush();
            BootTest.Timings t;
            try {
                t = BootTest.run(guest, choice.accelerator(), parent.home.get().resolve("run"), Duration.ofSeconds(timeoutSeconds));
            } catch (IOException e) {
                throw new CofferException("boot test failed: " + e.getMessage(), e);
            }
            if (output.json()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("accelerator", choice.accelerator().qemuName());
                m.put("bareBootToInitMs", t.bareToInitMs());
                m.put("bootToInitMs", t.toInitMs());
                m.put("rootSwitchedMs", t.toRootSwitchedMs());
                m.put("modulesLoadedMs", t.toModulesLoadedMs());
                m.put("agentStartingMs", t.toAgentStartingMs());
                m.put("agentJvmStartedMs", t.toJvmStartedMs());
                m.put("agentListeningMs", t.toAgentListeningMs());
                m.put("agentPhases", t.agentPhases());
                m.put("agentAnsweredMs", t.toAgentAnsweredMs());
                m.put("cofferOverheadMs", t.cofferOverheadMs());
                Json.print(out, m);
                return;
            }
            out.printf("bare boot to init:              %6d ms%n", t.bareToInitMs());
            out.printf("coffer guest, boot to init:     %6d ms%n", t.toInitMs());
            out.printf("  root switched to tmpfs:       %6d ms (+%d)%n", t.toRootSwitchedMs(), t.toRootSwitchedMs() - t.toInitMs());
            out.printf("  modules loaded, port found:   %6d ms (+%d)%n", t.toModulesLoadedMs(), t.toModulesLoadedMs() - t.toRootSwitchedMs());
            out.printf("  agent disk verified, mounted: %6d ms (+%d)%n", t.toAgentStartingMs(), t.toAgentStartingMs() - t.toModulesLoadedMs());
            out.printf("  agent JVM started:            %6d ms (+%d)%n", t.toJvmStartedMs(), t.toJvmStartedMs() - t.toAgentStartingMs());
            out.printf("  agent listening:              %6d ms (+%d, agent init: %s)%n",
                    t.toAgentListeningMs(), t.toAgentListeningMs() - t.toJvmStartedMs(),
                    t.agentPhases().isEmpty() ? "runtime probe, netns, policy" : t.agentPhases());
            out.printf("  agent answered ping:          %6d ms (+%d)%n", t.toAgentAnsweredMs(), t.toAgentAnsweredMs() - t.toAgentListeningMs());
            out.printf("coffer adds over the bare boot: %6d ms%n", t.cofferOverheadMs());
            out.flush();
        }
    }

    /** What `coffer guest build` does once the guest is built: endorse it and the process sandbox with the home key. */
    static List<GuestEndorsements.Entry> endorseBuilt(Path home, GuestImage guest) {
        try {
            return List.of(GuestEndorsements.endorseMicroVm(home, guest), GuestEndorsements.endorseProcessSandbox(home));
        } catch (IOException | RuntimeException e) {
            throw new CofferException("the guest was built in " + guest.dir() + " but could not be endorsed: " + e.getMessage()
                    + "; run `coffer guest endorse --microvm` and `coffer guest endorse --process` once the cause is fixed", e);
        }
    }

    static LaunchMeasurement measure(GuestImage guest) {
        try {
            return guest.measurement();
        } catch (IOException e) {
            throw new CofferException("cannot read the guest artifacts in " + guest.dir() + ": " + e.getMessage()
                    + "; run `coffer guest build` again", e);
        }
    }

    static void printMeasured(PrintWriter out, OutputOption output, GuestImage guest, LaunchMeasurement m,
                              List<GuestEndorsements.Entry> endorsed) {
        String measurement = HexFormat.of().formatHex(m.compute());
        if (output.json()) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("measurement", measurement);
            j.put("kernelVersion", guest.kernelVersion());
            j.put("cmdline", guest.cmdline());
            j.put("agentRootHash", guest.agentRootHash());
            List<Map<String, Object>> artifacts = new java.util.ArrayList<>();
            for (LaunchMeasurement.Artifact a : m.artifacts()) {
                Map<String, Object> am = new LinkedHashMap<>();
                am.put("name", a.name());
                am.put("length", a.length());
                am.put("sha384", a.sha384Hex());
                artifacts.add(am);
            }
            j.put("artifacts", artifacts);
            j.put("dir", guest.dir().toString());
            if (!endorsed.isEmpty()) {
                j.put("issuer", endorsed.getFirst().endorsement().issuer());
                j.put("feed", endorsed.getFirst().endorsement().feed());
                List<Map<String, Object>> es = new java.util.ArrayList<>();
                for (GuestEndorsements.Entry e : endorsed) {
                    Map<String, Object> em = new LinkedHashMap<>();
                    em.put("kind", e.kind());
                    em.put("measurement", e.endorsement().launchMeasurement());
                    em.put("guestSvn", e.endorsement().guestSvn());
                    em.put("file", e.file().toString());
                    es.add(em);
                }
                j.put("endorsements", es);
            }
            Json.print(out, j);
            return;
        }
        out.println(measurement);
        if (!endorsed.isEmpty()) {
            out.println("endorsed by " + endorsed.getFirst().endorsement().issuer() + " (feed " + endorsed.getFirst().endorsement().feed() + ")");
            for (GuestEndorsements.Entry e : endorsed) {
                out.println("  " + e.kind() + " " + e.endorsement().launchMeasurement() + " -> " + e.file());
            }
        }
        out.flush();
    }
}
