package dev.coffer.rego.builtins;

import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.BooleanValue;
import dev.coffer.rego.value.NumberValue;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.SetValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.math.BigDecimal;
import java.math.BigInteger;

/** Operand checks with OPA's wording: "f: operand 1 must be string but got number". */
final class Args {
    private Args() {
    }

    static BuiltinException typeErr(String fn, int i, String want, Value got) {
        return BuiltinException.type(fn, "operand " + (i + 1) + " must be " + want + " but got " + got.typeName());
    }

    static String str(String fn, Value[] a, int i) {
        if (a[i] instanceof StringValue s) return s.value();
        throw typeErr(fn, i, "string", a[i]);
    }

    static BigDecimal num(String fn, Value[] a, int i) {
        if (a[i] instanceof NumberValue n) return n.value();
        throw typeErr(fn, i, "number", a[i]);
    }

    static BigInteger integer(String fn, Value[] a, int i) {
        if (a[i] instanceof NumberValue n) {
            if (n.isInteger()) return n.value().toBigIntegerExact();
            throw BuiltinException.type(fn, "operand " + (i + 1) + " must be integer number but got floating-point number");
        }
        throw typeErr(fn, i, "number", a[i]);
    }

    static int smallInt(String fn, Value[] a, int i) {
        BigInteger b = integer(fn, a, i);
        if (b.bitLength() > 31) throw BuiltinException.builtin(fn, "operand " + (i + 1) + " is out of range");
        return b.intValue();
    }

    static boolean bool(String fn, Value[] a, int i) {
        if (a[i] instanceof BooleanValue b) return b.value();
        throw typeErr(fn, i, "boolean", a[i]);
    }

    static ArrayValue arr(String fn, Value[] a, int i) {
        if (a[i] instanceof ArrayValue x) return x;
        throw typeErr(fn, i, "array", a[i]);
    }

    static SetValue set(String fn, Value[] a, int i) {
        if (a[i] instanceof SetValue x) return x;
        throw typeErr(fn, i, "set", a[i]);
    }

    static ObjectValue obj(String fn, Value[] a, int i) {
        if (a[i] instanceof ObjectValue x) return x;
        throw typeErr(fn, i, "object", a[i]);
    }

    /** Elements of an array or set operand. */
    static Iterable<Value> collection(String fn, Value[] a, int i) {
        if (a[i] instanceof ArrayValue x) return x.items();
        if (a[i] instanceof SetValue x) return x.items();
        throw typeErr(fn, i, "one of {array, set}", a[i]);
    }
}
