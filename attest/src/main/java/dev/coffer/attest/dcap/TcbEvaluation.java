package dev.coffer.attest.dcap;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What the collateral says of a platform: the converged TCB status (platform level, TDX module
 * and QE), the advisories that apply, and how each part was decided. {@code status} is empty
 * when no TCB level matches, which fails verification whatever the policy.
 */
public record TcbEvaluation(Optional<TcbStatus> status, Optional<TcbStatus> platformStatus, Optional<TcbStatus> tdxModuleStatus,
                            Optional<TcbStatus> qeStatus, Optional<Instant> tcbDate, List<String> advisoryIds,
                            List<String> problems, String detail) {
    public TcbEvaluation {
        advisoryIds = List.copyOf(advisoryIds);
        problems = List.copyOf(problems);
    }

    public boolean matched() {
        return status.isPresent() && problems.isEmpty();
    }
}
