package dev.coffer.policy.enforce;

import dev.coffer.policy.enforce.EnforcementRequest.ScratchMount;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.ResolvedImage;
import dev.coffer.policy.model.GroupPolicyInput;
import dev.coffer.policy.spec.GroupSpecParser;
import dev.coffer.policy.spec.SpecException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whether the host may ask for unencrypted scratch is the spec's call, written into the policy
 * (so HOST_DATA binds it): refused by default, allowed only by {@code scratch: {allowUnencrypted:
 * true}} (or {@code policy gen --allow-unencrypted-scratch}, the same input); encrypted scratch is
 * allowed either way.
 */
class UnencryptedScratchPolicyTest {
    static final String SPEC = """
            name: writer
            containers:
              - name: app
                image: app:1
            """;

    static GeneratedPolicy generate(GroupPolicyInput input) throws Exception {
        return new PolicyGenerator(ref -> new ResolvedImage(ref, List.of("7".repeat(64)), List.of("/bin/app"), List.of(),
                List.of("PATH=/bin"), "/", "0")).generate(input, false);
    }

    @Test
    void unencryptedScratchIsRefusedUnlessTheSpecAllowsIt() throws Exception {
        GeneratedPolicy strict = generate(GroupPolicyInput.parse(SPEC, "writer.yaml"));
        PolicyEnforcer e = PolicyEnforcer.load(strict.text());
        Decision plain = e.decide(new ScratchMount("/run/coffer/scratch", false));
        assertFalse(plain.allowed(), "a policy that does not say so refuses plaintext scratch");
        assertTrue(plain.reason().contains("unencrypted scratch is not allowed"), plain.reason());
        assertTrue(e.decide(new ScratchMount("/run/coffer/scratch", true)).allowed(), "encrypted scratch is always allowed");

        GeneratedPolicy allowing = generate(GroupPolicyInput.parse(SPEC + "scratch: {allowUnencrypted: true}\n", "writer.yaml"));
        assertTrue(PolicyEnforcer.load(allowing.text()).decide(new ScratchMount("/run/coffer/scratch", false)).allowed());
        // the choice is in the policy, so in HOST_DATA: a verifier sees which was made
        assertNotEquals(strict.sha256(), allowing.sha256());
        // the flag and the spec field are one input
        assertEquals(allowing.text(), generate(GroupPolicyInput.parse(SPEC, "writer.yaml").allowingUnencryptedScratch()).text());
        // spelled out as false: the default
        assertEquals(strict.text(), generate(GroupPolicyInput.parse(SPEC + "scratch: {allowUnencrypted: false}\n", "writer.yaml")).text());
    }

    @Test
    void aMalformedScratchSectionIsRefusedWithItsPath() {
        SpecException notBool = assertThrows(SpecException.class,
                () -> GroupSpecParser.parse(SPEC + "scratch: {allowUnencrypted: yes-please}\n", "writer.yaml"));
        assertTrue(notBool.getMessage().contains("allowUnencrypted"), notBool.getMessage());
        SpecException unknown = assertThrows(SpecException.class,
                () -> GroupSpecParser.parse(SPEC + "scratch: {encrypted: false}\n", "writer.yaml"));
        assertTrue(unknown.getMessage().contains("encrypted"), unknown.getMessage());
    }
}
