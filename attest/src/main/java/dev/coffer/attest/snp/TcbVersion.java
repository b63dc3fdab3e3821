package dev.coffer.attest.snp;

import java.util.HexFormat;

/**
 * A decoded TCB_VERSION: the security patch levels (SPLs) of the firmware components that the
 * VCEK is derived from. {@code fmc} is -1 on Milan/Genoa, which have no FMC component.
 *
 * @param raw the eight bytes as they appear in the report (little-endian u64)
 */
public record TcbVersion(TcbLayout layout, int fmc, int bootloader, int tee, int snp, int microcode, long raw) {

    public static TcbVersion decode(byte[] b, int offset, TcbLayout layout) {
        long raw = 0;
        for (int i = 7; i >= 0; i--) raw = (raw << 8) | (b[offset + i] & 0xFF);
        return switch (layout) {
            case MILAN_GENOA -> new TcbVersion(layout, -1, b[offset] & 0xFF, b[offset + 1] & 0xFF,
                    b[offset + 6] & 0xFF, b[offset + 7] & 0xFF, raw);
            case TURIN -> new TcbVersion(layout, b[offset] & 0xFF, b[offset + 1] & 0xFF, b[offset + 2] & 0xFF,
                    b[offset + 3] & 0xFF, b[offset + 7] & 0xFF, raw);
        };
    }

    /** Builds a TCB_VERSION from its components (used by the simulated secure processor). */
    public static TcbVersion of(TcbLayout layout, int fmc, int bootloader, int tee, int snp, int microcode) {
        byte[] b = new byte[8];
        switch (layout) {
            case MILAN_GENOA -> { b[0] = (byte) bootloader; b[1] = (byte) tee; b[6] = (byte) snp; }
            case TURIN -> { b[0] = (byte) fmc; b[1] = (byte) bootloader; b[2] = (byte) tee; b[3] = (byte) snp; }
        }
        b[7] = (byte) microcode;
        return decode(b, 0, layout);
    }

    /** The eight bytes in report order. */
    public byte[] bytes() {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) b[i] = (byte) (raw >>> (8 * i));
        return b;
    }

    public String hex() {
        return HexFormat.of().formatHex(bytes());
    }

    /** True when every component is at least the corresponding component of {@code min}. */
    public boolean atLeast(TcbVersion min) {
        return (min.fmc < 0 || fmc >= min.fmc) && bootloader >= min.bootloader && tee >= min.tee
                && snp >= min.snp && microcode >= min.microcode;
    }

    /** Parses "bl=2,tee=0,snp=5,ucode=68[,fmc=1]" (decimal or 0x hex) for minimum-TCB options. */
    public static TcbVersion parseSpec(String spec, TcbLayout layout) {
        int fmc = layout == TcbLayout.TURIN ? 0 : -1, bl = 0, tee = 0, snp = 0, ucode = 0;
        for (String part : spec.split(",")) {
            String[] kv = part.trim().split("=", 2);
            if (kv.length != 2) {
                throw new IllegalArgumentException("expected TCB as name=value pairs like 'bl=2,tee=0,snp=5,ucode=68', found '" + part + "'");
            }
            int v;
            try {
                v = kv[1].startsWith("0x") ? Integer.parseInt(kv[1].substring(2), 16) : Integer.parseInt(kv[1]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("TCB component '" + kv[0] + "' must be a number 0-255, found '" + kv[1] + "'");
            }
            if (v < 0 || v > 255) throw new IllegalArgumentException("TCB component '" + kv[0] + "' must be 0-255, found " + v);
            switch (kv[0].trim()) {
                case "fmc" -> fmc = v;
                case "bl", "bootloader" -> bl = v;
                case "tee" -> tee = v;
                case "snp" -> snp = v;
                case "ucode", "microcode" -> ucode = v;
                default -> throw new IllegalArgumentException("unknown TCB component '" + kv[0] + "'; expected fmc, bl, tee, snp or ucode");
            }
        }
        return of(layout, Math.max(fmc, 0), bl, tee, snp, ucode);
    }

    @Override
    public String toString() {
        return (fmc >= 0 ? "fmc=" + fmc + "," : "") + "bl=" + bootloader + ",tee=" + tee + ",snp=" + snp + ",ucode=" + microcode;
    }
}
