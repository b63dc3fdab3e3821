package dev.coffer.attest.verify;

import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.snp.Product;
import dev.coffer.attest.snp.SnpReport;

import java.util.List;
import java.util.Optional;

/**
 * The outcome of verifying one report: valid only when no check failed. {@code product} is
 * empty when the chain did not establish one; {@code endorsementKey} is the VCEK/VLEK used.
 */
public record Verdict(boolean valid, TeeKind tee, Optional<Product> product, SnpReport report,
                      AmdCertificate endorsementKey, List<CheckResult> checks) {

    public Verdict {
        checks = List.copyOf(checks);
    }

    public List<CheckResult> failures() {
        return checks.stream().filter(CheckResult::failed).toList();
    }

    public Optional<CheckResult> check(String name) {
        return checks.stream().filter(c -> c.name().equals(name)).findFirst();
    }

    /** "valid" or "invalid: name (detail); ..." on one line. */
    public String summary() {
        if (valid) return "valid (tee=" + tee.label() + product.map(p -> ", product=" + p).orElse("") + ")";
        StringBuilder sb = new StringBuilder("invalid:");
        for (CheckResult f : failures()) sb.append(' ').append(f.name()).append(" (").append(f.detail()).append(");");
        sb.setLength(sb.length() - 1);
        return sb.toString();
    }
}
