package dev.coffer.attest.evidence;

import dev.coffer.attest.verify.CheckResult;
import dev.coffer.attest.verify.Verdict;

import java.util.List;
import java.util.Optional;

/**
 * One verification's outcome: valid only when no check failed; the claims are meaningful only then.
 *
 * @param snpVerdict the SEV-SNP verifier's own verdict (endorsement key, product) for SEV-SNP and
 *                   simulated evidence, for the SNP-only concerns of its callers (a per-product
 *                   minimum TCB, printing the VCEK); empty for SGX and TDX
 */
public record Attestation(EvidenceKind kind, boolean valid, Claims claims, List<CheckResult> checks, Optional<Verdict> snpVerdict) {
    public Attestation {
        checks = List.copyOf(checks);
    }

    public Attestation(EvidenceKind kind, boolean valid, Claims claims, List<CheckResult> checks) {
        this(kind, valid, claims, checks, Optional.empty());
    }

    public List<CheckResult> failures() {
        return checks.stream().filter(CheckResult::failed).toList();
    }

    /** The check named {@code name}, if it ran. */
    public Optional<CheckResult> check(String name) {
        return checks.stream().filter(c -> c.name().equals(name)).findFirst();
    }

    public String summary() {
        if (valid) return "valid (" + kind.attestationType() + claims.tcbStatus().map(s -> ", " + s).orElse("") + ")";
        StringBuilder sb = new StringBuilder("invalid:");
        for (CheckResult f : failures()) sb.append(' ').append(f.name()).append(" (").append(f.detail()).append(");");
        sb.setLength(sb.length() - 1);
        return sb.toString();
    }
}
