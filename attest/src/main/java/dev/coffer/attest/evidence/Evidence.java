package dev.coffer.attest.evidence;

import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.dcap.DcapQuote;
import dev.coffer.attest.dcap.EnclaveReport;
import dev.coffer.attest.dcap.TdReport;
import dev.coffer.attest.snp.SnpReport;

import java.util.List;

/**
 * Evidence a workload presents: one member per {@link EvidenceKind}. The kind a caller claims is
 * checked, not trusted: SEV-SNP evidence that chains to a simulated root, or simulated evidence
 * that chains to AMD, fails in {@link EvidenceVerifier}.
 *
 * <p>The accessors below read the evidence as presented, before any verification: they are for
 * a guest reading its own TEE's answer (which it trusts because it asked the TEE itself) and for
 * diagnostics. A verifier reads the same values from {@link Claims} of a valid {@link Attestation}.
 */
public sealed interface Evidence {
    EvidenceKind kind();

    /** The 64 bytes the workload bound into this evidence (REPORT_DATA, REPORTDATA). */
    byte[] reportData();

    /** What measures the launched code: MEASUREMENT (48 bytes), MRENCLAVE (32) or MRTD (48). */
    byte[] measurement();

    /** The launcher's data the TEE reports unchanged (see {@link EvidenceKind#launchDataField()}): HOST_DATA, CONFIGID, MRCONFIGID. */
    byte[] launchData();

    /** A report from AMD hardware, with the VCEK/VLEK and optionally ASK/ARK in any order. */
    record SevSnp(SnpReport report, List<AmdCertificate> certificates) implements Evidence {
        public SevSnp { certificates = List.copyOf(certificates); }
        @Override public EvidenceKind kind() { return EvidenceKind.SEV_SNP; }
        @Override public byte[] reportData() { return report.reportData(); }
        @Override public byte[] measurement() { return report.measurement(); }
        @Override public byte[] launchData() { return report.hostData(); }
    }

    /** An SGX enclave's DCAP quote (v3, or v5 with an SGX body). */
    record Sgx(DcapQuote quote) implements Evidence {
        public Sgx {
            if (quote.tee() != DcapQuote.Tee.SGX) throw new IllegalArgumentException("a " + quote.tee() + " quote is not SGX evidence");
        }
        @Override public EvidenceKind kind() { return EvidenceKind.SGX; }
        @Override public byte[] reportData() { return quote.body().reportData(); }
        @Override public byte[] measurement() { return enclave().mrEnclave(); }
        @Override public byte[] launchData() { return enclave().configId().clone(); }
        private EnclaveReport enclave() { return (EnclaveReport) quote.body(); }
    }

    /** A TD's DCAP quote (v4, or v5 with a TD 1.0/1.5 body). */
    record Tdx(DcapQuote quote) implements Evidence {
        public Tdx {
            if (quote.tee() != DcapQuote.Tee.TDX) throw new IllegalArgumentException("a " + quote.tee() + " quote is not TDX evidence");
        }
        @Override public EvidenceKind kind() { return EvidenceKind.TDX; }
        @Override public byte[] reportData() { return quote.body().reportData(); }
        @Override public byte[] measurement() { return td().mrTd(); }
        @Override public byte[] launchData() { return td().mrConfigId().clone(); }
        private TdReport td() { return (TdReport) quote.body(); }
    }

    /**
     * A report from Coffer's simulated secure processor (development only: nothing protects the
     * guest). It has SEV-SNP's format, but it is its own member: it verifies only against a sim
     * root the verifier's caller trusted explicitly, and its claims say {@link EvidenceKind#SIMULATED}.
     */
    record Simulated(SnpReport report, List<AmdCertificate> certificates) implements Evidence {
        public Simulated { certificates = List.copyOf(certificates); }
        @Override public EvidenceKind kind() { return EvidenceKind.SIMULATED; }
        @Override public byte[] reportData() { return report.reportData(); }
        @Override public byte[] measurement() { return report.measurement(); }
        @Override public byte[] launchData() { return report.hostData(); }
    }

    /** SGX or TDX evidence, by the quote's own TEE type. */
    static Evidence dcap(DcapQuote quote) {
        return quote.tee() == DcapQuote.Tee.TDX ? new Tdx(quote) : new Sgx(quote);
    }

    /**
     * An SEV-SNP-format report as presented: {@link Simulated} when its endorsement key (or,
     * without one, any certificate) names Coffer's simulated secure processor, else {@link SevSnp}. This is only the claim; the
     * verifier decides the kind by the root the chain ends at, so a chain that lies about its
     * names fails.
     */
    static Evidence snpFormat(SnpReport report, List<AmdCertificate> certificates) {
        // The endorsement key says whose report it is; extra certificates (a verifier that also trusts
        // the sim chain adds its ASK and ARK) do not turn hardware evidence into simulated evidence.
        List<AmdCertificate> keys = certificates.stream().filter(c -> c.role().isEndorsementKey()).toList();
        boolean sim = (keys.isEmpty() ? certificates : keys).stream().anyMatch(c -> namesSim(c.subjectCn()) || namesSim(c.issuerCn()));
        return sim ? new Simulated(report, certificates) : new SevSnp(report, certificates);
    }

    /**
     * As {@link #snpFormat(SnpReport, List)}, from the report's 1184 bytes.
     *
     * @throws dev.coffer.attest.snp.SnpReportFormatException saying what is wrong with the bytes
     */
    static Evidence snpFormat(byte[] raw, List<AmdCertificate> certificates) {
        return snpFormat(SnpReport.parse(raw), certificates);
    }

    /**
     * Parses the raw bytes a TEE of {@code kind} returns (a 1184-byte SEV-SNP report or a DCAP
     * quote) into that kind's evidence.
     *
     * @throws IllegalArgumentException (a format exception) saying what is wrong with the bytes,
     *                                  or that a quote is of another TEE than {@code kind}
     */
    static Evidence parse(EvidenceKind kind, byte[] raw, List<AmdCertificate> certificates) {
        return switch (kind) {
            case SEV_SNP -> new SevSnp(SnpReport.parse(raw), certificates);
            case SIMULATED -> new Simulated(SnpReport.parse(raw), certificates);
            case SGX -> new Sgx(DcapQuote.parse(raw));
            case TDX -> new Tdx(DcapQuote.parse(raw));
        };
    }

    private static boolean namesSim(String cn) {
        return cn != null && cn.contains("Coffer-Sim");
    }
}
