package dev.coffer.cli.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.cli.CofferException;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.policy.enforce.EnforcerOptions;
import dev.coffer.policy.enforce.PolicyLoadException;
import dev.coffer.policy.simulate.PolicySimulator;
import dev.coffer.policy.simulate.SimulationStep;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/** {@code coffer policy simulate POLICY.rego COMMANDS.json}. */
@Command(name = "simulate",
        description = {"Replay a sequence of host requests (enforcement points with Azure's input fields)",
                "against a policy offline, exactly as the guest agent would, and print each decision",
                "and the policy state after it. A step with \"hostResult\": \"fail\" simulates a failed",
                "host operation: its state change is rolled back. Exit code 0 even if requests are denied."},
        footer = {"", "COMMANDS.json: [{\"rule\": \"mount_device\", \"input\": {\"target\": \"/run/coffer/layers/l0\",",
                "                 \"deviceHash\": \"<64 hex>\"}}, {\"rule\": \"mount_overlay\", ...}, ...]",
                "", "Example:", "  coffer policy simulate policy.rego requests.json -o json"})
public final class PolicySimulateCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Mixin
    OutputOption output;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "POLICY.rego", description = "The policy.")
    Path policyFile;

    @Parameters(index = "1", paramLabel = "COMMANDS.json", description = "The requests to replay, in order.")
    Path commandsFile;

    @Option(names = "--layer-mount-regex", paramLabel = "REGEX",
            description = "Where the simulated agent mounts layer disks (default: ${DEFAULT-VALUE}).",
            defaultValue = EnforcerOptions.DEFAULT_LAYER_MOUNT_PATH_REGEX)
    String layerMountRegex;

    @Option(names = "--sandbox-dir", paramLabel = "DIR",
            description = "The sandbox directory sandbox:// mount sources refer to (default: ${DEFAULT-VALUE}).",
            defaultValue = EnforcerOptions.DEFAULT_SANDBOX_DIR)
    String sandboxDir;

    @Override
    public void run() {
        String policy = PolicyFiles.readPolicy(policyFile);
        JsonNode commands;
        try {
            commands = RequestCodecJson.read(commandsFile);
        } catch (NoSuchFileException e) {
            throw new CofferException("commands file " + commandsFile + " does not exist");
        } catch (IOException e) {
            throw new CofferException("commands file " + commandsFile + " is not valid JSON: " + e.getMessage());
        }
        List<SimulationStep> steps;
        try {
            steps = PolicySimulator.run(policy, commands, EnforcerOptions.defaults()
                    .withLayerMountPathRegex(layerMountRegex).withSandboxDir(sandboxDir));
        } catch (PolicyLoadException e) {
            throw new CofferException("policy " + policyFile + " cannot be enforced: " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new CofferException(commandsFile + ": " + e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            ArrayNode arr = JsonNodeFactory.instance.arrayNode();
            for (SimulationStep s : steps) {
                ObjectNode n = arr.addObject();
                n.put("step", s.index());
                n.put("rule", s.decision().rule());
                n.put("allowed", s.decision().allowed());
                n.put("outcome", s.outcome());
                n.put("reason", s.decision().reason());
                if (s.decision().explanation() != null) {
                    n.set("explanation", RequestCodecJson.explanation(s.decision().explanation()));
                }
                n.set("state", s.stateAfter());
            }
            Json.print(out, arr);
            return;
        }
        int denied = 0;
        for (SimulationStep s : steps) {
            String verdict = s.decision().allowed() ? "ALLOWED" : "DENIED";
            if (!s.decision().allowed()) denied++;
            out.printf("#%d %s %s (%s)%n", s.index(), s.decision().rule(), verdict, s.outcome());
            if (!s.decision().allowed()) {
                out.println("   reason: " + s.decision().reason());
            }
            out.println("   state:  " + RequestCodecJson.compact(s.stateAfter()));
        }
        out.printf("%d requests: %d allowed, %d denied%n", steps.size(), steps.size() - denied, denied);
        out.flush();
    }

    /** Small JSON helpers for this command. */
    static final class RequestCodecJson {
        private RequestCodecJson() {}

        static JsonNode read(Path file) throws IOException {
            return Json.MAPPER.readTree(file.toFile());
        }

        static String compact(JsonNode n) {
            return n.toString();
        }

        static ObjectNode explanation(dev.coffer.policy.enforce.Explanation e) {
            ObjectNode n = JsonNodeFactory.instance.objectNode();
            n.put("rule", e.rule());
            ArrayNode errors = n.putArray("errors");
            e.errors().forEach(errors::add);
            n.put("field", e.field());
            n.put("expected", e.expected());
            n.put("actual", e.actual());
            n.put("closestContainer", e.closestContainer());
            return n;
        }
    }
}
