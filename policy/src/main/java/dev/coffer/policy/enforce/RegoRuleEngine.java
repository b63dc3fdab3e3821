package dev.coffer.policy.enforce;

import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.rego.CompiledPolicy;
import dev.coffer.rego.DataStore;
import dev.coffer.rego.EvalOptions;
import dev.coffer.rego.Rego;
import dev.coffer.rego.RegoException;
import dev.coffer.rego.RegoModule;
import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.Value;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@link RuleEngine} on Coffer's Rego engine: framework + policy compiled once, state passed as data.metadata. */
final class RegoRuleEngine implements RuleEngine {
    /**
     * Generous for real policies (a create_container on a 10-container policy takes a few
     * thousand steps) yet bounded, so a hostile input cannot stall the agent.
     */
    static final EvalOptions OPTIONS = EvalOptions.DEFAULT.withMaxSteps(5_000_000).withTimeout(Duration.ofSeconds(5));

    private final CompiledPolicy compiled;
    // the data store for the last state seen; states are immutable, so a version identifies one
    private PolicyState cachedState;
    private DataStore cachedStore;

    private RegoRuleEngine(CompiledPolicy compiled) {
        this.compiled = compiled;
    }

    /**
     * Recently compiled policies by text hash: compiling takes far longer than a decision, and
     * a sandbox (or a test suite, or the simulator) loads the same policy again and again.
     * Compiled policies are immutable, so sharing them is safe; the state is per engine.
     */
    private static final int CACHE_SIZE = 4;
    private static final Map<String, CompiledPolicy> CACHE = new LinkedHashMap<>(8, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, CompiledPolicy> eldest) {
            return size() > CACHE_SIZE;
        }
    };

    static RegoRuleEngine compile(String frameworkText, String policyText) {
        String key = GeneratedPolicy.sha256Hex(frameworkText) + GeneratedPolicy.sha256Hex(policyText);
        CompiledPolicy cached;
        synchronized (CACHE) {
            cached = CACHE.get(key);
        }
        if (cached != null) {
            return new RegoRuleEngine(cached);
        }
        RegoRuleEngine engine = compileFresh(frameworkText, policyText);
        synchronized (CACHE) {
            CACHE.put(key, engine.compiled);
        }
        return engine;
    }

    private static RegoRuleEngine compileFresh(String frameworkText, String policyText) {
        CompiledPolicy compiled;
        try {
            // modules without `import rego.v1` are v0, like the ACI policies already deployed
            compiled = Rego.compile(List.of(new RegoModule("framework.rego", frameworkText),
                    new RegoModule("policy.rego", policyText)), Rego.Options.DEFAULT.withSyntax(Rego.Syntax.V0));
        } catch (RegoException e) {
            throw new PolicyLoadException("the policy does not compile: " + e.getMessage(), e);
        }
        List<String> packages = compiled.packages();
        if (packages.size() != 2 || !packages.get(1).equals("policy")) {
            throw new PolicyLoadException("the policy must be a Rego module with `package policy`: found package "
                    + (packages.size() > 1 ? packages.get(1) : "?") + "; generate one with `coffer policy gen`", null);
        }
        return new RegoRuleEngine(compiled);
    }

    @Override
    public synchronized Value evaluate(String ref, Value input, PolicyState state) {
        return compiled.evalRef(ref, input, store(state), OPTIONS).value();
    }

    private DataStore store(PolicyState state) {
        if (state != cachedState) {
            cachedStore = new DataStore(Value.object(Map.of(Value.of("metadata"), Json.fromJsonNode(state.view()))));
            cachedState = state;
        }
        return cachedStore;
    }
}
