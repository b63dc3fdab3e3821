package dev.coffer.cli.doctor;

import dev.coffer.cli.CofferHome;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.runtime.preflight.Check;
import dev.coffer.runtime.preflight.HostProbe;
import dev.coffer.runtime.preflight.Preflights;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/** {@code coffer doctor}: what this host can run, isolation by isolation and TEE by TEE. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = {"Check this host for every isolation (process, microvm) and TEE (sim, snp) Coffer offers, and say",
                "for each what was found and, where something is missing, what to do. For SEV-SNP it checks the CPU",
                "(sev_snp, CPUID 0x8000001f), KVM and kvm_amd's sev_snp parameter, /dev/sev, QEMU >= 9.1 with its",
                "sev-snp-guest object, the AmdSev OVMF and its kernel hashes table, the built guest, and room for",
                "the guest's memory and vCPUs (the --ovmf, --vcpus, --memory, --cpu-type a run would use).",
                "Nothing is changed: it only reads /proc, /sys, /dev and the firmware, and asks QEMU."},
        footer = {"", "Exit codes: 0 everything is available; 1 something is not (the lines marked MISSING say what).",
                "", "Example:", "  coffer doctor", "  coffer doctor --ovmf /opt/edk2/OVMF.amdsev.fd --vcpus 4 -o json",
                "  coffer run --tee snp --check      # the SEV-SNP part alone"})
public final class DoctorCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Mixin
    OutputOption output;

    @Mixin
    SnpOptions snp;

    @Spec
    CommandSpec spec;

    private final Supplier<Path> home;
    private final Supplier<HostProbe> host;

    public DoctorCommand() {
        this(CofferHome::resolve, HostProbe::host);
    }

    /** For tests: another Coffer home, another host (a prepared directory tree). */
    public DoctorCommand(Supplier<Path> home, Supplier<HostProbe> host) {
        this.home = home;
        this.host = host;
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        List<Preflights.Feature> features = Preflights.doctor(host.get(), home.get(), snp.settings());
        boolean ready = features.stream().allMatch(Preflights.Feature::ready);
        if (output.json()) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("ready", ready);
            doc.put("features", features.stream().map(DoctorCommand::json).toList());
            Json.print(out, doc);
        } else {
            for (Preflights.Feature f : features) out.print(Preflights.render(f.name() + " " + f.kind(), f.checks()));
            out.println(ready ? "everything is available" : "not available: " + String.join(", ", features.stream()
                    .filter(f -> !f.ready()).map(f -> f.kind() + " " + f.name()).toList()));
            out.flush();
        }
        return ready ? 0 : 1;
    }

    static Map<String, Object> json(Preflights.Feature f) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", f.name());
        m.put("kind", f.kind());
        m.put("ready", f.ready());
        m.put("checks", f.checks().stream().map(DoctorCommand::json).toList());
        return m;
    }

    static Map<String, Object> json(Check c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", c.name());
        m.put("status", c.status().name().toLowerCase(java.util.Locale.ROOT));
        m.put("found", c.found());
        m.put("fix", c.fix());
        return m;
    }
}
