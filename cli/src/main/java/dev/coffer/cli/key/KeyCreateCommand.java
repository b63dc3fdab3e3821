package dev.coffer.cli.key;

import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.UsageException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

@Command(name = "create", mixinStandardHelpOptions = true, description = {"Generate a key in the vault. With --policy it is exportable: released only to",
        "callers whose attestation token satisfies the policy."},
        footer = {"", "Examples:", "  coffer key create app-key --type oct-256 --policy release-policy.json",
                "  coffer key create app-key --release-to $(sha256sum group.rego | cut -d' ' -f1) --tee sim",
                "  coffer key create signer --type EC-P-256"})
public final class KeyCreateCommand implements Runnable {
    @Mixin CommonOptions common;
    @Mixin OutputOption output;
    @Mixin VaultOptions vault;
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NAME", description = "Key name: letters, digits, dashes.")
    String name;

    @Option(names = "--type", defaultValue = "oct-256", description = "oct-256, RSA-2048, RSA-3072, EC-P-256 or EC-P-384 (default: ${DEFAULT-VALUE}).")
    String type;

    @Option(names = "--policy", paramLabel = "FILE", description = "Release policy (JSON, Azure Key Vault grammar); makes the key exportable.")
    Path policy;

    @Option(names = "--immutable", description = "The release policy can never be changed.")
    boolean immutable;

    @Option(names = "--release-to", paramLabel = "HOSTDATA", description = {"Instead of --policy: the ready-made release policy for the",
            "endorsed Coffer guest enforcing the policy whose SHA-256 is HOSTDATA (compliance claim, host data, not",
            "debuggable, attestation type), with the vault's own attestation service as authority."})
    String releaseTo;

    @Option(names = "--tee", paramLabel = "sim|snp", defaultValue = "sim", description = "With --release-to: the guests' TEE (default: ${DEFAULT-VALUE}).")
    String tee;

    @Override
    public void run() {
        Map<String, Object> body = new HashMap<>();
        switch (type) {
            case "oct-256" -> body.put("kty", "oct");
            case "RSA-2048", "RSA-3072" -> {
                body.put("kty", "RSA");
                body.put("key_size", Integer.parseInt(type.substring(4)));
            }
            case "EC-P-256", "EC-P-384" -> {
                body.put("kty", "EC");
                body.put("crv", type.substring(3));
            }
            default -> throw new UsageException("--type " + type + " is not one of oct-256, RSA-2048, RSA-3072, EC-P-256, EC-P-384");
        }
        if (immutable && policy == null && releaseTo == null) throw new UsageException("--immutable needs --policy or --release-to");
        if (policy != null && releaseTo != null) throw new UsageException("give --policy or --release-to, not both");
        // the TEEs a Coffer guest runs in, as the agent declares them
        List<String> guestTees = dev.coffer.agent.tee.GuestTee.KINDS.stream().map(dev.coffer.attest.evidence.EvidenceKind::label).toList();
        if (!guestTees.contains(tee)) throw new UsageException("--tee must be " + String.join(" or ", guestTees) + ", found '" + tee + "'");
        if (releaseTo != null && !releaseTo.matches("[0-9a-fA-F]{64}")) {
            throw new UsageException("--release-to must be the group policy's SHA-256 (64 hex digits), found '" + releaseTo + "'");
        }
        if (policy != null || releaseTo != null) {
            body.put("exportable", true);
            body.put("release_policy", policy != null ? KeyOutput.readJsonFile(policy, "release policy")
                    : dev.coffer.server.policy.ReleasePolicies.forCofferGuest(
                            vault.call(c -> c.get("/.well-known/openid-configuration")).path("issuer").asText(), releaseTo, tee));
            body.put("immutable", immutable);
        }
        var created = vault.call(c -> c.post("/keys/" + name + "/create", body));
        for (var w : created.path("warnings")) spec.commandLine().getErr().println("warning: " + w.asText());
        if (output.json()) Json.print(spec.commandLine().getOut(), created);
        else KeyOutput.printKey(spec.commandLine().getOut(), created);
    }
}
