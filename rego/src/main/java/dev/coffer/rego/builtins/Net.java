package dev.coffer.rego.builtins;

import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.NumberValue;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.SetValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/** net.cidr_* on IPv4 and IPv6, with address arithmetic on BigInteger (no DNS is ever consulted). */
final class Net {
    private Net() {
    }

    private static final int MAX_EXPAND = 1 << 20;

    /** A network: first address, prefix length and family width (32 or 128). */
    record Cidr(BigInteger base, int prefix, int bits) {
        BigInteger size() {
            return BigInteger.ONE.shiftLeft(bits - prefix);
        }

        BigInteger last() {
            return base.add(size()).subtract(BigInteger.ONE);
        }

        boolean contains(Cidr o) {
            return bits == o.bits && prefix <= o.prefix && base.compareTo(o.base) <= 0 && last().compareTo(o.last()) >= 0;
        }

        boolean intersects(Cidr o) {
            return bits == o.bits && base.compareTo(o.last()) <= 0 && o.base.compareTo(last()) <= 0;
        }

        String text() {
            return format(base, bits) + "/" + prefix;
        }
    }

    static void register(Builtins.Registry r) {
        // DNS answers change over time: never cached across evaluations
        r.addNondeterministic("net.lookup_ip_addr", 1, (c, a) -> {
            String name = Args.str("net.lookup_ip_addr", a, 0);
            TreeSet<Value> out = new TreeSet<>(Value.ORDER);
            try {
                for (java.net.InetAddress addr : java.net.InetAddress.getAllByName(name)) out.add(Value.of(ipText(addr)));
            } catch (java.net.UnknownHostException e) {
                throw BuiltinException.builtin("net.lookup_ip_addr", "lookup " + name + ": no such host");
            }
            return SetValue.wrap(out);
        });
        r.add("net.cidr_contains", 2, (c, a) -> {
            Cidr net = cidr("net.cidr_contains", Args.str("net.cidr_contains", a, 0));
            Cidr other = cidrOrIp("net.cidr_contains", Args.str("net.cidr_contains", a, 1));
            return Value.of(net.contains(other));
        });
        r.add("net.cidr_intersects", 2, (c, a) -> Value.of(cidr("net.cidr_intersects", Args.str("net.cidr_intersects", a, 0))
                .intersects(cidr("net.cidr_intersects", Args.str("net.cidr_intersects", a, 1)))));
        r.add("net.cidr_overlap", 2, (c, a) -> Value.of(cidr("net.cidr_overlap", Args.str("net.cidr_overlap", a, 0))
                .contains(cidrOrIp("net.cidr_overlap", Args.str("net.cidr_overlap", a, 1)))));
        r.add("net.cidr_is_valid", 1, (c, a) -> {
            if (!(a[0] instanceof StringValue s)) return Value.of(false);
            try {
                cidr("net.cidr_is_valid", s.value());
                return Value.of(true);
            } catch (BuiltinException e) {
                return Value.of(false);
            }
        });
        r.add("net.cidr_expand", 1, (c, a) -> {
            Cidr n = cidr("net.cidr_expand", Args.str("net.cidr_expand", a, 0));
            if (n.size().compareTo(BigInteger.valueOf(MAX_EXPAND)) > 0)
                throw BuiltinException.builtin("net.cidr_expand", "network has more than " + MAX_EXPAND + " addresses");
            TreeSet<Value> out = new TreeSet<>(Value.ORDER);
            for (BigInteger i = n.base(); i.compareTo(n.last()) <= 0; i = i.add(BigInteger.ONE)) out.add(Value.of(format(i, n.bits())));
            return SetValue.wrap(out);
        });
        r.add("net.cidr_contains_matches", 2, (c, a) -> {
            List<Value[]> nets = entries("net.cidr_contains_matches", a, 0), others = entries("net.cidr_contains_matches", a, 1);
            TreeSet<Value> out = new TreeSet<>(Value.ORDER);
            for (Value[] n : nets) {
                Cidr net = cidr("net.cidr_contains_matches", n[1]);
                for (Value[] o : others) {
                    if (net.contains(cidrOrIp("net.cidr_contains_matches", o[1]))) out.add(Value.array(n[0], o[0]));
                }
            }
            return SetValue.wrap(out);
        });
        r.add("net.cidr_merge", 1, (c, a) -> {
            List<Cidr> v4 = new ArrayList<>(), v6 = new ArrayList<>();
            for (Value v : Args.collection("net.cidr_merge", a, 0)) {
                if (!(v instanceof StringValue s)) throw Args.typeErr("net.cidr_merge", 0, "set of strings or array of strings", v);
                Cidr n;
                if (s.value().contains("/")) {
                    n = cidr("net.cidr_merge", s.value());
                } else {
                    // as Go's net.IP.DefaultMask: bare IPv4 addresses take their classful mask; IPv6 needs a prefix
                    byte[] ip = parseIp(s.value());
                    if (ip == null) throw BuiltinException.builtin("net.cidr_merge", "invalid CIDR address: " + s.value());
                    if (ip.length == 16) throw BuiltinException.builtin("net.cidr_merge", "IPv6 invalid: needs prefix length");
                    int first = ip[0] & 0xff;
                    int prefix = first < 128 ? 8 : first < 192 ? 16 : first < 224 ? 24 : 32;
                    n = cidr("net.cidr_merge", s.value() + "/" + prefix);
                }
                (n.bits() == 32 ? v4 : v6).add(n);
            }
            TreeSet<Value> out = new TreeSet<>(Value.ORDER);
            for (Cidr n : merge(v4)) out.add(Value.of(n.text()));
            for (Cidr n : merge(v6)) out.add(Value.of(n.text()));
            return SetValue.wrap(out);
        });
    }

