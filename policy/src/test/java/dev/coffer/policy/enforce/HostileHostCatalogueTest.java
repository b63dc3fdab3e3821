package dev.coffer.policy.enforce;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.policy.enforce.EnforcementRequest.Capabilities;
import dev.coffer.policy.enforce.EnforcementRequest.ExecInContainer;
import dev.coffer.policy.enforce.EnforcementRequest.IdName;
import dev.coffer.policy.enforce.EnforcementRequest.Mount;
import dev.coffer.policy.enforce.EnforcementRequest.MountDevice;
import dev.coffer.policy.enforce.EnforcementRequest.MountOverlay;
import dev.coffer.policy.enforce.EnforcementRequest.SignalContainerProcess;
import dev.coffer.policy.enforce.Fixtures.Stage;
import dev.coffer.policy.gen.DefaultCapabilities;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.coffer.policy.enforce.Fixtures.BASE;
import static dev.coffer.policy.enforce.Fixtures.LAYERS;
import static dev.coffer.policy.enforce.Fixtures.SANDBOX;
import static dev.coffer.policy.enforce.Fixtures.SIDE;
import static dev.coffer.policy.enforce.Fixtures.WEB;
import static dev.coffer.policy.enforce.Fixtures.plus;
import static dev.coffer.policy.enforce.Fixtures.webCreate;
import static dev.coffer.policy.enforce.Fixtures.with;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Requests a hostile host may send, each at the point of an honest sequence where it would do
 * harm. Every one must be denied with a reason naming what is wrong, and change no state.
 */
class HostileHostCatalogueTest {
    record Hostile(String name, Stage stage, EnforcementRequest request, String reason) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static final String ROOTFS = "/run/coffer/rootfs/";
    private static final List<String> WEB_PATHS = List.of(LAYERS + "web", LAYERS + "base");

