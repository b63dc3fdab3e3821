package dev.coffer.policy.enforce;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.RegoPolicyWriter;
import dev.coffer.policy.model.GroupPolicyInput;
import dev.coffer.policy.simulate.PolicySimulator;
import dev.coffer.policy.simulate.SimulationStep;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The table of enforcement points against framework.rego, the codec, policy generation and the enforcer. */
class EnforcementPointTest {

    /** framework.rego must have a rule for every declared point, with the declared default. */
    @Test
    void frameworkHasARuleWithTheDeclaredDefaultForEveryPoint() throws Exception {
        String framework = RegoPolicyEnforcer.frameworkText();
        List<String> missing = new ArrayList<>();
        for (EnforcementPoint p : EnforcementPoint.values()) {
            Matcher m = Pattern.compile("(?m)^default " + p.pointName() + " := (\\{.*})$").matcher(framework);
            if (!m.find()) {
                missing.add(p.pointName());
                continue;
            }
            assertEquals(p.defaultResult(), RequestCodec.MAPPER.readTree(m.group(1)),
                    "framework default of " + p.pointName() + " differs from EnforcementPoint's");
        }
        assertEquals(List.of(), missing, "framework.rego lacks `default <point> := {...}` rules for these declared points");
    }

    @Test
    void theCodecAndGeneratedBindingsFollowTheTable() {
        assertEquals(EnforcementPoint.names(), RequestCodec.RULES);
        for (EnforcementPoint p : EnforcementPoint.values()) {
            assertEquals(p, EnforcementPoint.named(p.pointName()));
            // every point's input parses under its own name (the fields each requires are named when missing)
            try {
                EnforcementRequest r = RequestCodec.fromJson(p.pointName(), RequestCodec.MAPPER.createObjectNode());
                assertEquals(p, r.point());
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage().startsWith("invalid " + p.pointName() + " input"), e.getMessage());
            }
        }
        String policy = Fixtures.POLICY;
        for (EnforcementPoint p : EnforcementPoint.values()) {
            boolean bound = policy.contains("\n" + p.pointName() + " := data.framework." + p.pointName() + "\n");
            assertEquals(p.binding() == EnforcementPoint.Binding.ALWAYS, bound, p.pointName() + " binding in a generated policy");
        }
        assertTrue(RegoPolicyWriter.ENFORCEMENT_POINTS.containsAll(List.of("start_container", "wait_container", "read_logs",
                "read_decision_log", "get_report", "shutdown_sandbox")));
    }

    @Test
    void startNeedsACommittedCreateAndRunsOnce() {
        PolicyEnforcer e = Fixtures.at(Fixtures.Stage.WEB_OVERLAY);
        Decision create = e.decide(Fixtures.webCreate("c-web"));
        assertTrue(create.allowed(), create.reason());
        // create decided, its host operation still running: start must wait for the commit
        Decision early = e.decide(new EnforcementRequest.StartContainer("c-web"));
        assertFalse(early.allowed());
        assertTrue(early.reason().contains("field containerID"), early.reason());
        e.commit(create);
        Fixtures.commit(e, new EnforcementRequest.StartContainer("c-web"));
        Decision again = e.decide(new EnforcementRequest.StartContainer("c-web"));
        assertFalse(again.allowed());
        assertTrue(again.reason().contains("already started"), again.reason());
        assertTrue(e.decide(new EnforcementRequest.WaitContainer("c-web")).allowed());
        assertTrue(e.decide(new EnforcementRequest.ReadLogs("c-web")).allowed(), "web allows stdio access by default");
    }

    @Test
    void readLogsFollowsTheCommittedCreatesStdioAccess() throws Exception {
        String spec = """
                name: quiet
                containers:
                  - name: web
                    image: registry.example/web:1.0
                    args: ["httpd", "-f", "-p", "8080"]
                    env:
                      - {name: MODE, value: prod}
                      - {name: TENANT, value: "[a-z]{3,10}", variable: true}
                    securityContext: {allowStdioAccess: false}
                """;
        String policy = new PolicyGenerator(Fixtures.IMAGES).generate(GroupPolicyInput.parse(spec, "quiet.yaml"), false).text();
        PolicyEnforcer e = PolicyEnforcer.load(policy);
        Fixtures.commit(e, new EnforcementRequest.MountDevice(Fixtures.LAYERS + "base", Fixtures.BASE));
        Fixtures.commit(e, new EnforcementRequest.MountDevice(Fixtures.LAYERS + "web", Fixtures.WEB));
        Fixtures.commit(e, new EnforcementRequest.MountOverlay("c-web", List.of(Fixtures.LAYERS + "web", Fixtures.LAYERS + "base"),
                "/run/coffer/rootfs/c-web"));
        Decision create = Fixtures.commit(e, Fixtures.with(Fixtures.webCreate("c-web"), java.util.Map.of("mounts", List.of())));
        assertFalse(create.allowStdioAccess());
        ObjectNode before = e.state();
        Decision logs = e.decide(new EnforcementRequest.ReadLogs("c-web"));
        assertFalse(logs.allowed());
        assertTrue(logs.reason().contains("field allow_stdio_access: expected true, got false"), logs.reason());
        assertEquals(before, e.state());
    }

    @Test
    void containersThatCannotBeToldApartAreNamedAsTheReason() throws Exception {
        String spec = """
                name: twins
                containers:
                  - name: loud
                    image: registry.example/side:2
                  - name: quiet
                    image: registry.example/side:2
                    securityContext: {allowStdioAccess: false}
                """;
        String policy = new PolicyGenerator(Fixtures.IMAGES).generate(GroupPolicyInput.parse(spec, "twins.yaml"), false).text();
        PolicyEnforcer e = PolicyEnforcer.load(policy);
        Fixtures.commit(e, new EnforcementRequest.MountDevice(Fixtures.LAYERS + "base", Fixtures.BASE));
        Fixtures.commit(e, new EnforcementRequest.MountDevice(Fixtures.LAYERS + "side", Fixtures.SIDE));
        Fixtures.commit(e, new EnforcementRequest.MountOverlay("c-side", List.of(Fixtures.LAYERS + "side", Fixtures.LAYERS + "base"),
                "/run/coffer/rootfs/c-side"));
        Decision d = e.decide(Fixtures.sideCreate("c-side"));
        assertFalse(d.allowed());
        assertTrue(d.reason().contains("disagree on allow_stdio_access"), d.reason());
    }

    /** Under the dropping flags the decision carries the policy's lists, never the host's additions. */
    @Test
    void droppingReturnsThePolicysCapabilitiesAndEnvironment() {
        String dropping = Fixtures.POLICY.replace("allow_capability_dropping := false", "allow_capability_dropping := true")
                .replace("allow_environment_variable_dropping := false", "allow_environment_variable_dropping := true");
        PolicyEnforcer e = PolicyEnforcer.load(dropping);
        Fixtures.commit(e, new EnforcementRequest.MountDevice(Fixtures.LAYERS + "base", Fixtures.BASE));
        Fixtures.commit(e, new EnforcementRequest.MountDevice(Fixtures.LAYERS + "web", Fixtures.WEB));
        Fixtures.commit(e, new EnforcementRequest.MountOverlay("c-web", List.of(Fixtures.LAYERS + "web", Fixtures.LAYERS + "base"),
                "/run/coffer/rootfs/c-web"));
        List<String> caps = Fixtures.plus(dev.coffer.policy.gen.DefaultCapabilities.UNPRIVILEGED, "CAP_SYS_ADMIN");
        EnforcementRequest.Capabilities hostCaps = new EnforcementRequest.Capabilities(caps, caps, List.of("CAP_SYS_ADMIN"), caps,
                List.of("CAP_SYS_ADMIN"));
        Decision d = Fixtures.commit(e, Fixtures.with(Fixtures.webCreate("c-web"), java.util.Map.of("capabilities", hostCaps,
                "envList", Fixtures.plus(Fixtures.webEnv(), "LD_PRELOAD=/tmp/x.so"))));
        assertEquals(Fixtures.defaultCaps(), d.capabilities(), "all five sets are the policy's");
        assertEquals(Fixtures.webEnv(), d.envList());
    }

    @Test
    void defaultsThePolicyCanChange() {
        PolicyEnforcer e = Fixtures.at(Fixtures.Stage.FRESH);
        assertTrue(e.decide(new EnforcementRequest.GetReport()).allowed());
        assertTrue(e.decide(new EnforcementRequest.ShutdownSandbox()).allowed());
        assertFalse(e.decide(new EnforcementRequest.ReadDecisionLog()).allowed());
        // a policy binding its own rules changes the results
        String strict = Fixtures.POLICY.replace("get_report := data.framework.get_report", "get_report := {\"allowed\": false}")
                .replace("shutdown_sandbox := data.framework.shutdown_sandbox", "shutdown_sandbox := {\"allowed\": false}");
        PolicyEnforcer s = PolicyEnforcer.load(strict);
        Decision report = s.decide(new EnforcementRequest.GetReport());
        assertFalse(report.allowed());
        assertTrue(report.reason().startsWith("get_report denied"), report.reason());
        assertTrue(report.reason().contains("field policy.get_report"), report.reason());
        assertFalse(s.decide(new EnforcementRequest.ShutdownSandbox()).allowed());
        // debug-mode policies allow runtime logging, and with it the decision log
        assertTrue(PolicyEnforcer.load(Fixtures.policy(true)).decide(new EnforcementRequest.ReadDecisionLog()).allowed());
    }

    /** A policy that binds none of Coffer's own points (as ACI's do) gets the framework's rules, never a free pass. */
    @Test
    void unboundCofferPointsGetTheFrameworksRule() {
        StringBuilder aciLike = new StringBuilder();
        for (String line : Fixtures.POLICY.split("\n", -1)) {
            EnforcementPoint p = EnforcementPoint.named(line.split(" ")[0]);
            if (p != null && p.origin() == EnforcementPoint.Origin.COFFER) continue;
            aciLike.append(line).append('\n');
        }
        assertFalse(aciLike.toString().contains("start_container :="));
        PolicyEnforcer e = PolicyEnforcer.load(aciLike.toString());
        assertFalse(e.decide(new EnforcementRequest.StartContainer("c-web")).allowed());
        assertFalse(e.decide(new EnforcementRequest.ReadDecisionLog()).allowed());
        assertTrue(e.decide(new EnforcementRequest.GetReport()).allowed());
    }

    @Test
    void theRuntimeDefaultSeccompProfileIsReportedByItsHashAndPinnable() {
        assertTrue(SeccompDefault.sha256().matches("[0-9a-f]{64}"));
        PolicyEnforcer e = Fixtures.at(Fixtures.Stage.WEB_OVERLAY);
        // the policy says "runtime default" (""): the agent's report of the default profile's hash is accepted
        Decision d = e.decide(Fixtures.with(Fixtures.webCreate("c-web"), java.util.Map.of("seccompProfileSHA256", SeccompDefault.sha256())));
        assertTrue(d.allowed(), d.reason());
        assertEquals(SeccompDefault.sha256(), d.input().get("runtimeDefaultSeccompProfileSHA256").asText());
        e.rollback(d);
        // a refusal for another reason does not blame the runtime default profile
        Decision other = e.decide(Fixtures.with(Fixtures.webCreate("c-web"), java.util.Map.of("seccompProfileSHA256", SeccompDefault.sha256(),
                "workingDir", "/tmp")));
        assertFalse(other.allowed());
        assertFalse(other.reason().contains("seccompProfileSHA256"), other.reason());
        // a policy pinning the default profile's hash accepts it and refuses another
        String pinned = Fixtures.POLICY.replace("\"seccomp_profile_sha256\": \"\"", "\"seccomp_profile_sha256\": \"" + SeccompDefault.sha256() + "\"");
        assertTrue(pinned.contains(SeccompDefault.sha256()));
        PolicyEnforcer p = PolicyEnforcer.load(pinned);
        Fixtures.commit(p, new EnforcementRequest.MountDevice(Fixtures.LAYERS + "base", Fixtures.BASE));
        Fixtures.commit(p, new EnforcementRequest.MountDevice(Fixtures.LAYERS + "web", Fixtures.WEB));
        Fixtures.commit(p, new EnforcementRequest.MountOverlay("c-web", List.of(Fixtures.LAYERS + "web", Fixtures.LAYERS + "base"),
                "/run/coffer/rootfs/c-web"));
        Decision unpinned = p.decide(Fixtures.webCreate("c-web"));
        assertFalse(unpinned.allowed(), "no profile reported where the policy pins one");
        assertTrue(unpinned.reason().contains("invalid seccomp profile"), unpinned.reason());
        assertTrue(p.decide(Fixtures.with(Fixtures.webCreate("c-web"), java.util.Map.of("seccompProfileSHA256", SeccompDefault.sha256()))).allowed());
    }

    @Test
    void simulateReplaysTheNewPointsUnderTheirOwnNames() throws Exception {
        JsonNode commands = RequestCodec.MAPPER.readTree("""
                [
                 {"rule": "start_container", "input": {"containerID": "c-web"}},
                 {"rule": "wait_container", "input": {"containerID": "c-web"}},
                 {"rule": "read_logs", "input": {"containerID": "c-web"}},
                 {"rule": "read_decision_log", "input": {}},
                 {"rule": "get_report", "input": {}},
                 {"rule": "shutdown_sandbox", "input": {}}
                ]""");
        List<SimulationStep> steps = PolicySimulator.run(Fixtures.POLICY, commands, EnforcerOptions.defaults());
        List<String> rules = steps.stream().map(s -> s.decision().rule()).toList();
        assertEquals(List.of("start_container", "wait_container", "read_logs", "read_decision_log", "get_report", "shutdown_sandbox"), rules);
        List<String> outcomes = steps.stream().map(SimulationStep::outcome).toList();
        assertEquals(List.of("denied", "denied", "denied", "denied", "committed", "committed"), outcomes);
        assertNotNull(steps.getFirst().decision().explanation());
    }
}
