package dev.coffer.policy.model;

import dev.coffer.policy.spec.SpecException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The generator's view of a parsed spec: every field that shapes the policy, and the spec's errors. */
class GroupPolicyInputTest {
    static final String SPEC = """
            name: shop
            containers:
              - name: web
                image: registry.example/web:1.0
                command: ["/bin/httpd"]
                args: ["-f", "-p", "8080"]
                env:
                  - name: MODE
                    value: prod
                  - name: TENANT
                    value: "[a-z]{3,10}"
                    variable: true
                workingDir: /srv
                ports: [8080]
                volumeMounts:
                  - name: cache
                    mountPath: /cache
                  - name: config
                    mountPath: /etc/app
                    readOnly: true
                execProcesses:
                  - command: ["/bin/health"]
                    signals: [10]
                signals: [15]
                securityContext:
                  noNewPrivileges: true
              - name: sidecar
                image: registry.example/side:2
            volumes:
              - name: cache
                emptyDir: {}
              - name: config
                emptyDir: {}
            """;

    @Test
    void readsEveryFieldThatShapesThePolicy() throws Exception {
        GroupPolicyInput g = GroupPolicyInput.parse(SPEC, "shop.yaml");
        assertEquals("shop", g.name());
        assertEquals(List.of("cache", "config"), g.volumes());
        ContainerPolicyInput web = g.containers().getFirst();
        assertEquals(List.of("/bin/httpd"), web.command());
        assertEquals(List.of("-f", "-p", "8080"), web.args());
        assertEquals(List.of(EnvVarInput.exact("MODE", "prod"), EnvVarInput.pattern("TENANT", "[a-z]{3,10}")), web.env());
        assertEquals("/srv", web.workingDir());
        assertEquals(List.of(new MountInput("cache", "/cache", false), new MountInput("config", "/etc/app", true)),
                web.volumeMounts());
        assertEquals(List.of(new ExecProcessInput(List.of("/bin/health"), List.of(10))), web.execProcesses());
        assertEquals(List.of(15), web.signals());
        assertTrue(web.security().noNewPrivileges());
        assertFalse(web.security().privileged());
        assertTrue(web.security().allowStdioAccess());
        ContainerPolicyInput side = g.containers().get(1);
        assertNull(side.command());
        assertNull(side.args());
        assertEquals(SecurityInput.DEFAULT, side.security());
    }

    @Test
    void specErrorsNameFileLineAndField() {
        var e = assertThrows(SpecException.class,
                () -> GroupPolicyInput.parse("name: x\ncontainers:\n  - name: a\n    image: i\n    securityContext: {seccompProfileSha256: xyz}\n", "s.yaml"));
        assertTrue(e.getMessage().startsWith("s.yaml:5:") && e.getMessage().contains("64 lowercase hex"), e.getMessage());
        var bad = assertThrows(SpecException.class,
                () -> GroupPolicyInput.parse("name: x\ncontainers:\n  - name: a\n    image: i\n    env: [{name: T, value: \"(\", variable: true}]\n", "r.yaml"));
        assertTrue(bad.getMessage().contains("RE2 pattern"), bad.getMessage());
        var privileged = assertThrows(SpecException.class,
                () -> GroupPolicyInput.parse("name: x\ncontainers:\n  - name: a\n    image: i\n    securityContext: {privileged: true}\n", "p.yaml"));
        assertTrue(privileged.getMessage().contains("never run privileged"), privileged.getMessage());
        var signal = assertThrows(SpecException.class,
                () -> GroupPolicyInput.parse("name: x\ncontainers:\n  - name: a\n    image: i\n    signals: [99]\n", "g.yaml"));
        assertTrue(signal.getMessage().contains("signal number"), signal.getMessage());
    }
}
