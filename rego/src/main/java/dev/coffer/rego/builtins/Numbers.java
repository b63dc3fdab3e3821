package dev.coffer.rego.builtins;

import dev.coffer.rego.value.NumberValue;
import dev.coffer.rego.value.Value;


import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayList;

/** abs, round, ceil, floor, numbers.range(_step), rand.intn and bits.*. */
final class Numbers {
    private Numbers() {
    }

    private static final int MAX_RANGE = 10_000_000;

    static void register(Builtins.Registry r) {
        r.add("abs", 1, (c, a) -> NumberValue.of(Args.num("abs", a, 0).abs()));
        r.add("round", 1, (c, a) -> NumberValue.of(Args.num("round", a, 0).setScale(0, RoundingMode.HALF_UP)));
        r.add("ceil", 1, (c, a) -> NumberValue.of(Args.num("ceil", a, 0).setScale(0, RoundingMode.CEILING)));
        r.add("floor", 1, (c, a) -> NumberValue.of(Args.num("floor", a, 0).setScale(0, RoundingMode.FLOOR)));
        r.add("numbers.range", 2, (c, a) -> range("numbers.range", Args.integer("numbers.range", a, 0), Args.integer("numbers.range", a, 1), BigInteger.ONE));
        r.add("numbers.range_step", 3, (c, a) -> {
            BigInteger step = Args.integer("numbers.range_step", a, 2);
            if (step.signum() <= 0) throw BuiltinException.builtin("numbers.range_step", "step must be a positive integer");
            return range("numbers.range_step", Args.integer("numbers.range_step", a, 0), Args.integer("numbers.range_step", a, 1), step);
        });
        r.addNondeterministic("rand.intn", 2, (c, a) -> {
            String key = Args.str("rand.intn", a, 0);
            BigInteger n = Args.integer("rand.intn", a, 1);
            if (n.signum() == 0) return NumberValue.of(0);
            // the same (key, n) gives the same number within one evaluation, as in OPA
            Object k = java.util.List.of("rand.intn", key, n);
            return (Value) c.cache().computeIfAbsent(k, x -> NumberValue.of(
                    BigInteger.valueOf(java.util.concurrent.ThreadLocalRandom.current().nextLong(Long.MAX_VALUE)).mod(n.abs())));
        });
        r.add("bits.and", 2, (c, a) -> NumberValue.of(Args.integer("bits.and", a, 0).and(Args.integer("bits.and", a, 1))));
        r.add("bits.or", 2, (c, a) -> NumberValue.of(Args.integer("bits.or", a, 0).or(Args.integer("bits.or", a, 1))));
        r.add("bits.xor", 2, (c, a) -> NumberValue.of(Args.integer("bits.xor", a, 0).xor(Args.integer("bits.xor", a, 1))));
        r.add("bits.negate", 1, (c, a) -> NumberValue.of(Args.integer("bits.negate", a, 0).not()));
        r.add("bits.lsh", 2, (c, a) -> {
            BigInteger s = Args.integer("bits.lsh", a, 1);
            if (s.signum() < 0) throw BuiltinException.type("bits.lsh", "operand 2 must be an unsigned integer number but got a negative integer");
            if (s.bitLength() > 20) throw BuiltinException.builtin("bits.lsh", "shift count too large");
            return NumberValue.of(Args.integer("bits.lsh", a, 0).shiftLeft(s.intValue()));
        });
        r.add("bits.rsh", 2, (c, a) -> {
            BigInteger s = Args.integer("bits.rsh", a, 1);
            if (s.signum() < 0) throw BuiltinException.type("bits.rsh", "operand 2 must be an unsigned integer number but got a negative integer");
            if (s.bitLength() > 31) return NumberValue.of(Args.integer("bits.rsh", a, 0).signum() < 0 ? -1 : 0);
            return NumberValue.of(Args.integer("bits.rsh", a, 0).shiftRight(s.intValue()));
        });
    }

    private static Value range(String fn, BigInteger from, BigInteger to, BigInteger step) {
        BigInteger span = to.subtract(from).abs().divide(step);
        if (span.compareTo(BigInteger.valueOf(MAX_RANGE)) > 0)
            throw BuiltinException.builtin(fn, "range of more than " + MAX_RANGE + " numbers");
        ArrayList<Value> out = new ArrayList<>();
        if (from.compareTo(to) <= 0) {
            for (BigInteger i = from; i.compareTo(to) <= 0; i = i.add(step)) out.add(NumberValue.of(i));
        } else {
            for (BigInteger i = from; i.compareTo(to) >= 0; i = i.subtract(step)) out.add(NumberValue.of(i));
        }
        return Value.wrapList(out);
    }

}
