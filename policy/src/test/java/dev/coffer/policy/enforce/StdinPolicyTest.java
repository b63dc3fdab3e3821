package dev.coffer.policy.enforce;

import dev.coffer.policy.enforce.EnforcementRequest.ExecInContainer;
import dev.coffer.policy.enforce.EnforcementRequest.WriteExecStdin;
import dev.coffer.policy.enforce.Fixtures.Stage;
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
 * What the host writes into a confidential process's stdin is host input: the policy decides
 * ({@code allow_stdin}, off unless the spec says {@code stdin: {allow: true}} or {@code policy gen
 * --allow-stdin}), both when an exec asks for stdin and at every write.
 */
class StdinPolicyTest {
    static final String SPEC = """
            name: shell
            containers:
              - name: app
                image: app:1
            """;

    private static GeneratedPolicy generate(GroupPolicyInput input) throws Exception {
        return new PolicyGenerator(ref -> new ResolvedImage(ref, List.of("7".repeat(64)), List.of("/bin/app"), List.of(),
                List.of("PATH=/bin"), "/", "0")).generate(input, false);
    }

    private static ExecInContainer exec(Boolean stdin) {
        return new ExecInContainer("c-web", List.of("/bin/health", "--quick"), Fixtures.webEnv(), "/srv", null, null, null, null,
                null, stdin, false);
    }

    @Test
    void stdinIsRefusedUnlessThePolicyAllowsIt() {
        PolicyEnforcer strict = Fixtures.at(Stage.WEB_CREATED);
        Decision withStdin = strict.decide(exec(true));
        assertFalse(withStdin.allowed(), "an exec asking for stdin under a policy that does not allow it");
        assertTrue(withStdin.reason().contains("allow_stdin"), withStdin.reason());
        assertTrue(strict.decide(exec(false)).allowed(), "the same exec without stdin");
        assertTrue(strict.decide(exec(null)).allowed(), "a run-to-completion exec states no stdin");
        Decision write = strict.decide(new WriteExecStdin("c-web"));
        assertFalse(write.allowed());
        assertTrue(write.reason().contains("allow_stdin"), write.reason());

        String allowingText = Fixtures.POLICY.replace("allow_stdin := false", "allow_stdin := true");
        assertNotEquals(Fixtures.POLICY, allowingText, "the generated policy states allow_stdin");
        PolicyEnforcer allowing = Fixtures.at(Stage.WEB_CREATED, allowingText);
        assertTrue(allowing.decide(exec(true)).allowed());
        assertTrue(allowing.decide(new WriteExecStdin("c-web")).allowed());
        // still only into a container that was created
        Decision stranger = allowing.decide(new WriteExecStdin("c-other"));
        assertFalse(stranger.allowed());
        assertTrue(stranger.reason().contains("not created"), stranger.reason());
        // and the exec's command is judged as ever: stdin adds a condition, it relaxes none
        assertFalse(allowing.decide(new ExecInContainer("c-web", List.of("/bin/sh"), Fixtures.webEnv(), "/srv", null, null,
                null, null, null, true, false)).allowed());
    }

    @Test
    void aPolicyWithoutTheSettingRefusesStdin() {
        // an ACI policy (or an older Coffer one) has no allow_stdin and binds no write_exec_stdin: the framework refuses
        String older = Fixtures.POLICY.replace("allow_stdin := false\n", "").replace("write_exec_stdin := data.framework.write_exec_stdin\n", "");
        assertFalse(older.contains("allow_stdin"), older);
        PolicyEnforcer e = Fixtures.at(Stage.WEB_CREATED, older);
        assertFalse(e.decide(new WriteExecStdin("c-web")).allowed());
        assertFalse(e.decide(exec(true)).allowed());
    }

    @Test
    void theSpecAndTheFlagAreOneInputBoundIntoThePolicy() throws Exception {
        GeneratedPolicy strict = generate(GroupPolicyInput.parse(SPEC, "shell.yaml"));
        assertTrue(strict.text().contains("allow_stdin := false"), strict.text());
        GeneratedPolicy allowing = generate(GroupPolicyInput.parse(SPEC + "stdin: {allow: true}\n", "shell.yaml"));
        assertTrue(allowing.text().contains("allow_stdin := true"), allowing.text());
        assertNotEquals(strict.sha256(), allowing.sha256(), "the choice is in HOST_DATA");
        assertEquals(allowing.text(), generate(GroupPolicyInput.parse(SPEC, "shell.yaml").allowingStdin()).text());
        SpecException notBool = assertThrows(SpecException.class,
                () -> GroupSpecParser.parse(SPEC + "stdin: {allow: sure}\n", "shell.yaml"));
        assertTrue(notBool.getMessage().contains("allow"), notBool.getMessage());
        SpecException unknown = assertThrows(SpecException.class,
                () -> GroupSpecParser.parse(SPEC + "stdin: {terminal: true}\n", "shell.yaml"));
        assertTrue(unknown.getMessage().contains("terminal"), unknown.getMessage());
    }
}
