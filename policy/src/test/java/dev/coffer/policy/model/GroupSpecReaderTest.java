package dev.coffer.policy.model;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GroupSpecReaderTest {
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
    void readsEveryFieldThatShapesThePolicy() {
        GroupPolicyInput g = GroupSpecReader.parse(SPEC, "shop.yaml");
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
    void malformedYamlNamesFileAndLine() {
        var e = assertThrows(GroupSpecReader.GroupSpecException.class,
                () -> GroupSpecReader.parse("name: x\ncontainers:\n  - name: a\n    image: [unclosed\n", "bad.yaml"));
        assertTrue(e.getMessage().startsWith("bad.yaml:"), e.getMessage());
        assertTrue(e.getMessage().matches("bad\\.yaml:\\d+:\\d+: .*"), e.getMessage());
    }

    @Test
    void wrongTypeIsAnError() {
        var e = assertThrows(GroupSpecReader.GroupSpecException.class,
                () -> GroupSpecReader.parse("name: x\ncontainers:\n  - name: a\n    image: i\n    command: 5\n", "t.yaml"));
        assertTrue(e.getMessage().contains("t.yaml:5"), e.getMessage());
    }

    @Test
    void missingImageIsNamed() {
        var e = assertThrows(GroupSpecReader.GroupSpecException.class,
                () -> GroupSpecReader.parse("name: x\ncontainers:\n  - name: a\n", "t.yaml"));
        assertEquals("t.yaml: containers[0]: container 'a': field 'image' is missing", e.getMessage());
    }

    @Test
    void emptyAndContainerlessSpecsAreRefused() {
        assertThrows(GroupSpecReader.GroupSpecException.class, () -> GroupSpecReader.parse("", "e.yaml"));
        var e = assertThrows(GroupSpecReader.GroupSpecException.class, () -> GroupSpecReader.parse("name: x\n", "e.yaml"));
        assertTrue(e.getMessage().contains("containers"), e.getMessage());
        assertThrows(GroupSpecReader.GroupSpecException.class,
                () -> GroupSpecReader.parse("name: x\ncontainers: []\n", "e.yaml"));
    }

    @Test
    void duplicateContainerNamesAreRefused() {
        var e = assertThrows(GroupSpecReader.GroupSpecException.class, () -> GroupSpecReader.parse(
                "name: x\ncontainers:\n  - {name: a, image: i}\n  - {name: a, image: j}\n", "d.yaml"));
        assertTrue(e.getMessage().contains("two containers named 'a'"), e.getMessage());
    }

    @Test
    void mountOfUndeclaredVolumeIsRefused() {
        var e = assertThrows(GroupSpecReader.GroupSpecException.class, () -> GroupSpecReader.parse(
                "name: x\ncontainers:\n  - name: a\n    image: i\n    volumeMounts: [{name: data, mountPath: /d}]\n", "v.yaml"));
        assertTrue(e.getMessage().contains("mounts volume 'data'"), e.getMessage());
    }

    @Test
    void relativeMountPathAndBadEnvNameAreRefused() {
        assertThrows(GroupSpecReader.GroupSpecException.class, () -> GroupSpecReader.parse(
                "name: x\ncontainers:\n  - name: a\n    image: i\n    volumeMounts: [{name: d, mountPath: rel}]\nvolumes: [{name: d}]\n", "v.yaml"));
        var e = assertThrows(GroupSpecReader.GroupSpecException.class, () -> GroupSpecReader.parse(
                "name: x\ncontainers:\n  - name: a\n    image: i\n    env: [{name: \"A=B\", value: c}]\n", "v.yaml"));
        assertTrue(e.getMessage().contains("contain no '='"), e.getMessage());
    }

    @Test
    void badSeccompHashIsRefused() {
        var e = assertThrows(GroupSpecReader.GroupSpecException.class, () -> GroupSpecReader.parse(
                "name: x\ncontainers:\n  - name: a\n    image: i\n    securityContext: {seccompProfileSha256: xyz}\n", "s.yaml"));
        assertTrue(e.getMessage().contains("64 lowercase hex"), e.getMessage());
    }
}
