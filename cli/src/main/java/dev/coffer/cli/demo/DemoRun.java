package dev.coffer.cli.demo;

import dev.coffer.oci.layout.ImageBuilder;
import dev.coffer.oci.layout.TarLayer;
import dev.coffer.oci.reference.ImageReference;
import dev.coffer.oci.store.ImageConfig;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.oci.store.LocalImage;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.StoreImageSource;
import dev.coffer.policy.model.GroupPolicyInput;
import dev.coffer.runtime.group.ContainerRecord;
import dev.coffer.runtime.guest.GuestBuildException;
import dev.coffer.runtime.guest.GuestBuilder;
import dev.coffer.runtime.guest.GuestImage;
import dev.coffer.runtime.group.GroupException;
import dev.coffer.runtime.group.GroupHandle;
import dev.coffer.runtime.group.GroupManager;
import dev.coffer.runtime.group.GroupStatus;
import dev.coffer.runtime.group.RunOptions;
import dev.coffer.runtime.group.StartupTimes;
import dev.coffer.policy.spec.GroupSpec;
import dev.coffer.policy.spec.GroupSpecParser;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The demo's steps, in order. A step that fails ends the run (later steps depend on it), but
 * the group is always stopped and removed so a failed demo leaves nothing behind.
 */
final class DemoRun {
    static final String GROUP = "coffer-demo";
    static final String IMAGE = "localhost/coffer-demo/web:1";
    static final String PAGE = "hello from inside the coffer\n";

    private final Path home;
    private final String isolation;
    private final PrintWriter live;
    private final List<DemoReport.Step> steps = new ArrayList<>();
    private final GroupManager groups;
    private final DemoTrust trust;

    /** @param live where to print each step as it ends, or null to stay quiet (JSON mode) */
    DemoRun(Path home, String isolation, PrintWriter live) {
        this.home = home;
        this.isolation = isolation;
        this.live = live;
        this.groups = new GroupManager(home);
        this.trust = new DemoTrust(home, isolation, groups);
        this.cannotEncryptScratch = dev.coffer.runtime.group.Isolation.encryptedScratchUnavailable(isolation);
    }

    /** Why this sandbox cannot encrypt the demo groups' scratch on this host, or null when it can. */
    private final String cannotEncryptScratch;

    /**
     * The spec section saying what scratch the demo's groups accept: none where the sandbox can
     * encrypt it (the policy then refuses plaintext scratch, the default); where it cannot (the
     * process sandbox without device-mapper), unencrypted, said explicitly so the generated
     * policy allows it: otherwise the run is refused before any container, as it should be.
     */
    static String scratchSection(String isolation) {
        return dev.coffer.runtime.group.Isolation.encryptedScratchUnavailable(isolation) == null ? ""
                : "scratch: {allowUnencrypted: true}\n";
    }

    /** What the demo group's scratch turned out to be (read back from the runtime's record), once started. */
    private dev.coffer.runtime.group.ScratchRecord scratch;

    @FunctionalInterface
    interface StepBody {
        String run() throws Exception;
    }

    DemoReport execute() {
        if (live != null) {
            live.println("Coffer demo: isolation " + isolation + ", TEE " + trust.tee() + (isolation.equals("process")
                    ? " (process sandbox: isolates nothing from the host; the TEE is simulated, not hardware)"
                    : " (microVM without SEV-SNP: the host can read its memory; the TEE is simulated, not hardware)"));
            if (cannotEncryptScratch != null) {
                live.println("scratch UNENCRYPTED: the groups' writable layers and emptyDirs will be plain files on the host,"
                        + " so their specs say scratch: {allowUnencrypted: true}; " + cannotEncryptScratch);
            }
            live.flush();
        }
        trust.startVault();
        try {
            boolean ok = (!isolation.equals("microvm") || step("guest-ready", this::guestReady))
                    && step("image-built", this::buildImage)
                    && step("image-imported", this::importImage)
                    && step("policy-generated", this::generatePolicy)
                    && step("group-started", this::startGroup)
                    && step("policy-enforced", this::policyEnforced)
                    && step("client-reached-server", this::clientReachedServer)
                    && step("hostile-request-denied", this::hostileRequestDenied)
                    && step("attested", () -> trust.attested(GROUP))
                    && step("key-released", () -> trust.keyReleased(GROUP))
                    && step("key-refused-unendorsed-guest", () -> trust.keyRefusedUnendorsedGuest(GROUP))
                    && step("key-refused-modified-policy", () -> trust.keyRefusedModifiedPolicy(IMAGE))
                    && step("encrypted-volume-mounted", () -> trust.encryptedVolumeMounted(IMAGE, isolation));
        } finally {
            step("group-stopped", this::stopGroup);
            trust.close();
        }
        return new DemoReport(isolation, trust.tee(), scratch, steps);
    }

