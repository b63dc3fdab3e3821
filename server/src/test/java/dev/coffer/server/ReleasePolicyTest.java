package dev.coffer.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.server.http.Json;
import dev.coffer.server.policy.PolicyDecision;
import dev.coffer.server.policy.PolicyException;
import dev.coffer.server.policy.ReleasePolicy;
import dev.coffer.server.policy.ReleasePolicyEvaluator;
import dev.coffer.server.policy.ReleasePolicyParser;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class ReleasePolicyTest {
    static final String MAA = "https://sharedeus2.eus2.attest.azure.net";

    static JsonNode claims() throws Exception {
        return Json.parse("""
                {"iss":"https://sharedeus2.eus2.attest.azure.net","x-ms-attestation-type":"sevsnpvm",
                 "x-ms-sevsnpvm-hostdata":"aa","x-ms-sevsnpvm-guestsvn":3,"x-ms-sevsnpvm-is-debuggable":false,
                 "x-ms-runtime":{"keys":[{"kid":"TpmEphemeralEncryptionKey","kty":"RSA"}],"client":{"tier":"gold"}}}""");
    }

    static PolicyDecision eval(String policy) throws Exception {
        ReleasePolicy p = ReleasePolicyParser.parse(policy);
        return ReleasePolicyEvaluator.evaluate(p, MAA, claims());
    }

    @Test
    void azureSampleShapeWithTrailingSlashAuthorityIsAccepted() throws Exception {
        PolicyDecision d = eval("""
                {"version":"1.0.0","anyOf":[{"authority":"https://sharedeus2.eus2.attest.azure.net/","allOf":[
                  {"claim":"x-ms-attestation-type","equals":"sevsnpvm"},
                  {"claim":"x-ms-sevsnpvm-is-debuggable","equals":false}]}]}""");
        assertTrue(d.allowed(), d.reason());
    }

    @Test
    void comparisonsExistsAndDottedPaths() throws Exception {
        String ok = """
                {"version":"1.0.2","anyOf":[{"authority":"%s","allOf":[
                  {"claim":"x-ms-sevsnpvm-guestsvn","greaterOrEquals":3},{"claim":"x-ms-sevsnpvm-guestsvn","less":4},
                  {"claim":"x-ms-sevsnpvm-guestsvn","notEquals":2},{"claim":"x-ms-runtime.client.tier","equals":"gold"},
                  {"claim":"x-ms-runtime.keys.0.kid","equals":"TpmEphemeralEncryptionKey"},
                  {"claim":"x-ms-missing","exists":false},{"claim":"x-ms-runtime.keys","exists":true}]}]}""".formatted(MAA);
        assertTrue(eval(ok).allowed(), eval(ok).reason());
        PolicyDecision d = eval("""
                {"version":"1.0.0","anyOf":[{"authority":"%s","allOf":[{"claim":"x-ms-sevsnpvm-guestsvn","greater":3}]}]}""".formatted(MAA));
        assertFalse(d.allowed());
        assertTrue(d.reason().contains("policy.anyOf[0].allOf[0]") && d.reason().contains("greater 3"), d.reason());
        PolicyDecision notNumber = eval("""
                {"version":"1.0.0","anyOf":[{"authority":"%s","claim":"x-ms-sevsnpvm-hostdata","less":3}]}""".formatted(MAA));
        assertFalse(notNumber.allowed());
        assertTrue(notNumber.reason().contains("not a number"), notNumber.reason());
    }

    @Test
    void nestedAnyOfAndAuthorityMatching() throws Exception {
        String p = """
                {"version":"1.0.0","anyOf":[
                  {"authority":"https://other.example","allOf":[{"claim":"x-ms-attestation-type","equals":"sevsnpvm"}]},
                  {"authority":"%s","anyOf":[{"claim":"x-ms-sevsnpvm-hostdata","equals":"bb"},
                     {"allOf":[{"claim":"x-ms-sevsnpvm-hostdata","equals":"aa"},{"claim":"x-ms-sevsnpvm-guestsvn","equals":3}]}]}]}""".formatted(MAA);
        assertTrue(eval(p).allowed(), eval(p).reason());
        String denied = p.replace("\"aa\"", "\"cc\"");
        PolicyDecision d = eval(denied);
        assertFalse(d.allowed());
        assertTrue(d.reason().contains("does not match token issuer"), d.reason());
        assertTrue(d.reason().contains("no alternative holds"), d.reason());
    }

    @Test
    void topLevelAllOfNeedsEveryAuthorityBlock() throws Exception {
        String p = """
                {"version":"1.0.0","allOf":[{"authority":"%s","claim":"x-ms-sevsnpvm-hostdata","equals":"aa"},
                  {"authority":"https://other.example","claim":"x-ms-sevsnpvm-hostdata","equals":"aa"}]}""".formatted(MAA);
        assertFalse(eval(p).allowed());
    }

    @Test
    void typeMismatchesNeverEqual() throws Exception {
        assertFalse(eval("""
                {"version":"1.0.0","anyOf":[{"authority":"%s","claim":"x-ms-sevsnpvm-guestsvn","equals":"3"}]}""".formatted(MAA)).allowed());
        assertTrue(eval("""
                {"version":"1.0.0","anyOf":[{"authority":"%s","claim":"x-ms-sevsnpvm-guestsvn","equals":3.0}]}""".formatted(MAA)).allowed());
    }

    @Test
    void hostilePoliciesAreRejected() {
        StringBuilder deep = new StringBuilder("{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"https://a\",");
        for (int i = 0; i < 40; i++) deep.append("\"anyOf\":[{");
        deep.append("\"claim\":\"a\",\"exists\":true");
        for (int i = 0; i < 40; i++) deep.append("}]");
        deep.append("}]}");
        PolicyException e = assertThrows(PolicyException.class, () -> ReleasePolicyParser.parse(deep.toString()));
        assertTrue(e.getMessage().contains("nesting deeper"), e.getMessage());
        assertThrows(PolicyException.class, () -> ReleasePolicyParser.parse("{\"version\":\"1.0.0\",\"version\":\"1.0.0\"}"));
        assertThrows(PolicyException.class, () -> ReleasePolicyParser.parse("[]"));
        assertThrows(PolicyException.class, () -> ReleasePolicyParser.parse("{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"https://a\",\"claim\":\"a\",\"exists\":true}]} trailing"));
        PolicyException both = assertThrows(PolicyException.class, () -> ReleasePolicyParser.parse(
                "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"https://a\",\"claim\":\"a\",\"exists\":true,\"allOf\":[]}]}"));
        assertTrue(both.getMessage().contains("policy.anyOf[0]"), both.getMessage());
    }
}
