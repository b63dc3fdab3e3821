package dev.coffer.policy.gen;

import dev.coffer.policy.model.ContainerPolicyInput;
import dev.coffer.policy.model.EnvVarInput;
import dev.coffer.policy.model.GroupPolicyInput;
import dev.coffer.policy.model.MountInput;
import dev.coffer.policy.model.SecurityInput;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PolicyGeneratorTest {
    static final String SPEC = """
            name: shop
            containers:
              - name: web
                image: registry.example/web:1.0
                args: ["httpd", "-f", "-p", "8080"]
                env:
                  - {name: MODE, value: prod}
                  - {name: TENANT, value: "[a-z]{3,10}", variable: true}
                volumeMounts:
                  - {name: cache, mountPath: /cache}
                execProcesses:
                  - command: ["/bin/health"]
              - name: side
                image: registry.example/side:2
                command: ["/bin/sh", "-c"]
            volumes:
              - name: cache
                emptyDir: {}
            """;

    static GroupPolicyInput group() {
        try {
            return GroupPolicyInput.parse(SPEC, "shop.yaml");
        } catch (dev.coffer.policy.spec.SpecException e) {
            throw new AssertionError("the test spec must parse: " + e.getMessage(), e);
        }
    }

    @Test
    void sameInputGivesByteIdenticalOutputAndHash() throws IOException {
        GeneratedPolicy a = new PolicyGenerator(FixedImages.standard()).generate(group(), false);
        GeneratedPolicy b = new PolicyGenerator(FixedImages.standard()).generate(group(), false);
        assertEquals(a.text(), b.text());
        assertEquals(a.sha256(), b.sha256());
        assertEquals(GeneratedPolicy.sha256Hex(a.text()), a.sha256());
        assertTrue(a.sha256().matches("[0-9a-f]{64}"));
    }

    @Test
    void policyHasAciSchemaAndOneBindingPerEnforcementPoint() throws IOException {
        String text = new PolicyGenerator(FixedImages.standard()).generate(group(), false).text();
        assertTrue(text.contains("package policy\n\nimport rego.v1\n"), text);
        assertTrue(text.contains("api_version := \"0.10.0\"\n"));
        assertTrue(text.contains("framework_version := \"0.1.0\"\n"));
        assertTrue(text.contains("debug_mode := false\n"));
        assertTrue(text.contains("fragments := []\n"));
        for (String point : RegoPolicyWriter.ENFORCEMENT_POINTS) {
            assertTrue(text.contains("\n" + point + " := data.framework." + point + "\n"), point);
        }
        for (String field : List.of("id", "name", "layers", "command", "env_rules", "working_dir", "mounts",
                "exec_processes", "signals", "user", "capabilities", "seccomp_profile_sha256", "allow_elevated",
                "allow_stdio_access", "no_new_privileges")) {
            assertTrue(text.contains("\"" + field + "\": "), field);
        }
        for (String flag : List.of("allow_properties_access := true", "allow_dump_stacks := false",
                "allow_runtime_logging := false", "allow_environment_variable_dropping := false",
                "allow_unencrypted_scratch := false", "allow_capability_dropping := false")) {
            assertTrue(text.contains(flag + "\n"), flag);
        }
        assertTrue(text.endsWith("reason := data.framework.reason\n"));
        assertFalse(text.contains("\r"));
    }

    @Test
    void containerFieldsFollowImageAndSpec() throws IOException {
        PolicyDocument doc = new PolicyGenerator(FixedImages.standard()).document(group(), false);
        PolicyDocument.Container web = doc.containers().getFirst();
        assertEquals("registry.example/web:1.0", web.id());
        assertEquals("web", web.name());
        assertEquals(List.of(FixedImages.BASE, FixedImages.APP), web.layers(), "base layer first");
        // args replace the image cmd but keep its entrypoint
        assertEquals(List.of("/docker-entrypoint.sh", "httpd", "-f", "-p", "8080"), web.command());
        assertEquals(List.of(
                new PolicyDocument.EnvRule("PATH=/usr/local/bin:/usr/bin:/bin", "string", true),
                new PolicyDocument.EnvRule("MODE=prod", "string", true),
                new PolicyDocument.EnvRule("EMPTY=", "string", true),
                new PolicyDocument.EnvRule("TENANT=[a-z]{3,10}", "re2", true)), web.envRules());
        assertEquals("/srv", web.workingDir());
        assertEquals(List.of(new PolicyDocument.Mount("/cache", "sandbox:///volumes/cache", "bind",
                List.of("rbind", "rshared", "rw"))), web.mounts());
        assertEquals(List.of(new PolicyDocument.ExecProcess(List.of("/bin/health"), List.of())), web.execProcesses());
        assertEquals(PolicyGenerator.DEFAULT_SIGNALS, web.signals());
        assertEquals(new PolicyDocument.User(new PolicyDocument.IdName("1000", "id"),
                List.of(new PolicyDocument.IdName("1000", "id")), "0022"), web.user());
        assertEquals(DefaultCapabilities.forContainer(false), web.capabilities());
        assertFalse(web.allowElevated());
        assertTrue(web.allowStdioAccess());

        PolicyDocument.Container side = doc.containers().get(1);
        // command without args drops the image's cmd (Kubernetes semantics)
        assertEquals(List.of("/bin/sh", "-c"), side.command());
        assertEquals("/", side.workingDir(), "no working dir anywhere means /");
        assertEquals(new PolicyDocument.IdName("0", "id"), side.user().userIdName(), "no user means root");
        assertEquals(List.of(new PolicyDocument.IdName("", "any")), side.user().groupIdNames());
        assertEquals(doc.externalProcesses(), List.of());
    }

    @Test
    void imageCommandIsKeptWithoutOverrides() throws IOException {
        ContainerPolicyInput c = ContainerPolicyInput.of("web", "registry.example/web:1.0");
        PolicyDocument doc = new PolicyGenerator(FixedImages.standard())
                .document(new GroupPolicyInput("g", List.of(c), List.of()), false);
        assertEquals(List.of("/docker-entrypoint.sh", "httpd", "-f"), doc.containers().getFirst().command());
    }

    @Test
    void sharedImagesAreResolvedOnce() throws IOException {
        AtomicInteger calls = new AtomicInteger();
        ImageSource counting = ref -> {
            calls.incrementAndGet();
            return FixedImages.standard().resolve(ref);
        };
        GroupPolicyInput g = new GroupPolicyInput("g", List.of(
                ContainerPolicyInput.of("a", "registry.example/web:1.0"),
                ContainerPolicyInput.of("b", "registry.example/web:1.0")), List.of());
        new PolicyGenerator(counting).generate(g, false);
        assertEquals(1, calls.get());
    }

    @Test
    void debugModeAllowsShellAndSaysSo() throws IOException {
        GeneratedPolicy p = new PolicyGenerator(FixedImages.standard()).generate(group(), true);
        String text = p.text();
        assertTrue(text.startsWith("# Coffer confidential container policy"));
        assertTrue(text.contains("# DEBUG MODE:"), text);
        assertTrue(text.contains("debug_mode := true\n"));
        assertTrue(text.contains("allow_dump_stacks := true\n"));
        assertTrue(text.contains("allow_runtime_logging := true\n"));
        PolicyDocument doc = new PolicyGenerator(FixedImages.standard()).document(group(), true);
        for (PolicyDocument.Container c : doc.containers()) {
            assertTrue(c.execProcesses().contains(new PolicyDocument.ExecProcess(List.of("/bin/sh"), List.of())), c.name());
        }
        assertEquals(List.of("/bin/sh"), doc.externalProcesses().getFirst().command());
        GeneratedPolicy normal = new PolicyGenerator(FixedImages.standard()).generate(group(), false);
        assertFalse(normal.sha256().equals(p.sha256()), "debug and normal policies must attest differently");
    }

    @Test
    void layerFailureStopsGenerationWithTheCause() {
        ImageSource broken = ref -> {
            throw new LayerProcessingException("layer sha256:" + "d".repeat(64) + " of " + ref
                    + " cannot be hashed: truncated tar", null);
        };
        LayerProcessingException e = assertThrows(LayerProcessingException.class,
                () -> new PolicyGenerator(broken).generate(group(), false));
        assertTrue(e.getMessage().contains("truncated tar"));
    }

    @Test
    void invalidVariablePatternIsRefused() {
        GroupPolicyInput g = new GroupPolicyInput("g", List.of(new ContainerPolicyInput("a", "registry.example/side:2",
                null, null, List.of(EnvVarInput.pattern("X", "([a-z")), null, null, null, null, null, null, null)), List.of());
        var e = assertThrows(IllegalArgumentException.class, () -> new PolicyGenerator(FixedImages.standard()).generate(g, false));
        assertTrue(e.getMessage().contains("not a valid RE2 pattern"), e.getMessage());
    }

    @Test
    void containerWithoutAnyCommandIsRefused() {
        ImageSource noCmd = ref -> new ResolvedImage(ref, List.of(FixedImages.BASE), List.of(), List.of(), List.of(), "", "");
        var e = assertThrows(IllegalArgumentException.class, () -> new PolicyGenerator(noCmd)
                .generate(new GroupPolicyInput("g", List.of(ContainerPolicyInput.of("a", "x")), List.of()), false));
        assertTrue(e.getMessage().contains("has no command"), e.getMessage());
    }

    @Test
    void namesWithRegexMetacharactersAreQuoted() throws IOException {
        // the spec parser admits only DNS-label volume names; the generator quotes whatever it is given
        GroupPolicyInput g = new GroupPolicyInput("g", List.of(new ContainerPolicyInput("a", "registry.example/side:2", null,
                null, List.of(EnvVarInput.pattern("A.B", "x+")), null, null, null, List.of(new MountInput("v.1", "/v", false)),
                List.of(), List.of(), null)), List.of("v.1"));
        PolicyDocument.Container c = new PolicyGenerator(FixedImages.standard()).document(g, false).containers().getFirst();
        assertEquals("sandbox:///volumes/v\\.1", c.mounts().getFirst().source());
        assertTrue(c.envRules().contains(new PolicyDocument.EnvRule("A\\.B=x+", "re2", true)));
    }

    @Test
    void supplementaryGroupsArePinnedAfterThePrimaryOneInOrderEachOnce() {
        PolicyDocument.User u = PolicyGenerator.user("1000:3000", List.of(4000, 2000, 3000, 2000));
        assertEquals(new PolicyDocument.IdName("1000", "id"), u.userIdName());
        assertEquals(List.of(new PolicyDocument.IdName("3000", "id"), new PolicyDocument.IdName("2000", "id"),
                new PolicyDocument.IdName("4000", "id")), u.groupIdNames());
        assertEquals(List.of(new PolicyDocument.IdName("staff", "name"), new PolicyDocument.IdName("4000", "id")),
                PolicyGenerator.user("app:staff", List.of(4000)).groupIdNames());
        // without a primary group the image decides it: any group, as ACI's default
        assertEquals(List.of(new PolicyDocument.IdName("", "any")), PolicyGenerator.user("1000", List.of(4000)).groupIdNames());
        assertEquals(List.of(new PolicyDocument.IdName("", "any")), PolicyGenerator.user("", List.of()).groupIdNames());
        assertThrows(IllegalArgumentException.class, () -> new ContainerPolicyInput("a", "x", null, null, null, null, "1:1",
                List.of(-5), null, null, null, null));
    }

    @Test
    void nonAsciiAndControlCharactersAreEscapedDeterministically() {
        assertEquals("\"caf\\u00e9 \\\"q\\\" \\\\ \\n \\u0001\"", RegoPolicyWriter.str("café \"q\" \\ \n \u0001"));
    }

    @Test
    void privilegedContainerGetsElevationAndFullCapabilities() throws IOException {
        GroupPolicyInput g = new GroupPolicyInput("g", List.of(new ContainerPolicyInput("a", "registry.example/side:2",
                null, null, null, null, "app:staff", null, null, null, null, new SecurityInput(true, false, true, "e".repeat(64)))),
                List.of());
        PolicyDocument.Container c = new PolicyGenerator(FixedImages.standard()).document(g, false).containers().getFirst();
        assertTrue(c.allowElevated());
        assertFalse(c.allowStdioAccess());
        assertTrue(c.noNewPrivileges());
        assertEquals("e".repeat(64), c.seccompProfileSha256());
        assertEquals(DefaultCapabilities.PRIVILEGED, c.capabilities().bounding());
        assertEquals(new PolicyDocument.IdName("app", "name"), c.user().userIdName());
        assertEquals(List.of(new PolicyDocument.IdName("staff", "name")), c.user().groupIdNames());
    }

    @Test
    void imageHashesAreValidated() {
        assertThrows(IllegalArgumentException.class,
                () -> new ResolvedImage("x", List.of("ABC"), null, null, null, null, null));
        assertThrows(IllegalArgumentException.class,
                () -> new ResolvedImage("x", List.of(), null, null, null, null, null));
        List<String> one = List.of(FixedImages.BASE);
        assertSame(one.getFirst(), new ResolvedImage("x", one, null, null, null, null, null).layerHashes().getFirst());
    }
}
