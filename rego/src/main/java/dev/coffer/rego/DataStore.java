package dev.coffer.rego;

import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.Value;

import java.util.List;

/**
 * The base documents under {@code data}, shared between evaluations and safe to use from
 * several threads. Readers take an immutable snapshot; writers replace the root copy-on-write,
 * so an evaluation in progress never sees a half-applied write.
 */
public final class DataStore {
    private volatile ObjectValue root;

    public DataStore() {
        this.root = ObjectValue.EMPTY;
    }

    public DataStore(Value initial) {
        if (!(initial instanceof ObjectValue o))
            throw new IllegalArgumentException("data must be an object, found " + initial.typeName());
        this.root = o;
    }

    /** The whole document as it is now. */
    public ObjectValue snapshot() {
        return root;
    }

    /** The value at {@code path}, or null when absent. */
    public Value get(List<String> path) {
        Value cur = root;
        for (String p : path) {
            if (!(cur instanceof ObjectValue o)) return null;
            cur = o.get(p);
            if (cur == null) return null;
        }
        return cur;
    }

    /** Sets {@code path} to {@code value}, creating objects on the way. */
    public synchronized void put(List<String> path, Value value) {
        if (path.isEmpty()) {
            if (!(value instanceof ObjectValue o))
                throw new IllegalArgumentException("data root must be an object, found " + value.typeName());
            root = o;
            return;
        }
        Value[] keys = new Value[path.size()];
        for (int i = 0; i < keys.length; i++) keys[i] = Value.of(path.get(i));
        Value cur = root;
        for (int i = 0; i < keys.length - 1; i++) {
            cur = cur instanceof ObjectValue o ? o.get(keys[i]) : null;
            if (cur != null && !(cur instanceof ObjectValue))
                throw new IllegalArgumentException("cannot write " + String.join("/", path) + ": /"
                        + String.join("/", path.subList(0, i + 1)) + " is a " + cur.typeName() + ", not an object");
        }
        root = (ObjectValue) Eval.setPath(root, keys, 0, value);
    }

    /** Removes {@code path}; returns whether something was there. */
    public synchronized boolean remove(List<String> path) {
        if (path.isEmpty() || get(path) == null) return false;
        List<String> parent = path.subList(0, path.size() - 1);
        ObjectValue p = (ObjectValue) get(parent);
        java.util.TreeMap<Value, Value> m = new java.util.TreeMap<>(Value.ORDER);
        m.putAll(p.map());
        m.remove(Value.of(path.getLast()));
        ObjectValue np = ObjectValue.wrap(m);
        if (parent.isEmpty()) root = np;
        else put(parent, np);
        return true;
    }
}
