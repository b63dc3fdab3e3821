package dev.coffer.rego.value;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Objects and sets answer lookups from a hash index built on first use: it must find exactly
 * what the sorted map (Rego's order) finds, for keys of every type, for keys whose hash codes
 * collide (as a hostile input can arrange), and when several threads build it at once.
 */
class ValueIndexTest {
    /** Keys of every type, including equal numbers written differently and strings whose hashes collide. */
    private static List<Value> keys() {
        List<Value> ks = new ArrayList<>(List.of(Value.nullValue(), Value.of(true), Value.of(false), Value.of(0), Value.of(1),
                Value.of(new BigDecimal("2.5")), Value.of(-7), Value.of(1_000_000_007L), Value.of(""), Value.of("a"),
                Value.of("Aa"), Value.of("BB"), Value.of("AaAa"), Value.of("BBBB"), Value.of("AaBB"), Value.of("BBAa"),
                Value.array(Value.of(1), Value.of("x")), Value.array(),
                Value.object(Map.of(Value.of("k"), Value.of(1))), Value.set(List.of(Value.of(1), Value.of(2)))));
        for (int i = 0; i < 40; i++) ks.add(Value.of("key-" + i));
        return ks;
    }

    @Test
    void objectLookupsFindWhatTheSortedMapFinds() {
        List<Value> all = keys();
        for (int size = 0; size <= all.size(); size++) {
            TreeMap<Value, Value> m = new TreeMap<>(Value.ORDER);
            for (int i = 0; i < size; i++) m.put(all.get(i), Value.of(i));
            ObjectValue o = ObjectValue.wrap(new TreeMap<>(m));
            for (Value k : all) assertEquals(m.get(k), o.get(k), "size " + size + ", key " + k);
            assertNull(o.get(Value.of("absent")), "size " + size);
        }
    }

    @Test
    void equalNumbersFindTheSameMember() {
        ObjectValue o = (ObjectValue) Json.parse("{\"a\": 1}");
        TreeMap<Value, Value> m = new TreeMap<>(Value.ORDER);
        m.put(Value.of(1), Value.of("one"));
        m.put(Value.of(new BigDecimal("2.50")), Value.of("two and a half"));
        ObjectValue byNumber = ObjectValue.wrap(m);
        assertEquals(Value.of("one"), byNumber.get(Value.of(new BigDecimal("1.0"))), "1.0 is the key 1");
        assertEquals(Value.of("one"), byNumber.get(Value.of(new BigDecimal("1e0"))));
        assertEquals(Value.of("two and a half"), byNumber.get(Value.of(new BigDecimal("2.5"))));
        assertNull(byNumber.get(Value.of("1")), "the string \"1\" is another key");
        assertEquals(Value.of(1), o.get("a"));
    }

    @Test
    void collidingHashesAreToldApart() {
        // "Aa" and "BB" hash alike, as do all their concatenations: a hostile input can pick such keys
        List<String> colliding = new ArrayList<>(List.of(""));
        for (int round = 0; round < 10; round++) { // 1,024 keys with one hash code: the index gives up, the sorted map answers
            List<String> next = new ArrayList<>();
            for (String s : colliding) {
                next.add(s + "Aa");
                next.add(s + "BB");
            }
            colliding = next;
        }
        TreeMap<Value, Value> m = new TreeMap<>(Value.ORDER);
        TreeSet<Value> s = new TreeSet<>(Value.ORDER);
        for (int i = 0; i < colliding.size(); i += 2) {
            m.put(Value.of(colliding.get(i)), Value.of(i));
            s.add(Value.of(colliding.get(i)));
        }
        ObjectValue o = ObjectValue.wrap(m);
        SetValue set = SetValue.wrap(s);
        for (int i = 0; i < colliding.size(); i++) {
            Value k = Value.of(colliding.get(i));
            assertEquals(i % 2 == 0 ? Value.of(i) : null, o.get(k), colliding.get(i));
            assertEquals(i % 2 == 0, set.contains(k), colliding.get(i));
        }
    }

    /** Every position of v in items, by a plain linear search: what ArrayValue's search must give. */
    private static List<Integer> positions(List<Value> items, Value v) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) if (items.get(i).equals(v)) out.add(i);
        return out;
    }

    private static List<Integer> searched(ArrayValue a, Value v) {
        List<Integer> out = new ArrayList<>();
        for (int j = a.indexOf(v); j >= 0; j = a.nextIndexOf(v, j)) out.add(j);
        return out;
    }

    @Test
    void arraySearchesFindEveryEqualMemberInOrder() {
        List<Value> all = keys();
        // duplicates, equal numbers written differently, and members of every type
        List<Value> items = new ArrayList<>(all);
        items.addAll(List.of(Value.of("a"), Value.of(new BigDecimal("1.0")), Value.of("key-3"), Value.of("a"), Value.nullValue()));
        for (int size = 0; size <= items.size(); size++) {
            List<Value> prefix = items.subList(0, size);
            ArrayValue a = new ArrayValue(prefix);
            for (int round = 0; round < 3; round++) { // the first search is linear, the later ones use the index (length >= 8)
                for (Value v : all) assertEquals(positions(prefix, v), searched(a, v), "size " + size + ", round " + round + ": " + v);
                assertEquals(List.of(), searched(a, Value.of("absent")));
            }
        }
        ArrayValue dup = new ArrayValue(items);
        dup.indexOf(Value.of(0));
        assertEquals(List.of(9, items.size() - 5, items.size() - 2), searched(dup, Value.of("a")));
        assertEquals(List.of(4, items.size() - 4), searched(dup, Value.of(1)), "1.0 is the member 1");
        assertEquals(9, dup.nextIndexOf(Value.of("a"), 4), "after a position holding another value: a linear search, which finds the a at 9");
    }

    @Test
    void arraysWhoseMembersCollideAreSearchedLinearly() {
        List<String> colliding = new ArrayList<>(List.of(""));
        for (int round = 0; round < 8; round++) {
            List<String> next = new ArrayList<>();
            for (String s : colliding) {
                next.add(s + "Aa");
                next.add(s + "BB");
            }
            colliding = next;
        }
        List<Value> items = new ArrayList<>();
        for (String c : colliding) items.add(Value.of(c));
        ArrayValue a = new ArrayValue(items);
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < items.size(); i += 17) assertEquals(List.of(i), searched(a, items.get(i)));
            assertEquals(List.of(), searched(a, Value.of("AaAaAaAaAaAaAaAc")));
        }
    }

    @Test
    void setMembershipFindsWhatTheSortedSetFinds() {
        List<Value> all = keys();
        for (int size = 0; size <= all.size(); size++) {
            TreeSet<Value> t = new TreeSet<>(Value.ORDER);
            t.addAll(all.subList(0, size));
            SetValue s = SetValue.wrap(new TreeSet<>(t));
            for (Value k : all) assertEquals(t.contains(k), s.contains(k), "size " + size + ", member " + k);
            assertFalse(s.contains(Value.of(new BigDecimal("3.25"))));
        }
        assertTrue(Value.set(List.of(Value.of(1))).contains(Value.of(new BigDecimal("1.00"))), "1.00 is the member 1");
    }

    @Test
    void firstLookupsFromManyThreadsAgree() throws Exception {
        for (int round = 0; round < 20; round++) {
            TreeMap<Value, Value> m = new TreeMap<>(Value.ORDER);
            for (int i = 0; i < 200; i++) m.put(Value.of("k" + i), Value.of(i));
            ObjectValue o = ObjectValue.wrap(m);
            SetValue s = SetValue.wrap(new TreeSet<>(m.keySet()));
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<Boolean>> results = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    results.add(pool.submit(() -> {
                        for (int i = 0; i < 200; i++) {
                            if (!Value.of(i).equals(o.get(Value.of("k" + i))) || !s.contains(Value.of("k" + i))) return false;
                        }
                        return o.get(Value.of("k200")) == null && !s.contains(Value.of("k200"));
                    }));
                }
                for (Future<Boolean> f : results) assertTrue(f.get());
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void equalityAndHashCodesFollowTheMembers() {
        ObjectValue a = (ObjectValue) Json.parse("{\"x\": [1, 2], \"y\": {\"z\": null}}");
        ObjectValue b = (ObjectValue) Json.parse("{\"y\": {\"z\": null}, \"x\": [1, 2.0]}");
        ObjectValue c = (ObjectValue) Json.parse("{\"y\": {\"z\": false}, \"x\": [1, 2]}");
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertNotEquals(a, c);
        assertNotEquals(a, Json.parse("{\"x\": [1, 2]}"), "a different number of members");
        assertEquals(a.hashCode(), a.hashCode(), "the cached hash is the computed one");
        SetValue s1 = Value.set(List.of(Value.of("p"), Value.of("q"))), s2 = Value.set(List.of(Value.of("q"), Value.of("p")));
        assertEquals(s1, s2);
        assertEquals(s1.hashCode(), s2.hashCode());
        assertNotEquals(s1, Value.set(List.of(Value.of("p"), Value.of("r"))));
        assertSame(ObjectValue.EMPTY.get(Value.of("a")), null);
        assertFalse(SetValue.EMPTY.contains(Value.of("a")));
    }
}