    private boolean step(String name, StepBody body) {
        long start = System.nanoTime();
        String detail;
        boolean ok;
        boolean skipped = false;
        try {
            detail = body.run();
            ok = true;
        } catch (DemoReport.Skipped e) {
            detail = "skipped: " + e.getMessage();
            ok = false;
            skipped = true;
        } catch (Exception e) {
            detail = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            ok = false;
        }
        steps.add(new DemoReport.Step(name, ok, skipped, detail));
        if (live != null) {
            long ms = (System.nanoTime() - start) / 1_000_000;
            live.printf("  %-4s %-27s %s (%d ms)%n", ok ? "ok" : skipped ? "skip" : "FAIL", name, detail, ms);
            live.flush();
        }
        return ok || skipped;
    }

    /** The microVM's guest: built once per Coffer home (packages installed and announced), then reused. */
    private String guestReady() throws IOException {
        Path dir = home.resolve("guest");
        GuestImage guest = null;
        String what = "guest in ";
        try {
            guest = GuestImage.load(dir);
            guest.requireCurrentAgent();
        } catch (GuestBuildException e) {
            // not built yet, unusable, or built by another Coffer: build it
            guest = null;
        }
        if (guest == null) {
            if (live != null) {
                live.println("  ..   guest-ready              building the guest (once; about a minute)");
                live.flush();
            }
            guest = new GuestBuilder(dir, step -> { }).build();
            what = "guest built in ";
        }
        // the baseline the group's start is compared with: this kernel and initramfs, booted bare to init
        bareBootMs = dev.coffer.runtime.microvm.BootTest.bareBootToInitMs(guest,
                dev.coffer.runtime.microvm.Accelerator.choose(System.getenv("COFFER_ACCEL")).accelerator(),
                home.resolve("run"), java.time.Duration.ofSeconds(240));
        return what + dir + " (measurement " + HexFormat.of().formatHex(guest.measurement().compute()).substring(0, 16)
                + "…); bare boot to init " + String.format(java.util.Locale.ROOT, "%.1f s", bareBootMs / 1e3);
    }

    /** The bare boot of the guest to init, for microVM runs. */
    private Long bareBootMs;

    private Path layout;

    private String buildImage() throws IOException {
        Path busybox = Path.of("/bin/busybox");
        requireBusybox();
        Path dir = Files.createTempDirectory(home, "demo-image-");
        layout = demoImage().writeLayout(dir.resolve("layout"), "1");
        return "OCI layout with one layer (busybox " + Files.size(busybox) / 1024 + " KiB + a web page)";
    }

    /** The demo image's one layer: the host's static busybox with the applets the demo runs, and the web page. */
    static TarLayer demoLayer() {
        TarLayer layer = new TarLayer()
                .dir("bin", 0755)
                .file("bin/busybox", Path.of("/bin/busybox"), 0755)
                .dir("www", 0755)
                .file("www/index.html", PAGE, 0644)
                .dir("tmp", 01777);
        for (String applet : java.util.stream.Stream.concat(java.util.stream.Stream.of("sh", "httpd", "wget", "cat", "echo", "sleep", "seq", "ls", "ps", "id"),
                DemoTrust.APPLETS.stream()).toList()) {
            layer.symlink("bin/" + applet, "busybox");
        }
        return layer;
    }

    /** The demo image (built offline, nothing pulled): {@link #demoLayer()}, a shell by default, port 8080 declared. */
    static ImageBuilder demoImage() {
        ImageConfig config = new ImageConfig(List.of(), List.of("/bin/sh"), List.of("PATH=/bin"), "/", "",
                List.of("8080/tcp"), Map.of("org.opencontainers.image.title", "coffer demo"), "linux", "amd64");
        return new ImageBuilder().layer(demoLayer()).config(config);
    }

    /** Fails with what to install when the static busybox the demo image is built from is missing. */
    static void requireBusybox() throws IOException {
        if (!Files.isExecutable(Path.of("/bin/busybox"))) {
            throw new IOException("expected the static busybox at /bin/busybox, found none;"
                    + " install it with: apt-get install --no-install-recommends busybox-static");
        }
    }

    private String importImage() throws IOException {
        try (ImageStore store = ImageStore.open(home)) {
            LocalImage image = store.importArchive(layout, ImageReference.parse(IMAGE), null);
            return IMAGE + " " + image.manifestDigest();
        } finally {
            deleteTree(layout.getParent());
        }
    }

    private GroupHandle handle;
    private GeneratedPolicy policy;
    private Path policyFile;

    private String specYaml() {
        return """
                name: %s
                containers:
                  - name: server
                    image: %s
                    command: [httpd, -f, -p, "127.0.0.1:8080", -h, /www]
                  - name: client
                    image: %s
                    command: [sh, -c]
                    args:
                      - "for i in $(seq 1 100); do wget -q -O - http://127.0.0.1:8080/ && exit 0; sleep 0.1; done; echo 'server never answered' >&2; exit 1"
                """.formatted(GROUP, IMAGE, IMAGE) + trust.specAddition(IMAGE) + scratchSection(isolation);
    }

    /** What `coffer policy gen` does: pin every layer's dm-verity root, argv, env and mounts of each container. */
    private String generatePolicy() throws IOException {
        try (ImageStore store = ImageStore.open(home)) {
            policy = new PolicyGenerator(new StoreImageSource(store)).generate(
                    GroupPolicyInput.parse(specYaml(), "demo group"), false);
        }
        policyFile = home.resolve("demo-policy.rego");
        Files.write(policyFile, policy.bytes());
        return "policy for containers server, client (layers pinned by dm-verity root hash, argv and env exact);"
                + " HOST_DATA sha256:" + policy.sha256();
    }

