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
    /**
     * Families that confidential-container policies use are registered on first use; the rest
     * (time, crypto, JWT, net, ...) only when a name is not found among them, which keeps the
     * first compile after boot fast (each built-in is a lambda the JVM must link).
     */
    private static final class Core {
        static final Map<String, Builtin> MAP;

        static {
            Registry r = new Registry();
            Operators.register(r);
            JsonPatch.register(r);
            Aggregates.register(r);
            Strings.register(r);
            Types.register(r);
            Collections2.register(r);
            Regex.register(r);
            Semver.register(r);
            Encoding.register(r);
            Numbers.register(r);
            MAP = Collections.unmodifiableMap(r.map);
        }
    }

    private static final class Rest {
        static final Map<String, Builtin> MAP;

        static {
            Registry r = new Registry();
            Units.register(r);
            Times.register(r);
            Crypto.register(r);
            Glob.register(r);
            Jwt.register(r);
            Net.register(r);
            Graphs.register(r);
            Uuids.register(r);
            Uris.register(r);
            X509.register(r);
            MAP = Collections.unmodifiableMap(r.map);
        }
    }

    private Builtins() {
    }

    /** The built-in with this name, or null. */
    public static Builtin get(String name) {
        Builtin b = Core.MAP.get(name);
        return b != null ? b : Rest.MAP.get(name);
    }

    /** All registered built-in names, sorted. */
    public static Set<String> names() {
        TreeSet<String> all = new TreeSet<>(Core.MAP.keySet());
        all.addAll(Rest.MAP.keySet());
        return Collections.unmodifiableSet(all);
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
