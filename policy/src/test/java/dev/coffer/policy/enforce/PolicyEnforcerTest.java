package dev.coffer.policy.enforce;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.policy.enforce.EnforcementRequest.ExecInContainer;
import dev.coffer.policy.enforce.EnforcementRequest.MountDevice;
import dev.coffer.policy.enforce.EnforcementRequest.MountOverlay;
import dev.coffer.policy.enforce.EnforcementRequest.ShutdownContainer;
import dev.coffer.policy.enforce.EnforcementRequest.SignalContainerProcess;
import dev.coffer.policy.gen.GeneratedPolicy;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.coffer.policy.enforce.Fixtures.BASE;
import static dev.coffer.policy.enforce.Fixtures.LAYERS;
import static dev.coffer.policy.enforce.Fixtures.SIDE;
import static dev.coffer.policy.enforce.Fixtures.WEB;
import static dev.coffer.policy.enforce.Fixtures.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PolicyEnforcerTest {

    @Test
    void honestHostSequenceIsAllowedAndTracked() {
        PolicyEnforcer e = PolicyEnforcer.load(Fixtures.POLICY);
        assertEquals(GeneratedPolicy.sha256Hex(Fixtures.POLICY), e.policySha256());
        assertFalse(e.debuggable());

        Decision mount = commit(e, new MountDevice(LAYERS + "base", BASE));
        assertEquals(List.of(new MetadataAction("devices", "add", LAYERS + "base",
                com.fasterxml.jackson.databind.node.TextNode.valueOf(BASE))), mount.delta());
        commit(e, new MountDevice(LAYERS + "web", WEB));
        commit(e, new MountDevice(LAYERS + "side", SIDE));
        commit(e, new MountOverlay("c-web", List.of(LAYERS + "web", LAYERS + "base"), "/run/coffer/rootfs/c-web"));
        commit(e, new MountOverlay("c-side", List.of(LAYERS + "side", LAYERS + "base"), "/run/coffer/rootfs/c-side"));
        ObjectNode s = e.state();
        assertEquals(1, s.path("matches").path("c-web").size(), "web's layers narrow to exactly one container");
        assertEquals("web", s.path("matches").path("c-web").get(0).path("name").asText());

        Decision create = commit(e, Fixtures.webCreate("c-web"));
        assertTrue(create.allowStdioAccess());
        assertEquals(Fixtures.webEnv(), create.envList());
        assertEquals(Fixtures.defaultCaps(), create.capabilities());
        commit(e, Fixtures.sideCreate("c-side"));
        assertTrue(e.state().path("started").has("c-web"));
        assertTrue(e.state().path("started").has("c-side"));

        commit(e, new ExecInContainer("c-web", List.of("/bin/health", "--quick"), Fixtures.webEnv(), "/srv"));
        commit(e, new SignalContainerProcess("c-web", 15, false, List.of("/bin/health", "--quick")));
        commit(e, new SignalContainerProcess("c-web", 15, true, List.of()));
        commit(e, new SignalContainerProcess("c-side", 9, true, List.of()));
        commit(e, new ShutdownContainer("c-web"));
        assertFalse(e.state().path("matches").has("c-web"));
        assertTrue(e.state().path("started").has("c-web"), "a shut-down ID stays used");
        commit(e, new EnforcementRequest.UnmountOverlay("/run/coffer/rootfs/c-web"));
        commit(e, new EnforcementRequest.UnmountDevice(LAYERS + "web"));
        commit(e, new EnforcementRequest.GetProperties());
        commit(e, new EnforcementRequest.ScratchMount("/run/coffer/scratch", true));
    }

    @Test
    void failedHostOperationLeavesNoTrace() {
        PolicyEnforcer e = PolicyEnforcer.load(Fixtures.POLICY);
        ObjectNode before = e.state();
        Decision d = e.decide(new MountDevice(LAYERS + "base", BASE));
        assertTrue(d.allowed());
        assertEquals(before, e.state(), "deciding changes nothing");
        e.rollback(d);
        assertEquals(before, e.state());
        // the same request can be made again and commits normally
        commit(e, new MountDevice(LAYERS + "base", BASE));
        assertEquals(BASE, e.state().path("devices").path(LAYERS + "base").asText());
        List<String> outcomes = new ArrayList<>();
        e.decisionLog().forEach(x -> outcomes.add(x.outcome()));
        assertEquals(List.of("rolled-back", "committed"), outcomes);
    }

    @Test
    void deniedDecisionsCannotBeCommittedAndDecisionsCommitOnce() {
        PolicyEnforcer e = PolicyEnforcer.load(Fixtures.POLICY);
        Decision denied = e.decide(new MountDevice(LAYERS + "x", "f".repeat(64)));
        assertFalse(denied.allowed());
        assertThrows(IllegalStateException.class, () -> e.commit(denied));
        Decision ok = e.decide(new MountDevice(LAYERS + "base", BASE));
        e.commit(ok);
        var twice = assertThrows(IllegalStateException.class, () -> e.commit(ok));
        assertTrue(twice.getMessage().contains("not pending"), twice.getMessage());
    }

    @Test
    void decisionOvertakenByAnotherCommitIsRejudgedAgainstTheNewerState() {
        PolicyEnforcer e = PolicyEnforcer.load(Fixtures.POLICY);
        Decision a = e.decide(new MountDevice(LAYERS + "a", BASE));
        Decision b = e.decide(new MountDevice(LAYERS + "b", WEB));
        e.commit(a);
        e.commit(b); // both mounts happened; the state must record both
        assertEquals(BASE, e.state().path("devices").path(LAYERS + "a").asText());
        assertEquals(WEB, e.state().path("devices").path(LAYERS + "b").asText());
        assertTrue(e.decisionLog().getLast().outcome().contains("re-judged"), e.decisionLog().getLast().toString());
    }

    @Test
    void conflictingDecisionsCommitOnlyOnce() {
        PolicyEnforcer e = PolicyEnforcer.load(Fixtures.POLICY);
        // two mounts at one target, decided before either committed: the second conflicts
        Decision a = e.decide(new MountDevice(LAYERS + "a", BASE));
        Decision b = e.decide(new MountDevice(LAYERS + "a", WEB));
        e.commit(a);
        var ex = assertThrows(IllegalStateException.class, () -> e.commit(b));
        assertTrue(ex.getMessage().contains("conflicts"), ex.getMessage());
        assertEquals(BASE, e.state().path("devices").path(LAYERS + "a").asText());
        var again = assertThrows(IllegalStateException.class, () -> e.commit(b));
        assertTrue(again.getMessage().contains("not pending"), again.getMessage());
    }

    @Test
    void decisionsFromAnotherEnforcerAreRefused() {
        PolicyEnforcer e1 = PolicyEnforcer.load(Fixtures.POLICY);
        PolicyEnforcer e2 = PolicyEnforcer.load(Fixtures.POLICY);
        Decision d = e1.decide(new MountDevice(LAYERS + "base", BASE));
        Decision own = e2.decide(new MountDevice(LAYERS + "base", BASE));
        assertEquals(d.sequence(), own.sequence());
        assertThrows(IllegalStateException.class, () -> e2.commit(d));
        e2.rollback(d); // not e2's decision: ignored, e2's own stays pending
        e2.commit(own);
        e1.commit(d);
        assertEquals(e1.state(), e2.state());
    }

    @Test
    void denialIsExplainedWithFieldExpectedActualAndClosestContainer() {
        PolicyEnforcer e = Fixtures.at(Fixtures.Stage.WEB_OVERLAY);
        Decision d = e.decide(Fixtures.with(Fixtures.webCreate("c-web"),
                java.util.Map.of("argList", List.of("/docker-entrypoint.sh", "httpd", "-f", "-p", "9999"))));
        assertFalse(d.allowed());
        Explanation x = d.explanation();
        assertEquals("create_container", x.rule());
        assertTrue(x.errors().contains("invalid command"), x.errors().toString());
        assertEquals("argList", x.field());
        assertEquals("[/docker-entrypoint.sh, httpd, -f, -p, 8080]", x.expected());
        assertEquals("[/docker-entrypoint.sh, httpd, -f, -p, 9999]", x.actual());
        assertTrue(x.closestContainer().startsWith("\"web\""), x.closestContainer());
        assertTrue(d.reason().startsWith("create_container denied: invalid command; field argList: expected"), d.reason());
    }

    @Test
    void overlayDenialShowsExpectedLayers() {
        PolicyEnforcer e = Fixtures.at(Fixtures.Stage.WEB_LAYERS);
        Decision d = e.decide(new MountOverlay("c", List.of(LAYERS + "base", LAYERS + "web"), "/run/coffer/rootfs/c"));
        assertFalse(d.allowed());
        assertEquals("[" + BASE + ", " + WEB + "]", d.explanation().expected());
        assertEquals("[" + WEB + ", " + BASE + "]", d.explanation().actual());
    }

    @Test
    void decisionLogRedactsEnvValuesAndReportsOutcomes() {
        List<DecisionLogEntry> sunk = new ArrayList<>();
        PolicyEnforcer e = PolicyEnforcer.load(Fixtures.POLICY, EnforcerOptions.defaults().withLogSink(sunk::add));
        commit(e, new MountDevice(LAYERS + "base", BASE));
        commit(e, new MountDevice(LAYERS + "web", WEB));
        commit(e, new MountOverlay("c-web", List.of(LAYERS + "web", LAYERS + "base"), "/run/coffer/rootfs/c-web"));
        e.decide(Fixtures.with(Fixtures.webCreate("c-web"), java.util.Map.of("envList",
                List.of("PATH=/usr/bin:/bin", "MODE=prod", "TENANT=contoso", "API_KEY=s3cr3t"))));
        List<DecisionLogEntry> log = e.decisionLog();
        assertEquals(4, log.size());
        DecisionLogEntry last = log.getLast();
        assertEquals("denied", last.outcome());
        assertFalse(last.toJson().toString().contains("s3cr3t"), last.toJson().toString());
        assertTrue(last.toJson().path("input").path("envList").toString().contains("API_KEY=<redacted>"));
        assertTrue(sunk.size() >= 7, "pending + committed for each allowed, one for the denial");
        assertEquals(last, DecisionLogEntry.fromJson(last.toJson()));
        assertThrows(IllegalArgumentException.class, () -> DecisionLogEntry.fromJson(
                com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode().put("rule", "x")));
    }

    @Test
    void decisionLogRedactsWithoutTouchingTheDecisionAndLogsPlainInputsAsDecided() {
        PolicyEnforcer e = Fixtures.at(Fixtures.Stage.WEB_OVERLAY);
        Decision create = e.decide(Fixtures.webCreate("c-web"));
        assertTrue(create.allowed(), create.reason());
        ObjectNode logged = e.decisionLog().getLast().input();
        // the logged copy hides values; the decision (which the agent acts on) keeps them
        assertEquals(Fixtures.webEnv().stream().map(kv -> kv.substring(0, kv.indexOf('=')) + "=<redacted>").toList(),
                strings(logged.get("envList")));
        assertEquals(Fixtures.webEnv(), strings(create.input().get("envList")));
        ObjectNode withoutEnv = create.input().deepCopy();
        withoutEnv.remove("envList");
        ObjectNode loggedWithoutEnv = logged.deepCopy();
        loggedWithoutEnv.remove("envList");
        assertEquals(withoutEnv, loggedWithoutEnv, "only envList differs");
        List<String> names = new ArrayList<>();
        logged.fieldNames().forEachRemaining(names::add);
        List<String> decidedNames = new ArrayList<>();
        create.input().fieldNames().forEachRemaining(decidedNames::add);
        assertEquals(decidedNames, names, "fields keep their order");

        Decision set = e.decide(new EnforcementRequest.SetPolicy("package policy\nsecret := \"p4ss\"\n"));
        assertFalse(set.allowed());
        ObjectNode loggedSet = e.decisionLog().getLast().input();
        assertFalse(loggedSet.toString().contains("p4ss"), loggedSet.toString());
        assertTrue(set.input().toString().contains("p4ss"));

        Decision stacks = e.decide(new EnforcementRequest.DumpStacks());
        assertEquals(stacks.input(), e.decisionLog().getLast().input());
    }

    private static List<String> strings(com.fasterxml.jackson.databind.JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    @Test
    void allowedDecisionCarriesMetadataAsLazyDelta() {
        PolicyEnforcer e = Fixtures.at(Fixtures.Stage.WEB_OVERLAY);
        com.fasterxml.jackson.databind.JsonNode matchesBefore = e.state().path("matches").path("c-web");
        Decision create = e.decide(Fixtures.webCreate("c-web"));
        assertTrue(create.allowed(), create.reason());
        // the result is the framework's value as it is; the metadata in it is what the delta reads
        com.fasterxml.jackson.databind.JsonNode result = dev.coffer.rego.value.Json.toJsonNode(create.result());
        assertTrue(result.path("allowed").booleanValue());
        assertEquals(create.delta().size(), result.path("metadata").size(), result.toString());
        assertEquals(List.of("matches", "started"), create.delta().stream().map(MetadataAction::name).sorted().toList());
        MetadataAction matches = create.delta().stream().filter(a -> a.name().equals("matches")).findFirst().orElseThrow();
        assertEquals("update", matches.action());
        assertEquals("c-web", matches.key());
        assertTrue(matches.value().isArray() && matches.value().size() == 1, String.valueOf(matches.value()));
        assertEquals("web", matches.value().get(0).path("name").asText());
        // the lazily converted action equals one read from its JSON form, as a record's would
        MetadataAction fromJson = MetadataAction.fromJson(com.fasterxml.jackson.databind.node.JsonNodeFactory.instance
                .objectNode().put("name", "matches").put("action", "update").put("key", "c-web").set("value", matches.value()));
        assertEquals(fromJson, matches);
        assertEquals(fromJson.hashCode(), matches.hashCode());
        assertEquals(matchesBefore, matches.value(), "the overlay narrowed to web already; create keeps it");
        e.commit(create);
        assertEquals(matches.value(), e.state().path("matches").path("c-web"));
        assertTrue(e.state().path("started").has("c-web"));
    }

    @Test
    void malformedMetadataActionFromTheFrameworkIsRefused() {
        IllegalStateException ex = assertThrows(IllegalStateException.class, () -> MetadataAction.fromValue(
                dev.coffer.rego.value.Json.parse("{\"name\": \"devices\", \"action\": \"add\", \"key\": 7}")));
        assertTrue(ex.getMessage().contains("expected {name, action, key[, value]} strings"), ex.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MetadataAction.fromValue(
                dev.coffer.rego.value.Json.parse("{\"name\": \"devices\", \"action\": \"drop\", \"key\": \"k\"}")));
    }

    @Test
    void decisionLogIsBounded() {
        PolicyEnforcer e = PolicyEnforcer.load(Fixtures.POLICY, new EnforcerOptions(
                EnforcerOptions.DEFAULT_LAYER_MOUNT_PATH_REGEX, Fixtures.SANDBOX, 3, null));
        for (int i = 0; i < 10; i++) e.decide(new EnforcementRequest.DumpStacks());
        assertEquals(3, e.decisionLog().size());
        assertEquals(10, e.decisionLog().getLast().sequence());
    }

    @Test
    void debugModePolicyAllowsShellAndIsDebuggable() {
        PolicyEnforcer e = PolicyEnforcer.load(Fixtures.policy(true));
        assertTrue(e.debuggable());
        commit(e, new EnforcementRequest.DumpStacks());
        commit(e, new EnforcementRequest.RuntimeLogging());
        commit(e, new MountDevice(LAYERS + "base", BASE));
        commit(e, new MountDevice(LAYERS + "web", WEB));
        commit(e, new MountOverlay("c-web", List.of(LAYERS + "web", LAYERS + "base"), "/run/coffer/rootfs/c-web"));
        commit(e, Fixtures.webCreate("c-web"));
        commit(e, new ExecInContainer("c-web", List.of("/bin/sh"), Fixtures.webEnv(), "/srv"));
        commit(e, new EnforcementRequest.ExecExternal(List.of("/bin/sh"),
                List.of("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), "/"));
    }

    @Test
    void allowAllAllowsEverythingAndIsDebuggable() {
        PolicyEnforcer e = PolicyEnforcer.allowAll();
        assertTrue(e.debuggable());
        assertEquals("", e.policySha256());
        Decision d = e.decide(new MountDevice("/anywhere", "whatever"));
        assertTrue(d.allowed());
        e.commit(d);
        assertEquals("committed", e.decisionLog().getFirst().outcome());
    }

    @Test
    void policiesThatDoNotCompileOrAreNotPoliciesAreRefusedAtLoad() {
        var e1 = assertThrows(PolicyLoadException.class, () -> PolicyEnforcer.load("package policy\n\nthis is not rego {"));
        assertTrue(e1.getMessage().contains("policy.rego:"), e1.getMessage());
        var e2 = assertThrows(PolicyLoadException.class, () -> PolicyEnforcer.load("package other\n\nx := 1\n"));
        assertTrue(e2.getMessage().contains("package policy"), e2.getMessage());
        var e3 = assertThrows(PolicyLoadException.class, () -> PolicyEnforcer.load("package policy\n\ncontainers := 5\n"));
        assertTrue(e3.getMessage().contains("must be an array"), e3.getMessage());
    }

    @Test
    void policyWithoutABindingDeniesThatPoint() {
        PolicyEnforcer e = PolicyEnforcer.load("package policy\n\nimport rego.v1\n\ncontainers := []\n"
                + "mount_device := data.framework.mount_device\n");
        Decision d = e.decide(new EnforcementRequest.GetProperties());
        assertFalse(d.allowed());
        assertTrue(d.reason().contains("does not bind enforcement point get_properties"), d.reason());
    }

    @Test
    void oversizedRequestIsDeniedNotFatal() {
        PolicyEnforcer e = Fixtures.at(Fixtures.Stage.WEB_OVERLAY);
        ObjectNode before = e.state();
        List<String> env = new ArrayList<>(Fixtures.webEnv());
        for (int i = 0; i < 20_000; i++) env.add("JUNK_" + i + "=" + "x".repeat(32));
        Decision d = e.decide(Fixtures.with(Fixtures.webCreate("c-web"), java.util.Map.of("envList", env)));
        assertFalse(d.allowed());
        assertTrue(d.reason().startsWith("create_container denied: request exceeds the enforcer's size limits; field envList"), d.reason());
        assertEquals(before, e.state());
        List<String> longValue = new ArrayList<>(Fixtures.webEnv());
        longValue.add("HUGE=" + "y".repeat(100_000));
        Decision d2 = e.decide(Fixtures.with(Fixtures.webCreate("c-web"), java.util.Map.of("envList", longValue)));
        assertTrue(d2.reason().contains("field envList[3]"), d2.reason());
        commit(e, Fixtures.webCreate("c-web"));
    }

    @Test
    void explanationsNameTheFieldAtFault() {
        PolicyEnforcer overlay = Fixtures.at(Fixtures.Stage.WEB_OVERLAY);
        Explanation inUse = overlay.decide(new EnforcementRequest.UnmountDevice(LAYERS + "web")).explanation();
        assertEquals("a device no mounted overlay uses", inUse.expected());
        assertEquals(LAYERS + "web (a layer of overlay /run/coffer/rootfs/c-web)", inUse.actual());
        Explanation reused = overlay.decide(new MountOverlay("c-two", List.of(LAYERS + "web", LAYERS + "base"),
                "/run/coffer/rootfs/c-web")).explanation();
        assertEquals("target", reused.field());

        PolicyEnforcer layers = Fixtures.at(Fixtures.Stage.WEB_LAYERS);
        Explanation missingBase = layers.decide(new MountOverlay("c", List.of(LAYERS + "web"), "/run/coffer/rootfs/c")).explanation();
        assertEquals("[" + BASE + ", " + WEB + "]", missingBase.expected());
        assertEquals("[" + WEB + "]", missingBase.actual());
        assertTrue(missingBase.closestContainer().startsWith("\"web\""), missingBase.closestContainer());

        PolicyEnforcer down = Fixtures.at(Fixtures.Stage.WEB_SHUTDOWN);
        Decision exec = down.decide(new ExecInContainer("c-web", List.of("/bin/health", "--quick"), Fixtures.webEnv(), "/srv"));
        assertEquals(List.of("container has been shut down"), exec.explanation().errors());
        Decision signal = down.decide(new SignalContainerProcess("c-web", 15, true, List.of()));
        assertEquals(List.of("container has been shut down"), signal.explanation().errors());
        assertEquals("c-web (already shut down)", down.decide(new ShutdownContainer("c-web")).explanation().actual());
    }

    @Test
    void capabilitiesAndMountOptionsMatchAsSetsInAnyOrder() {
        PolicyEnforcer e = Fixtures.at(Fixtures.Stage.WEB_OVERLAY);
        List<String> reversed = new ArrayList<>(dev.coffer.policy.gen.DefaultCapabilities.UNPRIVILEGED);
        java.util.Collections.reverse(reversed);
        List<EnforcementRequest.Mount> mounts = List.of(
                new EnforcementRequest.Mount("/cache", Fixtures.SANDBOX + "/volumes/cache", "bind", List.of("rw", "rshared", "rbind")));
        Decision d = e.decide(Fixtures.with(Fixtures.webCreate("c-web"), java.util.Map.of(
                "capabilities", new EnforcementRequest.Capabilities(reversed, reversed, List.of(), reversed, List.of()),
                "mounts", mounts)));
        assertTrue(d.allowed(), d.reason());
        List<String> duplicated = new ArrayList<>(reversed);
        duplicated.set(0, duplicated.get(1));
        Decision dup = e.decide(Fixtures.with(Fixtures.webCreate("c-web"), java.util.Map.of(
                "capabilities", new EnforcementRequest.Capabilities(duplicated, reversed, List.of(), reversed, List.of()))));
        assertFalse(dup.allowed());
    }
}
