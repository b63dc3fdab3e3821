package dev.coffer.attest.sim;

import dev.coffer.attest.cert.EcdsaP384;
import dev.coffer.attest.snp.FirmwareVersion;
import dev.coffer.attest.snp.SigningKey;
import dev.coffer.attest.snp.SnpReportBuilder;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;

/**
 * One sandbox's launch on the simulated secure processor: MEASUREMENT, HOST_DATA, guest policy
 * and REPORT_ID are fixed here, as the real firmware fixes them at SNP_LAUNCH_FINISH. Holding
 * this object is the capability to obtain reports for that launch, so the runtime gives it to
 * the sandbox it launched and to nobody else. Thread-safe.
 */
public final class SimLaunch {
    /** The firmware version the simulated chip reports (Milan SNP firmware 1.55, build 21). */
    static final FirmwareVersion FIRMWARE = new FirmwareVersion(1, 55, 21);

    private final SimulatedSecureProcessor processor;
    private final byte[] measurement;
    private final byte[] hostData;
    private final long guestPolicy;
    private final byte[] reportId = new byte[32];

    SimLaunch(SimulatedSecureProcessor processor, byte[] measurement, byte[] hostData, long guestPolicy) {
        if (measurement == null || measurement.length != 48) {
            throw new IllegalArgumentException("MEASUREMENT must be 48 bytes (SHA-384), got "
                    + (measurement == null ? "none" : measurement.length + " bytes"));
        }
        if (hostData == null || hostData.length != 32) {
            throw new IllegalArgumentException("HOST_DATA must be 32 bytes (SHA-256 of the policy), got "
                    + (hostData == null ? "none" : hostData.length + " bytes"));
        }
        if ((guestPolicy & (1L << 17)) == 0) {
            throw new IllegalArgumentException(String.format("guest policy 0x%x lacks bit 17, which the SEV-SNP ABI requires to be 1", guestPolicy));
        }
        this.processor = processor;
        this.measurement = measurement.clone();
        this.hostData = hostData.clone();
        this.guestPolicy = guestPolicy;
        new SecureRandom().nextBytes(reportId);
    }

    public byte[] measurement() { return measurement.clone(); }
    public byte[] hostData() { return hostData.clone(); }
    public long guestPolicy() { return guestPolicy; }
    public byte[] reportId() { return reportId.clone(); }

    /** A signed version-3 SNP report carrying {@code reportData} (exactly 64 bytes). */
    public byte[] report(byte[] reportData) {
        if (reportData == null || reportData.length != 64) {
            throw new IllegalArgumentException("REPORT_DATA must be exactly 64 bytes, got "
                    + (reportData == null ? "none" : reportData.length + " bytes") + "; pad a shorter nonce with zeros");
        }
        SnpReportBuilder b = new SnpReportBuilder(3)
                .policy(guestPolicy)
                .vmpl(0)
                .platformInfo(0x1)
                .signingKey(SigningKey.VCEK)
                .reportData(reportData)
                .measurement(measurement)
                .hostData(hostData)
                .reportId(reportId)
                .tcb(SimulatedSecureProcessor.TCB)
                .cpuid(SimulatedSecureProcessor.CPUID_FAMILY, SimulatedSecureProcessor.CPUID_MODEL, SimulatedSecureProcessor.CPUID_STEPPING)
                .chipId(processor.chipId())
                .firmware(FIRMWARE);
        byte[][] rs = EcdsaP384.sign(processor.vcekKey(), b.signedArea());
        return b.build(rs[0], rs[1]);
    }

    /** The certificates a verifier needs: VCEK, ASK, ARK. */
    public List<dev.coffer.attest.cert.AmdCertificate> certificates() {
        return processor.certificates();
    }

    /** The VCEK as PEM. */
    public String vcekPem() {
        return processor.vcekPem();
    }

    /** ASK then ARK as PEM, like AMD KDS's cert_chain. */
    public String chainPem() {
        return processor.chainPem();
    }

    @Override
    public String toString() {
        return "SimLaunch[measurement=" + HexFormat.of().formatHex(measurement) + ", hostData=" + HexFormat.of().formatHex(hostData) + "]";
    }
}
