package dev.coffer.rego.builtins;

import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.BooleanValue;
import dev.coffer.rego.value.NumberValue;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.SetValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/** Arrays, sets and objects: array.*, union, intersection, object.*, json.filter/remove/patch. */
final class Collections2 {
    private Collections2() {
    }

    static void register(Builtins.Registry r) {
        r.add("array.concat", 2, (c, a) -> {
            ArrayList<Value> out = new ArrayList<>(Args.arr("array.concat", a, 0).items());
            out.addAll(Args.arr("array.concat", a, 1).items());
            return Value.wrapList(out);
        });
        r.add("array.slice", 3, (c, a) -> {
            ArrayValue arr = Args.arr("array.slice", a, 0);
            int s = Args.smallInt("array.slice", a, 1), e = Args.smallInt("array.slice", a, 2);
            s = Math.max(0, s);
            e = Math.min(arr.size(), e);
            if (s >= e) return ArrayValue.EMPTY;
            return Value.wrapList(new ArrayList<>(arr.items().subList(s, e)));
        });
        r.add("array.flatten", 1, (c, a) -> {
            ArrayList<Value> out = new ArrayList<>();
            for (Value v : Args.arr("array.flatten", a, 0).items()) {
                if (v instanceof ArrayValue inner) out.addAll(inner.items());
                else out.add(v);
            }
            return Value.wrapList(out);
        });
        r.add("array.reverse", 1, (c, a) -> {
            ArrayList<Value> out = new ArrayList<>(Args.arr("array.reverse", a, 0).items());
            Collections.reverse(out);
            return Value.wrapList(out);
        });
        r.add("union", 1, (c, a) -> {
            TreeSet<Value> out = new TreeSet<>(Value.ORDER);
            for (Value v : Args.set("union", a, 0).items()) {
                if (!(v instanceof SetValue s)) throw Args.typeErr("union", 0, "set[set[any]]", a[0]);
                out.addAll(s.items());
            }
            return SetValue.wrap(out);
        });
        r.add("intersection", 1, (c, a) -> {
            TreeSet<Value> out = null;
            for (Value v : Args.set("intersection", a, 0).items()) {
                if (!(v instanceof SetValue s)) throw Args.typeErr("intersection", 0, "set[set[any]]", a[0]);
                if (out == null) out = new TreeSet<>(s.items());
                else out.retainAll(s.items());
            }
            return out == null ? SetValue.EMPTY : SetValue.wrap(out);
        });
        r.add("object.get", 3, (c, a) -> {
            ObjectValue o = Args.obj("object.get", a, 0);
            if (a[1] instanceof ArrayValue path) {
                Value cur = o;
                for (Value k : path.items()) {
                    cur = lookup(cur, k);
                    if (cur == null) return a[2];
                }
                return cur;
            }
            Value v = o.get(a[1]);
            return v == null ? a[2] : v;
        });
        r.add("object.keys", 1, (c, a) -> SetValue.wrap(new TreeSet<>(Args.obj("object.keys", a, 0).map().keySet())));
        r.add("object.union", 2, (c, a) -> union(Args.obj("object.union", a, 0), Args.obj("object.union", a, 1)));
        r.add("object.union_n", 1, (c, a) -> {
            ObjectValue out = ObjectValue.EMPTY;
            for (Value v : Args.arr("object.union_n", a, 0).items()) {
                if (!(v instanceof ObjectValue o)) throw Args.typeErr("object.union_n", 0, "array[object[any: any]]", a[0]);
                out = union(out, o);
            }
            return out;
        });
        r.add("object.remove", 2, (c, a) -> {
            ObjectValue o = Args.obj("object.remove", a, 0);
            TreeMap<Value, Value> m = new TreeMap<>(o.map());
            for (Value k : keysOf("object.remove", a, 1)) m.remove(k);
            return ObjectValue.wrap(m);
        });
        r.add("object.filter", 2, (c, a) -> {
            ObjectValue o = Args.obj("object.filter", a, 0);
            TreeMap<Value, Value> m = new TreeMap<>(Value.ORDER);
            for (Value k : keysOf("object.filter", a, 1)) {
                Value v = o.get(k);
                if (v != null) m.put(k, v);
            }
            return ObjectValue.wrap(m);
        });
        r.add("object.subset", 2, (c, a) -> {
            if (a[0] instanceof ObjectValue || a[0] instanceof SetValue || a[0] instanceof ArrayValue) {
                return Value.of(subset(a[0], a[1]));
            }
            throw Args.typeErr("object.subset", 0, "one of {object, set, array}", a[0]);
        });
        r.add("json.filter", 2, (c, a) -> {
            ObjectValue o = Args.obj("json.filter", a, 0);
            List<List<Value>> paths = paths("json.filter", a, 1);
            return filter(o, paths);
        });
        r.add("json.remove", 2, (c, a) -> {
            ObjectValue o = Args.obj("json.remove", a, 0);
            Value cur = o;
            for (List<Value> p : paths("json.remove", a, 1)) cur = remove(cur, p, 0);
            return cur;
        });
    }

    private static Value lookup(Value coll, Value key) {
        return switch (coll) {
            case ObjectValue o -> o.get(key);
            case ArrayValue arr -> key instanceof NumberValue n && n.intValueExact() != null && n.intValueExact() >= 0
                    && n.intValueExact() < arr.size() ? arr.get(n.intValueExact()) : null;
            case SetValue s -> s.contains(key) ? key : null;
            default -> null;
        };
    }

    private static Iterable<Value> keysOf(String fn, Value[] a, int i) {
        return switch (a[i]) {
            case ArrayValue x -> x.items();
            case SetValue x -> x.items();
            case ObjectValue x -> x.map().keySet();
            default -> throw Args.typeErr(fn, i, "one of {object, set, array}", a[i]);
        };
    }

