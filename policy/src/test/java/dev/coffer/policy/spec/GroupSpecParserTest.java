package dev.coffer.policy.spec;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GroupSpecParserTest {
    static final String GOOD = """
            name: web
            containers:
              - name: server
                image: demo:latest
                command: [httpd, -f]
                args: ["-p", 8080]
                env:
                  - name: MODE
                    value: fast
                  - name: EMPTY
                workingDir: /www
                ports:
                  - containerPort: 8080
                    protocol: tcp
                  - 9090
                volumeMounts:
                  - name: shared
                    mountPath: /data
                    readOnly: true
              - name: client
                image: sha256:abcdef
            volumes:
              - name: shared
                emptyDir: {}
            """;

    @Test
    void parsesAFullSpec() throws Exception {
        GroupSpec spec = GroupSpecParser.parse(GOOD, "g.yaml");
        assertEquals("web", spec.name());
        GroupSpec.ContainerSpec server = spec.containers().getFirst();
        assertEquals(List.of("httpd", "-f"), server.command());
        assertEquals(List.of("-p", "8080"), server.args());
        assertEquals(List.of(new GroupSpec.EnvVar("MODE", "fast"), new GroupSpec.EnvVar("EMPTY", "")), server.env());
        assertEquals(List.of(new GroupSpec.Port(8080, "TCP"), new GroupSpec.Port(9090, "TCP")), server.ports());
        assertEquals(List.of(new GroupSpec.VolumeMount("shared", "/data", true)), server.volumeMounts());
        assertEquals("/www", server.workingDir());
        assertEquals(List.of(), spec.containers().get(1).command());
        assertEquals(List.of(new GroupSpec.VolumeSpec("shared", GroupSpec.VolumeSpec.Kind.EMPTY_DIR)), spec.volumes());
    }

    private static SpecException bad(String yaml) {
        return assertThrows(SpecException.class, () -> GroupSpecParser.parse(yaml, "g.yaml"));
    }

    @Test
    void userAndSupplementalGroupsAreReadAndBadGroupIdsRefused() throws Exception {
        String yaml = "name: web\ncontainers:\n  - name: a\n    image: demo:1\n    user: \"1000:3000\"\n    supplementalGroups: %s\n";
        GroupSpec.ContainerSpec a = GroupSpecParser.parse(yaml.formatted("[4000, 2000]"), "g.yaml").containers().getFirst();
        assertEquals("1000:3000", a.user());
        assertEquals(List.of(4000, 2000), a.supplementalGroups(), "in the spec's order");
        assertEquals(List.of(), GroupSpecParser.parse(GOOD, "g.yaml").containers().getFirst().supplementalGroups());
        for (String[] c : new String[][] {
                {"[-1]", "containers[0].supplementalGroups[0]: expected a group id 0..2147483647, found \"-1\""},
                {"[4000, 4294967296]", "containers[0].supplementalGroups[1]: expected a group id 0..2147483647, found \"4294967296\""},
                {"[\"4000\"]", "containers[0].supplementalGroups[0]: expected a group id 0..2147483647, found \"4000\""},
                {"[4000, 4000]", "containers[0].supplementalGroups[1]: expected each group id once, found 4000 again"},
                {"4000", "containers[0].supplementalGroups"}}) {
            SpecException e = bad(yaml.formatted(c[0]));
            assertTrue(e.getMessage().contains(c[1]), c[0] + ": " + e.getMessage());
        }
    }

    @Test
    void syntaxErrorsNameFileAndLine() {
        SpecException e = bad("name: web\ncontainers:\n  - name: a\n   image: [unclosed\n");
        assertEquals("g.yaml", e.file());
        assertTrue(e.line() >= 3, e.getMessage());
        assertTrue(e.getMessage().startsWith("g.yaml:" + e.line() + ":"), e.getMessage());
        assertTrue(e.getMessage().contains("syntax error"), e.getMessage());
    }

    @Test
    void validationErrorsNameLineAndField() {
        SpecException missingImage = bad("name: web\ncontainers:\n  - name: a\n    command: [sh]\n");
        assertEquals("containers[0].image", missingImage.field());
        assertEquals(3, missingImage.line());
        assertTrue(missingImage.getMessage().contains("found the field missing"), missingImage.getMessage());

        SpecException unknown = bad("name: web\ncontainers:\n  - name: a\n    image: x\n    imagePullPolicy: Always\n");
        assertEquals("containers[0].imagePullPolicy", unknown.field());
        assertEquals(5, unknown.line());

        SpecException badPort = bad("name: web\ncontainers:\n  - name: a\n    image: x\n    ports:\n      - containerPort: 70000\n");
        assertEquals("containers[0].ports[0].containerPort", badPort.field());
        assertEquals(6, badPort.line());
        assertTrue(badPort.getMessage().contains("found the number 70000"), badPort.getMessage());

        SpecException undeclared = bad("name: web\ncontainers:\n  - name: a\n    image: x\n    volumeMounts:\n      - name: nope\n        mountPath: /d\n");
        assertEquals("containers[0].volumeMounts[0].name", undeclared.field());
        assertEquals(6, undeclared.line());

        SpecException hostPath = bad("name: web\ncontainers:\n  - name: a\n    image: x\nvolumes:\n  - name: v\n    hostPath: /etc\n");
        assertEquals("volumes[0].hostPath", hostPath.field());
        assertTrue(hostPath.getMessage().contains("emptyDir"), hostPath.getMessage());

        SpecException dup = bad("name: web\ncontainers:\n  - name: a\n    image: x\n  - name: a\n    image: y\n");
        assertEquals(5, dup.line());
        assertTrue(dup.getMessage().contains("twice (first on line 3)"), dup.getMessage());

        SpecException badName = bad("name: Web_1\ncontainers:\n  - name: a\n    image: x\n");
        assertEquals("name", badName.field());

        SpecException relative = bad("name: web\ncontainers:\n  - name: a\n    image: x\n    workingDir: www\n");
        assertEquals("containers[0].workingDir", relative.field());

        SpecException dupKey = bad("name: web\nname: other\ncontainers: []\n");
        assertEquals(2, dupKey.line());

        SpecException noContainers = bad("name: web\ncontainers: []\n");
        assertEquals("containers", noContainers.field());

        SpecException scalarTop = bad("just a string\n");
        assertTrue(scalarTop.getMessage().contains("expected a mapping"), scalarTop.getMessage());

        SpecException empty = bad("");
        assertTrue(empty.getMessage().contains("empty document"), empty.getMessage());

        SpecException envList = bad("name: web\ncontainers:\n  - name: a\n    image: x\n    env: {A: b}\n");
        assertEquals("containers[0].env", envList.field());
        assertTrue(envList.getMessage().contains("expected a list, found a mapping"), envList.getMessage());
    }

    @Test
    void fileErrors(@TempDir Path dir) throws Exception {
        SpecException missing = assertThrows(SpecException.class, () -> GroupSpecParser.parse(dir.resolve("none.yaml")));
        assertTrue(missing.getMessage().contains("no such file"), missing.getMessage());
        Path binary = dir.resolve("bin.yaml");
        Files.write(binary, new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1});
        SpecException notUtf8 = assertThrows(SpecException.class, () -> GroupSpecParser.parse(binary));
        assertTrue(notUtf8.getMessage().contains("UTF-8"), notUtf8.getMessage());
        Path good = dir.resolve("g.yaml");
        Files.writeString(good, GOOD);
        assertEquals("web", GroupSpecParser.parse(good).name());
        Path bad = dir.resolve("bad.yaml");
        Files.writeString(bad, "name: web\ncontainers:\n  - name: a\n");
        SpecException located = assertThrows(SpecException.class, () -> GroupSpecParser.parse(bad));
        assertEquals(bad + ":3:5: containers[0].image: expected a value, found the field missing", located.getMessage());
    }
}
