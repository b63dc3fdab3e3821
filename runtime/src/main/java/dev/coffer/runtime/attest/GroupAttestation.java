package dev.coffer.runtime.attest;

import dev.coffer.agent.protocol.Result;
import dev.coffer.agent.tee.HostChallenge;
import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.cert.Certificates;
import dev.coffer.attest.evidence.Attestation;
import dev.coffer.attest.evidence.Evidence;
import dev.coffer.attest.evidence.EvidenceKind;
import dev.coffer.attest.evidence.EvidenceVerifier;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.attest.verify.CheckResult;
import dev.coffer.attest.verify.SnpVerifier;
import dev.coffer.attest.verify.TeeKind;
import dev.coffer.attest.verify.Verdict;
import dev.coffer.attest.verify.VerifierPolicy;
import dev.coffer.runtime.group.GroupException;
import dev.coffer.runtime.group.GroupManager;
import dev.coffer.runtime.group.GroupStatus;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * {@code coffer attest group NAME}: challenges a running group for a fresh report and checks it
 * as a remote verifier would, through the one {@link EvidenceVerifier}, as evidence of the kind
 * the group was launched with — signature and certificate chain (trusting only this Coffer home's
 * simulated secure processor, never any other sim root), REPORT_DATA binding the caller's nonce
 * ({@link HostChallenge}), and MEASUREMENT and HOST_DATA equal to what {@code coffer run}
 * recorded when it launched the group.
 */
public final class GroupAttestation {
    /** Check names, in the order they are reported. */
    public static final String NONCE = "report-data-binds-nonce";
    public static final String HOST_DATA = "host-data-matches-run";
    public static final String MEASUREMENT = "measurement-matches-run";

    private static final HexFormat HEX = HexFormat.of();

    private GroupAttestation() {}

    /**
     * What the attestation found.
     *
     * @param tee "sim" (checked against this home's simulated root) or "snp" (against AMD's pinned roots only)
     * @param teeNotice one line saying what the TEE is, e.g. that sim is not hardware
     * @param valid true only when every check passed
     * @param checks the verifier's checks, then {@link #NONCE}, {@link #HOST_DATA}, {@link #MEASUREMENT}
     * @param reason "" when valid, else the failed checks on one line
     */
    public record Outcome(String group, String tee, String teeNotice, boolean valid, String nonce, String measurement,
                          String hostData, String reportData, String chipId, String reportedTcb, String product,
                          List<CheckResult> checks, String reason) {}

    /** Attests {@code group} with 32 fresh random bytes as the nonce. */
    public static Outcome attest(GroupManager groups, String group) throws IOException {
        byte[] nonce = new byte[32];
        new SecureRandom().nextBytes(nonce);
        return attest(groups, group, nonce);
    }

