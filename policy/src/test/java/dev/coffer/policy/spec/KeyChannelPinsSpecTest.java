package dev.coffer.policy.spec;

import dev.coffer.policy.gen.KeyChannelPins;
import dev.coffer.policy.gen.PolicyDocument;
import dev.coffer.policy.gen.RegoPolicyWriter;
import dev.coffer.policy.model.GroupPolicyInput;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** {@code skr.pins}: parsed with located errors, written into the policy, read back as the agent reads it. */
class KeyChannelPinsSpecTest {
    static final String CERT = "0123456789abcdef".repeat(4);
    static final String KEY1 = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
    static final String KEY2 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    static final String BASE = """
            name: web
            containers:
              - name: app
                image: demo:1
            skr:
              endpoints: [https://127.0.0.1:8400]
            """;

    static GroupSpec parse(String pins) throws SpecException {
        return GroupSpecParser.parse(BASE + "  pins:\n" + pins, "g.yaml");
    }

    @Test
    void pinsAreParsedNormalisedAndReachThePolicy() throws Exception {
        GroupSpec spec = parse("""
                    - endpoint: https://127.0.0.1:8400/
                      tls_certificate: %s
                      signing_keys: [%s, %s]
                    - endpoint: https://vault.example
                      signing_keys: [%s]
                """.formatted(CERT.toUpperCase().replaceAll("(..)(?!$)", "$1:"), KEY1, KEY2, KEY1));
        List<GroupSpec.EndpointPin> pins = List.of(new GroupSpec.EndpointPin("https://127.0.0.1:8400", CERT, List.of(KEY1, KEY2)),
                new GroupSpec.EndpointPin("https://vault.example:443", "", List.of(KEY1)));
        assertEquals(pins, spec.skr().pins());
        assertEquals(pins, GroupPolicyInput.of(spec).keyChannelPins());

        PolicyDocument doc = new PolicyDocument("0.10.0", "0.2.3", false, List.of(), List.of(),
                new PolicyDocument.Flags(true, false, false, false, false, false), List.of(), null, pins);
        String policy = RegoPolicyWriter.write(doc);
        assertTrue(policy.contains("key_channel_pins := ["), policy);
        assertEquals(pins, KeyChannelPins.read(policy), "what the agent reads is what the spec pinned");
        // the agent takes them from the enforcer it loaded (the text bound to HOST_DATA), not from a second read
        assertEquals(pins, dev.coffer.policy.enforce.PolicyEnforcer.load(policy).keyChannelPins());
        assertEquals(List.of(), dev.coffer.policy.enforce.PolicyEnforcer.allowAll().keyChannelPins());
        // a policy without pins has no rule and keeps its bytes
        String plain = RegoPolicyWriter.write(new PolicyDocument("0.10.0", "0.2.3", false, List.of(), List.of(),
                new PolicyDocument.Flags(true, false, false, false, false, false), List.of()));
        assertFalse(plain.contains("key_channel_pins"));
        assertEquals(List.of(), KeyChannelPins.read(plain));
        assertEquals(List.of(), dev.coffer.policy.enforce.PolicyEnforcer.load(plain).keyChannelPins());
    }

    @Test
    void malformedPinsGetLocatedErrors() {
        SpecException cert = assertThrows(SpecException.class, () -> parse("""
                    - endpoint: https://127.0.0.1:8400
                      tls_certificate: abc
                """));
        assertTrue(cert.getMessage().contains("skr.pins[0].tls_certificate") && cert.getMessage().contains("64 hex digits"), cert.getMessage());
        SpecException key = assertThrows(SpecException.class, () -> parse("""
                    - endpoint: https://127.0.0.1:8400
                      signing_keys: [kid-1]
                """));
        assertTrue(key.getMessage().contains("skr.pins[0].signing_keys[0]") && key.getMessage().contains("RFC 7638"), key.getMessage());
        SpecException neither = assertThrows(SpecException.class, () -> parse("""
                    - endpoint: https://127.0.0.1:8400
                """));
        assertTrue(neither.getMessage().contains("expected tls_certificate or signing_keys"), neither.getMessage());
        SpecException httpCert = assertThrows(SpecException.class, () -> parse("""
                    - endpoint: http://127.0.0.1:8400
                      tls_certificate: %s
                """.formatted(CERT)));
        assertTrue(httpCert.getMessage().contains("expected an https endpoint"), httpCert.getMessage());
        SpecException twice = assertThrows(SpecException.class, () -> parse("""
                    - endpoint: https://127.0.0.1:8400
                      signing_keys: [%s]
                    - endpoint: https://127.0.0.1:8400/
                      signing_keys: [%s]
                """.formatted(KEY1, KEY2)));
        assertTrue(twice.getMessage().contains("pinned once"), twice.getMessage());
        SpecException unknown = assertThrows(SpecException.class, () -> parse("""
                    - endpoint: https://127.0.0.1:8400
                      kid: x
                """));
        assertTrue(unknown.getMessage().contains("unknown field \"kid\""), unknown.getMessage());
    }
}
