package dev.coffer.attest.verify;

import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.cert.CertRole;
import dev.coffer.attest.cert.AmdRoots;
import dev.coffer.attest.cert.RevocationList;
import dev.coffer.attest.snp.TcbVersion;

import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What a verifier accepts. AMD's pinned ARKs are always trusted; simulated roots only when
 * listed here (a production configuration lists none, so it refuses sim evidence). Defaults:
 * no debug, SMT allowed, no migration agent, no minimum TCB, no expected values, no CRLs,
 * system clock.
 */
public record VerifierPolicy(List<AmdCertificate> trustedSimRoots,
                             boolean allowDebug,
                             boolean allowSmt,
                             boolean allowMigrationAgent,
                             Optional<TcbVersion> minimumTcb,
                             Optional<byte[]> expectedHostData,
                             Optional<byte[]> expectedMeasurement,
                             Optional<byte[]> expectedReportData,
                             List<RevocationList> crls,
                             Clock clock) {

    public VerifierPolicy {
        trustedSimRoots = List.copyOf(trustedSimRoots);
        crls = List.copyOf(crls);
        for (AmdCertificate root : trustedSimRoots) {
            if (AmdRoots.pinnedArk(root).isPresent()) {
                throw new IllegalArgumentException(root.subjectCn() + " is an AMD root, not a simulated one; AMD roots are always trusted");
            }
            if (root.role() != CertRole.ARK || !root.selfIssued()) {
                throw new IllegalArgumentException("a trusted simulated root must be a self-signed ARK certificate, found " + root);
            }
        }
        Objects.requireNonNull(minimumTcb);
        expectedHostData.ifPresent(h -> requireLength(h, 32, "expected HOST_DATA"));
        expectedMeasurement.ifPresent(m -> requireLength(m, 48, "expected MEASUREMENT"));
        expectedReportData.ifPresent(d -> requireLength(d, 64, "expected REPORT_DATA"));
        Objects.requireNonNull(clock);
    }

    public static VerifierPolicy defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.simRoots.addAll(trustedSimRoots);
        b.allowDebug = allowDebug;
        b.allowSmt = allowSmt;
        b.allowMigrationAgent = allowMigrationAgent;
        b.minimumTcb = minimumTcb.orElse(null);
        b.hostData = expectedHostData.orElse(null);
        b.measurement = expectedMeasurement.orElse(null);
        b.reportData = expectedReportData.orElse(null);
        b.crls.addAll(crls);
        b.clock = clock;
        return b;
    }

    private static void requireLength(byte[] v, int len, String what) {
        if (v.length != len) {
            throw new IllegalArgumentException(what + " must be " + len + " bytes (" + 2 * len + " hex digits), got " + v.length
                    + " bytes (" + HexFormat.of().formatHex(v) + ")");
        }
    }

    public static final class Builder {
        private final List<AmdCertificate> simRoots = new ArrayList<>();
        private boolean allowDebug;
        private boolean allowSmt = true;
        private boolean allowMigrationAgent;
        private TcbVersion minimumTcb;
        private byte[] hostData;
        private byte[] measurement;
        private byte[] reportData;
        private Clock clock = Clock.systemUTC();
        private final List<RevocationList> crls = new ArrayList<>();

        private Builder() {}

        /** Checks intermediates against this CRL (AMD's, from the KDS); it must be signed by the chain's ARK. */
        public Builder crl(RevocationList crl) { crls.add(Objects.requireNonNull(crl)); return this; }

        /** Trusts a simulated secure processor's ARK: only for development and tests. */
        public Builder trustSimRoot(AmdCertificate ark) { simRoots.add(ark); return this; }
        public Builder allowDebug(boolean v) { allowDebug = v; return this; }
        public Builder allowSmt(boolean v) { allowSmt = v; return this; }
        public Builder allowMigrationAgent(boolean v) { allowMigrationAgent = v; return this; }
        public Builder minimumTcb(TcbVersion v) { minimumTcb = v; return this; }
        public Builder expectHostData(byte[] v) { hostData = v == null ? null : v.clone(); return this; }
        public Builder expectMeasurement(byte[] v) { measurement = v == null ? null : v.clone(); return this; }
        /** Requires REPORT_DATA to equal these 64 bytes: the caller's nonce (zero-padded) or a key digest. */
        public Builder expectReportData(byte[] v) { reportData = v == null ? null : v.clone(); return this; }
        public Builder clock(Clock v) { clock = Objects.requireNonNull(v); return this; }

        public VerifierPolicy build() {
            return new VerifierPolicy(simRoots, allowDebug, allowSmt, allowMigrationAgent, Optional.ofNullable(minimumTcb),
                    Optional.ofNullable(hostData), Optional.ofNullable(measurement), Optional.ofNullable(reportData), crls, clock);
        }
    }
}
