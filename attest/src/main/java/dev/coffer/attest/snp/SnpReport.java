package dev.coffer.attest.snp;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;

/**
 * An AMD SEV-SNP ATTESTATION_REPORT (SEV-SNP ABI specification, table "ATTESTATION_REPORT
 * Structure"): 1184 bytes, versions 2, 3 and 5. Every field is decoded; TCB versions use the
 * layout of the product named by CPUID (version 3+), and the Milan/Genoa layout for version 2
 * reports, which predate Turin. Byte-array accessors return copies.
 */
public record SnpReport(
        int version,
        long guestSvn,
        GuestPolicy policy,
        byte[] familyId,
        byte[] imageId,
        int vmpl,
        int signatureAlgorithm,
        TcbVersion currentTcb,
        PlatformInfo platformInfo,
        boolean authorKeyEnabled,
        boolean maskChipKey,
        SigningKey signingKey,
        byte[] reportData,
        byte[] measurement,
        byte[] hostData,
        byte[] idKeyDigest,
        byte[] authorKeyDigest,
        byte[] reportId,
        byte[] reportIdMa,
        TcbVersion reportedTcb,
        int cpuidFamily,
        int cpuidModel,
        int cpuidStepping,
        byte[] chipId,
        TcbVersion committedTcb,
        FirmwareVersion currentFirmware,
        FirmwareVersion committedFirmware,
        TcbVersion launchTcb,
        long launchMitigationVector,
        long currentMitigationVector,
        byte[] signatureR,
        byte[] signatureS,
        byte[] raw) {

    public static final int SIZE = 0x4A0;
    /** The signature covers bytes 0x000..0x29F. */
    public static final int SIGNED_LENGTH = 0x2A0;
    /** ECDSA P-384 with SHA-384, the only algorithm SNP firmware uses. */
    public static final int SIG_ALGO_ECDSA_P384_SHA384 = 1;
    public static final int SIGNATURE_COMPONENT_LENGTH = 72;

    static final int OFF_VERSION = 0x00, OFF_GUEST_SVN = 0x04, OFF_POLICY = 0x08, OFF_FAMILY_ID = 0x10,
            OFF_IMAGE_ID = 0x20, OFF_VMPL = 0x30, OFF_SIG_ALGO = 0x34, OFF_CURRENT_TCB = 0x38,
            OFF_PLATFORM_INFO = 0x40, OFF_FLAGS = 0x48, OFF_REPORT_DATA = 0x50, OFF_MEASUREMENT = 0x90,
            OFF_HOST_DATA = 0xC0, OFF_ID_KEY_DIGEST = 0xE0, OFF_AUTHOR_KEY_DIGEST = 0x110,
            OFF_REPORT_ID = 0x140, OFF_REPORT_ID_MA = 0x160, OFF_REPORTED_TCB = 0x180,
            OFF_CPUID_FAM = 0x188, OFF_CPUID_MOD = 0x189, OFF_CPUID_STEP = 0x18A, OFF_CHIP_ID = 0x1A0,
            OFF_COMMITTED_TCB = 0x1E0, OFF_CURRENT_BUILD = 0x1E8, OFF_COMMITTED_BUILD = 0x1EC,
            OFF_LAUNCH_TCB = 0x1F0, OFF_LAUNCH_MIT = 0x1F8, OFF_CURRENT_MIT = 0x200, OFF_SIG_R = 0x2A0,
            OFF_SIG_S = 0x2E8;

    /**
     * Parses exactly 1184 bytes. Throws {@link SnpReportFormatException} for a wrong size or an
     * unsupported version; everything else (signature, policy, TCB) is the verifier's business.
     */
    public static SnpReport parse(byte[] b) {
        if (b == null) throw new SnpReportFormatException("expected an SNP attestation report of " + SIZE + " bytes, found none");
        if (b.length != SIZE) {
            String what = b.length < SIZE ? "truncated: " + (SIZE - b.length) + " bytes missing"
                    : "oversized: " + (b.length - SIZE) + " extra bytes";
            throw new SnpReportFormatException("expected an SNP attestation report of exactly " + SIZE + " bytes, found "
                    + b.length + " (" + what + "); pass the raw ATTESTATION_REPORT without certificates or headers");
        }
        int version = u32(b, OFF_VERSION);
        if (version != 2 && version != 3 && version != 5) {
            throw new SnpReportFormatException("unsupported SNP report version " + Integer.toUnsignedString(version)
                    + "; expected 2, 3 or 5 (is this really an ATTESTATION_REPORT?)");
        }
        int fam = version >= 3 ? b[OFF_CPUID_FAM] & 0xFF : 0;
        int mod = version >= 3 ? b[OFF_CPUID_MOD] & 0xFF : 0;
        int step = version >= 3 ? b[OFF_CPUID_STEP] & 0xFF : 0;
        TcbLayout layout = Product.fromCpuid(fam, mod).map(Product::tcbLayout).orElse(TcbLayout.MILAN_GENOA);
        int flags = u32(b, OFF_FLAGS);
        return new SnpReport(
                version,
                Integer.toUnsignedLong(u32(b, OFF_GUEST_SVN)),
                new GuestPolicy(u64(b, OFF_POLICY)),
                slice(b, OFF_FAMILY_ID, 16),
                slice(b, OFF_IMAGE_ID, 16),
                u32(b, OFF_VMPL),
                u32(b, OFF_SIG_ALGO),
                TcbVersion.decode(b, OFF_CURRENT_TCB, layout),
                new PlatformInfo(u64(b, OFF_PLATFORM_INFO)),
                (flags & 1) != 0,
                (flags & 2) != 0,
                SigningKey.fromBits((flags >>> 2) & 7),
                slice(b, OFF_REPORT_DATA, 64),
                slice(b, OFF_MEASUREMENT, 48),
                slice(b, OFF_HOST_DATA, 32),
                slice(b, OFF_ID_KEY_DIGEST, 48),
                slice(b, OFF_AUTHOR_KEY_DIGEST, 48),
                slice(b, OFF_REPORT_ID, 32),
                slice(b, OFF_REPORT_ID_MA, 32),
                TcbVersion.decode(b, OFF_REPORTED_TCB, layout),
                fam, mod, step,
                slice(b, OFF_CHIP_ID, 64),
                TcbVersion.decode(b, OFF_COMMITTED_TCB, layout),
                new FirmwareVersion(b[OFF_CURRENT_BUILD + 2] & 0xFF, b[OFF_CURRENT_BUILD + 1] & 0xFF, b[OFF_CURRENT_BUILD] & 0xFF),
                new FirmwareVersion(b[OFF_COMMITTED_BUILD + 2] & 0xFF, b[OFF_COMMITTED_BUILD + 1] & 0xFF, b[OFF_COMMITTED_BUILD] & 0xFF),
                TcbVersion.decode(b, OFF_LAUNCH_TCB, layout),
                version >= 5 ? u64(b, OFF_LAUNCH_MIT) : 0,
                version >= 5 ? u64(b, OFF_CURRENT_MIT) : 0,
                slice(b, OFF_SIG_R, SIGNATURE_COMPONENT_LENGTH),
                slice(b, OFF_SIG_S, SIGNATURE_COMPONENT_LENGTH),
                b.clone());
    }

    /**
     * Accepts a report file as raw binary (1184 bytes) or as hex text (2368 hex digits, whitespace
     * and an optional 0x prefix allowed), the two forms tools hand around.
     */
    public static SnpReport decode(byte[] fileContent) {
        if (fileContent.length == SIZE) return parse(fileContent);
        String text = new String(fileContent, StandardCharsets.ISO_8859_1).strip();
        if (text.startsWith("0x") || text.startsWith("0X")) text = text.substring(2);
        text = text.replaceAll("\\s+", "");
        if (!text.isEmpty() && text.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
            if (text.length() % 2 != 0) {
                throw new SnpReportFormatException("report hex text has an odd number of digits (" + text.length()
                        + "); expected " + (2 * SIZE) + " hex digits");
            }
            return parse(HexFormat.of().parseHex(text));
        }
        return parse(fileContent);
    }

    /** The product this report names through CPUID (version 3 and later); empty for version 2. */
    public Optional<Product> cpuProduct() {
        return version >= 3 ? Product.fromCpuid(cpuidFamily, cpuidModel) : Optional.empty();
    }

    /** The bytes the signature covers (0x000..0x29F). */
    public byte[] signedBytes() {
        return Arrays.copyOf(raw, SIGNED_LENGTH);
    }

    /** The report as parsed (a copy). */
    public byte[] raw() { return raw.clone(); }
    public byte[] familyId() { return familyId.clone(); }
    public byte[] imageId() { return imageId.clone(); }
    public byte[] reportData() { return reportData.clone(); }
    public byte[] measurement() { return measurement.clone(); }
    public byte[] hostData() { return hostData.clone(); }
    public byte[] idKeyDigest() { return idKeyDigest.clone(); }
    public byte[] authorKeyDigest() { return authorKeyDigest.clone(); }
    public byte[] reportId() { return reportId.clone(); }
    public byte[] reportIdMa() { return reportIdMa.clone(); }
    public byte[] chipId() { return chipId.clone(); }
    public byte[] signatureR() { return signatureR.clone(); }
    public byte[] signatureS() { return signatureS.clone(); }

    @Override
    public boolean equals(Object o) {
        return o instanceof SnpReport r && Arrays.equals(raw, r.raw);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(raw);
    }

    @Override
    public String toString() {
        return "SnpReport[version=" + version + ", measurement=" + HexFormat.of().formatHex(measurement)
                + ", reportedTcb=" + reportedTcb + "]";
    }

    static int u32(byte[] b, int off) {
        return (b[off] & 0xFF) | (b[off + 1] & 0xFF) << 8 | (b[off + 2] & 0xFF) << 16 | (b[off + 3] & 0xFF) << 24;
    }

    static long u64(byte[] b, int off) {
        return (u32(b, off) & 0xFFFFFFFFL) | ((long) u32(b, off + 4) << 32);
    }

    private static byte[] slice(byte[] b, int off, int len) {
        return Arrays.copyOfRange(b, off, off + len);
    }
}
