package dev.coffer.attest.dcap;

import java.util.List;
import java.util.Optional;

/**
 * A TD report body: TD 1.0 (584 bytes) or TD 1.5 (648 bytes, adding TEE_TCB_SVN2 and
 * MRSERVICETD). Measurements are SHA-384 (48 bytes).
 */
public record TdReport(byte[] teeTcbSvn, byte[] mrSeam, byte[] mrSignerSeam, byte[] seamAttributes,
                       byte[] tdAttributes, byte[] xfam, byte[] mrTd, byte[] mrConfigId, byte[] mrOwner,
                       byte[] mrOwnerConfig, List<byte[]> rtmrs, byte[] reportData,
                       Optional<byte[]> teeTcbSvn2, Optional<byte[]> mrServiceTd) implements QuoteBody {
    public static final int LENGTH_TD10 = 584;
    public static final int LENGTH_TD15 = 648;
    /** TDATTRIBUTES bit 0 (TUD.DEBUG): the TD runs in debug mode and the host can read its state. */
    private static final int ATTR_DEBUG = 0x01;

    public TdReport {
        rtmrs = rtmrs.stream().map(byte[]::clone).toList();
    }

    @Override public byte[] reportData() { return reportData.clone(); }
    @Override public byte[] mrTd() { return mrTd.clone(); }
    @Override public byte[] teeTcbSvn() { return teeTcbSvn.clone(); }
    @Override public List<byte[]> rtmrs() { return rtmrs.stream().map(byte[]::clone).toList(); }

    public byte[] rtmr(int i) { return rtmrs.get(i).clone(); }

    @Override
    public boolean debug() {
        return (tdAttributes[0] & ATTR_DEBUG) != 0;
    }

    /** "1.0" or "1.5". */
    public String tdVersion() {
        return mrServiceTd.isPresent() ? "1.5" : "1.0";
    }

    static TdReport decode(Bytes b) {
        if (b.length() != LENGTH_TD10 && b.length() != LENGTH_TD15) {
            throw new QuoteFormatException("TD report body: expected " + LENGTH_TD10 + " (TD 1.0) or " + LENGTH_TD15
                    + " (TD 1.5) bytes, found " + b.length());
        }
        boolean td15 = b.length() == LENGTH_TD15;
        return new TdReport(b.slice(0, 16), b.slice(16, 48), b.slice(64, 48), b.slice(112, 8), b.slice(120, 8),
                b.slice(128, 8), b.slice(136, 48), b.slice(184, 48), b.slice(232, 48), b.slice(280, 48),
                List.of(b.slice(328, 48), b.slice(376, 48), b.slice(424, 48), b.slice(472, 48)), b.slice(520, 64),
                td15 ? Optional.of(b.slice(584, 16)) : Optional.empty(),
                td15 ? Optional.of(b.slice(600, 48)) : Optional.empty());
    }
}
