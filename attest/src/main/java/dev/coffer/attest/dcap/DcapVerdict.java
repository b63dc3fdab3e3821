package dev.coffer.attest.dcap;

import dev.coffer.attest.verify.CheckResult;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The outcome of verifying one DCAP quote at one instant: valid only when no check failed and a
 * TCB level matched (whatever its status: refusing a status is the appraisal's decision).
 */
public record DcapVerdict(boolean valid, DcapQuote quote, Optional<PckExtensions> pck, Optional<TcbEvaluation> tcb,
                          Instant at, List<CheckResult> checks) {
    public DcapVerdict {
        checks = List.copyOf(checks);
    }

    public List<CheckResult> failures() {
        return checks.stream().filter(CheckResult::failed).toList();
    }

    public Optional<CheckResult> check(String name) {
        return checks.stream().filter(c -> c.name().equals(name)).findFirst();
    }

    public Optional<TcbStatus> tcbStatus() {
        return tcb.flatMap(TcbEvaluation::status);
    }

    public List<String> advisoryIds() {
        return tcb.map(TcbEvaluation::advisoryIds).orElse(List.of());
    }

    /** "valid (tdx, UpToDate)" or "invalid: name (detail); ...". */
    public String summary() {
        if (valid) return "valid (" + quote.tee().label() + ", " + tcbStatus().map(TcbStatus::pcsName).orElse("?") + ")";
        StringBuilder sb = new StringBuilder("invalid:");
        for (CheckResult f : failures()) sb.append(' ').append(f.name()).append(" (").append(f.detail()).append(");");
        sb.setLength(sb.length() - 1);
        return sb.toString();
    }
}
