package dev.coffer.policy.enforce;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.rego.CompiledPolicy;
import dev.coffer.rego.DataStore;
import dev.coffer.rego.Rego;
import dev.coffer.rego.RegoModule;
import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.Value;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The oracle: a policy evaluated with Microsoft's own framework (hcsshim v0.14.0's framework.rego
 * and api.rego, with the data hcsshim's Go preloads beside them), by Coffer's Rego engine, with
 * the metadata state kept as hcsshim keeps it (actions applied after an allowed decision).
 */
final class MicrosoftFramework {
    static final Path ACI = Path.of(System.getProperty("coffer.shared", "../../shared")).resolve("testdata/aci");
    static final Path HCSSHIM = ACI.resolve("hcsshim-v0.14.0");
    static final String FRAMEWORK_VERSION = "0.3.0";
    static final String API_VERSION = "0.10.0";

    private final CompiledPolicy compiled;
    private final ObjectNode preloaded;
    private PolicyState state = PolicyState.initial();

    /** Compiled once per policy text: the tests replay many request sequences against each. */
    private static final Map<String, CompiledPolicy> COMPILED = new java.util.concurrent.ConcurrentHashMap<>();

    MicrosoftFramework(String policyText) {
        compiled = COMPILED.computeIfAbsent(policyText, MicrosoftFramework::compile);
        try {
            preloaded = (ObjectNode) RequestCodec.MAPPER.readTree(read(HCSSHIM.resolve("data.json")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        preloaded.remove("metadata");
    }

    private static CompiledPolicy compile(String policyText) {
        return Rego.compile(List.of(
                new RegoModule("framework.rego", read(HCSSHIM.resolve("framework.rego")).replace("@@FRAMEWORK_VERSION@@", FRAMEWORK_VERSION)),
                new RegoModule("api.rego", read(HCSSHIM.resolve("api.rego")).replace("@@API_VERSION@@", API_VERSION)),
                new RegoModule("policy.rego", policyText)), Rego.Options.DEFAULT.withSyntax(Rego.Syntax.V0));
    }

    static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The verdict and state change for an input (with the fields hcsshim's Go adds: rule, sandboxDir, hugePagesDir). */
    record Verdict(boolean allowed, List<MetadataAction> delta) {}

    Verdict decide(String rule, ObjectNode input) {
        ObjectNode in = input.deepCopy();
        in.put("rule", rule);
        ObjectNode data = preloaded.deepCopy();
        data.set("metadata", state.view());
        Value v = compiled.evalRef("data.policy." + rule, Json.fromJsonNode(in), new DataStore(Json.fromJsonNode(data)),
                RegoRuleEngine.OPTIONS).value();
        if (v == null) {
            return new Verdict(false, List.of());
        }
        JsonNode result = Json.toJsonNode(v);
        if (!result.path("allowed").asBoolean(false)) {
            return new Verdict(false, List.of());
        }
        List<MetadataAction> delta = new ArrayList<>();
        result.path("metadata").forEach(a -> delta.add(MetadataAction.fromJson(a)));
        return new Verdict(true, delta);
    }

    void commit(Verdict v) {
        state = state.apply(v.delta());
    }

    /** The policy's containers as the policy text states them. */
    JsonNode containers() {
        Value v = compiled.evalRef("data.policy.containers", Value.object(Map.of()), new DataStore(), RegoRuleEngine.OPTIONS).value();
        return Json.toJsonNode(v);
    }
}
