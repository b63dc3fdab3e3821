package dev.coffer.attest.measure.snp;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The VMM that launches the guest. They differ in the initial register state they put in the
 * VMSAs and in how they hand the firmware's metadata sections to the secure processor.
 */
public enum VmmType {
    /** QEMU/KVM: the reference. */
    QEMU,
    /** AWS EC2: its own VMSA defaults, and the CPUID page measured after every other section. */
    EC2,
    /** Google Compute Engine: its own PAT and VMSA defaults, SEC memory left unmeasured. */
    GCE;

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static VmmType parse(String name) {
        for (VmmType t : values()) {
            if (t.name().equalsIgnoreCase(name)) return t;
        }
        throw new IllegalArgumentException("unknown VMM type '" + name + "'; expected one of "
                + Arrays.stream(values()).map(VmmType::cliName).collect(Collectors.joining(", ")));
    }
}
