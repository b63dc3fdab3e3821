package dev.coffer.server.policy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.attest.endorse.EndorsementVerifier;
import dev.coffer.attest.evidence.EvidenceKind;
import dev.coffer.server.http.Json;
import dev.coffer.server.token.AttestationTypes;
import dev.coffer.server.token.ComplianceClaims;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** Ready-made release policies for the common case, as JSON to hand to the vault. */
public final class ReleasePolicies {
    private ReleasePolicies() {}

    /**
     * Release only to an endorsed Coffer guest enforcing one policy: tokens from {@code authority}
     * whose attestation type is that of {@code tee} ({@code snp}: {@code sevsnpvm}; {@code sim}:
     * {@code coffer-sim-sevsnpvm}), whose MEASUREMENT a trusted endorser signed
     * ({@code x-ms-compliance-status: coffer-compliant-guest}), whose HOST_DATA is {@code hostDataHex}
     * (SHA-256 of the group's policy) and whose guest policy forbids debugging. Host data alone is
     * not enough: the host chooses it at launch, so only the compliance claim says the guest
     * enforcing that policy is a genuine one.
     */
    public static ObjectNode forCofferGuest(String authority, String hostDataHex, String tee) {
        // the policy pins the SEV-SNP HOST_DATA claim: for a TEE whose launch data is another field
        // (SGX's CONFIGID, TDX's MRCONFIGID) it could never match, a key nobody can release
        List<EvidenceKind> hostDataKinds = Arrays.stream(EvidenceKind.values())
                .filter(k -> k.launchDataField().equals(EvidenceKind.SEV_SNP.launchDataField())).toList();
        EvidenceKind kind = EvidenceKind.byLabel(tee).filter(hostDataKinds::contains).orElseThrow(() -> new IllegalArgumentException(
                "expected the TEE of a Coffer guest (" + String.join(" or ", hostDataKinds.stream().map(EvidenceKind::label).toList())
                        + "), found '" + tee + "'; write a release policy of your own for other evidence"));
        return forGuest(authority, hostDataHex, kind.attestationType(), EndorsementVerifier.COFFER_COMPLIANT_GUEST);
    }

    /** As {@link #forCofferGuest}, for a guest on one of Azure's Microsoft-endorsed UVMs ({@code azure-compliant-uvm}). */
    public static ObjectNode forAzureUvm(String authority, String hostDataHex) {
        return forGuest(authority, hostDataHex, AttestationTypes.SEVSNPVM, EndorsementVerifier.AZURE_COMPLIANT_UVM);
    }

    static ObjectNode forGuest(String authority, String hostDataHex, String attestationType, String complianceStatus) {
        if (hostDataHex == null || !hostDataHex.matches("[0-9a-fA-F]{64}")) {
            throw new IllegalArgumentException("host data must be 64 hex digits (SHA-256 of the group policy), found '" + hostDataHex + "'");
        }
        return Json.MAPPER.valueToTree(Map.of("version", "1.0.0", "anyOf", List.of(Map.of("authority", authority, "allOf", List.of(
                Map.of("claim", "x-ms-attestation-type", "equals", attestationType),
                Map.of("claim", ComplianceClaims.COMPLIANCE_STATUS, "equals", complianceStatus),
                Map.of("claim", "x-ms-sevsnpvm-hostdata", "equals", hostDataHex.toLowerCase()),
                Map.of("claim", "x-ms-sevsnpvm-is-debuggable", "equals", false))))));
    }
}
