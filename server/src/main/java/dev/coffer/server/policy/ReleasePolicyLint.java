package dev.coffer.server.policy;

import dev.coffer.server.token.ComplianceClaims;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Warnings for release policies that are valid but unsafe. The one that matters: a way to
 * satisfy the policy that pins {@code x-ms-sevsnpvm-hostdata} but neither the compliance claim
 * nor the launch measurement. HOST_DATA is chosen by the host at launch, so such a policy
 * releases the key to any guest the host boots with the right host data wherever the
 * attestation service does not itself insist on an endorsed MEASUREMENT.
 */
public final class ReleasePolicyLint {
    static final String HOST_DATA = "x-ms-sevsnpvm-hostdata";
    static final String MEASUREMENT = "x-ms-sevsnpvm-launchmeasurement";
    /** Bounds the expansion of nested anyOf/allOf into alternatives. */
    private static final int MAX_ALTERNATIVES = 256;

    private ReleasePolicyLint() {}

    public static List<String> warnings(ReleasePolicy policy) {
        List<String> out = new ArrayList<>();
        for (ReleasePolicy.AuthorityBlock block : policy.authorities()) {
            for (Set<String> alt : alternatives(block.expr())) {
                if (alt.contains(HOST_DATA) && !alt.contains(ComplianceClaims.COMPLIANCE_STATUS) && !alt.contains(MEASUREMENT)) {
                    out.add("the release policy for authority " + block.authority() + " (at " + block.path() + ") pins "
                            + HOST_DATA + " without " + ComplianceClaims.COMPLIANCE_STATUS + " or " + MEASUREMENT
                            + ": host data is chosen by the host at launch, so add {\"claim\":\"" + ComplianceClaims.COMPLIANCE_STATUS
                            + "\",\"equals\":\"coffer-compliant-guest\"} (or azure-compliant-uvm) or pin the measurement");
                    break;
                }
            }
        }
        return out;
    }

    /** The sets of claims each way of satisfying {@code e} constrains (positively: equals, comparisons). */
    private static List<Set<String>> alternatives(ReleasePolicy.Expr e) {
        return switch (e) {
            case ReleasePolicy.Condition c -> c.op() == ReleasePolicy.Operator.NOT_EQUALS || c.op() == ReleasePolicy.Operator.EXISTS
                    ? List.of(Set.of()) : List.of(Set.of(c.claim()));
            case ReleasePolicy.AnyOf any -> {
                List<Set<String>> out = new ArrayList<>();
                for (ReleasePolicy.Expr i : any.items()) {
                    out.addAll(alternatives(i));
                    if (out.size() > MAX_ALTERNATIVES) break;
                }
                yield out;
            }
            case ReleasePolicy.AllOf all -> {
                List<Set<String>> acc = List.of(Set.of());
                for (ReleasePolicy.Expr i : all.items()) {
                    List<Set<String>> next = new ArrayList<>();
                    for (Set<String> a : acc) {
                        for (Set<String> b : alternatives(i)) {
                            Set<String> u = new HashSet<>(a);
                            u.addAll(b);
                            next.add(u);
                            if (next.size() > MAX_ALTERNATIVES) break;
                        }
                    }
                    acc = next;
                }
                yield acc;
            }
        };
    }
}
