package dev.coffer.rego.builtins;

import dev.coffer.rego.value.NumberValue;
import dev.coffer.rego.value.ObjectValue;

import dev.coffer.rego.value.Value;

import java.math.BigInteger;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeMap;

/** uuid.rfc4122 (random v4, stable per key within one evaluation) and uuid.parse. */
final class Uuids {
    private Uuids() {
    }

    private static final SecureRandom RANDOM = new SecureRandom();
    // 100-ns intervals between the Gregorian epoch (1582-10-15) and the Unix epoch
    private static final long GREGORIAN_OFFSET = 0x01B21DD213814000L;

    static void register(Builtins.Registry r) {
        r.addNondeterministic("uuid.rfc4122", 1, (c, a) -> {
            String key = Args.str("uuid.rfc4122", a, 0);
            return (Value) c.cache().computeIfAbsent(List.of("uuid.rfc4122", key), k -> {
                byte[] b = new byte[16];
                RANDOM.nextBytes(b);
                b[6] = (byte) ((b[6] & 0x0f) | 0x40);
                b[8] = (byte) ((b[8] & 0x3f) | 0x80);
                String h = HexFormat.of().formatHex(b);
                return Value.of(h.substring(0, 8) + "-" + h.substring(8, 12) + "-" + h.substring(12, 16) + "-" + h.substring(16, 20) + "-" + h.substring(20));
            });
        });
        r.add("uuid.parse", 1, (c, a) -> {
            String s = Args.str("uuid.parse", a, 0);
            String h = s.toLowerCase(java.util.Locale.ROOT);
            if (h.startsWith("urn:uuid:")) h = h.substring(9);
            if (h.startsWith("{") && h.endsWith("}")) h = h.substring(1, h.length() - 1);
            if (h.length() == 36) {
                if (h.charAt(8) != '-' || h.charAt(13) != '-' || h.charAt(18) != '-' || h.charAt(23) != '-') return null;
                h = h.replace("-", "");
            }
            if (h.length() != 32 || !h.chars().allMatch(ch -> Character.digit(ch, 16) >= 0)) return null;
            byte[] b = HexFormat.of().parseHex(h);
            int version = (b[6] & 0xf0) >>> 4;
            int v = b[8] & 0xff;
            String variant = (v & 0x80) == 0 ? "Reserved, NCS backward compatibility." : (v & 0xc0) == 0x80 ? "RFC4122"
                    : (v & 0xe0) == 0xc0 ? "Reserved, Microsoft Corporation backward compatibility." : "Reserved, reserved for future definition.";
            TreeMap<Value, Value> out = new TreeMap<>(Value.ORDER);
            out.put(Value.of("version"), NumberValue.of(version));
            out.put(Value.of("variant"), Value.of(variant));
            if (version == 1 || version == 2) {
                long timeLow = ((b[0] & 0xffL) << 24) | ((b[1] & 0xffL) << 16) | ((b[2] & 0xffL) << 8) | (b[3] & 0xffL);
                long timeMid = ((b[4] & 0xffL) << 8) | (b[5] & 0xffL);
                long timeHi = ((b[6] & 0x0fL) << 8) | (b[7] & 0xffL);
                long t = (timeHi << 48) | (timeMid << 32) | timeLow;
                BigInteger ns = BigInteger.valueOf(t - GREGORIAN_OFFSET).multiply(BigInteger.valueOf(100));
                out.put(Value.of("time"), NumberValue.of(ns));
                int clock = ((b[8] & 0x3f) << 8) | (b[9] & 0xff);
                out.put(Value.of("clocksequence"), NumberValue.of(clock));
                StringBuilder node = new StringBuilder();
                for (int i = 10; i < 16; i++) {
                    if (i > 10) node.append('-');
                    node.append(String.format("%02x", b[i] & 0xff));
                }
                out.put(Value.of("nodeid"), Value.of(node.toString()));
                out.put(Value.of("macvariables"), Value.of(((b[10] & 0x02) != 0 ? "local" : "global") + ":" + ((b[10] & 0x01) != 0 ? "multicast" : "unicast")));
                if (version == 2) {
                    int domain = b[9] & 0xff;
                    out.put(Value.of("domain"), Value.of(domain == 0 ? "Person" : domain == 1 ? "Group" : domain == 2 ? "Org" : "Domain" + domain));
                    long id = ((b[0] & 0xffL) << 24) | ((b[1] & 0xffL) << 16) | ((b[2] & 0xffL) << 8) | (b[3] & 0xffL);
                    out.put(Value.of("id"), NumberValue.of(id));
                }
            }
            return ObjectValue.wrap(out);
        });
    }

}
