package dev.coffer.attest.snp;

import java.util.Arrays;
import java.util.Objects;

/**
 * Lays out an ATTESTATION_REPORT byte for byte, the way the AMD secure processor does, so the
 * simulated secure processor emits exactly the format real hardware emits. The caller signs
 * {@link #signedArea()} and passes r and s to {@link #build(byte[], byte[])}.
 */
public final class SnpReportBuilder {
    private final byte[] b = new byte[SnpReport.SIZE];

    public SnpReportBuilder(int version) {
        if (version != 2 && version != 3 && version != 5) {
            throw new IllegalArgumentException("SNP report version must be 2, 3 or 5, got " + version);
        }
        putU32(SnpReport.OFF_VERSION, version);
        putU32(SnpReport.OFF_SIG_ALGO, SnpReport.SIG_ALGO_ECDSA_P384_SHA384);
    }

    public SnpReportBuilder guestSvn(int svn) { putU32(SnpReport.OFF_GUEST_SVN, svn); return this; }
    public SnpReportBuilder policy(long policy) { putU64(SnpReport.OFF_POLICY, policy); return this; }
    public SnpReportBuilder vmpl(int vmpl) { putU32(SnpReport.OFF_VMPL, vmpl); return this; }
    public SnpReportBuilder platformInfo(long info) { putU64(SnpReport.OFF_PLATFORM_INFO, info); return this; }
    public SnpReportBuilder signingKey(SigningKey key) {
        int bits = switch (key) { case VCEK -> 0; case VLEK -> 1; case NONE -> 7; case RESERVED -> 2; };
        putU32(SnpReport.OFF_FLAGS, (SnpReport.u32(b, SnpReport.OFF_FLAGS) & ~0x1C) | bits << 2);
        return this;
    }
    public SnpReportBuilder reportData(byte[] v) { return put(SnpReport.OFF_REPORT_DATA, v, 64, "REPORT_DATA"); }
    public SnpReportBuilder measurement(byte[] v) { return put(SnpReport.OFF_MEASUREMENT, v, 48, "MEASUREMENT"); }
    public SnpReportBuilder hostData(byte[] v) { return put(SnpReport.OFF_HOST_DATA, v, 32, "HOST_DATA"); }
    public SnpReportBuilder reportId(byte[] v) { return put(SnpReport.OFF_REPORT_ID, v, 32, "REPORT_ID"); }
    public SnpReportBuilder chipId(byte[] v) { return put(SnpReport.OFF_CHIP_ID, v, 64, "CHIP_ID"); }
    public SnpReportBuilder cpuid(int family, int model, int stepping) {
        b[SnpReport.OFF_CPUID_FAM] = (byte) family;
        b[SnpReport.OFF_CPUID_MOD] = (byte) model;
        b[SnpReport.OFF_CPUID_STEP] = (byte) stepping;
        return this;
    }
    /** Sets CURRENT, REPORTED, COMMITTED and LAUNCH TCB to the same value, as after a clean boot. */
    public SnpReportBuilder tcb(TcbVersion tcb) {
        byte[] t = tcb.bytes();
        for (int off : new int[] {SnpReport.OFF_CURRENT_TCB, SnpReport.OFF_REPORTED_TCB,
                SnpReport.OFF_COMMITTED_TCB, SnpReport.OFF_LAUNCH_TCB}) {
            System.arraycopy(t, 0, b, off, 8);
        }
        return this;
    }
    public SnpReportBuilder firmware(FirmwareVersion v) {
        for (int off : new int[] {SnpReport.OFF_CURRENT_BUILD, SnpReport.OFF_COMMITTED_BUILD}) {
            b[off] = (byte) v.build();
            b[off + 1] = (byte) v.minor();
            b[off + 2] = (byte) v.major();
        }
        return this;
    }

    /** The bytes the signature covers. */
    public byte[] signedArea() {
        return Arrays.copyOf(b, SnpReport.SIGNED_LENGTH);
    }

    /** The finished report with r and s (little-endian, each at most 72 bytes) in place. */
    public byte[] build(byte[] rLittleEndian, byte[] sLittleEndian) {
        put(SnpReport.OFF_SIG_R, Arrays.copyOf(rLittleEndian, 72), 72, "signature r");
        put(SnpReport.OFF_SIG_S, Arrays.copyOf(sLittleEndian, 72), 72, "signature s");
        return b.clone();
    }

    private SnpReportBuilder put(int off, byte[] v, int len, String name) {
        Objects.requireNonNull(v, name);
        if (v.length != len) throw new IllegalArgumentException(name + " must be " + len + " bytes, got " + v.length);
        System.arraycopy(v, 0, b, off, len);
        return this;
    }

    private void putU32(int off, int v) {
        for (int i = 0; i < 4; i++) b[off + i] = (byte) (v >>> (8 * i));
    }

    private void putU64(int off, long v) {
        for (int i = 0; i < 8; i++) b[off + i] = (byte) (v >>> (8 * i));
    }
}
