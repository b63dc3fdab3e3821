package dev.coffer.attest.evidence;

import dev.coffer.attest.dcap.CollateralSet;
import dev.coffer.attest.dcap.DcapQuote;
import dev.coffer.attest.dcap.DcapVerdict;
import dev.coffer.attest.dcap.DcapVerifier;
import dev.coffer.attest.dcap.PckExtensions;
import dev.coffer.attest.dcap.QuoteFields;
import dev.coffer.attest.dcap.QuoteFormatException;
import dev.coffer.attest.dcap.TcbStatus;
import dev.coffer.attest.snp.SnpReport;
import dev.coffer.attest.snp.SnpReportFields;
import dev.coffer.attest.verify.CheckResult;
import dev.coffer.attest.verify.SnpVerifier;
import dev.coffer.attest.verify.TeeKind;
import dev.coffer.attest.verify.Verdict;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The one entry point: verifies any {@link Evidence} at one instant and returns its {@link Claims}.
 * SEV-SNP and simulated evidence go through {@link SnpVerifier}, SGX and TDX through
 * {@link DcapVerifier} with the operator's collateral; certificates, CRLs and TCB information are
 * judged at the instant the caller gives, whatever the kind.
 * Simulated evidence verifies only when the {@link SnpVerifier}'s policy trusts a sim root, which
 * only a caller that asked for the simulated TEE gives it.
 */
public final class EvidenceVerifier {
    private static final HexFormat HEX = HexFormat.of();

    private final SnpVerifier snp;
    private final DcapVerifier dcap;
    private final CollateralSet collateral;

    public EvidenceVerifier(SnpVerifier snp, DcapVerifier dcap, CollateralSet collateral) {
        this.snp = snp;
        this.dcap = dcap;
        this.collateral = collateral;
    }

    /**
     * A verifier for SEV-SNP-format evidence with {@code snp}'s policy; SGX and TDX evidence is
     * verified without collateral, so it is never valid (the operator's collateral is needed).
     */
    public EvidenceVerifier(SnpVerifier snp) {
        this(snp, new DcapVerifier(), CollateralSet.empty());
    }

    /** Whether simulated evidence can verify here: only when the caller trusted a sim root explicitly. */
    public boolean acceptsSimulated() {
        return !snp.policy().trustedSimRoots().isEmpty();
    }

    public Attestation verify(Evidence evidence, Instant at) {
        return switch (evidence) {
            case Evidence.SevSnp e -> snp(e.report(), e.certificates(), EvidenceKind.SEV_SNP, at);
            case Evidence.Simulated e -> snp(e.report(), e.certificates(), EvidenceKind.SIMULATED, at);
            case Evidence.Sgx e -> dcap(e.quote(), EvidenceKind.SGX, at);
            case Evidence.Tdx e -> dcap(e.quote(), EvidenceKind.TDX, at);
        };
    }

    private Attestation snp(SnpReport report, List<dev.coffer.attest.cert.AmdCertificate> certs, EvidenceKind claimed, Instant at) {
        Verdict v = snp.verify(report, certs, at);
        List<CheckResult> checks = new ArrayList<>(v.checks());
        // The kind is what the chain proves, not what the caller said.
        EvidenceKind proven = v.tee() == TeeKind.SIM ? EvidenceKind.SIMULATED : v.tee() == TeeKind.REAL ? EvidenceKind.SEV_SNP : claimed;
        if (proven != claimed) {
            checks.add(new CheckResult("evidence_kind", CheckResult.Status.FAIL, "presented as " + claimed + " but the chain proves "
                    + proven + (proven == EvidenceKind.SIMULATED ? ": simulated evidence is never accepted as hardware" : "")));
        } else {
            checks.add(new CheckResult("evidence_kind", CheckResult.Status.PASS, claimed + " (" + claimed.attestationType() + ")"));
        }
        if (claimed == EvidenceKind.SIMULATED && !acceptsSimulated()) {
            // Said on its own, whatever the chain check found: the caller never asked for a simulated TEE.
            checks.add(new CheckResult("simulated_requested", CheckResult.Status.FAIL, "expected hardware evidence, found evidence"
                    + " from a simulated secure processor, and no simulated root was trusted: a simulated TEE is accepted only"
                    + " where the caller asks for it explicitly (e.g. --trust-sim, development only)"));
        }
        Map<String, Object> fields = new LinkedHashMap<>(SnpReportFields.of(report));
        fields.put("measurement", HEX.formatHex(report.measurement()));
        Claims claims = new Claims(proven, report.policy().debug(), HEX.formatHex(report.reportData()), Optional.empty(), List.of(), fields);
        return new Attestation(proven, checks.stream().noneMatch(CheckResult::failed), claims, checks, Optional.of(v));
    }

    private Attestation dcap(DcapQuote quote, EvidenceKind kind, Instant at) {
        Optional<String> fmspc;
        try {
            fmspc = Optional.of(PckExtensions.of(quote.pckChain().getFirst()).fmspcHex());
        } catch (QuoteFormatException e) {
            fmspc = Optional.empty();
        }
        var bundle = fmspc.flatMap(f -> collateral.find(quote.tee(), f));
        DcapVerdict v = bundle.map(c -> dcap.verify(quote, c, at)).orElseGet(() -> dcap.verifyWithoutCollateral(quote, at));
        List<CheckResult> checks = new ArrayList<>(v.checks());
        if (bundle.isEmpty()) {
            final Optional<String> f = fmspc;
            checks.add(new CheckResult("collateral_available", CheckResult.Status.FAIL, "no collateral for " + quote.tee().label().toUpperCase()
                    + " FMSPC " + f.orElse("?") + " was supplied (have " + collateral.covers() + "); the operator must add the PCS "
                    + "collateral bundle for this platform (it is never fetched from the evidence's host)"));
        }
        Map<String, Object> fields = QuoteFields.of(quote);
        v.pck().ifPresent(p -> fields.put("pck", QuoteFields.of(p)));
        Claims claims = new Claims(kind, quote.body().debug(), HEX.formatHex(quote.body().reportData()),
                v.tcbStatus().map(TcbStatus::pcsName), v.advisoryIds(), fields);
        return new Attestation(kind, checks.stream().noneMatch(CheckResult::failed), claims, checks);
    }
}