    /**
     * Attests {@code group} with {@code nonce} (1..32 bytes).
     *
     * @throws GroupException when the group does not run, has no TEE, or its agent gives no report
     */
    public static Outcome attest(GroupManager groups, String group, byte[] nonce) throws IOException {
        GroupStatus recorded = groups.status(group);
        if (recorded.tee().equals("none")) {
            throw new GroupException("expected group " + group + " to run with a TEE, found --tee none; nothing measured its"
                    + " launch, so there is nothing to attest: run it again with `coffer run --tee sim`");
        }
        // the kind the launch recorded decides what the answer must be: simulated evidence is accepted only
        // for a sim launch, against this home's sim root only; a hardware launch against AMD's pinned roots
        // only (no sim root is trusted for it, whatever the agent sends)
        EvidenceKind kind;
        try {
            kind = EvidenceKind.parse(recorded.tee(), "the TEE group " + group + " was launched with");
        } catch (IllegalArgumentException e) {
            throw new GroupException(e.getMessage());
        }
        VerifierPolicy policy = VerifierPolicy.defaults();
        if (kind == EvidenceKind.SIMULATED) {
            Path simTee = groups.simTeeDirectory();
            if (!Files.isRegularFile(simTee.resolve("ark.pem"))) {
                throw new GroupException("expected this Coffer home's simulated secure processor in " + simTee + ", found none;"
                        + " the group was launched from another home, whose sim root is not trusted here");
            }
            AmdCertificate trustedRoot = SimulatedSecureProcessor.load(simTee).ark();
            policy = VerifierPolicy.builder().trustSimRoot(trustedRoot).build();
        }
        Result.Report answer = groups.report(group, nonce);

        List<CheckResult> checks = new ArrayList<>();
        byte[] raw;
        try {
            raw = HEX.parseHex(answer.reportHex());
        } catch (IllegalArgumentException e) {
            throw new GroupException("expected the agent of " + group + " to send its report as hex, found text that is not ("
                    + e.getMessage() + ")");
        }
        List<AmdCertificate> certificates;
        try {
            certificates = Certificates.parsePem(answer.certChainPem());
        } catch (RuntimeException e) {
            throw new GroupException("expected the agent of " + group + " to send a PEM certificate chain with its report,"
                    + " found one that does not parse (" + e.getMessage() + ")");
        }
        Evidence evidence;
        try {
            evidence = Evidence.parse(kind, raw, certificates);
        } catch (IllegalArgumentException e) {
            throw new GroupException("expected " + kind.label() + " evidence from the agent of " + group + ", found bytes that are not"
                    + " (" + e.getMessage() + ")");
        }
        Attestation attestation = new EvidenceVerifier(new SnpVerifier(policy)).verify(evidence, Instant.now());
        checks.addAll(attestation.checks());
        // SEV-SNP-only facts (chip id, REPORTED_TCB, product) come from the SNP verifier's own verdict; other kinds have none.
        Verdict snp = attestation.snpVerdict().orElse(null);
        byte[] expectedReportData = HostChallenge.reportData(nonce);
        checks.add(compare(NONCE, expectedReportData, evidence.reportData(), "REPORT_DATA",
                "the tag " + HEX.formatHex(HostChallenge.TAG) + " and this attestation's nonce", "the report is not an answer to this challenge (replayed or made for someone else)"));
        checks.add(compare(HOST_DATA, hexOrEmpty(recorded.hostData()), evidence.launchData(), "HOST_DATA",
                "the value `coffer run` recorded (SHA-256 of the group's policy)", "the group runs under another policy than the one it was launched with"));
        checks.add(compare(MEASUREMENT, hexOrEmpty(recorded.measurement()), evidence.measurement(), "MEASUREMENT",
                "the value `coffer run` recorded", "another agent or other launch parameters than the ones launched"));
        boolean valid = attestation.valid() && checks.stream().noneMatch(CheckResult::failed);
        StringBuilder reason = new StringBuilder();
        for (CheckResult c : checks) {
            if (c.failed()) reason.append(reason.isEmpty() ? "" : "; ").append(c.name()).append(": ").append(c.detail());
        }
        String tee = snp != null && snp.tee() == TeeKind.SIM ? EvidenceKind.SIMULATED.label() : answer.tee();
        String notice = EvidenceKind.SIMULATED.label().equals(tee) ? "sim (simulated, not a hardware TEE)" : tee;
        return new Outcome(group, tee, notice, valid, HEX.formatHex(nonce), HEX.formatHex(evidence.measurement()),
                HEX.formatHex(evidence.launchData()), HEX.formatHex(evidence.reportData()),
                snp == null ? "" : HEX.formatHex(snp.report().chipId()), snp == null ? "" : snp.report().reportedTcb().toString(),
                snp == null ? "" : snp.product().map(Object::toString).orElse(""), checks, reason.toString());
    }

    private static byte[] hexOrEmpty(String hex) {
        return hex == null || hex.isEmpty() ? new byte[0] : HEX.parseHex(hex);
    }

    private static CheckResult compare(String name, byte[] expected, byte[] found, String field, String expectedWhat, String meaning) {
        if (MessageDigest.isEqual(expected, found)) {
            return new CheckResult(name, CheckResult.Status.PASS, field + " = " + HEX.formatHex(found));
        }
        return new CheckResult(name, CheckResult.Status.FAIL, "expected " + field + " to be " + expectedWhat + " ("
                + (expected.length == 0 ? "nothing recorded" : HEX.formatHex(expected)) + "), found " + HEX.formatHex(found)
                + "; " + meaning);
    }
}
