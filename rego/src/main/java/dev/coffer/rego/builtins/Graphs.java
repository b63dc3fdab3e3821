package dev.coffer.rego.builtins;

import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.SetValue;
import dev.coffer.rego.value.Value;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/** graph.reachable and graph.reachable_paths over {node: [neighbours]} objects. */
final class Graphs {
    private Graphs() {
    }

    static void register(Builtins.Registry r) {
        r.add("graph.reachable", 2, (c, a) -> {
            ObjectValue g = Args.obj("graph.reachable", a, 0);
            TreeSet<Value> seen = new TreeSet<>(Value.ORDER);
            ArrayDeque<Value> todo = new ArrayDeque<>();
            for (Value v : initial("graph.reachable", a)) todo.add(v);
            while (!todo.isEmpty()) {
                Value n = todo.poll();
                if (g.get(n) == null || !seen.add(n)) continue;
                for (Value m : neighbours(g.get(n))) if (!seen.contains(m)) todo.add(m);
            }
            return SetValue.wrap(seen);
        });
        r.add("graph.reachable_paths", 2, (c, a) -> {
            ObjectValue g = Args.obj("graph.reachable_paths", a, 0);
            TreeSet<Value> out = new TreeSet<>(Value.ORDER);
            for (Value root : initial("graph.reachable_paths", a)) {
                if (g.get(root) == null) continue;
                paths(g, root, new ArrayList<>(), out);
            }
            return SetValue.wrap(out);
        });
    }

    private static Iterable<Value> initial(String fn, Value[] a) {
        return switch (a[1]) {
            case ArrayValue x -> x.items();
            case SetValue x -> x.items();
            default -> throw Args.typeErr(fn, 1, "one of {array, set}", a[1]);
        };
    }

    private static Iterable<Value> neighbours(Value edges) {
        return switch (edges) {
            case ArrayValue x -> x.items();
            case SetValue x -> x.items();
            default -> List.of();
        };
    }

    private static void paths(ObjectValue g, Value node, List<Value> path, TreeSet<Value> out) {
        path.add(node);
        boolean extended = false;
        Value edges = g.get(node);
        if (edges != null) {
            for (Value m : neighbours(edges)) {
                if (path.contains(m) || g.get(m) == null) continue;
                extended = true;
                paths(g, m, path, out);
            }
        }
        if (!extended) out.add(Value.array(new ArrayList<>(path)));
        path.removeLast();
    }
}
