package dev.coffer.policy.gen;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.policy.spec.GroupSpec;
import dev.coffer.rego.CompiledPolicy;
import dev.coffer.rego.DataStore;
import dev.coffer.rego.EvalOptions;
import dev.coffer.rego.EvalResult;
import dev.coffer.rego.Rego;
import dev.coffer.rego.RegoException;
import dev.coffer.rego.RegoModule;
import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.Value;

import java.util.ArrayList;
import java.util.List;

/**
 * The key channel's pins as a policy states them ({@code key_channel_pins}, written by
 * {@link RegoPolicyWriter} from the spec's {@code skr.pins}): the agent reads them from the very
 * policy whose SHA-256 is HOST_DATA, so the host cannot swap them without changing what the
 * sandbox attests to. A policy without the rule pins nothing.
 */
public final class KeyChannelPins {
    /** The rule's name in a policy. */
    public static final String RULE = "key_channel_pins";

    private KeyChannelPins() {}

    /**
     * The pins of {@code policyText}, evaluated as Rego ({@code data.policy.key_channel_pins}).
     *
     * @throws IllegalArgumentException when the rule is there but not a list of {endpoint, tls_certificate, signing_keys}
     */
    public static List<GroupSpec.EndpointPin> read(String policyText) {
        if (!policyText.contains(RULE)) return List.of();
        JsonNode value;
        try {
            CompiledPolicy compiled = Rego.compile(List.of(new RegoModule("policy.rego", policyText)),
                    Rego.Options.DEFAULT.withSyntax(Rego.Syntax.V0));
            EvalResult r = compiled.evalRef("data.policy." + RULE, Value.object(java.util.Map.of()), new DataStore(), EvalOptions.DEFAULT);
            if (r.value() == null) return List.of();
            value = Json.toJsonNode(r.value());
        } catch (RegoException e) {
            throw new IllegalArgumentException("the policy's " + RULE + " cannot be evaluated: " + e.getMessage(), e);
        }
        return fromPolicyValue(value);
    }

    /**
     * The pins from the rule's value as the policy's own engine evaluated it (null: no rule), so
     * the agent takes them from the very text it bound to HOST_DATA, never from a second read.
     */
    public static List<GroupSpec.EndpointPin> fromPolicyValue(JsonNode value) {
        if (value == null || value.isMissingNode() || value.isNull()) return List.of();
        if (!value.isArray()) throw new IllegalArgumentException("expected the policy's " + RULE + " to be a list, found " + value.getNodeType());
        List<GroupSpec.EndpointPin> out = new ArrayList<>();
        for (JsonNode p : value) {
            if (!p.path("endpoint").isTextual() || !p.path("signing_keys").isArray()) {
                throw new IllegalArgumentException("expected each of the policy's " + RULE + " to have endpoint and signing_keys, found " + p);
            }
            List<String> keys = new ArrayList<>();
            for (JsonNode k : p.path("signing_keys")) keys.add(k.asText());
            out.add(new GroupSpec.EndpointPin(p.path("endpoint").asText(), p.path("tls_certificate").asText(""), keys));
        }
        return out;
    }
}
