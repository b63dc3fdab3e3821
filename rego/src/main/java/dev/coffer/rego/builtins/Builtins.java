package dev.coffer.rego.builtins;

import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The registration table of built-ins: one class per family, each adding its functions
 * here. A new built-in is one table entry and one method.
 */
public final class Builtins {
    /** Every family, in lookup order. */
    static final List<String> FAMILIES = List.of("Operators", "JsonPatch", "Aggregates", "Strings", "Types", "Collections2",
            "Regex", "Semver", "Encoding", "Numbers", "Units", "Times", "Crypto", "Glob", "Jwt", "Net", "Graphs", "Uuids",
            "Uris", "X509", "AwsSigning", "JsonSchema", "GraphQlBuiltins", "HttpSend", "RegoModules");

    /**
     * Families are registered on first use of one of their names: each built-in is a lambda the
     * JVM must link, and linking all of them costs ~200 ms in a fresh JVM, while a policy uses
     * a handful ({@link BuiltinIndex} says which family holds which name; a test keeps it exact).
     */
    private static final ConcurrentHashMap<String, Map<String, Builtin>> LOADED = new ConcurrentHashMap<>();

    private Builtins() {
    }

    /** The built-in with this name, or null. */
    public static Builtin get(String name) {
        String family = BuiltinIndex.FAMILY_OF.get(name);
        return family == null ? null : family(family).get(name);
    }

    /** All registered built-in names, sorted. */
    public static Set<String> names() {
        TreeSet<String> all = new TreeSet<>();
        for (String f : FAMILIES) all.addAll(family(f).keySet());
        return Collections.unmodifiableSet(all);
    }

    /** The built-ins one family registers, by name. */
    static Map<String, Builtin> family(String family) {
        Map<String, Builtin> m = LOADED.get(family);
        if (m != null) return m;
        Registry r = new Registry();
        switch (family) {
            case "Operators" -> Operators.register(r);
            case "JsonPatch" -> JsonPatch.register(r);
            case "Aggregates" -> Aggregates.register(r);
            case "Strings" -> Strings.register(r);
            case "Types" -> Types.register(r);
            case "Collections2" -> Collections2.register(r);
            case "Regex" -> Regex.register(r);
            case "Semver" -> Semver.register(r);
            case "Encoding" -> Encoding.register(r);
            case "Numbers" -> Numbers.register(r);
            case "Units" -> Units.register(r);
            case "Times" -> Times.register(r);
            case "Crypto" -> Crypto.register(r);
            case "Glob" -> Glob.register(r);
            case "Jwt" -> Jwt.register(r);
            case "Net" -> Net.register(r);
            case "Graphs" -> Graphs.register(r);
            case "Uuids" -> Uuids.register(r);
            case "Uris" -> Uris.register(r);
            case "X509" -> X509.register(r);
            case "AwsSigning" -> AwsSigning.register(r);
            case "JsonSchema" -> JsonSchema.register(r);
            case "GraphQlBuiltins" -> GraphQlBuiltins.register(r);
            case "HttpSend" -> HttpSend.register(r);
            case "RegoModules" -> RegoModules.register(r);
            default -> throw new IllegalArgumentException("unknown built-in family " + family + "; expected one of " + FAMILIES);
        }
        m = Collections.unmodifiableMap(r.map);
        Map<String, Builtin> prev = LOADED.putIfAbsent(family, m);
        return prev != null ? prev : m;
    }

    /** Type errors that OPA raises even when built-in errors are not strict. */
    public static boolean typeErrorsAlwaysRaise(String name) {
        return false;
    }

    static final class Registry {
        final Map<String, Builtin> map = new HashMap<>();

        void add(String name, int arity, Builtin.BuiltinFunction fn) {
            map.put(name, new Builtin(name, arity, fn, false));
        }

        void addNondeterministic(String name, int arity, Builtin.BuiltinFunction fn) {
            map.put(name, new Builtin(name, arity, fn, true));
        }
    }
}
