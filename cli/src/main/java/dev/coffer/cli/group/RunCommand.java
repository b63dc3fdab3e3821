package dev.coffer.cli.group;

import dev.coffer.cli.CofferException;
import dev.coffer.cli.CommonOptions;
import dev.coffer.runtime.group.ContainerRecord;
import dev.coffer.runtime.group.GroupHandle;
import dev.coffer.runtime.group.GroupManager;
import dev.coffer.runtime.group.GroupStatus;
import dev.coffer.runtime.group.RunOptions;
import dev.coffer.runtime.group.Isolation;
import dev.coffer.runtime.group.SandboxBackends;
import dev.coffer.runtime.group.StartupReport;
import dev.coffer.runtime.group.StartupTimes;
import dev.coffer.policy.spec.GroupSpec;
import dev.coffer.policy.spec.GroupSpecParser;
import dev.coffer.policy.spec.SpecException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

/** {@code coffer run GROUP.yaml [-d]}: start a container group in a sandbox. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Start the container group described by GROUP.yaml in a sandbox: the agent starts as",
                "a separate process, mounts each image's layers, and runs every container with runc or",
                "crun; the containers share one network namespace (localhost), like a pod.",
                "Without -d, follows the containers' logs and stops the group on Ctrl-C or when all",
                "containers have exited; with -d, returns once the group runs."},
        footer = {"", "Exit codes: 0 started (-d) or all containers exited 0; 1 failure or a container exited non-zero.",
                "", "Example:", "  coffer run web.yaml -d && coffer ps && coffer logs web server -f",
                "  coffer run web.yaml -d --tee sim && coffer attest group web",
                "  coffer run web.yaml --isolation microvm --startup-report",
                "  coffer run --tee snp --check --ovmf /usr/share/ovmf/OVMF.amdsev.fd",
                "  coffer run web.yaml -d --tee snp --vcpus 2 --cpu-type EPYC-Milan --memory 2048",
                "", "GROUP.yaml:",
                "  name: web",
                "  containers:",
                "    - name: server",
                "      image: demo:latest",
                "      command: [httpd, -f, -p, \"8080\"]",
                "      volumeMounts: [{name: data, mountPath: /data}]",
                "  volumes:",
                "    - name: data",
                "      emptyDir: {}"})
public final class RunCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "GROUP.yaml", description = "The group spec file (not needed with --check).")
    Path file;

    @Option(names = "--check",
            description = "With --tee snp: check this host for an SEV-SNP launch (CPU, KVM and kvm_amd's sev_snp, /dev/sev,"
                    + " QEMU >= 9.1 with sev-snp-guest, the AmdSev OVMF and its kernel hashes, the guest, memory and vCPUs),"
                    + " print what is missing and what to do, and exit: 0 ready, 1 not. Starts nothing.")
    boolean check;

    @picocli.CommandLine.Mixin
    dev.coffer.cli.doctor.SnpOptions snpOptions;

    @Option(names = {"-d", "--detach"}, description = "Return once the group runs; it keeps running after this command exits.")
    boolean detach;

    @Option(names = "--isolation", paramLabel = "KIND", defaultValue = "auto",
            description = "Sandbox: process (isolates nothing from the host), microvm (one QEMU VM per group; needs"
                    + " `coffer guest build`), or auto (default: microvm with a built guest and hardware KVM, else process).")
    String isolation;

    @Option(names = "--runtime", paramLabel = "RUNTIME", defaultValue = "auto",
            description = "OCI runtime for the agent: auto (runc, else crun), runc, crun, or a path to the binary.")
    String runtime;

    @Option(names = "--policy", paramLabel = "FILE", defaultValue = RunOptions.GENERATE,
            description = "The policy the agent enforces: generated from the spec and its images (default), a file"
                    + " from `coffer policy gen`, or allow-all (development: nothing enforced, the group is debuggable).")
    String policy;

    @Option(names = "--tee", paramLabel = "TEE", defaultValue = "auto",
            description = "Who measures the launch. sim: this $COFFER_HOME's simulated"
                    + " secure processor fixes MEASUREMENT and HOST_DATA = SHA-256(policy), so"
                    + " `coffer attest group` and key release work (simulated, not hardware). For a"
                    + " microVM MEASUREMENT covers kernel, initramfs, command line and agent disk."
                    + " snp: AMD SEV-SNP hardware (microvm only): QEMU's sev-snp-guest with the AmdSev OVMF, kernel"
                    + " hashes and HOST_DATA = SHA-256(policy); the host is checked first (see --check)."
                    + " none: no attestation, no SKR API. auto (default): sim.")
    String tee;

    @Option(names = "--vault", paramLabel = "URL",
            description = "Attestation service and key vault for encrypted volumes whose spec names none"
                    + " (authority:, vault:), e.g. http://127.0.0.1:8400 from `coffer server`. Prefer naming them"
                    + " in the spec: the policy then pins them.")
    String vault;

    @Option(names = "--startup-report",
            description = "Report where the start went, from this command to the first container output: CLI, prepare,"
                    + " VM boot, agent start, policy load, layer mount, container create and start. With microvm it first"
                    + " boots this guest's kernel and initramfs bare (to init, nothing of Coffer's) and reports that"
                    + " beside it, so what is above it is Coffer's own. Printed on stderr once the first output arrives"
                    + " (at once with -d); kept as startup-report.json in the group's directory for scripts.")
    boolean startupReport;

    @Option(names = "--grace", paramLabel = "SECONDS", defaultValue = "10",
            description = "Without -d: seconds containers get between SIGTERM and SIGKILL when stopping (default: ${DEFAULT-VALUE}).")
    int graceSeconds;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        boolean snp = tee.equals(RunOptions.TEE_SNP);
        dev.coffer.runtime.sandbox.SnpSettings snpSettings = snp ? snpOptions.settings() : null;
        if (check) {
            if (!snp) throw new dev.coffer.cli.UsageException("expected --check with --tee snp (the check of an SEV-SNP host),"
                    + " found --tee " + tee + "; `coffer doctor` checks every isolation and TEE");
            return snpCheck(out, snpSettings);
        }
        if (file == null) throw new dev.coffer.cli.UsageException("expected GROUP.yaml, found none; see `coffer run --help`");
        GroupSpec group;
        try {
            group = GroupSpecParser.parse(file);
        } catch (SpecException e) {
            throw new CofferException(e.getMessage());
        }
        String backend;
        if (snp) {
            if (!isolation.equals(Isolation.AUTO) && !isolation.equals(dev.coffer.runtime.microvm.MicroVmSandboxBackend.NAME)) {
                throw new dev.coffer.cli.UsageException("expected --isolation microvm (or auto) with --tee snp, found --isolation "
                        + isolation + "; an SEV-SNP guest is a virtual machine");
            }
            isolation = dev.coffer.runtime.microvm.MicroVmSandboxBackend.NAME;
            // before anything is prepared or started: what this host lacks, rather than QEMU's first complaint
            dev.coffer.runtime.preflight.SnpPreflight.Result host = preflight(snpSettings);
            if (!host.ready()) {
                err.print(host.render());
                err.flush();
                throw new CofferException("cannot run group " + group.name() + " on SEV-SNP: this host is not ready ("
                        + String.join(", ", host.failing().stream().map(dev.coffer.runtime.preflight.Check::name).toList())
                        + "); fix what is MISSING above, then check again with `coffer run --tee snp --check`");
            }
        }
        try {
            Isolation.Choice choice = Isolation.choose(isolation, dev.coffer.cli.CofferHome.resolve());
            backend = choice.backend();
            if (!choice.reason().equals("requested")) err.println("coffer: isolation " + backend + " (" + choice.reason() + ")");
            err.println("coffer: " + SandboxBackends.byName(backend).isolationNotice());
            if (snp) err.println("coffer: tee snp: the guest's memory is encrypted and integrity-protected by AMD SEV-SNP;"
                    + " the host cannot read or change it");
            err.flush();
        } catch (IllegalArgumentException e) {
            throw new dev.coffer.cli.UsageException(e.getMessage());
        }
        String teeValue = teeChoice(backend);
        GroupManager manager = Groups.manager();
        Duration grace = Duration.ofSeconds(Math.max(0, graceSeconds));
        AtomicBoolean stopped = new AtomicBoolean();
        // Ctrl-C (SIGINT/SIGTERM): the JVM runs this hook. It takes the group lock, so a Ctrl-C
        // during startup waits for run() to finish and then stops what it started.
        Thread hook = new Thread(() -> {
            if (stopped.compareAndSet(false, true)) stopOnSignal(manager, group.name(), grace, err);
        }, "coffer-stop-" + group.name());
        Runtime.getRuntime().addShutdownHook(hook);
        long bareWallNanos = 0;
        Long bareBootMs = null;
        if (startupReport && backend.equals("microvm")) {
            long t = System.nanoTime();
            bareBootMs = bareBoot(err);
            bareWallNanos = System.nanoTime() - t;
        }
        GroupHandle handle;
        try {
            handle = manager.run(group, RunOptions.defaults().withIsolation(backend).withOciRuntime(runtime)
                    .withPolicy(policy.equals(RunOptions.GENERATE) || policy.equals(RunOptions.ALLOW_ALL) ? policy
                            : Path.of(policy).toAbsolutePath().toString())
                    .withSpecFile(file.toAbsolutePath().toString()).withTee(teeValue).withSnp(snpSettings)
                    .withVault(vault == null ? "" : vault));
        } catch (IOException e) {
            stopped.set(true);
            removeHook(hook);
            throw Groups.failure(e);
        }
        long running = System.nanoTime();
        GroupStatus status = status(manager, group.name());
        out.println("group " + group.name() + " running: " + status.containers().stream()
                .map(c -> c.name() + (c.pid() == null ? "" : " (pid " + c.pid() + ")")).collect(Collectors.joining(", "))
                + "; runtime " + handle.ociRuntime() + "; policy enforcer " + handle.enforcer());
        if (!status.tee().equals(RunOptions.TEE_NONE)) {
            out.println("tee: " + status.tee() + (status.tee().equals(RunOptions.TEE_SIM) ? " (simulated, not a hardware TEE)" : "")
                    + "; measurement " + (status.measurement().isEmpty() ? "(in the hardware's reports: `coffer attest group "
                    + group.name() + "`)" : status.measurement()) + "; host data " + status.hostData()
                    + (status.skrPort() == null ? "; no SKR API" : "; SKR API on 127.0.0.1:" + status.skrPort() + " inside the group"));
        }
        // what the scratch is, as the runtime recorded it: never reported encrypted when it was not
        try {
            dev.coffer.runtime.group.ScratchRecord scratch = manager.scratch(group.name());
            if (scratch != null) out.println("scratch: " + scratch.describe());
        } catch (IOException e) {
            out.println("scratch: unknown (its record is unreadable: " + e.getMessage() + "); treat it as unencrypted");
        }
        List<String> ports = group.containers().stream().flatMap(c -> c.ports().stream()
                .filter(p -> p.protocol().equals("TCP")).map(p -> "127.0.0.1:" + p.containerPort() + " -> " + c.name())).toList();
        if (!ports.isEmpty()) out.println("ports: " + String.join(", ", ports));
        if (!group.skr().endpoints().isEmpty()) out.println("skr endpoints: " + String.join(", ", group.skr().endpoints()));
        out.flush();
        StartupTimes times = null;
        try {
            times = manager.startupTimes(group.name());
            if (times != null) err.println("coffer: " + times.summary());
        } catch (IOException e) {
            // the timing is informative only
        }
        err.flush();
        // what the CLI itself took up to the group running: its JVM's start, the spec, state and locks
        long cliMs = ms(running - bareWallNanos) - processStartNanos() / 1_000_000 - (times == null ? 0 : times.totalMs());
        StartupReportSink report = !startupReport || times == null ? null
                : new StartupReportSink(manager, group.name(), times, Math.max(0, cliMs), bareBootMs, running, err);
        if (detach) {
            if (report != null) report.print(null);
            if (stopped.compareAndSet(false, true)) removeHook(hook);
            try {
                manager.detach(group.name());
            } catch (IOException e) {
                throw Groups.failure(e);
            }
            out.println("follow the logs with `coffer logs " + group.name() + " -f`, stop with `coffer stop " + group.name() + "`");
            out.flush();
            return 0;
        }
        return followAndStop(manager, group.name(), grace, stopped, hook, out, report);
    }

    /** Boots the guest bare for the startup report's baseline; refuses to go on without it. */
    private static Long bareBoot(PrintWriter err) {
        err.println("coffer: startup report: booting this guest's kernel and initramfs bare, to init, for the baseline ...");
        err.flush();
        java.nio.file.Path home = dev.coffer.cli.CofferHome.resolve();
        try {
            dev.coffer.runtime.guest.GuestImage guest = dev.coffer.runtime.guest.GuestImage.load(home.resolve("guest"));
            dev.coffer.runtime.microvm.Accelerator accel = dev.coffer.runtime.microvm.Accelerator.choose(System.getenv("COFFER_ACCEL")).accelerator();
            return dev.coffer.runtime.microvm.BootTest.bareBootToInitMs(guest, accel, home.resolve("run"), Duration.ofSeconds(240));
        } catch (IOException | RuntimeException e) {
            throw new CofferException("expected a bare boot of the guest for --startup-report, found it failing: " + e.getMessage()
                    + "; try `coffer guest boot-test`, or run without --startup-report", e);
        }
    }

    /** This process's start on the System.nanoTime() clock, so the CLI's own JVM start is counted (see ProcessStart). */
    private static long processStartNanos() {
        return ProcessStart.nanos();
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }

    /** Prints the startup report and keeps it as JSON, once: at the first container output, or at once with -d. */
    private static final class StartupReportSink {
        private final GroupManager manager;
        private final String group;
        private final StartupTimes times;
        private final long cliMs;
        private final Long bareBootMs;
        private final long runningNanos;
        private final PrintWriter err;
        private boolean done;

        StartupReportSink(GroupManager manager, String group, StartupTimes times, long cliMs, Long bareBootMs, long runningNanos,
                          PrintWriter err) {
            this.manager = manager;
            this.group = group;
            this.times = times;
            this.cliMs = cliMs;
            this.bareBootMs = bareBootMs;
            this.runningNanos = runningNanos;
            this.err = err;
        }

        /** @param firstOutputNanos when the first container output arrived, or null when not followed */
        synchronized void print(Long firstOutputNanos) {
            if (done) return;
            done = true;
            StartupReport r = new StartupReport(times, cliMs, bareBootMs, firstOutputNanos == null ? null : ms(firstOutputNanos - runningNanos));
            err.print("coffer: " + r.render(group));
            try {
                err.println("coffer: startup report kept in " + manager.writeStartupReport(group, r));
            } catch (IOException e) {
                err.println("coffer: cannot keep the startup report: " + e.getMessage());
            }
            err.flush();
        }
    }

    private String teeChoice(String backend) {
        if (tee.equals("auto")) {
            return RunOptions.TEE_SIM;
        }
        if (!List.of(RunOptions.TEE_NONE, RunOptions.TEE_SIM, RunOptions.TEE_SNP).contains(tee)) {
            throw new dev.coffer.cli.UsageException("expected --tee none|sim|snp|auto, found \"" + tee + "\"");
        }
        return tee;
    }

    /** The SEV-SNP preflight of this host for {@code settings}, with this home's guest. */
    private static dev.coffer.runtime.preflight.SnpPreflight.Result preflight(dev.coffer.runtime.sandbox.SnpSettings settings) {
        return dev.coffer.runtime.preflight.SnpPreflight.check(dev.coffer.runtime.preflight.HostProbe.host(), settings,
                dev.coffer.cli.CofferHome.resolve().resolve("guest"));
    }

    /** {@code --tee snp --check}: the preflight on one screen; 0 when ready. */
    private static int snpCheck(PrintWriter out, dev.coffer.runtime.sandbox.SnpSettings settings) {
        dev.coffer.runtime.preflight.SnpPreflight.Result r = preflight(settings);
        out.print(r.render());
        if (r.ready()) {
            out.println("this host can launch SEV-SNP groups: coffer run GROUP.yaml --tee snp");
        }
        out.flush();
        return r.ready() ? 0 : 1;
    }

    private static void stopOnSignal(GroupManager manager, String name, Duration grace, PrintWriter err) {
        try {
            err.println("coffer: stopping group " + name + " ...");
            err.flush();
            GroupManager.StopOutcome outcome = manager.stop(name, grace);
            err.println("coffer: group " + name + " stopped" + (outcome.alreadyStopped() ? " already" : ""));
            if (outcome.forced()) err.println("coffer: stop forced: " + outcome.forcedBecause());
        } catch (IOException | RuntimeException e) {
            // the group may not exist yet (interrupted before it started) or be gone already
            err.println("coffer: stopping group " + name + ": " + e.getMessage());
        }
        err.flush();
    }

    private static void removeHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the JVM is already exiting; the hook runs (and finds nothing to do)
        }
    }

    private int followAndStop(GroupManager manager, String name, Duration grace, AtomicBoolean stopped, Thread hook,
                              PrintWriter out, StartupReportSink report) {
        try {
            manager.logs(name, null, true, line -> {
                long at = System.nanoTime();
                out.println(line);
                out.flush();
                if (report != null) report.print(at);
            });
        } catch (IOException e) {
            throw Groups.failure(e);
        }
        if (!stopped.compareAndSet(false, true)) {
            return 1; // the hook is stopping the group: we were interrupted
        }
        removeHook(hook);
        if (report != null) report.print(null); // no output at all: report up to the group running
        GroupManager.StopOutcome outcome;
        try {
            outcome = manager.stop(name, grace);
        } catch (IOException e) {
            throw Groups.failure(e);
        }
        List<ContainerRecord> finals = outcome.containers();
        String summary = finals.stream().map(c -> c.name() + " exited " + Groups.exit(c)).collect(Collectors.joining(", "));
        out.println("group " + name + " stopped: " + summary);
        if (outcome.forced()) out.println("stop forced: " + outcome.forcedBecause());
        out.flush();
        List<ContainerRecord> failed = finals.stream().filter(c -> c.exitCode() == null || c.exitCode() != 0).toList();
        if (!failed.isEmpty()) {
            throw new CofferException("expected every container of " + name + " to exit 0, found " + failed.stream()
                    .map(c -> c.name() + " exited " + Groups.exit(c)).collect(Collectors.joining(", "))
                    + "; see `coffer logs " + name + "`");
        }
        return 0;
    }

    private static GroupStatus status(GroupManager manager, String name) {
        try {
            return manager.status(name);
        } catch (IOException e) {
            throw Groups.failure(e);
        }
    }
}
