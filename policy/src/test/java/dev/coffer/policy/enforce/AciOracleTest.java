package dev.coffer.policy.enforce;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.re2j.Pattern;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Microsoft's framework as the oracle: every policy `az confcom` wrote for its samples, every
 * request an honest ACI host sends for it (with Azure's full input field sets), and every field
 * of those requests tampered, must get the same verdict from Coffer's framework as from
 * hcsshim's, both evaluated by Coffer's Rego engine. The only verdicts allowed to differ are
 * the ones where Coffer is stricter on purpose (README, "Compatibility with ACI"), and each
 * such difference is named here and must stay a Coffer deny.
 */
class AciOracleTest {
    static final Path SAMPLES = MicrosoftFramework.ACI.resolve("confcom-samples");
    static final String SANDBOX = EnforcerOptions.DEFAULT_SANDBOX_DIR;

    /** Both frameworks side by side, each with its own state. */
    static final class Pair {
        final PolicyEnforcer coffer;
        final MicrosoftFramework microsoft;
        final List<String> differences = new ArrayList<>();
        String lastReason = "";

        Pair(String policy) {
            coffer = PolicyEnforcer.load(policy);
            microsoft = new MicrosoftFramework(policy);
        }

        /** Decides on both; the verdicts must agree (or differ only as documented); commits when both allow. */
        boolean step(String what, EnforcementRequest request, Set<String> stricterOnPurpose) {
            return step(what, request, request, stricterOnPurpose);
        }

        /**
         * {@code asAzureSendsIt} is the same request as Azure's host spells it, where Coffer's
         * spelling differs (an exec that inherits its container's settings leaves them out).
         */
        boolean step(String what, EnforcementRequest request, EnforcementRequest asAzureSendsIt, Set<String> stricterOnPurpose) {
            Decision ours = coffer.decide(request);
            lastReason = ours.allowed() ? "" : ours.reason();
            ObjectNode input = RequestCodec.toInput(asAzureSendsIt);
            if (request instanceof EnforcementRequest.CreateContainer) {
                input.put("sandboxDir", SANDBOX).put("hugePagesDir", SANDBOX + "/hugepages");
            }
            MicrosoftFramework.Verdict theirs = microsoft.decide(request.rule(), input);
            if (ours.allowed() != theirs.allowed()) {
                if (!ours.allowed() && stricterOnPurpose.contains(what)) {
                    differences.add(what);
                } else {
                    fail(what + ": Coffer " + (ours.allowed() ? "allows" : "denies (" + ours.reason() + ")")
                            + ", Microsoft's framework " + (theirs.allowed() ? "allows" : "denies") + "; input " + input);
                }
            }
            if (ours.allowed() && theirs.allowed()) {
                coffer.commit(ours);
                microsoft.commit(theirs);
                return true;
            }
            if (ours.allowed()) coffer.rollback(ours);
            return false;
        }

        boolean step(String what, EnforcementRequest request) {
            return step(what, request, Set.of());
        }
    }

    static List<Path> samplePolicies() {
        try (Stream<Path> dirs = Files.list(SAMPLES)) {
            List<Path> out = new ArrayList<>();
            for (Path d : dirs.filter(Files::isDirectory).sorted().toList()) {
                try (Stream<Path> files = Files.list(d)) {
                    files.filter(f -> f.getFileName().toString().matches("policy.*\\.rego")).sorted().forEach(out::add);
                }
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * az confcom writes {@code "command": null} for an image without a command, which neither
     * framework lets run; the same policy with a command filled in exercises those containers'
     * mounts, environment and capabilities too.
     */
    static final String FILLED_COMMAND = "[\"/bin/app\", \"--serve\"]";

    static String withCommands(String policy) {
        return policy.replace("\"command\":null", "\"command\":" + FILLED_COMMAND);
    }

    /**
     * No sample has exec processes (probes) or signals; the same policy with one exec process
     * and signals, as az confcom writes them for an exec probe, exercises exec and signal.
     */
    static String withExecAndSignals(String policy) {
        return withCommands(policy).replace("\"exec_processes\":[]", "\"exec_processes\":[{\"command\":[\"/bin/health\",\"--quick\"],\"signals\":[15]}]")
                .replace("\"signals\":[],\"user\"", "\"signals\":[9,15],\"user\"");
    }

    static String docsSamplePolicy() {
        try {
            return new String(Files.readAllBytes(MicrosoftFramework.ACI.resolve("confcom-docs/sample-policy-output.rego")),
                    java.nio.charset.StandardCharsets.UTF_16);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every sample policy, as written and with its null commands filled in, by name. */
    static Map<String, String> policyTexts(boolean allVariants) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Path f : samplePolicies()) {
            if (!allVariants && !f.getFileName().toString().equals("policy.rego")) continue;
            String text = MicrosoftFramework.read(f);
            String name = SAMPLES.relativize(f).toString();
            out.put(name, text);
            out.put(name + " (commands filled in, exec processes and signals added)", withExecAndSignals(text));
        }
        out.put("confcom-docs/sample-policy-output.rego", docsSamplePolicy());
        return out;
    }

    // ---------------------------------------------------------------------------------------------
    // requests an honest ACI host sends for a policy container

    static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        if (array != null) array.forEach(n -> out.add(n.asText()));
        return out;
    }

    /** A value an honest host would send for an env rule, or null when none is derived. */
    static String envValue(JsonNode rule) {
        String pattern = rule.get("pattern").asText();
        if (rule.get("strategy").asText().equals("string")) return pattern;
        String candidate = pattern.replace("(?i)", "").replace("(E)?", "E").replaceAll("\\(([A-Za-z_]+)\\)", "$1")
                .replace(".+", "x1").replace(".*", "").replace("\\.", ".").replace("^", "").replace("$", "");
        return Pattern.compile(pattern).matcher(candidate).matches() ? candidate : null;
    }

    static List<String> honestEnv(JsonNode container) {
        Set<String> env = new LinkedHashSet<>();
        for (JsonNode rule : container.path("env_rules")) {
            String v = envValue(rule);
            if (v != null) env.add(v);
        }
        return List.copyOf(env);
    }

    /** The container's policy mounts with concrete sources, then the CRI mounts every container gets. */
    static List<EnforcementRequest.Mount> honestMounts(JsonNode container, boolean elevated) {
        List<EnforcementRequest.Mount> out = new ArrayList<>();
        for (JsonNode m : container.path("mounts")) {
            String source = m.get("source").asText();
            if (source.startsWith("sandbox://")) source = SANDBOX + source.substring("sandbox://".length()).replace(".+", "vol-1");
            out.add(new EnforcementRequest.Mount(m.get("destination").asText(), source, m.get("type").asText(), strings(m.get("options"))));
        }
        JsonNode data = data();
        for (JsonNode m : data.get(elevated ? "privilegedMounts" : "defaultMounts")) {
            out.add(new EnforcementRequest.Mount(m.get("destination").asText(), m.get("source").asText(), m.get("type").asText(), strings(m.get("options"))));
        }
        return out;
    }

    static JsonNode data() {
        try {
            return RequestCodec.MAPPER.readTree(MicrosoftFramework.read(MicrosoftFramework.HCSSHIM.resolve("data.json")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static EnforcementRequest.Capabilities caps(JsonNode c) {
        return new EnforcementRequest.Capabilities(strings(c.get("bounding")), strings(c.get("effective")),
                strings(c.get("inheritable")), strings(c.get("permitted")), strings(c.get("ambient")));
    }

    static final EnforcementRequest.IdName ROOT = new EnforcementRequest.IdName("0", "root");

    /** A user or group an honest host would resolve for an id/name rule. */
    static EnforcementRequest.IdName idName(JsonNode rule) {
        String pattern = rule.path("pattern").asText();
        return switch (rule.path("strategy").asText("any")) {
            case "id" -> new EnforcementRequest.IdName(pattern, "g" + pattern);
            case "name" -> new EnforcementRequest.IdName("1000", pattern);
            default -> ROOT;
        };
    }

    static EnforcementRequest.IdName user(JsonNode c) {
        return idName(c.path("user").path("user_idname"));
    }

    static List<EnforcementRequest.IdName> groups(JsonNode c) {
        List<EnforcementRequest.IdName> out = new ArrayList<>();
        for (JsonNode g : c.path("user").path("group_idnames")) out.add(idName(g));
        return out.isEmpty() ? List.of(ROOT) : out;
    }

    static EnforcementRequest.CreateContainer honestCreate(String id, JsonNode c) {
        List<String> command = c.get("command").isNull() ? List.of("/bin/true") : strings(c.get("command"));
        return new EnforcementRequest.CreateContainer(id, command, honestEnv(c), c.get("working_dir").asText(),
                honestMounts(c, false), false, c.get("no_new_privileges").asBoolean(), user(c), groups(c),
                c.path("user").path("umask").asText("0022"), caps(c.get("capabilities")), c.get("seccomp_profile_sha256").asText(), List.of());
    }

    /** exec_in_container with Azure's full field set. */
    static EnforcementRequest.ExecInContainer honestExec(String id, JsonNode c, JsonNode process) {
        return new EnforcementRequest.ExecInContainer(id, strings(process.get("command")), honestEnv(c), c.get("working_dir").asText(),
                c.get("no_new_privileges").asBoolean(), user(c), groups(c), c.path("user").path("umask").asText("0022"),
                caps(c.get("capabilities")));
    }

    /** mount_device for each layer, then mount_overlay: the container's rootfs is ready. */
    static boolean mountLayers(Pair p, String id, JsonNode c) {
        List<String> paths = new ArrayList<>();
        int i = 0;
        for (JsonNode layer : c.get("layers")) {
            String target = "/run/coffer/layers/" + id + "-" + i++;
            if (!p.step("mount_device " + target, new EnforcementRequest.MountDevice(target, layer.asText()))) return false;
            paths.add(target);
        }
        return p.step("mount_overlay " + id, new EnforcementRequest.MountOverlay(id, paths.reversed(), "/run/coffer/rootfs/" + id));
    }

    // ---------------------------------------------------------------------------------------------
    // every sample, honest host

    @TestFactory
    Stream<DynamicTest> everySamplePolicyGetsMicrosoftsVerdictsForAnHonestHost() {
        return policyTexts(true).entrySet().stream().map(sample -> DynamicTest.dynamicTest(sample.getKey(), () -> {
            String policy = sample.getValue();
            Pair p = new Pair(policy);
            JsonNode containers = p.microsoft.containers();
            int created = 0;
            int n = 0;
            for (JsonNode c : containers) {
                String id = "c" + n++;
                assertTrue(mountLayers(p, id, c), id + " layers");
                EnforcementRequest.CreateContainer create = honestCreate(id, c);
                boolean ok = p.step("create_container " + id, create);
                // a container without a command (`"command": null`) can never be created, by either framework
                assertEquals(!c.get("command").isNull(), ok, "create " + id + " " + c.get("command") + ": " + p.lastReason);
                if (!ok) continue;
                created++;
                for (JsonNode process : c.path("exec_processes")) {
                    assertTrue(p.step("exec_in_container " + id, honestExec(id, c, process)), "exec " + process);
                    for (JsonNode signal : process.path("signals")) {
                        assertTrue(p.step("signal exec " + id, new EnforcementRequest.SignalContainerProcess(id, signal.asInt(), false,
                                strings(process.get("command")))));
                    }
                }
                for (JsonNode signal : c.path("signals")) {
                    assertTrue(p.step("signal " + id, new EnforcementRequest.SignalContainerProcess(id, signal.asInt(), true, List.of())));
                }
            }
            assertTrue(created > 0, "no container of the sample could be created");
            p.step("get_properties", new EnforcementRequest.GetProperties());
            p.step("dump_stacks", new EnforcementRequest.DumpStacks());
            p.step("runtime_logging", new EnforcementRequest.RuntimeLogging());
            assertTrue(p.step("scratch_mount", new EnforcementRequest.ScratchMount("/run/scratch/a", true)));
            p.step("scratch_mount unencrypted", new EnforcementRequest.ScratchMount("/run/scratch/b", false));
            assertTrue(p.step("scratch_unmount", new EnforcementRequest.ScratchUnmount("/run/scratch/a")));
            for (int k = 0; k < n; k++) {
                p.step("shutdown_container c" + k, new EnforcementRequest.ShutdownContainer("c" + k));
            }
            // and the host takes the group down: overlays, then their layers
            int k = 0;
            for (JsonNode c : containers) {
                String id = "c" + k++;
                assertTrue(p.step("unmount_overlay " + id, new EnforcementRequest.UnmountOverlay("/run/coffer/rootfs/" + id)));
                for (int i = 0; i < c.get("layers").size(); i++) {
                    assertTrue(p.step("unmount_device " + id + "-" + i, new EnforcementRequest.UnmountDevice("/run/coffer/layers/" + id + "-" + i)));
                }
            }
            assertFalse(p.step("unmount_overlay twice", new EnforcementRequest.UnmountOverlay("/run/coffer/rootfs/c0")));
            assertEquals(List.of(), p.differences);
        }));
    }

    // ---------------------------------------------------------------------------------------------
    // every field of an allowed request tampered

    /** Named tampers of a create request; each must get Microsoft's verdict. */
    static Map<String, EnforcementRequest.CreateContainer> createTampers(EnforcementRequest.CreateContainer g) {
        Map<String, EnforcementRequest.CreateContainer> t = new LinkedHashMap<>();
        t.put("argList extra", with(g, m -> m.put("argList", plus(g.argList(), "--evil"))));
        t.put("argList replaced", with(g, m -> m.put("argList", List.of("/bin/sh"))));
        t.put("argList empty", with(g, m -> m.put("argList", List.of())));
        t.put("envList unknown variable", with(g, m -> m.put("envList", plus(g.envList(), "LD_PRELOAD=/tmp/evil.so"))));
        t.put("envList only unknown", with(g, m -> m.put("envList", List.of("EVIL=1"))));
        t.put("envList empty", with(g, m -> m.put("envList", List.of())));
        t.put("workingDir", with(g, m -> m.put("workingDir", "/tmp")));
        t.put("mount extra", with(g, m -> m.put("mounts", plus(g.mounts(), new EnforcementRequest.Mount("/host", "/", "bind", List.of("rbind", "rw"))))));
        t.put("mount /sys writable", with(g, m -> m.put("mounts", plus(g.mounts(),
                new EnforcementRequest.Mount("/sys", "sysfs", "sysfs", List.of("nosuid", "noexec", "nodev", "rw"))))));
        t.put("mount /proc option dropped", with(g, m -> m.put("mounts", plus(g.mounts(),
                new EnforcementRequest.Mount("/proc", "proc", "proc", List.of("nosuid", "noexec"))))));
        t.put("mount source outside the sandbox", with(g, m -> m.put("mounts", plus(g.mounts(),
                new EnforcementRequest.Mount("/etc/resolv.conf", "/etc/resolv.conf", "bind", List.of("rbind", "rshared", "rw"))))));
        t.put("mount type", with(g, m -> m.put("mounts", plus(g.mounts(),
                new EnforcementRequest.Mount("/dev/shm", "shm", "bind", List.of("nosuid", "noexec", "nodev", "mode=1777", "size=65536k"))))));
        if (!g.mounts().isEmpty()) {
            EnforcementRequest.Mount first = g.mounts().getFirst();
            t.put("mount options changed", with(g, m -> m.put("mounts", replaceFirst(g.mounts(),
                    new EnforcementRequest.Mount(first.destination(), first.source(), first.type(), plus(first.options(), "exec"))))));
            t.put("mount destination changed", with(g, m -> m.put("mounts", replaceFirst(g.mounts(),
                    new EnforcementRequest.Mount(first.destination() + "x", first.source(), first.type(), first.options())))));
        }
        t.put("privileged", with(g, m -> m.put("privileged", true)));
        t.put("user changed", with(g, m -> m.put("user", new EnforcementRequest.IdName("1", "daemon"))));
        t.put("group changed", with(g, m -> m.put("groups", List.of(new EnforcementRequest.IdName("999", "evil")))));
        t.put("group added", with(g, m -> m.put("groups", plus(g.groups(), new EnforcementRequest.IdName("999", "evil")))));
        t.put("noNewPrivileges flipped", with(g, m -> m.put("noNewPrivileges", !g.noNewPrivileges())));
        t.put("umask", with(g, m -> m.put("umask", "0000")));
        t.put("capability added", with(g, m -> m.put("capabilities", new EnforcementRequest.Capabilities(
                plus(g.capabilities().bounding(), "CAP_SYS_ADMIN"), plus(g.capabilities().effective(), "CAP_SYS_ADMIN"),
                g.capabilities().inheritable(), plus(g.capabilities().permitted(), "CAP_SYS_ADMIN"), List.of("CAP_SYS_ADMIN")))));
        t.put("capability missing", with(g, m -> m.put("capabilities", new EnforcementRequest.Capabilities(
                g.capabilities().bounding().subList(1, g.capabilities().bounding().size()), g.capabilities().effective(),
                g.capabilities().inheritable(), g.capabilities().permitted(), g.capabilities().ambient()))));
        t.put("seccomp profile", with(g, m -> m.put("seccompProfileSHA256", "a".repeat(64))));
        return t;
    }

    /**
     * Where Coffer refuses what Microsoft's framework allows, on purpose (README, "Compatibility
     * with ACI"): none for create_container today; the entry stays for review.
     */
    static final Set<String> CREATE_STRICTER = Set.of();

    @TestFactory
    Stream<DynamicTest> everyTamperedCreateGetsMicrosoftsVerdict() {
        return policyTexts(false).entrySet().stream()
                .map(sample -> DynamicTest.dynamicTest(sample.getKey(), () -> {
                    String policy = sample.getValue();
                    JsonNode containers = new MicrosoftFramework(policy).containers();
                    int n = 0;
                    int denied = 0;
                    for (JsonNode c : containers) {
                        String id = "c" + n++;
                        if (c.get("command").isNull()) continue;
                        for (Map.Entry<String, EnforcementRequest.CreateContainer> e : createTampers(honestCreate(id, c)).entrySet()) {
                            Pair p = new Pair(policy);
                            assertTrue(mountLayers(p, id, c));
                            if (!p.step(id + " " + e.getKey(), e.getValue(), CREATE_STRICTER)) denied++;
                        }
                    }
                    assertTrue(denied > 0, "no tamper was denied");
                }));
    }

    @TestFactory
    Stream<DynamicTest> everyTamperedExecGetsMicrosoftsVerdict() {
        return policyTexts(false).entrySet().stream()
                .map(sample -> DynamicTest.dynamicTest(sample.getKey(), () -> {
                    String policy = sample.getValue();
                    JsonNode containers = new MicrosoftFramework(policy).containers();
                    int n = 0;
                    int tampered = 0;
                    for (JsonNode c : containers) {
                        String id = "c" + n++;
                        if (c.get("command").isNull() || c.path("exec_processes").isEmpty()) continue;
                        JsonNode process = c.path("exec_processes").isEmpty()
                                ? RequestCodec.MAPPER.readTree("{\"command\": [\"/bin/sh\"], \"signals\": []}")
                                : c.path("exec_processes").get(0);
                        EnforcementRequest.ExecInContainer g = honestExec(id, c, process);
                        Map<String, EnforcementRequest.ExecInContainer> t = new LinkedHashMap<>();
                        t.put("as sent", g);
                        t.put("argList", exec(g, g.argList().isEmpty() ? List.of("/bin/sh") : plus(g.argList(), "-x"), g.envList(), g.workingDir(),
                                g.noNewPrivileges(), g.user(), g.umask(), g.capabilities()));
                        t.put("envList unknown", exec(g, g.argList(), plus(g.envList(), "EVIL=1"), g.workingDir(), g.noNewPrivileges(), g.user(), g.umask(), g.capabilities()));
                        t.put("workingDir", exec(g, g.argList(), g.envList(), "/tmp", g.noNewPrivileges(), g.user(), g.umask(), g.capabilities()));
                        t.put("noNewPrivileges", exec(g, g.argList(), g.envList(), g.workingDir(), !g.noNewPrivileges(), g.user(), g.umask(), g.capabilities()));
                        t.put("group changed", new EnforcementRequest.ExecInContainer(g.containerID(), g.argList(), g.envList(), g.workingDir(),
                                g.noNewPrivileges(), g.user(), List.of(new EnforcementRequest.IdName("999", "evil")), g.umask(), g.capabilities()));
                        t.put("Coffer's own exec (settings inherited)", new EnforcementRequest.ExecInContainer(g.containerID(), g.argList(),
                                g.envList(), g.workingDir()));
                        t.put("umask", exec(g, g.argList(), g.envList(), g.workingDir(), g.noNewPrivileges(), g.user(), "0000", g.capabilities()));
                        t.put("capability added", exec(g, g.argList(), g.envList(), g.workingDir(), g.noNewPrivileges(), g.user(), g.umask(),
                                new EnforcementRequest.Capabilities(plus(g.capabilities().bounding(), "CAP_SYS_ADMIN"), g.capabilities().effective(),
                                        g.capabilities().inheritable(), g.capabilities().permitted(), g.capabilities().ambient())));
                        t.put("capability missing", exec(g, g.argList(), g.envList(), g.workingDir(), g.noNewPrivileges(), g.user(), g.umask(),
                                new EnforcementRequest.Capabilities(g.capabilities().bounding(), g.capabilities().effective().subList(1, g.capabilities().effective().size()),
                                        g.capabilities().inheritable(), g.capabilities().permitted(), g.capabilities().ambient())));
                        for (Map.Entry<String, EnforcementRequest.ExecInContainer> e : t.entrySet()) {
                            Pair p = new Pair(policy);
                            assertTrue(mountLayers(p, id, c));
                            assertTrue(p.step("create " + id, honestCreate(id, c)), p.lastReason);
                            // Coffer's exec without settings runs with the container's own: the ones Azure's host would send
                            boolean allowed = p.step(id + " exec " + e.getKey(), e.getValue(),
                                    e.getKey().startsWith("Coffer's own") ? g : e.getValue(), Set.of());
                            if (e.getKey().equals("as sent") || e.getKey().startsWith("Coffer's own")) assertTrue(allowed, e.getKey() + ": " + p.lastReason);
                            else tampered++;
                        }
                    }
                    assertTrue(tampered > 0 || !sample.getKey().contains("exec processes"), "no exec was tried");
                }));
    }

    @Test
    void tamperedLayersAndOverlaysGetMicrosoftsVerdict() throws IOException {
        String policy = MicrosoftFramework.read(SAMPLES.resolve("multi_containers/policy.rego"));
        JsonNode c = firstWithCommand(new MicrosoftFramework(policy).containers());
        Pair p = new Pair(policy);
        assertFalse(p.step("mount_device unknown hash", new EnforcementRequest.MountDevice("/run/coffer/layers/x", "0".repeat(64))));
        String layer = c.get("layers").get(0).asText();
        assertTrue(p.step("mount_device", new EnforcementRequest.MountDevice("/run/coffer/layers/x", layer)));
        assertFalse(p.step("mount_device twice at one target", new EnforcementRequest.MountDevice("/run/coffer/layers/x", layer)));
        if (c.get("layers").size() > 1) {
            assertFalse(p.step("mount_overlay missing layers", new EnforcementRequest.MountOverlay("c0", List.of("/run/coffer/layers/x"), "/run/coffer/rootfs/c0")));
        }
        assertFalse(p.step("mount_overlay unmounted layer", new EnforcementRequest.MountOverlay("c0", List.of("/run/coffer/layers/nothing"), "/run/coffer/rootfs/c0")));
        assertFalse(p.step("create before overlay", honestCreate("c0", c)));
        assertFalse(p.step("exec before create", honestExec("c0", c, RequestCodec.MAPPER.readTree("{\"command\": [\"/bin/sh\"]}"))));
        assertFalse(p.step("scratch_unmount never mounted", new EnforcementRequest.ScratchUnmount("/run/scratch/none")));
        assertFalse(p.step("unmount_overlay never mounted", new EnforcementRequest.UnmountOverlay("/run/coffer/rootfs/none")));
        assertEquals(List.of(), p.differences);
    }

    /** A container the policy lets run elevated gets hcsshim's privileged mounts; one that may not, does not. */
    @Test
    void privilegedMountsFollowAllowElevatedAsInMicrosoftsFramework() {
        String policy = withCommands(MicrosoftFramework.read(SAMPLES.resolve("volume_mounts/policy.rego")));
        String elevated = policy.replace("\"allow_elevated\":false", "\"allow_elevated\":true");
        JsonNode data = data();
        for (String text : List.of(policy, elevated)) {
            JsonNode c = firstWithCommand(new MicrosoftFramework(text).containers());
            boolean allowElevated = c.get("allow_elevated").asBoolean();
            // a privileged container's /sys and /sys/fs/cgroup are the writable variants
            Set<String> replaced = new LinkedHashSet<>();
            data.get("privilegedMounts").forEach(m -> replaced.add(m.get("destination").asText()));
            List<EnforcementRequest.Mount> mounts = new ArrayList<>();
            for (EnforcementRequest.Mount m : honestMounts(c, false)) {
                if (!replaced.contains(m.destination()) || m.source().startsWith(SANDBOX)) mounts.add(m);
            }
            mounts.addAll(honestMounts(c, true).subList(honestMounts(c, true).size() - replaced.size(), honestMounts(c, true).size()));
            EnforcementRequest.CreateContainer privileged = with(honestCreate("c0", c), m -> {
                m.put("privileged", true);
                m.put("mounts", mounts);
            });
            Pair p = new Pair(text);
            assertTrue(mountLayers(p, "c0", c));
            assertEquals(allowElevated, p.step("privileged create, allow_elevated " + allowElevated, privileged), p.lastReason);
            Pair q = new Pair(text);
            assertTrue(mountLayers(q, "c0", c));
            EnforcementRequest.CreateContainer unprivileged = with(privileged, m -> m.put("privileged", false));
            assertEquals(allowElevated, q.step("unprivileged create with writable /sys, allow_elevated " + allowElevated, unprivileged),
                    q.lastReason);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // where Coffer is stricter on purpose (README, "Compatibility with ACI"): Microsoft allows, Coffer denies

    static final String LAYER_TARGET_OUTSIDE = "mount_device at a target outside the layer mount path";
    static final String UNMOUNT_LAYER_IN_USE = "unmount_device of a layer under a mounted overlay";
    static final String OVERLAY_TARGET_REUSED = "mount_overlay at a target another container's overlay uses";
    static final String SANDBOX_PATTERN_UNANCHORED = "sandbox:// mount source matched inside a longer path";
    static final String SHUTDOWN_TWICE = "shutdown_container of a container already shut down";
    static final String HUGEPAGES_SOURCE = "hugepages:// mount source";
    static final String CONTAINER_ID_REUSED = "mount_overlay for the ID of a container already shut down";

    @Test
    void whereCofferIsStricterOnPurposeMicrosoftAllowsAndCofferDenies() {
        String policy = withExecAndSignals(MicrosoftFramework.read(SAMPLES.resolve("multi_containers/policy.rego")));
        JsonNode containers = new MicrosoftFramework(policy).containers();
        JsonNode c = firstWithCommand(containers);
        Set<String> stricter = Set.of(LAYER_TARGET_OUTSIDE, UNMOUNT_LAYER_IN_USE, OVERLAY_TARGET_REUSED, SANDBOX_PATTERN_UNANCHORED,
                SHUTDOWN_TWICE, CONTAINER_ID_REUSED, HUGEPAGES_SOURCE);
        Pair p = new Pair(policy);
        String layer = c.get("layers").get(0).asText();
        assertFalse(p.step(LAYER_TARGET_OUTSIDE, new EnforcementRequest.MountDevice("/usr/bin", layer), stricter));
        assertTrue(mountLayers(p, "c0", c));
        assertFalse(p.step(UNMOUNT_LAYER_IN_USE, new EnforcementRequest.UnmountDevice("/run/coffer/layers/c0-0"), stricter));
        List<String> paths = new ArrayList<>();
        for (int i = c.get("layers").size() - 1; i >= 0; i--) paths.add("/run/coffer/layers/c0-" + i);
        assertFalse(p.step(OVERLAY_TARGET_REUSED, new EnforcementRequest.MountOverlay("other", paths, "/run/coffer/rootfs/c0"), stricter));
        EnforcementRequest.CreateContainer g = honestCreate("c0", c);
        List<EnforcementRequest.Mount> shifted = new ArrayList<>();
        for (EnforcementRequest.Mount m : g.mounts()) {
            shifted.add(m.source().startsWith(SANDBOX) ? new EnforcementRequest.Mount(m.destination(), "/host" + m.source(), m.type(), m.options()) : m);
        }
        assertTrue(g.mounts().stream().anyMatch(m -> m.source().startsWith(SANDBOX)), "the container has a sandbox mount");
        assertFalse(p.step(SANDBOX_PATTERN_UNANCHORED, with(g, m -> m.put("mounts", shifted)), stricter));
        assertTrue(p.step("create", g));
        assertTrue(p.step("shutdown", new EnforcementRequest.ShutdownContainer("c0")));
        assertFalse(p.step(SHUTDOWN_TWICE, new EnforcementRequest.ShutdownContainer("c0"), stricter));
        assertFalse(p.step(CONTAINER_ID_REUSED, new EnforcementRequest.MountOverlay("c0", paths, "/run/coffer/rootfs/c0-again"), stricter));

        // a policy mount from hugepages://: Azure's guest maps it to its hugepages directory; Coffer has none
        String huge = policy.replaceFirst("\"source\":\"sandbox:///tmp/atlas/[a-zA-Z]+/\\.\\+\"", "\"source\":\"hugepages://.+\"");
        assertTrue(!huge.equals(policy), "a sandbox mount was rewritten");
        JsonNode hc = firstWithCommand(new MicrosoftFramework(huge).containers());
        Pair h = new Pair(huge);
        assertTrue(mountLayers(h, "c0", hc));
        List<EnforcementRequest.Mount> hm = new ArrayList<>();
        for (JsonNode m : hc.get("mounts")) {
            String src = m.get("source").asText();
            String concrete = src.startsWith("hugepages://") ? SANDBOX + "/hugepages/page-1" : SANDBOX + src.substring("sandbox://".length()).replace(".+", "v");
            hm.add(new EnforcementRequest.Mount(m.get("destination").asText(), concrete, m.get("type").asText(), strings(m.get("options"))));
        }
        assertFalse(h.step(HUGEPAGES_SOURCE, with(honestCreate("c0", hc), m -> m.put("mounts", hm)), stricter));

        assertEquals(List.of(LAYER_TARGET_OUTSIDE, UNMOUNT_LAYER_IN_USE, OVERLAY_TARGET_REUSED, SANDBOX_PATTERN_UNANCHORED, SHUTDOWN_TWICE,
                        CONTAINER_ID_REUSED),
                p.differences, "each documented difference is one where Microsoft allows");
        assertEquals(List.of(HUGEPAGES_SOURCE), h.differences);
    }

    static final String USER_RE2_UNANCHORED = "re2 user name matched inside a longer name";
    static final String NULL_CAPS_ELEVATED = "privileged capabilities for an elevated container whose policy names none";

    @Test
    void userPatternsMatchWholeNamesUnlikeMicrosofts() {
        String policy = withCommands(MicrosoftFramework.read(SAMPLES.resolve("minimal/policy.rego")))
                .replace("\"user_idname\":{\"pattern\":\"\",\"strategy\":\"any\"}", "\"user_idname\":{\"pattern\":\"app\",\"strategy\":\"re2\"}");
        JsonNode c = firstWithCommand(new MicrosoftFramework(policy).containers());
        Set<String> stricter = Set.of(USER_RE2_UNANCHORED);
        Pair p = new Pair(policy);
        assertTrue(mountLayers(p, "c0", c));
        EnforcementRequest.CreateContainer g = with(honestCreate("c0", c), m -> m.put("user", new EnforcementRequest.IdName("1000", "myapp-admin")));
        assertFalse(p.step(USER_RE2_UNANCHORED, g, stricter));
        assertEquals(List.of(USER_RE2_UNANCHORED), p.differences);
        assertTrue(p.step("user named exactly", with(g, m -> m.put("user", new EnforcementRequest.IdName("1000", "app")))));
    }

    @Test
    void anElevatedContainerWithoutCapabilitiesInItsPolicyGetsOnlyTheUnprivilegedSet() {
        // framework 0.2.1 predates capabilities in the policy: Microsoft's framework then grants an elevated container all of them
        String policy = withCommands(MicrosoftFramework.read(SAMPLES.resolve("minimal/policy.rego")))
                .replace("framework_version := \"0.2.3\"", "framework_version := \"0.2.1\"")
                .replaceAll("\"capabilities\":\\{[^}]*}", "\"capabilities\":null")
                .replace("\"allow_elevated\":false", "\"allow_elevated\":true");
        JsonNode c = firstWithCommand(new MicrosoftFramework(policy).containers());
        List<String> all = strings(data().get("defaultPrivilegedCapabilities"));
        EnforcementRequest.CreateContainer privileged = with(honestCreate("c0", ((ObjectNode) c.deepCopy())
                .set("capabilities", RequestCodec.MAPPER.valueToTree(Map.of("bounding", List.of(), "effective", List.of(),
                        "inheritable", List.of(), "permitted", List.of(), "ambient", List.of())))), m -> {
            m.put("privileged", true);
            m.put("capabilities", new EnforcementRequest.Capabilities(all, all, all, all, List.of()));
        });
        Pair p = new Pair(policy);
        assertTrue(mountLayers(p, "c0", c));
        // Coffer honours allow_capability_dropping whatever the framework version (Azure from 0.2.2 on):
        // the request is allowed by both, and Coffer's decision keeps only the unprivileged set
        Decision d = p.coffer.decide(privileged);
        assertTrue(d.allowed(), d.reason());
        List<String> unprivileged = strings(data().get("defaultUnprivilegedCapabilities"));
        assertEquals(Set.copyOf(unprivileged), Set.copyOf(d.capabilities().bounding()));
        assertEquals(List.of(), d.capabilities().inheritable());
        p.coffer.rollback(d);
        assertTrue(p.step(NULL_CAPS_ELEVATED, privileged));
        // without the flag, as Microsoft's framework reads a 0.2.1 policy, Coffer refuses what Microsoft allows
        String noDropping = policy.replace("allow_capability_dropping := true", "allow_capability_dropping := false");
        Pair q = new Pair(noDropping);
        assertTrue(mountLayers(q, "c0", c));
        assertFalse(q.step(NULL_CAPS_ELEVATED, privileged, Set.of(NULL_CAPS_ELEVATED)));
        assertEquals(List.of(NULL_CAPS_ELEVATED), q.differences);
    }

    /** Processes run in the sandbox outside any container, as a policy lists them; dropping applies to them too. */
    @Test
    void execExternalGetsMicrosoftsVerdicts() {
        String policy = MicrosoftFramework.read(SAMPLES.resolve("minimal/policy.rego")).replace("allow_properties_access := true", """
                external_processes := [
                  {"command": ["/bin/ls", "-l"], "env_rules": [{"pattern": "PATH=/usr/bin:/bin", "strategy": "string", "required": true},
                    {"pattern": "LANG=.+", "strategy": "re2", "required": false}], "working_dir": "/", "allow_stdio_access": true}
                ]

                allow_properties_access := true""");
        for (String flagged : List.of(policy, policy.replace("allow_environment_variable_dropping := true", "allow_environment_variable_dropping := false"))) {
            Map<String, EnforcementRequest.ExecExternal> cases = new LinkedHashMap<>();
            cases.put("as listed", new EnforcementRequest.ExecExternal(List.of("/bin/ls", "-l"), List.of("PATH=/usr/bin:/bin", "LANG=C"), "/"));
            cases.put("an unlisted variable", new EnforcementRequest.ExecExternal(List.of("/bin/ls", "-l"), List.of("PATH=/usr/bin:/bin", "EVIL=1"), "/"));
            cases.put("the required variable missing", new EnforcementRequest.ExecExternal(List.of("/bin/ls", "-l"), List.of("LANG=C"), "/"));
            cases.put("no variables", new EnforcementRequest.ExecExternal(List.of("/bin/ls", "-l"), List.of(), "/"));
            cases.put("another command", new EnforcementRequest.ExecExternal(List.of("/bin/sh"), List.of("PATH=/usr/bin:/bin"), "/"));
            cases.put("another working directory", new EnforcementRequest.ExecExternal(List.of("/bin/ls", "-l"), List.of("PATH=/usr/bin:/bin"), "/tmp"));
            int allowed = 0;
            for (Map.Entry<String, EnforcementRequest.ExecExternal> e : cases.entrySet()) {
                Pair p = new Pair(flagged);
                if (p.step("exec_external " + e.getKey(), e.getValue())) allowed++;
            }
            assertEquals(flagged == policy ? 2 : 1, allowed, "with dropping the unlisted variable is dropped; without, refused");
        }
        Decision d = PolicyEnforcer.load(policy).decide(new EnforcementRequest.ExecExternal(List.of("/bin/ls", "-l"),
                List.of("PATH=/usr/bin:/bin", "EVIL=1"), "/"));
        assertEquals(List.of("PATH=/usr/bin:/bin"), d.envList());
    }

    /**
     * A policy `coffer policy gen` writes for an ARM template with the mappings the samples do
     * not exercise (secure values, a secret volume, user and group, escalation off, added and
     * dropped capabilities, privilege, an exec probe) gets Microsoft's verdicts too.
     */
    @Test
    void aPolicyGeneratedFromAnArmTemplateGetsMicrosoftsVerdicts() throws IOException {
        String template = """
                {"resources": [{"type": "Microsoft.ContainerInstance/containerGroups", "name": "g", "properties": {
                  "volumes": [{"name": "scratch", "emptyDir": {}}, {"name": "creds", "secret": {"k": "dg=="}}],
                  "containers": [{"name": "app", "properties": {"image": "contoso.azurecr.io/app:1", "command": ["/app", "--serve"],
                    "environmentVariables": [{"name": "MODE", "value": "prod"}, {"name": "TOKEN", "secureValue": "s3cret"}],
                    "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}, {"name": "creds", "mountPath": "/creds", "readOnly": true}],
                    "securityContext": {"privileged": %s, "allowPrivilegeEscalation": false, "runAsUser": 1000, "runAsGroup": 2000,
                                        "capabilities": {"add": ["CAP_NET_ADMIN"], "drop": ["CAP_KILL"]}},
                    "livenessProbe": {"exec": {"command": ["/app", "--health"]}}}}]}}]}
                """;
        dev.coffer.policy.gen.ImageSource images = ref -> new dev.coffer.policy.gen.ResolvedImage(ref, List.of("9".repeat(64)),
                List.of(), List.of(), List.of("PATH=/usr/bin:/bin"), "/srv", "");
        for (String privileged : List.of("false", "true")) {
            dev.coffer.policy.aci.AciGroup group = dev.coffer.policy.aci.ArmTemplate.parse(template.formatted(privileged), null, "t.json").getFirst();
            String policy = new dev.coffer.policy.aci.AciPolicyGenerator(images).generate(group, dev.coffer.policy.aci.AciPolicyGenerator.Options.DEFAULT).text();
            JsonNode c = new MicrosoftFramework(policy).containers().get(0);
            assertEquals("1000", c.path("user").path("user_idname").path("pattern").asText());
            Pair p = new Pair(policy);
            assertTrue(mountLayers(p, "c0", c));
            EnforcementRequest.CreateContainer create = with(honestCreate("c0", c), m -> {
                m.put("privileged", Boolean.parseBoolean(privileged));
                m.put("envList", List.of("PATH=/usr/bin:/bin", "MODE=prod", "TOKEN=anything", "TERM=xterm"));
            });
            assertTrue(p.step("create, privileged " + privileged, create), p.lastReason);
            assertTrue(p.step("exec probe", honestExec("c0", c, c.get("exec_processes").get(0))), p.lastReason);
            assertFalse(p.step("exec something else", honestExec("c0", c, RequestCodec.MAPPER.readTree("{\"command\": [\"/bin/sh\"]}"))));
            for (Map.Entry<String, EnforcementRequest.CreateContainer> e : createTampers(create).entrySet()) {
                Pair q = new Pair(policy);
                assertTrue(mountLayers(q, "c0", c));
                q.step("generated, privileged " + privileged + ": " + e.getKey(), e.getValue());
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // environment variable dropping, as Azure does it

    @Test
    void droppingRemovesAVariableNoRuleMatchesAndAgreesWithMicrosoft() {
        String policy = withCommands(MicrosoftFramework.read(SAMPLES.resolve("environment_variables/policy.rego")));
        JsonNode c = firstWithCommand(new MicrosoftFramework(policy).containers());
        Pair p = new Pair(policy);
        assertTrue(mountLayers(p, "c0", c));
        EnforcementRequest.CreateContainer g = honestCreate("c0", c);
        Decision d = p.coffer.decide(with(g, m -> m.put("envList", plus(g.envList(), "UNLISTED=1"))));
        assertTrue(d.allowed(), d.reason());
        assertFalse(d.envList().contains("UNLISTED=1"), d.envList().toString());
        assertEquals(Set.copyOf(g.envList()), Set.copyOf(d.envList()));
        p.coffer.rollback(d);
        assertTrue(p.step("create with an unlisted variable", with(g, m -> m.put("envList", plus(g.envList(), "UNLISTED=1")))));
    }

    // ---------------------------------------------------------------------------------------------
    // Azure's documented enforcement-point inputs are accepted as they are

    @Test
    void everyDocumentedInputFieldIsAccepted() {
        String doc = MicrosoftFramework.read(MicrosoftFramework.ACI.resolve("confcom-docs/policy_enforcement_points.md"));
        Matcher block = java.util.regex.Pattern.compile("```json\\s*\\{(.*?)}\\s*```", java.util.regex.Pattern.DOTALL).matcher(doc);
        Map<String, EnforcementRequest> honest = new LinkedHashMap<>();
        EnforcementRequest.Capabilities caps = Fixtures.defaultCaps();
        honest.put("mount_device", new EnforcementRequest.MountDevice("/run/coffer/layers/a", "1".repeat(64)));
        honest.put("unmount_device", new EnforcementRequest.UnmountDevice("/run/coffer/layers/a"));
        honest.put("mount_overlay", new EnforcementRequest.MountOverlay("c0", List.of("/run/coffer/layers/a"), "/run/coffer/rootfs/c0"));
        honest.put("unmount_overlay", new EnforcementRequest.UnmountOverlay("/run/coffer/rootfs/c0"));
        honest.put("create_container", new EnforcementRequest.CreateContainer("c0", List.of("/pause"), List.of("TERM=xterm"), "/",
                List.of(), false, false, ROOT, List.of(ROOT), "0022", caps, "", List.of()));
        honest.put("exec_in_container", new EnforcementRequest.ExecInContainer("c0", List.of("/bin/sh"), List.of(), "/", false, ROOT,
                List.of(ROOT), "0022", caps));
        honest.put("exec_external", new EnforcementRequest.ExecExternal(List.of("/bin/ls"), List.of(), "/"));
        honest.put("shutdown_container", new EnforcementRequest.ShutdownContainer("c0"));
        honest.put("signal_container_process", new EnforcementRequest.SignalContainerProcess("c0", 15, true, List.of()));
        honest.put("scratch_mount", new EnforcementRequest.ScratchMount("/run/scratch/a", true));
        honest.put("scratch_unmount", new EnforcementRequest.ScratchUnmount("/run/scratch/a"));
        int checked = 0;
        while (block.find()) {
            Set<String> keys = new LinkedHashSet<>();
            Matcher key = java.util.regex.Pattern.compile("^\\s*\"(\\w+)\"\\s*:", java.util.regex.Pattern.MULTILINE).matcher(block.group(1));
            while (key.find()) keys.add(key.group(1));
            String rule = guessRule(keys, block.group(1));
            EnforcementRequest request = honest.get(rule);
            if (request == null) continue; // plan9_mount/plan9_unmount: points Coffer has no use for (no Plan 9 shares)
            ObjectNode input = RequestCodec.toInput(request);
            input.put("name", rule);
            if (keys.contains("sandboxDir")) input.put("sandboxDir", "/run/gcs/c/abc/sandboxMounts");
            if (keys.contains("hugePagesDir")) input.put("hugePagesDir", "/run/gcs/c/abc/hugepages");
            for (String k : keys) assertTrue(input.has(k) || (rule.equals("create_container") && MOUNT_FIELDS.contains(k)), rule + ": documented field " + k + " has no value in the honest request");
            EnforcementRequest parsed = RequestCodec.fromJson(rule, input);
            assertEquals(request, parsed, rule);
            checked++;
        }
        assertEquals(11, checked, "documented inputs found");
    }

    /** The fields of each of create_container's mounts, which the documented block shows nested. */
    static final Set<String> MOUNT_FIELDS = Set.of("destination", "options", "source", "type");

    static String guessRule(Set<String> keys, String body) {
        Matcher name = java.util.regex.Pattern.compile("\"name\"\\s*:\\s*\"(\\w+)\"").matcher(body);
        if (name.find()) return name.group(1);
        // the doc's exec_in_container block carries no name
        return keys.contains("containerID") && keys.contains("argList") ? "exec_in_container" : "?";
    }

    /** A trace as Azure's guest records it (its paths, its field sets) replays through `coffer policy simulate`. */
    @Test
    void azuresRecordedRequestsReplayInTheSimulator() throws IOException {
        String policy = withExecAndSignals(MicrosoftFramework.read(SAMPLES.resolve("command/policy.rego")));
        JsonNode c = firstWithCommand(new MicrosoftFramework(policy).containers());
        String sandbox = "/run/gcs/c/4f1a/sandboxMounts";
        String layer = c.get("layers").get(0).asText();
        String trace = """
                [
                 {"rule": "mount_device", "input": {"name": "mount_device", "target": "/run/layers/p0-0", "deviceHash": "%s"}},
                 {"rule": "mount_overlay", "input": {"name": "mount_overlay", "containerID": "4f1a", "layerPaths": ["/run/layers/p0-0"],
                   "target": "/run/gcs/c/4f1a/rootfs"}},
                 {"rule": "create_container", "input": {"name": "create_container", "containerID": "4f1a", "argList": %s,
                   "envList": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "HOSTNAME=sandbox-1",
                               "UNLISTED=dropped"],
                   "workingDir": "/", "sandboxDir": "%s", "hugePagesDir": "/run/gcs/c/4f1a/hugepages",
                   "mounts": [{"destination": "/etc/resolv.conf", "source": "%s/tmp/atlas/resolvconf/4f1a", "type": "bind",
                               "options": ["rbind", "rshared", "rw"]},
                              {"destination": "/dev/shm", "source": "shm", "type": "tmpfs",
                               "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}],
                   "privileged": false, "noNewPrivileges": false, "user": {"id": "0", "name": "root"}, "groups": [{"id": "0", "name": "root"}],
                   "umask": "0022", "capabilities": %s, "seccompProfileSHA256": ""}},
                 {"rule": "exec_in_container", "input": {"containerID": "4f1a", "argList": ["/bin/health", "--quick"],
                   "envList": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "workingDir": "/",
                   "noNewPrivileges": false, "user": {"id": "0", "name": "root"}, "groups": [{"id": "0", "name": "root"}],
                   "umask": "0022", "capabilities": %s}},
                 {"rule": "exec_in_container", "input": {"containerID": "4f1a", "argList": ["/bin/health", "--quick"],
                   "envList": [], "workingDir": "/", "noNewPrivileges": false, "user": {"id": "0", "name": "root"},
                   "groups": [{"id": "0", "name": "root"}], "umask": "0077", "capabilities": %s}}
                ]
                """.formatted(layer, c.get("command"), sandbox, sandbox, c.get("capabilities"), c.get("capabilities"), c.get("capabilities"));
        List<dev.coffer.policy.simulate.SimulationStep> steps = dev.coffer.policy.simulate.PolicySimulator.run(policy,
                RequestCodec.MAPPER.readTree(trace), EnforcerOptions.defaults().withSandboxDir(sandbox)
                        .withLayerMountPathRegex("/run/layers/p[0-9]+-[0-9]+"));
        List<String> outcomes = steps.stream().map(dev.coffer.policy.simulate.SimulationStep::outcome).toList();
        assertEquals(List.of("committed", "committed", "committed", "committed", "denied"), outcomes,
                steps.getLast().decision().reason());
        assertFalse(steps.get(2).decision().envList().contains("UNLISTED=dropped"), "the unlisted variable is dropped");
        assertTrue(steps.getLast().decision().reason().contains("invalid user"), steps.getLast().decision().reason());
    }

    @Test
    void fieldsAzureDoesNotSendAreStillRefusedByName() {
        ObjectNode create = RequestCodec.toInput(new EnforcementRequest.CreateContainer("c0", List.of("/pause"), List.of(), "/",
                List.of(), false, false, ROOT, List.of(ROOT), "0022", Fixtures.defaultCaps(), "", List.of()));
        create.put("sandboxdir", "/");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> RequestCodec.fromJson("create_container", create));
        assertTrue(e.getMessage().contains("sandboxdir"), e.getMessage());
        ObjectNode exec = RequestCodec.toInput(new EnforcementRequest.ExecInContainer("c0", List.of("/bin/sh"), List.of(), "/"));
        exec.put("hugePagesDir", "/x");
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> RequestCodec.fromJson("exec_in_container", exec));
        assertTrue(e.getMessage().contains("hugePagesDir"), e.getMessage());
        ObjectNode badUser = RequestCodec.toInput(new EnforcementRequest.ExecInContainer("c0", List.of("/bin/sh"), List.of(), "/"));
        badUser.put("user", "root");
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> RequestCodec.fromJson("exec_in_container", badUser));
        assertTrue(e.getMessage().contains("user"), e.getMessage());
    }

    @Test
    void aRecordedInputNamingAnotherPointIsRefused() {
        ObjectNode input = RequestCodec.toInput(new EnforcementRequest.ShutdownContainer("c0"));
        input.put("name", "create_container");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> RequestCodec.fromJson("shutdown_container", input));
        assertTrue(e.getMessage().contains("field 'name' is \"create_container\""), e.getMessage());
    }

    @Test
    void aRecordedSandboxDirIsNeverUsed() {
        String policy = withCommands(MicrosoftFramework.read(SAMPLES.resolve("volume_mounts/policy.rego")));
        JsonNode c = firstWithCommand(new MicrosoftFramework(policy).containers());
        PolicyEnforcer coffer = PolicyEnforcer.load(policy);
        // mounts from a sandbox directory the host names: the enforcer keeps its own
        ObjectNode input = RequestCodec.toInput(honestCreate("c0", c));
        input.put("sandboxDir", "/");
        ArrayNode mounts = (ArrayNode) input.get("mounts");
        for (JsonNode m : mounts) {
            if (m.get("source").asText().startsWith(SANDBOX)) {
                ((ObjectNode) m).put("source", m.get("source").asText().substring(SANDBOX.length()));
            }
        }
        EnforcementRequest parsed = RequestCodec.fromJson("create_container", input);
        Pair p = new Pair(policy);
        assertTrue(mountLayers(p, "c0", c));
        Decision d = p.coffer.decide(parsed);
        assertFalse(d.allowed(), "mount sources outside the agent's sandbox must be refused");
        assertTrue(d.reason().contains("invalid mount list"), d.reason());
        assertTrue(coffer.state().path("started").isEmpty());
    }

    // ---------------------------------------------------------------------------------------------
    // helpers

    static JsonNode firstWithCommand(JsonNode containers) {
        for (JsonNode c : containers) if (!c.get("command").isNull()) return c;
        throw new AssertionError("no container with a command");
    }

    static <T> List<T> plus(List<T> list, T extra) {
        List<T> out = new ArrayList<>(list);
        out.add(extra);
        return out;
    }

    static <T> List<T> replaceFirst(List<T> list, T first) {
        List<T> out = new ArrayList<>(list);
        out.set(0, first);
        return out;
    }

    static EnforcementRequest.CreateContainer with(EnforcementRequest.CreateContainer c, Consumer<Map<String, Object>> change) {
        Map<String, Object> m = new LinkedHashMap<>();
        change.accept(m);
        return Fixtures.with(c, m);
    }

    static EnforcementRequest.ExecInContainer exec(EnforcementRequest.ExecInContainer g, List<String> args, List<String> env, String cwd,
                                                  Boolean nnp, EnforcementRequest.IdName user, String umask,
                                                  EnforcementRequest.Capabilities caps) {
        return new EnforcementRequest.ExecInContainer(g.containerID(), args, env, cwd, nnp, user, g.groups(), umask, caps);
    }
}
