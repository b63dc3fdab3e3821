package dev.coffer.rego.value;

import java.math.BigDecimal;
import java.math.BigInteger;

/**
 * An exact number. The decimal is kept with trailing zeros stripped so that equal numbers
 * are equal records (1, 1.0 and 1e0 are one value), as Rego compares numbers numerically.
 */
public record NumberValue(BigDecimal value) implements Value {
    private static final NumberValue[] SMALL = new NumberValue[257];

    static {
        for (int i = 0; i < SMALL.length; i++) SMALL[i] = new NumberValue(BigDecimal.valueOf(i - 128));
    }

    public NumberValue {
        value = value.signum() == 0 ? BigDecimal.ZERO : value.stripTrailingZeros();
    }

    public static NumberValue of(long n) {
        if (n >= -128 && n <= 128) return SMALL[(int) n + 128];
        return new NumberValue(BigDecimal.valueOf(n));
    }

    public static NumberValue of(BigDecimal n) {
        return new NumberValue(n);
    }

    public static NumberValue of(BigInteger n) {
        return new NumberValue(new BigDecimal(n));
    }

    public boolean isInteger() {
        return value.scale() <= 0;
    }

    /** The value as an int if it is an integer in int range, else null. */
    public Integer intValueExact() {
        if (!isInteger() || value.precision() - value.scale() > 10) return null;
        try {
            return value.intValueExact();
        } catch (ArithmeticException e) {
            return null;
        }
    }

    @Override
    public String typeName() {
        return "number";
    }

    @Override
    public String toString() {
        return Json.numberText(value);
    }

    // written out: a record's generated equals/hashCode links through invokedynamic on first
    // use, which costs milliseconds in a fresh JVM for each value class
    @Override
    public boolean equals(Object other) {
        return other == this || other instanceof NumberValue o && o.value.equals(value);
    }

    @Override
    public int hashCode() {
        return value.hashCode();
    }
}
