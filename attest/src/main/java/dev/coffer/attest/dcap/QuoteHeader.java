package dev.coffer.attest.dcap;

/**
 * The 48-byte quote header. {@code qeSvn}/{@code pceSvn} are meaningful in SGX v3 quotes only
 * (bytes 8..11; reserved in v4/v5).
 */
public record QuoteHeader(int version, int attestationKeyType, long teeType, int qeSvn, int pceSvn,
                          byte[] qeVendorId, byte[] userData) {
    public static final int LENGTH = 48;
    public static final int ATT_KEY_ECDSA_P256 = 2;
    public static final long TEE_SGX = 0x0;
    public static final long TEE_TDX = 0x81;
    /** Intel's QE vendor ID, 939a7233-f79c-4ca9-940a-0db3957f0607. */
    static final String INTEL_QE_VENDOR = "939a7233f79c4ca9940a0db3957f0607";

    public QuoteHeader {
        qeVendorId = qeVendorId.clone();
        userData = userData.clone();
    }

    @Override public byte[] qeVendorId() { return qeVendorId.clone(); }
    @Override public byte[] userData() { return userData.clone(); }

    static QuoteHeader decode(Bytes b) {
        return new QuoteHeader(b.u16(0), b.u16(2), b.u32(4), b.u16(8), b.u16(10), b.slice(12, 16), b.slice(28, 20));
    }
}
