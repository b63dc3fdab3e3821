package dev.coffer.attest.evidence;

import dev.coffer.attest.verify.CheckResult;

import java.util.List;

/** One verification's outcome: valid only when no check failed; the claims are meaningful only then. */
public record Attestation(EvidenceKind kind, boolean valid, Claims claims, List<CheckResult> checks) {
    public Attestation {
        checks = List.copyOf(checks);
    }

    public List<CheckResult> failures() {
        return checks.stream().filter(CheckResult::failed).toList();
    }

    public String summary() {
        if (valid) return "valid (" + kind.attestationType() + claims.tcbStatus().map(s -> ", " + s).orElse("") + ")";
        StringBuilder sb = new StringBuilder("invalid:");
        for (CheckResult f : failures()) sb.append(' ').append(f.name()).append(" (").append(f.detail()).append(");");
        sb.setLength(sb.length() - 1);
        return sb.toString();
    }
}
