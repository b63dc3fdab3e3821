package dev.coffer.policy.k8s;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Map;

/** A Kubernetes resource quantity ("128Mi", "1G", "1.5Gi", "1e9") as a whole number of bytes. */
final class Quantity {
    private static final Map<String, BigInteger> SUFFIXES = Map.ofEntries(
            Map.entry("", BigInteger.ONE),
            Map.entry("k", BigInteger.TEN.pow(3)), Map.entry("M", BigInteger.TEN.pow(6)), Map.entry("G", BigInteger.TEN.pow(9)),
            Map.entry("T", BigInteger.TEN.pow(12)), Map.entry("P", BigInteger.TEN.pow(15)), Map.entry("E", BigInteger.TEN.pow(18)),
            Map.entry("Ki", BigInteger.TWO.pow(10)), Map.entry("Mi", BigInteger.TWO.pow(20)), Map.entry("Gi", BigInteger.TWO.pow(30)),
            Map.entry("Ti", BigInteger.TWO.pow(40)), Map.entry("Pi", BigInteger.TWO.pow(50)), Map.entry("Ei", BigInteger.TWO.pow(60)));

    private Quantity() {}

    static long bytes(String q) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("([0-9]+(?:\\.[0-9]+)?(?:[eE][0-9]{1,2})?)([kMGTPE]i?|Ki)?").matcher(q);
        if (!m.matches()) {
            throw new IllegalArgumentException("expected a byte quantity such as 128Mi or 1G, found '" + q + "'");
        }
        String suffix = m.group(2) == null ? "" : m.group(2);
        BigInteger unit = SUFFIXES.get(suffix);
        if (unit == null) throw new IllegalArgumentException("unknown suffix '" + suffix + "' in '" + q + "'; use Ki, Mi, Gi, k, M or G");
        BigDecimal bytes = new BigDecimal(m.group(1)).multiply(new BigDecimal(unit));
        // Kubernetes rounds a fractional byte count up
        BigInteger whole = bytes.setScale(0, java.math.RoundingMode.CEILING).toBigIntegerExact();
        if (whole.signum() <= 0 || whole.bitLength() > 62) {
            throw new IllegalArgumentException("expected a positive memory limit below 4 EiB, found '" + q + "'");
        }
        return whole.longValueExact();
    }
}
