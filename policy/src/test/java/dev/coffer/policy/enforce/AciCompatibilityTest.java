package dev.coffer.policy.enforce;

import dev.coffer.policy.enforce.EnforcementRequest.Capabilities;
import dev.coffer.policy.enforce.EnforcementRequest.CreateContainer;
import dev.coffer.policy.enforce.EnforcementRequest.IdName;
import dev.coffer.policy.enforce.EnforcementRequest.Mount;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static dev.coffer.policy.enforce.Fixtures.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A policy in the shape Azure's tooling emits for ACI (v0 syntax with future.keywords,
 * framework_version 0.2.3, re2 env rules, sandbox:// mounts, "any" user rules, a fragment, and
 * bindings to points we do not implement such as plan9_mount) is enforced by our framework.
 */
class AciCompatibilityTest {
    static final String L1 = "5".repeat(64);
    static final String L2 = "6".repeat(64);
    static final List<String> CAPS = List.of("CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER",
            "CAP_FSETID", "CAP_KILL", "CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP", "CAP_SETGID",
            "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT");

    static String policy() throws IOException {
        try (InputStream in = AciCompatibilityTest.class.getResourceAsStream("aci-v0-policy.rego")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static CreateContainer create(List<String> env) {
        return new CreateContainer("hello-1", List.of("/bin/sh", "-c", "while true; do echo hello; sleep 10; done"), env, "/",
                List.of(new Mount("/etc/resolv.conf", Fixtures.SANDBOX + "/tmp/atlas/resolvconf/abc123", "bind",
                        List.of("rbind", "rshared", "rw"))),
                false, false, new IdName("0", "root"), List.of(new IdName("0", "root")), "0022",
                new Capabilities(CAPS, CAPS, List.of(), CAPS, List.of()), "", List.of());
    }

    @Test
    void aciPolicyRunsItsContainer() throws IOException {
        PolicyEnforcer e = PolicyEnforcer.load(policy());
        commit(e, new EnforcementRequest.MountDevice(Fixtures.LAYERS + "a", L1));
        commit(e, new EnforcementRequest.MountDevice(Fixtures.LAYERS + "b", L2));
        commit(e, new EnforcementRequest.MountOverlay("hello-1", List.of(Fixtures.LAYERS + "b", Fixtures.LAYERS + "a"),
                "/run/coffer/rootfs/hello-1"));
        commit(e, create(List.of("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm",
                "HOSTNAME=sandbox-7", "Fabric_NodeId=node-3")));
        commit(e, new EnforcementRequest.ExecInContainer("hello-1", List.of("/bin/sh"),
                List.of("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), "/"));
        commit(e, new EnforcementRequest.LoadFragment("did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx_eT1RPHbCQ_ECBQfYZpt9s::eku:1.3.6.1.4.1.311.76.59.1.3",
                "contoso.azurecr.io/infra", "infra", false));
        commit(e, new EnforcementRequest.GetProperties());
    }

    @Test
    void environmentVariableDroppingRemovesWhatNoRuleAllows() throws IOException {
        PolicyEnforcer e = PolicyEnforcer.load(policy());
        commit(e, new EnforcementRequest.MountDevice(Fixtures.LAYERS + "a", L1));
        commit(e, new EnforcementRequest.MountDevice(Fixtures.LAYERS + "b", L2));
        commit(e, new EnforcementRequest.MountOverlay("hello-1", List.of(Fixtures.LAYERS + "b", Fixtures.LAYERS + "a"),
                "/run/coffer/rootfs/hello-1"));
        // the policy sets allow_environment_variable_dropping: LD_PRELOAD is dropped, not passed on
        Decision d = commit(e, create(List.of("TERM=xterm", "LD_PRELOAD=/tmp/evil.so", "HOSTNAME=h1")));
        assertEquals(List.of("TERM=xterm", "HOSTNAME=h1"), d.envList());
    }

    @Test
    void capabilityDroppingRemovesUngrantedCapabilitiesButNeedsAllGranted() throws IOException {
        PolicyEnforcer e = PolicyEnforcer.load(policy());
        commit(e, new EnforcementRequest.MountDevice(Fixtures.LAYERS + "a", L1));
        commit(e, new EnforcementRequest.MountDevice(Fixtures.LAYERS + "b", L2));
        commit(e, new EnforcementRequest.MountOverlay("hello-1", List.of(Fixtures.LAYERS + "b", Fixtures.LAYERS + "a"),
                "/run/coffer/rootfs/hello-1"));
        List<String> more = new java.util.ArrayList<>(CAPS);
        more.add("CAP_SYS_ADMIN");
        CreateContainer base = create(List.of("TERM=xterm"));
        CreateContainer missing = Fixtures.with(base, java.util.Map.of("capabilities",
                new Capabilities(CAPS.subList(1, CAPS.size()), CAPS, List.of(), CAPS, List.of())));
        Decision denied = e.decide(missing);
        assertFalse(denied.allowed());
        assertTrue(denied.reason().contains("invalid capabilities"), denied.reason());
        Decision d = commit(e, Fixtures.with(base, java.util.Map.of("capabilities",
                new Capabilities(more, more, List.of(), more, List.of("CAP_SYS_ADMIN")))));
        assertEquals(new Capabilities(CAPS, CAPS, List.of(), CAPS, List.of()), d.capabilities(), "CAP_SYS_ADMIN dropped");
    }

    @Test
    void aciPolicyStillRefusesHostileRequests() throws IOException {
        PolicyEnforcer e = PolicyEnforcer.load(policy());
        commit(e, new EnforcementRequest.MountDevice(Fixtures.LAYERS + "a", L1));
        commit(e, new EnforcementRequest.MountDevice(Fixtures.LAYERS + "b", L2));
        commit(e, new EnforcementRequest.MountOverlay("hello-1", List.of(Fixtures.LAYERS + "b", Fixtures.LAYERS + "a"),
                "/run/coffer/rootfs/hello-1"));
        CreateContainer shell = new CreateContainer("hello-1", List.of("/bin/sh"), List.of("TERM=xterm"), "/", List.of(),
                false, false, new IdName("0", "root"), List.of(new IdName("0", "root")), "0022",
                new Capabilities(CAPS, CAPS, List.of(), CAPS, List.of()), "", List.of());
        Decision d = e.decide(shell);
        assertFalse(d.allowed());
        assertTrue(d.reason().contains("invalid command"), d.reason());
        assertTrue(d.reason().contains("\"hello\""), d.reason());
        Decision priv = e.decide(new CreateContainer("hello-1", create(List.of()).argList(), List.of(), "/", List.of(), true,
                false, new IdName("0", "root"), List.of(), "0022", new Capabilities(CAPS, CAPS, List.of(), CAPS, List.of()), "",
                List.of()));
        assertFalse(priv.allowed());
        assertTrue(priv.reason().contains("privileged"), priv.reason());
        assertFalse(e.decide(new EnforcementRequest.DumpStacks()).allowed());
        assertFalse(e.decide(new EnforcementRequest.LoadFragment("did:web:evil", "contoso.azurecr.io/infra", "x", false)).allowed());
    }
}
