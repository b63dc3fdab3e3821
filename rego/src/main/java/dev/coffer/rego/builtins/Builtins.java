package dev.coffer.rego.builtins;

import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The registration table of built-ins: one class per family, each adding its functions
 * here. A new built-in is one table entry and one method.
 */
public final class Builtins {
    private static final Map<String, Builtin> ALL;

    static {
        Registry r = new Registry();
        Operators.register(r);
        Aggregates.register(r);
        Strings.register(r);
        Types.register(r);
        Collections2.register(r);
        Regex.register(r);
        Encoding.register(r);
        Numbers.register(r);
        Semver.register(r);
        Units.register(r);
        Times.register(r);
        Crypto.register(r);
        Glob.register(r);
        Jwt.register(r);
        Net.register(r);
        Graphs.register(r);
        ALL = Collections.unmodifiableMap(r.map);
    }

    private Builtins() {
    }

    /** The built-in with this name, or null. */
    public static Builtin get(String name) {
        return ALL.get(name);
    }

    /** All registered built-in names, sorted. */
    public static Set<String> names() {
        return Collections.unmodifiableSet(new TreeSet<>(ALL.keySet()));
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