    static ObjectValue union(ObjectValue x, ObjectValue y) {
        TreeMap<Value, Value> m = new TreeMap<>(x.map());
        for (Map.Entry<Value, Value> e : y.map().entrySet()) {
            Value prev = m.get(e.getKey());
            if (prev instanceof ObjectValue po && e.getValue() instanceof ObjectValue vo) m.put(e.getKey(), union(po, vo));
            else m.put(e.getKey(), e.getValue());
        }
        return ObjectValue.wrap(m);
    }

    private static boolean subset(Value sup, Value sub) {
        if (sup instanceof ObjectValue so && sub instanceof ObjectValue bo) {
            for (Map.Entry<Value, Value> e : bo.map().entrySet()) {
                Value v = so.get(e.getKey());
                if (v == null) return false;
                // nested collections compare as subsets too (sets within sets, arrays within arrays)
                if (!subset(v, e.getValue())) return false;
            }
            return true;
        }
        if (sup instanceof SetValue ss && sub instanceof SetValue bs) return ss.items().containsAll(bs.items());
        if (sup instanceof ArrayValue sa && sub instanceof ArrayValue ba) {
            if (ba.size() == 0) return true;
            outer:
            for (int i = 0; i + ba.size() <= sa.size(); i++) {
                for (int j = 0; j < ba.size(); j++) if (!sa.get(i + j).equals(ba.get(j))) continue outer;
                return true;
            }
            return false;
        }
        if (sup instanceof ArrayValue sa && sub instanceof SetValue bs) return sa.items().containsAll(bs.items());
        return sup.equals(sub);
    }

    static List<List<Value>> paths(String fn, Value[] a, int i) {
        List<List<Value>> out = new ArrayList<>();
        Iterable<Value> items = switch (a[i]) {
            case ArrayValue x -> x.items();
            case SetValue x -> x.items();
            default -> throw Args.typeErr(fn, i, "one of {set, array}", a[i]);
        };
        for (Value p : items) {
            if (p instanceof StringValue s) {
                List<Value> path = new ArrayList<>();
                String t = s.value();
                if (t.startsWith("/")) t = t.substring(1);
                if (!t.isEmpty()) for (String seg : t.split("/", -1)) path.add(Value.of(seg.replace("~1", "/").replace("~0", "~")));
                out.add(path);
            } else if (p instanceof ArrayValue arr) {
                out.add(arr.items());
            } else {
                throw BuiltinException.type(fn, "operand " + (i + 1) + " must be one of {set, array} containing string paths or array of path segments but got " + p.typeName());
            }
        }
        return out;
    }

    private static Value filter(Value v, List<List<Value>> paths) {
        for (List<Value> p : paths) if (p.isEmpty()) return v;
        TreeMap<Value, List<List<Value>>> byKey = new TreeMap<>(Value.ORDER);
        for (List<Value> p : paths) byKey.computeIfAbsent(p.getFirst(), k -> new ArrayList<>()).add(p.subList(1, p.size()));
        switch (v) {
            case ObjectValue o -> {
                TreeMap<Value, Value> m = new TreeMap<>(Value.ORDER);
                for (Map.Entry<Value, List<List<Value>>> e : byKey.entrySet()) {
                    Value child = o.get(e.getKey());
                    if (child != null) m.put(e.getKey(), filter(child, e.getValue()));
                }
                return ObjectValue.wrap(m);
            }
            case ArrayValue arr -> {
                ArrayList<Value> out = new ArrayList<>();
                for (int i = 0; i < arr.size(); i++) {
                    List<List<Value>> sub = byKey.get(Value.of(i));
                    if (sub == null) sub = byKey.get(Value.of(Integer.toString(i)));
                    if (sub != null) out.add(filter(arr.get(i), sub));
                }
                return Value.wrapList(out);
            }
            case SetValue s -> {
                TreeSet<Value> out = new TreeSet<>(Value.ORDER);
                for (Value x : s.items()) {
                    List<List<Value>> sub = byKey.get(x);
                    if (sub != null) out.add(filter(x, sub));
                }
                return SetValue.wrap(out);
            }
            default -> {
                return v;
            }
        }
    }

    private static Value remove(Value v, List<Value> path, int i) {
        if (i == path.size()) return null;
        Value key = path.get(i);
        switch (v) {
            case ObjectValue o -> {
                Value child = o.get(key);
                if (child == null) return v;
                TreeMap<Value, Value> m = new TreeMap<>(o.map());
                Value nv = remove(child, path, i + 1);
                if (nv == null) m.remove(key);
                else m.put(key, nv);
                return ObjectValue.wrap(m);
            }
            case ArrayValue arr -> {
                Integer idx = key instanceof NumberValue n ? n.intValueExact()
                        : key instanceof StringValue s && s.value().matches("\\d+") ? Integer.valueOf(s.value()) : null;
                if (idx == null || idx < 0 || idx >= arr.size()) return v;
                ArrayList<Value> out = new ArrayList<>(arr.items());
                Value nv = remove(arr.get(idx), path, i + 1);
                if (nv == null) out.remove((int) idx);
                else out.set(idx, nv);
                return Value.wrapList(out);
            }
            case SetValue s -> {
                if (!s.contains(key)) return v;
                TreeSet<Value> out = new TreeSet<>(s.items());
                Value nv = remove(key, path, i + 1);
                out.remove(key);
                if (nv != null) out.add(nv);
                return SetValue.wrap(out);
            }
            default -> {
                return v;
            }
        }
    }

    static boolean isTrue(Value v) {
        return v.equals(BooleanValue.TRUE);
    }
}
