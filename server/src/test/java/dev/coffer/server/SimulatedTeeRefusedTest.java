package dev.coffer.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jwt.SignedJWT;
import dev.coffer.attest.evidence.EvidenceKind;
import dev.coffer.server.client.CofferClient;
import dev.coffer.server.http.Json;
import dev.coffer.server.policy.PolicyDecision;
import dev.coffer.server.policy.ReleasePolicies;
import dev.coffer.server.policy.ReleasePolicyEvaluator;
import dev.coffer.server.policy.ReleasePolicyParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The simulated member of the evidence model is refused wherever real evidence is required: by a
 * server not started with --trust-sim, and, from a server that trusts it, by every release policy
 * written for a hardware TEE. The attestation endpoints are those the declared kinds name.
 */
class SimulatedTeeRefusedTest {
    static final byte[] MEASUREMENT = Fixture.bytes(48, 0x31);
    static final byte[] HOST_DATA = Fixture.bytes(32, 0x42);

    @Test
    void aServerWithoutTrustSimRefusesSimulatedEvidenceAndRoutesEveryDeclaredEndpoint(@TempDir Path home) throws Exception {
        try (CofferServer server = CofferServer.startPlainHttpOnLoopback(ServerConfig.defaults(home).withPort(0))) {
            Fixture.Guest guest = new Fixture.Guest(home, MEASUREMENT, HOST_DATA, 0x30000L);
            Fixture.Raw r = Fixture.call("POST", server.url() + "/attest/SevSnpVm", Json.string(guest.maaBody()), null);
            assertEquals(403, r.status(), r.body());
            assertEquals("simulated_evidence_refused", r.code());
            assertTrue(r.json().path("error").path("message").asText().contains("--trust-sim"), r.body());

            // Every endpoint derived from the kinds is served: an empty body is a 400 naming the field, never a 404.
            for (String endpoint : EvidenceKind.endpoints()) {
                Fixture.Raw empty = Fixture.call("POST", server.url() + "/attest/" + endpoint, "{}", null);
                assertEquals(400, empty.status(), endpoint + ": " + empty.body());
                assertEquals("malformed_request", empty.code(), endpoint + ": " + empty.body());
            }
        }
    }

    @Test
    void aSimulatedTokenMatchesNoReleasePolicyWrittenForHardware(@TempDir Path home) throws Exception {
        try (CofferServer server = CofferServer.startPlainHttpOnLoopback(ServerConfig.defaults(home).withPort(0).withTrustSim(true))) {
            String admin = Files.readString(home.resolve("server/admin-token")).strip();
            Fixture.Guest guest = new Fixture.Guest(home, MEASUREMENT, HOST_DATA, 0x30000L);
            String token = new CofferClient(server.url(), admin).attest(guest.maaBody());
            JsonNode claims = Json.parse(SignedJWT.parse(token).getPayload().toString());
            assertEquals(EvidenceKind.SIMULATED.attestationType(), claims.path("x-ms-attestation-type").asText());
            assertEquals(EvidenceKind.SIMULATED.label(), claims.path("x-coffer-tee").asText());

            for (EvidenceKind kind : List.of(EvidenceKind.SEV_SNP, EvidenceKind.SIMULATED)) {
                PolicyDecision d = ReleasePolicyEvaluator.evaluate(ReleasePolicyParser.parse(
                        ReleasePolicies.forCofferGuest(server.issuerName(), Fixture.hex(HOST_DATA), kind.label())), server.issuerName(), claims);
                assertEquals(!kind.hardware(), d.allowed(), kind + ": " + d.reason());
            }
            // a Coffer guest's ready-made policy pins SEV-SNP's HOST_DATA: for SGX or TDX it could never
            // match, so it is refused rather than written (as is a TEE name nobody declared)
            for (String tee : List.of(EvidenceKind.SGX.label(), EvidenceKind.TDX.label(), "sev", "")) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> ReleasePolicies.forCofferGuest(server.issuerName(), Fixture.hex(HOST_DATA), tee), tee);
                assertEquals("expected the TEE of a Coffer guest (snp or sim), found '" + tee
                        + "'; write a release policy of your own for other evidence", e.getMessage());
            }
        }
    }
}
