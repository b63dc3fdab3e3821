package dev.coffer.policy.spec;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The group-level {@code skr} section: defaults, explicit port, disabled, and located errors. */
class SkrSpecTest {
    static final String BASE = """
            name: web
            containers:
              - name: app
                image: demo:1
                ports: [{containerPort: 8080}]
            """;

    @Test
    void absentSectionMeansTheDefaultUndeclared() throws Exception {
        GroupSpec spec = GroupSpecParser.parse(BASE, "g.yaml");
        assertEquals(GroupSpec.Skr.DEFAULT, spec.skr());
        assertTrue(spec.skr().enabled());
        assertFalse(spec.skr().declared());
    }

    @Test
    void explicitPortAndDisabled() throws Exception {
        assertEquals(new GroupSpec.Skr(true, 9090, true), GroupSpecParser.parse(BASE + "skr: {port: 9090}\n", "g.yaml").skr());
        assertEquals(new GroupSpec.Skr(false, 8080, true),
                GroupSpecParser.parse(BASE + "skr: {enabled: false}\n", "g.yaml").skr());
        assertEquals(new GroupSpec.Skr(true, 8080, true), GroupSpecParser.parse(BASE.replace("8080", "80") + "skr: {}\n", "g.yaml").skr());
    }

    @Test
    void endpointsAreNormalisedToBaseUrlsWithPorts() throws Exception {
        GroupSpec.Skr skr = GroupSpecParser.parse(BASE + "skr:\n  port: 9090\n  endpoints: [http://127.0.0.1:8400, https://Vault.Example,"
                + " http://127.0.0.1:8400/]\n", "g.yaml").skr();
        assertEquals(java.util.List.of("http://127.0.0.1:8400", "https://vault.example:443"), skr.endpoints());
        assertEquals(java.util.List.of(), GroupSpecParser.parse(BASE + "skr: {port: 9090}\n", "g.yaml").skr().endpoints());
        for (String bad : java.util.List.of("ftp://x:21", "http://127.0.0.1:8400/path", "http://u@h:1", "127.0.0.1:8400", "http://h:1?q")) {
            SpecException e = assertThrows(SpecException.class,
                    () -> GroupSpecParser.parse(BASE + "skr: {port: 9090, endpoints: [\"" + bad + "\"]}\n", "g.yaml"), bad);
            assertTrue(e.getMessage().contains("skr.endpoints[0]: expected an http(s) URL"), e.getMessage());
        }
    }

    @Test
    void errorsNameFileLineAndField() {
        SpecException clash = assertThrows(SpecException.class, () -> GroupSpecParser.parse(BASE + "skr: {port: 8080}\n", "g.yaml"));
        assertEquals("g.yaml:5:13: containers[0].ports[0].containerPort: expected a port other than 8080, which the group's SKR API"
                + " uses, found it; move the container or set skr: {port: N}", clash.getMessage());
        SpecException range = assertThrows(SpecException.class, () -> GroupSpecParser.parse(BASE + "skr: {port: 70000}\n", "g.yaml"));
        assertTrue(range.getMessage().startsWith("g.yaml:6:13: skr.port: expected a port number 1..65535"), range.getMessage());
        SpecException unknown = assertThrows(SpecException.class, () -> GroupSpecParser.parse(BASE + "skr: {host: x}\n", "g.yaml"));
        assertTrue(unknown.getMessage().startsWith("g.yaml:6:7: skr.host: expected one of enabled, endpoints, pins, port, found unknown field"),
                unknown.getMessage());
        SpecException notBool = assertThrows(SpecException.class, () -> GroupSpecParser.parse(BASE + "skr: {enabled: maybe}\n", "g.yaml"));
        assertTrue(notBool.getMessage().contains("skr.enabled: expected true or false"), notBool.getMessage());
        SpecException scalar = assertThrows(SpecException.class, () -> GroupSpecParser.parse(BASE + "skr: 8080\n", "g.yaml"));
        assertTrue(scalar.getMessage().contains("skr: expected a mapping"), scalar.getMessage());
    }
}
