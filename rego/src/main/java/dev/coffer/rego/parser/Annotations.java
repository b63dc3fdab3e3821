package dev.coffer.rego.parser;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.coffer.rego.RegoException;
import dev.coffer.rego.ast.Ast.Rule;
import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * OPA's METADATA comment blocks: a comment block whose first line is {@code # METADATA},
 * directly above the package or a rule, holds YAML annotations (title, description,
 * authors, scope, custom, ...) that {@code rego.metadata.rule()} and {@code rego.metadata.chain()} return.
 */
final class Annotations {
    /** Loaded on the first METADATA block only: YAML support is costly to initialise in a fresh JVM. */
    private static final class Yaml {
        static final ObjectMapper MAPPER = new ObjectMapper(new YAMLFactory());
    }

    private static final Pattern AUTHOR = Pattern.compile("^\\s*(.*?)\\s*<([^>]*)>\\s*$");

    record Attached(ObjectValue packageAnnotations, Map<Rule, ObjectValue> ruleAnnotations) {
    }

    private Annotations() {
    }

    static Attached attach(String file, List<Lexer.Comment> comments, int packageLine, List<Rule> rules, List<Integer> ruleLines) {
        ObjectValue pkg = null;
        Map<Rule, ObjectValue> byRule = new IdentityHashMap<>();
        int i = 0;
        while (i < comments.size()) {
            Lexer.Comment first = comments.get(i);
            int j = i + 1;
            while (j < comments.size() && comments.get(j).line() == comments.get(j - 1).line() + 1) j++;
            if (first.text().strip().equals("METADATA")) {
                StringBuilder yaml = new StringBuilder();
                for (int k = i + 1; k < j; k++) {
                    String t = comments.get(k).text();
                    yaml.append(t.startsWith(" ") ? t.substring(1) : t).append('\n');
                }
                int next = comments.get(j - 1).line() + 1;
                if (next == packageLine) {
                    pkg = parse(file, first.line(), yaml.toString(), "package");
                } else {
                    for (int r = 0; r < rules.size(); r++) {
                        if (ruleLines.get(r) == next) byRule.put(rules.get(r), parse(file, first.line(), yaml.toString(), "rule"));
                    }
                }
            }
            i = j;
        }
        return new Attached(pkg, byRule);
    }

    private static ObjectValue parse(String file, int line, String yaml, String defaultScope) {
        JsonNode n;
        try {
            n = Yaml.MAPPER.readTree(yaml);
        } catch (JsonProcessingException e) {
            throw new RegoException("rego_parse_error", file + ":" + line + ":1", "invalid METADATA YAML: " + e.getOriginalMessage());
        }
        if (n == null || n.isMissingNode() || n.isNull()) n = Yaml.MAPPER.createObjectNode();
        if (!(Json.fromJsonNode(n) instanceof ObjectValue o))
            throw new RegoException("rego_parse_error", file + ":" + line + ":1", "METADATA must be a YAML mapping of annotation names to values");
        TreeMap<Value, Value> m = new TreeMap<>(Value.ORDER);
        m.putAll(o.map());
        if (m.get(Value.of("scope")) == null) m.put(Value.of("scope"), Value.of(defaultScope));
        if (m.get(Value.of("authors")) instanceof ArrayValue authors) {
            List<Value> out = new ArrayList<>();
            for (Value a : authors.items()) out.add(a instanceof StringValue s ? author(s.value()) : a);
            m.put(Value.of("authors"), Value.array(out));
        }
        if (m.get(Value.of("related_resources")) instanceof ArrayValue rel) {
            List<Value> out = new ArrayList<>();
            for (Value a : rel.items()) out.add(a instanceof StringValue s ? Value.fromJava(Map.of("ref", s.value())) : a);
            m.put(Value.of("related_resources"), Value.array(out));
        }
        return ObjectValue.wrap(m);
    }

    /** "Jane Doe <jane@example.com>" becomes {"name": ..., "email": ...}, as OPA does. */
    private static Value author(String s) {
        Matcher mm = AUTHOR.matcher(s);
        if (mm.matches()) {
            TreeMap<Value, Value> m = new TreeMap<>(Value.ORDER);
            if (!mm.group(1).isEmpty()) m.put(Value.of("name"), Value.of(mm.group(1)));
            m.put(Value.of("email"), Value.of(mm.group(2)));
            return ObjectValue.wrap(m);
        }
        return Value.fromJava(Map.of("name", s.strip()));
    }
}