    /** (key, address) pairs of a string, array (index keys; [addr, ...] elements allowed), set or object operand. */
    private static List<Value[]> entries(String fn, Value[] a, int i) {
        List<Value[]> out = new ArrayList<>();
        switch (a[i]) {
            case StringValue s -> out.add(new Value[]{s, s});
            case ArrayValue arr -> {
                for (int j = 0; j < arr.size(); j++) out.add(new Value[]{NumberValue.of(j), first(fn, i + 1, arr.get(j))});
            }
            case SetValue set -> {
                for (Value v : set.items()) out.add(new Value[]{v, first(fn, i + 1, v)});
            }
            case ObjectValue o -> {
                for (Map.Entry<Value, Value> e : o.map().entrySet()) out.add(new Value[]{e.getKey(), first(fn, i + 1, e.getValue())});
            }
            default -> throw Args.typeErr(fn, i, "one of {string, array, set, object}", a[i]);
        }
        return out;
    }

    private static Value first(String fn, int operand, Value v) {
        if (v instanceof ArrayValue arr && arr.size() > 0 && arr.get(0) instanceof StringValue) return arr.get(0);
        if (v instanceof StringValue) return v;
        throw BuiltinException.builtin(fn, "operand " + operand + ": element must be string or non-empty array");
    }

    private static Cidr cidr(String fn, Value v) {
        if (!(v instanceof StringValue s)) throw BuiltinException.builtin(fn, "expected string but got " + v.typeName());
        return cidr(fn, s.value());
    }

    private static Cidr cidrOrIp(String fn, Value v) {
        if (!(v instanceof StringValue s)) throw BuiltinException.builtin(fn, "expected string but got " + v.typeName());
        return cidrOrIp(fn, s.value());
    }

    static Cidr cidrOrIp(String fn, String s) {
        if (s.contains("/")) return cidr(fn, s);
        byte[] ip = parseIp(s);
        if (ip == null) throw BuiltinException.builtin(fn, "invalid CIDR address: " + s);
        return new Cidr(new BigInteger(1, ip), ip.length * 8, ip.length * 8);
    }

