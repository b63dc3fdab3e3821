package dev.coffer.attest.measure.snp;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The vCPU signature (CPUID Fn0000_0001_EAX: family, model, stepping) QEMU puts in RDX of every
 * VMSA, so the MEASUREMENT depends on the guest's CPU model. Named types are QEMU's AMD EPYC
 * models; every version of a model has the same signature.
 */
public record VcpuSignature(int value) {

    /** A QEMU CPU model: its name, the versions QEMU defines, and its family/model/stepping. */
    private record CpuModel(String name, int versions, int family, int model, int stepping, List<String> aliases) {}

    // Declared once; the accepted names (model, model-vN, aliases) are derived from it.
    private static final List<CpuModel> MODELS = List.of(
            new CpuModel("EPYC", 4, 23, 1, 2, List.of("EPYC-IBPB")),
            new CpuModel("EPYC-Rome", 4, 23, 49, 0, List.of()),
            new CpuModel("EPYC-Milan", 2, 25, 1, 1, List.of()),
            new CpuModel("EPYC-Genoa", 1, 25, 17, 0, List.of()),
            new CpuModel("EPYC-Turin", 1, 26, 0, 0, List.of()));

    private static final Map<String, VcpuSignature> BY_NAME = byName();

    private static Map<String, VcpuSignature> byName() {
        Map<String, VcpuSignature> m = new LinkedHashMap<>();
        for (CpuModel c : MODELS) {
            VcpuSignature sig = of(c.family, c.model, c.stepping);
            m.put(c.name, sig);
            for (int v = 1; v <= c.versions; v++) m.put(c.name + "-v" + v, sig);
            for (String alias : c.aliases) m.put(alias, sig);
        }
        return Collections.unmodifiableMap(m);
    }

    /** The accepted vCPU type names, in declaration order. */
    public static List<String> typeNames() {
        return new ArrayList<>(BY_NAME.keySet());
    }

    /** The signature of a QEMU CPU model name (case-insensitive), e.g. EPYC-v4, EPYC-Milan. */
    public static VcpuSignature ofType(String name) {
        for (var e : BY_NAME.entrySet()) {
            if (e.getKey().equalsIgnoreCase(name.strip())) return e.getValue();
        }
        throw new IllegalArgumentException("unknown vCPU type '" + name + "'; expected one of " + String.join(", ", BY_NAME.keySet())
                + " (or give the signature itself with --vcpu-sig, or --vcpu-family/--vcpu-model/--vcpu-stepping)");
    }

    /** CPUID Fn0000_0001_EAX as AMD's CPUID specification (#25481) composes it. */
    public static VcpuSignature of(int family, int model, int stepping) {
        if (family < 0 || family > 0xf + 0xff || model < 0 || model > 0xff || stepping < 0 || stepping > 0xf) {
            throw new IllegalArgumentException("vCPU family " + family + ", model " + model + ", stepping " + stepping
                    + " is out of range (family 0..270, model 0..255, stepping 0..15)");
        }
        int familyLow = Math.min(family, 0xf);
        int familyHigh = family > 0xf ? family - 0xf : 0;
        return new VcpuSignature(familyHigh << 20 | (model >> 4) << 16 | familyLow << 8 | (model & 0xf) << 4 | stepping);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "0x%08x", value);
    }
}
