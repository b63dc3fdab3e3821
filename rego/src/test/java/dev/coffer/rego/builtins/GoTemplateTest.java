package dev.coffer.rego.builtins;

import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.ObjectValue;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class GoTemplateTest {
    private static String render(String t, String data) {
        return GoTemplate.render(t, (ObjectValue) Json.parse(data));
    }

    @Test
    void rangeIfElseWithVariablesAndTrim() {
        String data = "{\"users\": [{\"name\": \"ann\", \"admin\": true}, {\"name\": \"bob\", \"admin\": false}], \"org\": {\"id\": 7}, \"none\": []}";
        assertEquals("ann(admin) bob ", render("{{range .users}}{{.name}}{{if .admin}}(admin){{end}} {{end}}", data));
        assertEquals("0=ann,1=bob", render("{{range $i, $u := .users}}{{if $i}},{{end}}{{$i}}={{$u.name}}{{end}}", data));
        assertEquals("org 7", render("{{with .org}}org {{.id}}{{else}}no org{{end}}", data));
        assertEquals("empty", render("{{range .none}}x{{else}}empty{{end}}", data));
        assertEquals("b", render("{{if .missing}}a{{else if .org}}b{{else}}c{{end}}", data));
        assertEquals("a|b", render("a  {{- \"|\" -}}  b", data));
        assertEquals("<undefined> 7", render("{{.nope}} {{$.org.id}}", data));
    }

    @Test
    void malformedTemplatesAreErrors() {
        assertThrows(BuiltinException.class, () -> render("{{if .a}}x", "{}"));
        assertThrows(BuiltinException.class, () -> render("{{.a", "{}"));
        assertThrows(BuiltinException.class, () -> render("x{{end}}", "{}"));
        assertThrows(BuiltinException.class, () -> render("{{$nope}}", "{}"));
        assertThrows(BuiltinException.class, () -> render("{{range .a}}{{end}}", "{\"a\": 5}"));
    }
}
