package dev.coffer.server.appraisal;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.rego.CompiledPolicy;
import dev.coffer.rego.EvalOptions;
import dev.coffer.rego.EvalResult;
import dev.coffer.rego.Rego;
import dev.coffer.rego.RegoException;
import dev.coffer.rego.RegoModule;
import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.SetValue;
import dev.coffer.rego.value.Value;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The Rego appraisal of verified SGX/TDX evidence (package {@code appraisal}, set rule
 * {@code deny}). Its input carries the token's claims, so an operator's policy can require
 * UpToDate, accept a listed advisory, or pin MRSIGNER. A broken policy denies.
 */
public final class DcapAppraisalPolicy {
    /** Where an operator's policy replaces the default. */
    public static final String OPERATOR_FILE = "dcap-appraisal.rego";
    private final CompiledPolicy compiled;
    private final String name;

    private DcapAppraisalPolicy(CompiledPolicy compiled, String name) {
        this.compiled = compiled;
        this.name = name;
    }

    public static DcapAppraisalPolicy compile(String name, String source) {
        try {
            CompiledPolicy p = Rego.compile(List.of(new RegoModule(name, source)));
            if (!p.packages().contains("appraisal")) {
                throw new IllegalArgumentException("appraisal policy " + name + " must be 'package appraisal', found " + p.packages());
            }
            return new DcapAppraisalPolicy(p, name);
        } catch (RegoException e) {
            throw new IllegalArgumentException("appraisal policy " + name + " does not compile: " + e.getMessage(), e);
        }
    }

    /** The operator's {@code serverDir/dcap-appraisal.rego} when present, else the built-in default. */
    public static DcapAppraisalPolicy load(Path serverDir) {
        Path own = serverDir.resolve(OPERATOR_FILE);
        try {
            if (Files.isRegularFile(own)) return compile(own.toString(), Files.readString(own));
            try (InputStream in = DcapAppraisalPolicy.class.getResourceAsStream("default-dcap-appraisal.rego")) {
                if (in == null) throw new IllegalStateException("default-dcap-appraisal.rego is missing from the server jar");
                return compile("default-dcap-appraisal.rego", new String(in.readAllBytes(), StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the appraisal policy " + own + ": " + e.getMessage(), e);
        }
    }

    /** {@code input}: {tee, debuggable, allow_debug, tcb_status, advisory_ids, claims}. */
    public AppraisalDecision appraise(ObjectNode input) {
        return RegoAppraisalPolicy.evaluateDeny(compiled, Json.fromJsonNode(input));
    }

    public String describe() {
        return "rego: " + name;
    }
}
