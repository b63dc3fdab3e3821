package dev.coffer.attest.dcap;

/**
 * An SGX REPORT body (384 bytes): the attested enclave in an SGX quote, and the quoting
 * enclave's own report in every quote's signature data.
 */
public record EnclaveReport(byte[] cpuSvn, long miscSelect, byte[] isvExtProdId, byte[] attributes,
                            byte[] mrEnclave, byte[] mrSigner, byte[] configId, int isvProdId, int isvSvn,
                            int configSvn, byte[] isvFamilyId, byte[] reportData, byte[] raw) implements QuoteBody {
    public static final int LENGTH = 384;
    /** ATTRIBUTES.FLAGS bit 1: the enclave was launched in debug mode. */
    private static final int FLAG_DEBUG = 0x02;

    public EnclaveReport {
        raw = raw.clone();
    }

    @Override public byte[] raw() { return raw.clone(); }
    @Override public byte[] reportData() { return reportData.clone(); }
    @Override public byte[] mrEnclave() { return mrEnclave.clone(); }
    @Override public byte[] mrSigner() { return mrSigner.clone(); }
    @Override public byte[] attributes() { return attributes.clone(); }
    @Override public byte[] cpuSvn() { return cpuSvn.clone(); }

    @Override
    public boolean debug() {
        return (attributes[0] & FLAG_DEBUG) != 0;
    }

    static EnclaveReport decode(Bytes b) {
        if (b.length() != LENGTH) throw new QuoteFormatException("SGX report body: expected " + LENGTH + " bytes, found " + b.length());
        return new EnclaveReport(b.slice(0, 16), b.u32(16), b.slice(32, 16), b.slice(48, 16), b.slice(64, 32),
                b.slice(128, 32), b.slice(192, 64), b.u16(256), b.u16(258), b.u16(260), b.slice(304, 16),
                b.slice(320, 64), b.slice(0, LENGTH));
    }
}