    private String startGroup() throws IOException {
        cleanupPrevious();
        GroupSpec spec = GroupSpecParser.parse(specYaml(), "demo group");
        String endorsed = trust.endorseLaunch(spec);
        handle = groups.run(spec, RunOptions.defaults().withIsolation(isolation).withPolicy(policyFile.toString())
                .withTee(trust.tee()));
        DemoTrust.requireEndorsed(GROUP, endorsed, groups.status(GROUP));
        scratch = groups.scratch(GROUP);
        if (scratch == null) throw new IOException("expected the runtime to record the group's scratch, found no record");
        StartupTimes times = groups.startupTimes(GROUP);
        return "group " + GROUP + " with containers server, client (OCI runtime " + handle.ociRuntime() + "); scratch "
                + scratch.describe()
                + (times == null ? "" : "; " + times.summary()
                + (bareBootMs == null ? "" : String.format(java.util.Locale.ROOT, "; Coffer adds %.1f s over the bare boot (%.1f s)",
                        (times.totalMs() - bareBootMs) / 1e3, bareBootMs / 1e3)));
    }

    /** The agent reports which policy it enforces; it must be the generated one, and it has judged every request so far. */
    private String policyEnforced() throws IOException {
        String expected = "policy sha256:" + policy.sha256();
        if (!expected.equals(handle.enforcer())) {
            throw new IOException("expected the agent to enforce " + expected + ", found it reporting " + handle.enforcer());
        }
        List<dev.coffer.policy.enforce.DecisionLogEntry> log;
        try {
            log = groups.policyLog(GROUP);
        } catch (dev.coffer.runtime.group.GroupException e) {
            // a microVM keeps its decision log inside unless the policy allows runtime logging, and this one does not
            return "the agent enforces the generated policy; its decision log stays inside the sandbox (" + e.getMessage() + ")";
        }
        if (log.isEmpty()) {
            throw new IOException("expected the agent's decision log to record the launch's requests, found it empty");
        }
        long allowed = log.stream().filter(e -> e.allowed()).count();
        var rules = log.stream().map(e -> e.rule()).distinct().toList();
        return "the agent enforces the generated policy; " + allowed + " of " + log.size() + " host requests allowed so far ("
                + String.join(", ", rules) + ")";
    }

    /**
     * A host acting against the group: it asks the agent to run a shell in the server
     * container, which the policy does not list. The agent must refuse and say why.
     */
    private String hostileRequestDenied() throws IOException {
        try {
            handle.exec("server", List.of("sh", "-c", "cat /www/index.html"), Duration.ofSeconds(20));
        } catch (GroupException e) {
            String reason = e.getMessage();
            if (!reason.contains("denied")) throw e;
            int at = reason.indexOf("exec_in_container");
            String shown = at >= 0 ? reason.substring(at) : reason;
            return "host asked to exec `sh -c 'cat /www/index.html'` in server: " + firstLine(shown);
        }
        throw new IOException("expected the policy to refuse an exec the group spec does not list, found it allowed;"
                + " the agent is not enforcing the policy");
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        String line = nl < 0 ? s : s.substring(0, nl);
        return line.length() > 240 ? line.substring(0, 240) + "…" : line;
    }

    private String clientReachedServer() throws IOException {
        ContainerRecord client = handle.waitFor("client", Duration.ofSeconds(60));
        String log = handle.logs("client");
        if (client.exitCode() == null) {
            throw new IOException("the client container did not finish within 60 s (state " + client.state() + ")");
        }
        if (client.exitCode() != 0 || !log.contains(PAGE.strip())) {
            throw new IOException("expected the client to print the server's page and exit 0; found exit code "
                    + client.exitCode() + " and output: " + log.strip());
        }
        return "client fetched \"" + PAGE.strip() + "\" from the server over localhost, exit code 0";
    }

    private String stopGroup() throws IOException {
        if (handle == null) {
            cleanupPrevious();
            return "nothing to stop";
        }
        // busybox httpd as PID 1 ignores SIGTERM; a short grace keeps the demo quick.
        GroupManager.StopOutcome outcome = groups.stop(GROUP, Duration.ofSeconds(2));
        handle.rm();
        if (outcome.forced()) {
            // the sandbox is gone either way, but an agent that did not answer its stop is a failure of the demo
            throw new IOException("the agent did not stop the group itself; stop forced: " + outcome.forcedBecause()
                    + " (the sandbox was removed; see the guest console or agent log)");
        }
        return "stopped and removed " + outcome.containers().size() + " containers; no processes or mounts left";
    }

    /** A demo interrupted earlier may have left its group; take it down first. */
    private void cleanupPrevious() throws IOException {
        for (GroupStatus g : groups.list()) {
            if (g.name().equals(GROUP)) {
                groups.rm(GROUP, true);
            }
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (dir == null || !Files.exists(dir)) return;
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