    static Cidr cidr(String fn, String s) {
        int slash = s.indexOf('/');
        if (slash < 0) throw BuiltinException.builtin(fn, "invalid CIDR address: " + s);
        byte[] ip = parseIp(s.substring(0, slash));
        String p = s.substring(slash + 1);
        if (ip == null || p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit))
            throw BuiltinException.builtin(fn, "invalid CIDR address: " + s);
        int bits = ip.length * 8, prefix = Integer.parseInt(p);
        if (prefix > bits) throw BuiltinException.builtin(fn, "invalid CIDR address: " + s);
        BigInteger mask = BigInteger.ONE.shiftLeft(bits).subtract(BigInteger.ONE).xor(BigInteger.ONE.shiftLeft(bits - prefix).subtract(BigInteger.ONE));
        return new Cidr(new BigInteger(1, ip).and(mask), prefix, bits);
    }

    /** Parses a literal IPv4 or IPv6 address without any name lookup; null when it is not one. */
    static byte[] parseIp(String s) {
        if (s.indexOf(':') < 0) {
            String[] parts = s.split("\\.", -1);
            if (parts.length != 4) return null;
            byte[] out = new byte[4];
            for (int i = 0; i < 4; i++) {
                String x = parts[i];
                if (x.isEmpty() || x.length() > 3 || !x.chars().allMatch(Character::isDigit) || (x.length() > 1 && x.startsWith("0"))) return null;
                int n = Integer.parseInt(x);
                if (n > 255) return null;
                out[i] = (byte) n;
            }
            return out;
        }
        if (!s.chars().allMatch(ch -> Character.digit(ch, 16) >= 0 || ch == ':' || ch == '.')) return null;
        String[] halves = s.split("::", -1);
        if (halves.length > 2) return null;
        List<Integer> head = groups(halves[0]), tail = halves.length == 2 ? groups(halves[1]) : List.of();
        if (head == null || tail == null) return null;
        int total = head.size() + tail.size();
        if (halves.length == 1 && total != 8 || halves.length == 2 && total > 7) return null;
        byte[] out = new byte[16];
        int pos = 0;
        for (int g : head) {
            out[pos++] = (byte) (g >> 8);
            out[pos++] = (byte) g;
        }
        pos = 16 - tail.size() * 2;
        for (int g : tail) {
            out[pos++] = (byte) (g >> 8);
            out[pos++] = (byte) g;
        }
        return out;
    }

    private static List<Integer> groups(String s) {
        List<Integer> out = new ArrayList<>();
        if (s.isEmpty()) return out;
        String[] parts = s.split(":", -1);
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            if (i == parts.length - 1 && p.contains(".")) {
                byte[] v4 = parseIp(p);
                if (v4 == null) return null;
                out.add(((v4[0] & 0xff) << 8) | (v4[1] & 0xff));
                out.add(((v4[2] & 0xff) << 8) | (v4[3] & 0xff));
                continue;
            }
            if (p.isEmpty() || p.length() > 4) return null;
            out.add(Integer.parseInt(p, 16));
        }
        return out;
    }

    static String format(BigInteger addr, int bits) {
        byte[] raw = addr.toByteArray();
        byte[] b = new byte[bits / 8];
        for (int i = 0; i < Math.min(raw.length, b.length); i++) b[b.length - 1 - i] = raw[raw.length - 1 - i];
        if (bits == 32) return (b[0] & 0xff) + "." + (b[1] & 0xff) + "." + (b[2] & 0xff) + "." + (b[3] & 0xff);
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) g[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        int bestStart = -1, bestLen = 1;
        for (int i = 0; i < 8; ) {
            if (g[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && g[j] == 0) j++;
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (!sb.isEmpty() && sb.charAt(sb.length() - 1) != ':') sb.append(':');
            sb.append(Integer.toHexString(g[i]));
        }
        return sb.toString();
    }

    private static List<Cidr> merge(List<Cidr> nets) {
        List<Cidr> out = new ArrayList<>();
        if (nets.isEmpty()) return out;
        int bits = nets.getFirst().bits();
        nets.sort((x, y) -> x.base().compareTo(y.base()));
        BigInteger start = null, end = null;
        List<BigInteger[]> ranges = new ArrayList<>();
        for (Cidr n : nets) {
            if (start == null) {
                start = n.base();
                end = n.last();
            } else if (n.base().compareTo(end.add(BigInteger.ONE)) <= 0) {
                if (n.last().compareTo(end) > 0) end = n.last();
            } else {
                ranges.add(new BigInteger[]{start, end});
                start = n.base();
                end = n.last();
            }
        }
        ranges.add(new BigInteger[]{start, end});
        for (BigInteger[] rg : ranges) {
            BigInteger cur = rg[0];
            while (cur.compareTo(rg[1]) <= 0) {
                int size = cur.signum() == 0 ? bits : cur.getLowestSetBit();
                size = Math.min(size, bits);
                while (size > 0 && cur.add(BigInteger.ONE.shiftLeft(size)).subtract(BigInteger.ONE).compareTo(rg[1]) > 0) size--;
                out.add(new Cidr(cur, bits - size, bits));
                cur = cur.add(BigInteger.ONE.shiftLeft(size));
            }
        }
        return out;
    }

    /** An address as Go prints it: dotted IPv4, or IPv6 in RFC 5952 form (longest zero run as "::"). */
    static String ipText(java.net.InetAddress addr) {
        byte[] b = addr.getAddress();
        return format(new BigInteger(1, b), b.length * 8);
    }
}
