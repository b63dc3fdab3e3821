package dev.coffer.rego;

import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.Value;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Which kind of rule a head defines, as OPA's parser decides it (both syntaxes): a two-term head
 * with no value and no {@code if} is a multi-value rule (a partial set) whatever form its key
 * takes; with {@code if}, or with a longer head, a value-less head is a single-value rule whose
 * value is {@code true}. Microsoft's framework is v0 and relies on {@code reason.errors["..."] { }}
 * building a set of messages.
 */
class RuleHeadKindTest {
    private static String v0(String rules, String ref) {
        CompiledPolicy p = Rego.compile(List.of(new RegoModule("p.rego", "package t\n" + rules)),
                Rego.Options.DEFAULT.withSyntax(Rego.Syntax.V0));
        Value v = p.evalRef(ref, Json.parse("{\"xs\":[\"x\",\"y\"]}"), null, EvalOptions.DEFAULT).value();
        return v == null ? "undefined" : v.toJson();
    }

    private static String v1(String rules, String ref) {
        CompiledPolicy p = Rego.compile(List.of(new RegoModule("p.rego", "package t\nimport rego.v1\n" + rules)));
        Value v = p.evalRef(ref, Json.parse("{\"xs\":[\"x\",\"y\"]}"), null, EvalOptions.DEFAULT).value();
        return v == null ? "undefined" : v.toJson();
    }

    @Test
    void v0BracketStringKeyWithoutValueIsASetMember() {
        assertEquals("[\"a\"]", v0("p[\"a\"] { true }\n", "data.t.p"));
    }

    @Test
    void v0DottedKeyWithoutValueIsASetMember() {
        assertEquals("[\"a\"]", v0("p.a { true }\n", "data.t.p"));
    }

    @Test
    void v0VariableKeyWithoutValueIsASet() {
        assertEquals("[\"x\",\"y\"]", v0("p[x] { x := input.xs[_] }\n", "data.t.p"));
    }

    @Test
    void v0KeyWithValueIsAnObject() {
        assertEquals("{\"x\":1,\"y\":1}", v0("p[x] = 1 { x := input.xs[_] }\n", "data.t.p"));
        assertEquals("{\"a\":2}", v0("p[\"a\"] = 2 { true }\n", "data.t.p"));
    }

    @Test
    void v0LongerHeadWithoutValueIsTrue() {
        // s.a[x] { } is s.a[x] = true: an object under s.a, not a set
        assertEquals("{\"x\":true,\"y\":true}", v0("s.a[x] { x := input.xs[_] }\n", "data.t.s.a"));
    }

    @Test
    void v0SetMessagesAccumulateFromSeveralRules() {
        // the shape Microsoft's framework uses for its denial reasons
        String rules = "errors[\"invalid env list: FOO\"] { true }\nerrors[\"invalid command\"] { input.xs[0] == \"x\" }\nerrors[\"never\"] { false }\n";
        assertEquals("[\"invalid command\",\"invalid env list: FOO\"]", v0(rules, "data.t.errors"));
    }

    @Test
    void v0WithIfKeywordVariableKeyIsAnObjectOfTrue() {
        assertEquals("{\"x\":true,\"y\":true}", v0("import future.keywords.if\np[x] if { x := input.xs[_] }\n", "data.t.p"));
    }

    @Test
    void v1SingleValueForms() {
        assertEquals("{\"a\":true}", v1("p.a if true\n", "data.t.p"));
        assertEquals("{\"a\":true}", v1("p[\"a\"] if true\n", "data.t.p"));
        assertEquals("{\"x\":true,\"y\":true}", v1("p[x] if some x in input.xs\n", "data.t.p"));
        assertEquals("[\"x\",\"y\"]", v1("p contains x if some x in input.xs\n", "data.t.p"));
        assertEquals("{\"x\":true,\"y\":true}", v1("s.a[x] if some x in input.xs\n", "data.t.s.a"));
    }

    /** Microsoft's framework (hcsshim, v0 syntax) explains a bad environment variable in its set of errors. */
    @Test
    void microsoftFrameworkListsItsDenialReasons() throws java.io.IOException {
        java.nio.file.Path aci = java.nio.file.Path.of("..", "..", "shared", "testdata", "aci");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isDirectory(aci), "../shared/testdata/aci beside the repository");
        List<RegoModule> modules = List.of(
                new RegoModule("framework.rego", java.nio.file.Files.readString(aci.resolve("hcsshim-v0.14.0/framework.rego"))),
                new RegoModule("api.rego", java.nio.file.Files.readString(aci.resolve("hcsshim-v0.14.0/api.rego"))),
                new RegoModule("policy.rego", java.nio.file.Files.readString(aci.resolve("confcom-samples/minimal/policy.rego"))));
        CompiledPolicy p = Rego.compile(modules, Rego.Options.DEFAULT.withSyntax(Rego.Syntax.V0));
        Value in = Json.parse("{\"rule\":\"create_container\",\"containerID\":\"c1\",\"envList\":[\"FOO=bar\"]}");
        Value errors = p.evalRef("data.framework.errors", in, null, EvalOptions.DEFAULT).value();
        assertEquals(true, errors != null && errors.toJson().startsWith("[") && errors.toJson().contains("\"invalid env list: FOO\""),
                "data.framework.errors should be a set holding \"invalid env list: FOO\", found " + (errors == null ? "undefined" : errors.toJson()));
    }
}