    static List<Hostile> catalogue() {
        List<Hostile> h = new ArrayList<>();
        EnforcementRequest.CreateContainer good = webCreate("c-web");
        List<String> caps = DefaultCapabilities.UNPRIVILEGED;

        // layer disks
        h.add(new Hostile("unknown layer hash", Stage.FRESH, new MountDevice(LAYERS + "x", "f".repeat(64)), "deviceHash not found"));
        h.add(new Hostile("layer hash in upper case", Stage.FRESH, new MountDevice(LAYERS + "x", BASE.toUpperCase().replace('1', 'A')), "deviceHash not found"));
        h.add(new Hostile("empty layer hash", Stage.FRESH, new MountDevice(LAYERS + "x", ""), "deviceHash not found"));
        h.add(new Hostile("layer mounted over agent binaries", Stage.FRESH, new MountDevice("/usr/bin", BASE), "mount target does not match"));
        h.add(new Hostile("layer mount path traversal", Stage.FRESH, new MountDevice(LAYERS + "../../../etc", BASE), "mount target does not match"));
        h.add(new Hostile("second device on a used target", Stage.WEB_LAYERS, new MountDevice(LAYERS + "base", SIDE), "already mounted"));
        h.add(new Hostile("unmount of a device never mounted", Stage.FRESH, new EnforcementRequest.UnmountDevice(LAYERS + "base"), "no device mounted"));
        h.add(new Hostile("unmount of a layer under a live overlay", Stage.WEB_OVERLAY, new EnforcementRequest.UnmountDevice(LAYERS + "web"), "overlay"));

        // overlays
        h.add(new Hostile("overlay before its layers are mounted", Stage.FRESH, new MountOverlay("c-web", WEB_PATHS, ROOTFS + "c-web"), "no mounted device"));
        h.add(new Hostile("reordered layers", Stage.WEB_LAYERS, new MountOverlay("c-web", List.of(LAYERS + "base", LAYERS + "web"), ROOTFS + "c-web"), "match no policy container"));
        h.add(new Hostile("extra layer on top", Stage.ALL_LAYERS, new MountOverlay("c-web", List.of(LAYERS + "side", LAYERS + "web", LAYERS + "base"), ROOTFS + "c-web"), "match no policy container"));
        h.add(new Hostile("missing base layer", Stage.WEB_LAYERS, new MountOverlay("c-web", List.of(LAYERS + "web"), ROOTFS + "c-web"), "match no policy container"));
        h.add(new Hostile("layers of two images mixed", Stage.ALL_LAYERS, new MountOverlay("c-web", List.of(LAYERS + "side", LAYERS + "web"), ROOTFS + "c-web"), "match no policy container"));
        h.add(new Hostile("same layer twice", Stage.WEB_LAYERS, new MountOverlay("c-web", List.of(LAYERS + "web", LAYERS + "web"), ROOTFS + "c-web"), "match no policy container"));
        h.add(new Hostile("no layers at all", Stage.WEB_LAYERS, new MountOverlay("c-web", List.of(), ROOTFS + "c-web"), "match no policy container"));
        h.add(new Hostile("second overlay for one container", Stage.WEB_OVERLAY, new MountOverlay("c-web", WEB_PATHS, ROOTFS + "again"), "overlay already mounted"));
        h.add(new Hostile("overlay target reused", Stage.WEB_OVERLAY, new MountOverlay("c-two", WEB_PATHS, ROOTFS + "c-web"), "overlay target already in use"));
        h.add(new Hostile("overlay for a shut-down container ID", Stage.WEB_SHUTDOWN, new MountOverlay("c-web", WEB_PATHS, ROOTFS + "new"), "container already started"));

        // create_container
        h.add(new Hostile("create without an overlay", Stage.WEB_LAYERS, good, "no overlay mounted"));
        h.add(new Hostile("altered argv (extra argument)", Stage.WEB_OVERLAY, with(good, Map.of("argList", plus(good.argList(), "--debug"))), "invalid command"));
        h.add(new Hostile("argv replaced by a shell", Stage.WEB_OVERLAY, with(good, Map.of("argList", List.of("/bin/sh", "-c", "cat /secrets"))), "invalid command"));
        h.add(new Hostile("empty argv", Stage.WEB_OVERLAY, with(good, Map.of("argList", List.of())), "invalid command"));
        h.add(new Hostile("another container's command on this overlay", Stage.WEB_OVERLAY, with(good, Map.of("argList", List.of("/bin/sleep", "3600"))), "invalid command"));
        h.add(new Hostile("extra env var", Stage.WEB_OVERLAY, with(good, Map.of("envList", plus(good.envList(), "EVIL=1"))), "invalid env list"));
        h.add(new Hostile("LD_PRELOAD injected", Stage.WEB_OVERLAY, with(good, Map.of("envList", plus(good.envList(), "LD_PRELOAD=/tmp/x.so"))), "invalid env list"));
        h.add(new Hostile("changed env value", Stage.WEB_OVERLAY, with(good, Map.of("envList", List.of("PATH=/usr/bin:/bin", "MODE=debug", "TENANT=contoso"))), "invalid env list"));
        h.add(new Hostile("required env var dropped", Stage.WEB_OVERLAY, with(good, Map.of("envList", List.of("PATH=/usr/bin:/bin", "TENANT=contoso"))), "invalid env list"));
        h.add(new Hostile("re2 value mismatch", Stage.WEB_OVERLAY, with(good, Map.of("envList", List.of("PATH=/usr/bin:/bin", "MODE=prod", "TENANT=CONTOSO"))), "invalid env list"));
        h.add(new Hostile("re2 value smuggles a newline", Stage.WEB_OVERLAY, with(good, Map.of("envList", List.of("PATH=/usr/bin:/bin", "MODE=prod", "TENANT=abc\nMODE=debug"))), "invalid env list"));
        h.add(new Hostile("PATH redirected", Stage.WEB_OVERLAY, with(good, Map.of("envList", List.of("PATH=/tmp:/usr/bin:/bin", "MODE=prod", "TENANT=contoso"))), "invalid env list"));
        h.add(new Hostile("changed working dir", Stage.WEB_OVERLAY, with(good, Map.of("workingDir", "/")), "invalid working directory"));
        h.add(new Hostile("host-path mount", Stage.WEB_OVERLAY, with(good, Map.of("mounts", plus(good.mounts(), new Mount("/host", "/", "bind", List.of("rbind", "rw"))))), "invalid mount list"));
        h.add(new Hostile("volume source escapes the sandbox", Stage.WEB_OVERLAY, with(good, Map.of("mounts", List.of(new Mount("/cache", SANDBOX + "/volumes/cache/../../../etc", "bind", List.of("rbind", "rshared", "rw"))))), "invalid mount list"));
        h.add(new Hostile("volume mounted over /bin", Stage.WEB_OVERLAY, with(good, Map.of("mounts", List.of(new Mount("/bin", SANDBOX + "/volumes/cache", "bind", List.of("rbind", "rshared", "rw"))))), "invalid mount list"));
        h.add(new Hostile("read-only volume made writable", Stage.WEB_OVERLAY, with(good, Map.of("mounts", List.of(new Mount("/etc/app", SANDBOX + "/volumes/conf", "bind", List.of("rbind", "rshared", "rw"))))), "invalid mount list"));
        h.add(new Hostile("resolv.conf made writable", Stage.WEB_OVERLAY, with(good, Map.of("mounts", List.of(new Mount("/etc/resolv.conf", SANDBOX + "/etc/resolv.conf", "bind", List.of("rbind", "rprivate", "rw"))))), "invalid mount list"));
        h.add(new Hostile("privileged without allow_elevated", Stage.WEB_OVERLAY, with(good, Map.of("privileged", true)), "privileged escalation not allowed"));
        h.add(new Hostile("run as root instead of the image user", Stage.WEB_OVERLAY, with(good, Map.of("user", new IdName("0", "root"))), "invalid user"));
        h.add(new Hostile("extra group root", Stage.WEB_OVERLAY, with(good, Map.of("groups", List.of(new IdName("1000", "www"), new IdName("0", "root")))), "invalid user"));
        h.add(new Hostile("world-writable umask", Stage.WEB_OVERLAY, with(good, Map.of("umask", "0000")), "invalid user"));
        h.add(new Hostile("CAP_SYS_ADMIN added", Stage.WEB_OVERLAY, with(good, Map.of("capabilities", new Capabilities(plus(caps, "CAP_SYS_ADMIN"), caps, List.of(), caps, List.of()))), "invalid capabilities"));
        h.add(new Hostile("ambient capabilities added", Stage.WEB_OVERLAY, with(good, Map.of("capabilities", new Capabilities(caps, caps, List.of(), caps, List.of("CAP_NET_RAW")))), "invalid capabilities"));
        h.add(new Hostile("seccomp profile swapped", Stage.WEB_OVERLAY, with(good, Map.of("seccompProfileSHA256", "e".repeat(64))), "invalid seccomp profile"));
        h.add(new Hostile("device node requested", Stage.WEB_OVERLAY, with(good, Map.of("devices", List.of("/dev/mem"))), "device nodes are not allowed"));
        h.add(new Hostile("duplicate container ID", Stage.WEB_CREATED, good, "container already started"));
        h.add(new Hostile("create after shutdown", Stage.WEB_SHUTDOWN, good, "container already started"));

        // exec and signals
        h.add(new Hostile("exec of an unlisted command", Stage.WEB_CREATED, new ExecInContainer("c-web", List.of("/bin/sh"), Fixtures.webEnv(), "/srv"), "invalid command"));
        h.add(new Hostile("exec with altered argv", Stage.WEB_CREATED, new ExecInContainer("c-web", List.of("/bin/health", "--full"), Fixtures.webEnv(), "/srv"), "invalid command"));
        h.add(new Hostile("exec with an extra env var", Stage.WEB_CREATED, new ExecInContainer("c-web", List.of("/bin/health", "--quick"), plus(Fixtures.webEnv(), "X=1"), "/srv"), "invalid env list"));
        h.add(new Hostile("exec before the container is created", Stage.WEB_OVERLAY, new ExecInContainer("c-web", List.of("/bin/health", "--quick"), Fixtures.webEnv(), "/srv"), "container not started"));
        h.add(new Hostile("exec after shutdown", Stage.WEB_SHUTDOWN, new ExecInContainer("c-web", List.of("/bin/health", "--quick"), Fixtures.webEnv(), "/srv"), "shut down"));
        h.add(new Hostile("unlisted signal to init", Stage.WEB_CREATED, new SignalContainerProcess("c-web", 10, true, List.of()), "invalid signal"));
        h.add(new Hostile("unlisted signal to an exec'd process", Stage.WEB_CREATED, new SignalContainerProcess("c-web", 9, false, List.of("/bin/health", "--quick")), "invalid signal"));
        h.add(new Hostile("signal to an unknown container", Stage.WEB_CREATED, new SignalContainerProcess("c-ghost", 15, true, List.of()), "container not started"));
        h.add(new Hostile("shutdown twice", Stage.WEB_SHUTDOWN, new EnforcementRequest.ShutdownContainer("c-web"), "shut down"));
        h.add(new Hostile("exec in the sandbox itself", Stage.WEB_CREATED, new EnforcementRequest.ExecExternal(List.of("/bin/sh"), List.of(), "/"), "invalid external process"));

        // diagnostics, fragments, scratch, policy
        h.add(new Hostile("stack dump", Stage.WEB_CREATED, new EnforcementRequest.DumpStacks(), "stack dumps are not allowed"));
        h.add(new Hostile("runtime logging", Stage.WEB_CREATED, new EnforcementRequest.RuntimeLogging(), "runtime logging is not allowed"));
        h.add(new Hostile("fragment from an unlisted issuer", Stage.FRESH, new EnforcementRequest.LoadFragment("did:web:evil.example", "evil/feed", "evil", false), "not listed in the policy"));
        h.add(new Hostile("unencrypted scratch", Stage.FRESH, new EnforcementRequest.ScratchMount("/run/coffer/scratch", false), "unencrypted scratch is not allowed"));
        h.add(new Hostile("unmount of an overlay never mounted", Stage.WEB_CREATED, new EnforcementRequest.UnmountOverlay(ROOTFS + "ghost"), "no overlay at path"));
        h.add(new Hostile("policy replaced after launch", Stage.WEB_CREATED, new EnforcementRequest.SetPolicy(Fixtures.policy(true)), "cannot be replaced"));
        h.add(new Hostile("same policy re-sent after launch", Stage.WEB_CREATED, new EnforcementRequest.SetPolicy(Fixtures.POLICY), "cannot be replaced"));

        // Coffer's own points: every request the agent takes is judged
        h.add(new Hostile("start before create is committed", Stage.WEB_OVERLAY, new EnforcementRequest.StartContainer("c-web"), "create_container decision is not committed"));
        h.add(new Hostile("start of an unknown container", Stage.WEB_CREATED, new EnforcementRequest.StartContainer("c-ghost"), "not committed"));
        h.add(new Hostile("start after shutdown", Stage.WEB_SHUTDOWN, new EnforcementRequest.StartContainer("c-web"), "shut down"));
        h.add(new Hostile("wait for a container never created", Stage.WEB_OVERLAY, new EnforcementRequest.WaitContainer("c-web"), "not committed"));
        h.add(new Hostile("logs of a container never created", Stage.WEB_OVERLAY, new EnforcementRequest.ReadLogs("c-web"), "not committed"));
        h.add(new Hostile("decision log without runtime logging", Stage.WEB_CREATED, new EnforcementRequest.ReadDecisionLog(), "allow_runtime_logging is false"));
        return h;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("catalogue")
    void isDeniedWithAReasonAndNoSideEffect(Hostile hostile) {
        PolicyEnforcer e = Fixtures.at(hostile.stage());
        ObjectNode before = e.state();
        Decision d = e.decide(hostile.request());
        assertFalse(d.allowed(), hostile.name() + " was allowed");
        assertTrue(d.delta().isEmpty());
        assertTrue(d.reason().contains(hostile.reason()),
                hostile.name() + ": expected reason containing '" + hostile.reason() + "', got: " + d.reason());
        assertTrue(d.reason().startsWith(hostile.request().rule() + " denied: "), d.reason());
        assertEquals(before, e.state(), hostile.name() + " changed the state");
        assertEquals("denied", e.decisionLog().getLast().outcome());
    }

    @Test
    void catalogueHasAtLeastFortyDistinctRequests() {
        List<Hostile> all = catalogue();
        Set<String> names = new HashSet<>();
        Set<String> requests = new HashSet<>();
        for (Hostile h : all) {
            names.add(h.name());
            requests.add(h.stage() + RequestCodec.toJson(h.request()).toString());
        }
        assertEquals(all.size(), names.size(), "names are unique");
        assertEquals(all.size(), requests.size(), "requests are distinct");
        assertTrue(all.size() >= 40, "only " + all.size() + " hostile requests");
    }

    @Test
    void honestRequestsAfterDenialsStillWork() {
        PolicyEnforcer e = Fixtures.at(Stage.WEB_OVERLAY);
        for (Hostile h : catalogue()) {
            if (h.stage() == Stage.WEB_OVERLAY) {
                assertFalse(e.decide(h.request()).allowed(), h.name());
            }
        }
        Fixtures.commit(e, webCreate("c-web"));
    }
}
