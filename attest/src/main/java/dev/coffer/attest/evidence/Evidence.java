package dev.coffer.attest.evidence;

import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.dcap.DcapQuote;
import dev.coffer.attest.snp.SnpReport;

import java.util.List;

/**
 * Evidence a workload presents. The kind a caller claims is checked, not trusted: SEV-SNP
 * evidence that chains to a simulated root, or simulated evidence that chains to AMD, fails.
 */
public sealed interface Evidence {
    EvidenceKind kind();

    /** A report from AMD hardware, with the VCEK/VLEK and optionally ASK/ARK in any order. */
    record SevSnp(SnpReport report, List<AmdCertificate> certificates) implements Evidence {
        public SevSnp { certificates = List.copyOf(certificates); }
        @Override public EvidenceKind kind() { return EvidenceKind.SEV_SNP; }
    }

    /** An SGX enclave's DCAP quote (v3, or v5 with an SGX body). */
    record Sgx(DcapQuote quote) implements Evidence {
        public Sgx {
            if (quote.tee() != DcapQuote.Tee.SGX) throw new IllegalArgumentException("a " + quote.tee() + " quote is not SGX evidence");
        }
        @Override public EvidenceKind kind() { return EvidenceKind.SGX; }
    }

    /** A TD's DCAP quote (v4, or v5 with a TD 1.0/1.5 body). */
    record Tdx(DcapQuote quote) implements Evidence {
        public Tdx {
            if (quote.tee() != DcapQuote.Tee.TDX) throw new IllegalArgumentException("a " + quote.tee() + " quote is not TDX evidence");
        }
        @Override public EvidenceKind kind() { return EvidenceKind.TDX; }
    }

    /** A report from Coffer's simulated secure processor (development only: nothing protects the guest). */
    record Simulated(SnpReport report, List<AmdCertificate> certificates) implements Evidence {
        public Simulated { certificates = List.copyOf(certificates); }
        @Override public EvidenceKind kind() { return EvidenceKind.SIMULATED; }
    }

    /** SGX or TDX evidence, by the quote's own TEE type. */
    static Evidence dcap(DcapQuote quote) {
        return quote.tee() == DcapQuote.Tee.TDX ? new Tdx(quote) : new Sgx(quote);
    }
}
