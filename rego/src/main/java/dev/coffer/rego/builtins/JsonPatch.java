package dev.coffer.rego.builtins;

import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.NumberValue;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.SetValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.TreeSet;

/** json.patch: RFC 6902 operations (add, remove, replace, move, copy, test), extended to sets as OPA does. */
final class JsonPatch {
    private JsonPatch() {
    }

    private static final String FN = "json.patch";

    static void register(Builtins.Registry r) {
        r.add(FN, 2, (c, a) -> {
            Value doc = a[0];
            for (Value op : Args.arr(FN, a, 1).items()) {
                if (!(op instanceof ObjectValue o)) throw BuiltinException.builtin(FN, "each operation must be an object");
                doc = apply(doc, o);
                if (doc == null) return null;
            }
            return doc;
        });
    }

    private static List<Value> path(ObjectValue op, String field) {
        Value p = op.get(field);
        if (p instanceof ArrayValue arr) return arr.items();
        if (!(p instanceof StringValue s)) throw BuiltinException.builtin(FN, "operation needs a '" + field + "' path");
        String t = s.value();
        if (t.startsWith("/")) t = t.substring(1);
        List<Value> out = new ArrayList<>();
        if (s.value().isEmpty()) return out;
        for (String seg : t.split("/", -1)) out.add(Value.of(seg.replace("~1", "/").replace("~0", "~")));
        return out;
    }

    private static Value apply(Value doc, ObjectValue op) {
        if (!(op.get("op") instanceof StringValue kind)) throw BuiltinException.builtin(FN, "operation needs an 'op'");
        List<Value> path = path(op, "path");
        return switch (kind.value()) {
            case "add" -> {
                Value v = op.get("value");
                if (v == null) throw BuiltinException.builtin(FN, "add needs a value");
                yield add(doc, path, 0, v);
            }
            case "remove" -> remove(doc, path, 0);
            case "replace" -> {
                Value v = op.get("value");
                if (v == null) throw BuiltinException.builtin(FN, "replace needs a value");
                if (path.isEmpty()) yield v;
                Value removed = remove(doc, path, 0);
                yield removed == null ? null : add(removed, path, 0, v);
            }
            case "move" -> {
                List<Value> from = path(op, "from");
                Value v = get(doc, from);
                if (v == null) yield null;
                Value removed = remove(doc, from, 0);
                yield removed == null ? null : add(removed, path, 0, v);
            }
            case "copy" -> {
                Value v = get(doc, path(op, "from"));
                yield v == null ? null : add(doc, path, 0, v);
            }
            case "test" -> {
                Value v = get(doc, path);
                yield v != null && v.equals(op.get("value")) ? doc : null;
            }
            default -> throw BuiltinException.builtin(FN, "unknown operation " + kind.value());
        };
    }

    private static Value get(Value doc, List<Value> path) {
        Value cur = doc;
        for (Value k : path) {
            cur = child(cur, k);
            if (cur == null) return null;
        }
        return cur;
    }

    private static Integer index(Value key, int size, boolean allowEnd) {
        String s = key instanceof StringValue sv ? sv.value() : key instanceof NumberValue n && n.isInteger() ? n.toString() : null;
        if (s == null) return null;
        if (allowEnd && s.equals("-")) return size;
        if (!s.matches("0|[1-9][0-9]{0,8}")) return null;
        int i = Integer.parseInt(s);
        return i <= (allowEnd ? size : size - 1) ? i : null;
    }

    private static Value child(Value v, Value key) {
        return switch (v) {
            case ObjectValue o -> o.get(key);
            case ArrayValue a -> {
                Integer i = index(key, a.size(), false);
                yield i == null ? null : a.get(i);
            }
            case SetValue s -> s.contains(key) ? key : null;
            default -> null;
        };
    }

    private static Value add(Value doc, List<Value> path, int i, Value v) {
        if (i == path.size()) return v;
        Value key = path.get(i);
        boolean last = i == path.size() - 1;
        switch (doc) {
            case ObjectValue o -> {
                TreeMap<Value, Value> m = new TreeMap<>(o.map());
                if (last) {
                    m.put(key, v);
                } else {
                    Value c = o.get(key);
                    if (c == null) return null;
                    Value nc = add(c, path, i + 1, v);
                    if (nc == null) return null;
                    m.put(key, nc);
                }
                return ObjectValue.wrap(m);
            }
            case ArrayValue a -> {
                Integer idx = index(key, a.size(), last);
                if (idx == null) return null;
                ArrayList<Value> items = new ArrayList<>(a.items());
                if (last) {
                    items.add(idx, v);
                } else {
                    Value nc = add(a.get(idx), path, i + 1, v);
                    if (nc == null) return null;
                    items.set(idx, nc);
                }
                return Value.wrapList(items);
            }
            case SetValue s -> {
                if (!last) {
                    // descend into a member: the member is replaced by its patched copy
                    if (!s.contains(key)) return null;
                    Value nc = add(key, path, i + 1, v);
                    if (nc == null) return null;
                    TreeSet<Value> out = new TreeSet<>(s.items());
                    out.remove(key);
                    out.add(nc);
                    return SetValue.wrap(out);
                }
                // a set member's path segment is the member itself
                boolean matches = v instanceof StringValue vs ? vs.equals(key) : key.equals(v) || key instanceof StringValue ks && ks.value().equals(v.toJson());
                if (!matches) return null;
                TreeSet<Value> out = new TreeSet<>(s.items());
                out.add(v);
                return SetValue.wrap(out);
            }
            default -> {
                return null;
            }
        }
    }

    private static Value remove(Value doc, List<Value> path, int i) {
        if (path.isEmpty()) return null;
        Value key = path.get(i);
        boolean last = i == path.size() - 1;
        switch (doc) {
            case ObjectValue o -> {
                Value c = o.get(key);
                if (c == null) return null;
                TreeMap<Value, Value> m = new TreeMap<>(o.map());
                if (last) m.remove(key);
                else {
                    Value nc = remove(c, path, i + 1);
                    if (nc == null) return null;
                    m.put(key, nc);
                }
                return ObjectValue.wrap(m);
            }
            case ArrayValue a -> {
                Integer idx = index(key, a.size(), false);
                if (idx == null) return null;
                ArrayList<Value> items = new ArrayList<>(a.items());
                if (last) items.remove((int) idx);
                else {
                    Value nc = remove(a.get(idx), path, i + 1);
                    if (nc == null) return null;
                    items.set(idx, nc);
                }
                return Value.wrapList(items);
            }
            case SetValue s -> {
                if (!last || !s.contains(key)) return null;
                TreeSet<Value> out = new TreeSet<>(s.items());
                out.remove(key);
                return SetValue.wrap(out);
            }
            default -> {
                return null;
            }
        }
    }
}
