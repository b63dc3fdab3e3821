package dev.coffer.server.appraisal;

import dev.coffer.rego.CompiledPolicy;
import dev.coffer.rego.EvalOptions;
import dev.coffer.rego.EvalResult;
import dev.coffer.rego.Rego;
import dev.coffer.rego.RegoException;
import dev.coffer.rego.RegoModule;
import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.BooleanValue;
import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.SetValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * An appraisal policy written in Rego: package {@code appraisal}, a set rule {@code deny} of
 * {@code {rule, reason}} objects; evidence is accepted when the set is empty. The default
 * ({@code default-appraisal.rego}) encodes the rules of {@link DefaultAppraisalPolicy}; an
 * operator can supply their own module.
 */
public final class RegoAppraisalPolicy implements AppraisalPolicy {
    private static final EvalOptions OPTIONS = EvalOptions.DEFAULT.withTimeout(Duration.ofSeconds(2));
    private final CompiledPolicy compiled;
    private final String name;

    private RegoAppraisalPolicy(CompiledPolicy compiled, String name) {
        this.compiled = compiled;
        this.name = name;
    }

    /** Compiles a policy; a syntax or compile error is an {@link IllegalArgumentException} naming the location. */
    public static RegoAppraisalPolicy compile(String name, String source) {
        try {
            CompiledPolicy p = Rego.compile(List.of(new RegoModule(name, source)));
            if (!p.packages().contains("appraisal")) {
                throw new IllegalArgumentException("appraisal policy " + name + " must be 'package appraisal', found " + p.packages());
            }
            return new RegoAppraisalPolicy(p, name);
        } catch (RegoException e) {
            throw new IllegalArgumentException("appraisal policy " + name + " does not compile: " + e.getMessage(), e);
        }
    }

    public static RegoAppraisalPolicy defaultPolicy() {
        try (InputStream in = RegoAppraisalPolicy.class.getResourceAsStream("default-appraisal.rego")) {
            if (in == null) throw new IllegalStateException("default-appraisal.rego is missing from the server jar");
            return compile("default-appraisal.rego", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("cannot read default-appraisal.rego", e);
        }
    }

    @Override
    public AppraisalDecision appraise(AppraisalInput in) {
        // Built as Rego values directly: going through a Jackson tree cost as much as the evaluation.
        TreeMap<Value, Value> input = new TreeMap<>(Value.ORDER);
        input.put(new StringValue("tee"), new StringValue(in.tee()));
        input.put(new StringValue("debuggable"), in.debuggable() ? BooleanValue.TRUE : BooleanValue.FALSE);
        input.put(new StringValue("measurement"), new StringValue(in.measurementHex()));
        input.put(new StringValue("host_data"), new StringValue(in.hostDataHex()));
        input.put(new StringValue("allow_debug"), in.allowDebug() ? BooleanValue.TRUE : BooleanValue.FALSE);
        List<Value> references = new ArrayList<>(in.referenceMeasurements().size());
        for (String m : in.referenceMeasurements()) references.add(new StringValue(m));
        input.put(new StringValue("reference_measurements"), new ArrayValue(List.copyOf(references)));
        input.put(new StringValue("vmpl"), dev.coffer.rego.value.NumberValue.of(in.vmpl()));
        input.put(new StringValue("smt"), in.smt() ? BooleanValue.TRUE : BooleanValue.FALSE);
        input.put(new StringValue("migration_agent"), in.migrationAgent() ? BooleanValue.TRUE : BooleanValue.FALSE);
        input.put(new StringValue("measurement_source"), new StringValue(in.measurementSource()));
        // null rather than absent, so `input.compliance_status != "..."` holds for an unendorsed guest
        input.put(new StringValue("compliance_status"), in.complianceStatus() == null ? dev.coffer.rego.value.NullValue.INSTANCE
                : new StringValue(in.complianceStatus()));
        return evaluateDeny(compiled, ObjectValue.wrap(input));
    }

    /**
     * {@code data.appraisal.deny} of {@code compiled} on {@code input}: accepted when the set is
     * empty, else denied with its rules and reasons. A broken policy denies: failing open would
     * issue tokens nobody appraised. Shared by every appraisal written in Rego.
     */
    static AppraisalDecision evaluateDeny(CompiledPolicy compiled, Value input) {
        EvalResult r;
        try {
            r = compiled.evalRef("data.appraisal.deny", input, null, OPTIONS);
        } catch (RegoException e) {
            return AppraisalDecision.deny("policy_error", "the appraisal policy failed: " + e.getMessage());
        }
        if (r.value() == null) return AppraisalDecision.accept();
        if (!(r.value() instanceof SetValue set)) {
            return AppraisalDecision.deny("policy_error", "data.appraisal.deny must be a set, found " + r.value().typeName());
        }
        if (set.size() == 0) return AppraisalDecision.accept();
        List<String> rules = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        for (Value v : set.items()) {
            var node = Json.toJsonNode(v);
            rules.add(node.path("rule").asText("unnamed"));
            reasons.add(node.path("reason").asText(node.toString()));
        }
        return AppraisalDecision.deny(String.join(",", rules), String.join("; ", reasons));
    }

    @Override
    public String describe() {
        return "rego: " + name;
    }
}
