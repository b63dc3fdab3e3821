package dev.coffer.attest.snp;

import java.util.Locale;
import java.util.Optional;

/** AMD EPYC generations that run SEV-SNP; each has its own ARK and its own TCB_VERSION layout. */
public enum Product {
    MILAN("Milan", TcbLayout.MILAN_GENOA),
    GENOA("Genoa", TcbLayout.MILAN_GENOA),
    TURIN("Turin", TcbLayout.TURIN);

    private final String kdsName;
    private final TcbLayout tcbLayout;

    Product(String kdsName, TcbLayout tcbLayout) {
        this.kdsName = kdsName;
        this.tcbLayout = tcbLayout;
    }

    /** The name AMD's KDS uses in URLs and certificates ("Milan", "Genoa", "Turin"). */
    public String kdsName() {
        return kdsName;
    }

    public TcbLayout tcbLayout() {
        return tcbLayout;
    }

    /**
     * The product named by a VCEK productName extension ("Milan-B0", "Genoa", ...): the stepping
     * suffix after '-' is not part of the product.
     */
    public static Optional<Product> fromName(String name) {
        if (name == null) return Optional.empty();
        String base = name.contains("-") ? name.substring(0, name.indexOf('-')) : name;
        for (Product p : values()) {
            if (p.kdsName.equalsIgnoreCase(base.trim())) return Optional.of(p);
        }
        return Optional.empty();
    }

    /** Parses a user-supplied product name; the message lists the accepted names. */
    public static Product parse(String name) {
        return fromName(name).orElseThrow(() -> new IllegalArgumentException(
                "unknown SEV-SNP product '" + name + "'; expected one of Milan, Genoa, Turin"));
    }

    /**
     * The product from the CPUID family/model a version 3+ report carries (AMD Family 19h models
     * 00h-0Fh are Milan, 10h-1Fh and A0h-AFh Genoa/Bergamo/Siena; Family 1Ah models 00h-1Fh Turin).
     */
    public static Optional<Product> fromCpuid(int family, int model) {
        if (family == 0x19) {
            if (model <= 0x0F) return Optional.of(MILAN);
            if (model <= 0x1F || (model >= 0xA0 && model <= 0xAF)) return Optional.of(GENOA);
        } else if (family == 0x1A && model <= 0x1F) {
            return Optional.of(TURIN);
        }
        return Optional.empty();
    }

    @Override
    public String toString() {
        return kdsName.toLowerCase(Locale.ROOT);
    }
}
