package dev.coffer.rego.conformance;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.coffer.rego.CompiledPolicy;
import dev.coffer.rego.DataStore;
import dev.coffer.rego.EvalOptions;
import dev.coffer.rego.EvalResult;
import dev.coffer.rego.Rego;
import dev.coffer.rego.RegoException;
import dev.coffer.rego.RegoModule;
import dev.coffer.rego.builtins.Builtin;
import dev.coffer.rego.builtins.Builtins;
import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.Value;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.stream.Stream;

/**
 * Runs OPA's YAML conformance cases in-process with OPA's comparison rules: result rows
 * compared as a set, numbers exactly, error messages by substring and codes exactly,
 * {@code strict_error}, {@code sort_bindings}, {@code input_term}. A case is skipped only
 * when it calls a built-in this engine does not implement.
 */
public final class ConformanceRunner {
    public enum Outcome { PASS, FAIL, SKIP }

    public record CaseResult(String family, String file, int index, String note, Outcome outcome, String reason) {
    }

    /** @param syntax the syntax the cases' modules were parsed as */
    public record Report(Rego.Syntax syntax, List<CaseResult> cases) {
        public long count(Outcome o) {
            return cases.stream().filter(c -> c.outcome() == o).count();
        }

        /** Per-family table and the final "N passed, M failed, K skipped" line. */
        public void print(PrintStream out, boolean listFailures) {
            out.println("syntax: " + syntax.name().toLowerCase(java.util.Locale.ROOT) + " (modules without 'import rego.v1' parse as "
                    + (syntax == Rego.Syntax.V0 ? "OPA 0.x modules" : "OPA 1.x modules") + ")");
            Map<String, long[]> fam = new TreeMap<>();
            for (CaseResult c : cases) fam.computeIfAbsent(c.family(), k -> new long[3])[c.outcome().ordinal()]++;
            out.printf("%-40s %7s %7s %7s%n", "family", "passed", "failed", "skipped");
            for (Map.Entry<String, long[]> e : fam.entrySet())
                out.printf("%-40s %7d %7d %7d%n", e.getKey(), e.getValue()[0], e.getValue()[1], e.getValue()[2]);
            Map<String, Integer> skipReasons = new TreeMap<>();
            for (CaseResult c : cases) if (c.outcome() == Outcome.SKIP) skipReasons.merge(c.reason(), 1, Integer::sum);
            for (Map.Entry<String, Integer> e : skipReasons.entrySet()) out.println("skip: " + e.getKey() + " (" + e.getValue() + " cases)");
            if (listFailures) {
                for (CaseResult c : cases)
                    if (c.outcome() == Outcome.FAIL) out.println("FAIL " + c.file() + "#" + c.index() + " " + c.note() + ": " + c.reason());
            }
            out.println(count(Outcome.PASS) + " passed, " + count(Outcome.FAIL) + " failed, " + count(Outcome.SKIP) + " skipped");
        }
    }

    private static final ObjectMapper YAML = YAMLMapper.builder(new YAMLFactory())
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
            .build();
    private static final java.util.regex.Pattern UNDEFINED_FN = java.util.regex.Pattern.compile("undefined function ([\\w.]+)");

    private final Rego.Syntax syntax;

    /**
     * Built-ins OPA's own test harness registers for these cases and no policy sees in
     * production: test.sleep (the "time caching" case checks time.now_ns is fixed across a sleep).
     */
    static final Map<String, Builtin> TEST_BUILTINS = Map.of("test.sleep", new Builtin("test.sleep", 1, (ctx, a) -> {
        Value ns = Builtins.get("time.parse_duration_ns").fn().apply(ctx, a);
        try {
            Thread.sleep(java.time.Duration.ofNanos(((dev.coffer.rego.value.NumberValue) ns).value().longValueExact()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return Value.nullValue();
    }, true));

    public ConformanceRunner(Rego.Syntax syntax) {
        this.syntax = syntax;
    }

    /**
     * The syntax OPA's own layout implies for a case directory: its cases live under
     * {@code testdata/v0} (OPA 0.x modules) and {@code testdata/v1}, so a directory with a
     * {@code v0} component holds v0 cases; anything else is v1, OPA 1.x's default.
     */
    public static Rego.Syntax syntaxOf(Path dir) {
        for (Path part : dir.toAbsolutePath().normalize()) if (part.toString().equals("v0")) return Rego.Syntax.V0;
        return Rego.Syntax.V1;
    }

    /** Runs every *.yaml / *.yml file below {@code dir}; the family is the first directory level. */
    public Report run(Path dir) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
        }
        if (files.isEmpty()) throw new IOException("no *.yaml test files under " + dir + "; point at OPA's v1/test/cases/testdata/v1 (or v0) directory");
        List<CaseResult> out = new ArrayList<>();
        for (Path f : files) {
            Path rel = dir.relativize(f);
            String family = rel.getNameCount() > 1 ? rel.getName(0).toString() : "(root)";
            JsonNode doc = YAML.readTree(f.toFile());
            JsonNode cases = doc == null ? null : doc.get("cases");
            if (cases == null) continue;
            for (int i = 0; i < cases.size(); i++) {
                out.add(runCase(family, rel.toString(), i, cases.get(i)));
            }
        }
        return new Report(syntax, out);
    }

    private CaseResult runCase(String family, String file, int index, JsonNode c) {
        String note = c.path("note").asText("");
        long t0 = System.nanoTime();
        try {
            String reason = check(c);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            if (ms > 500 && Boolean.getBoolean("coffer.conformance.slow")) System.err.println("slow case " + file + "#" + index + ": " + ms + " ms");
            return new CaseResult(family, file, index, note, reason == null ? Outcome.PASS : Outcome.FAIL, reason);
        } catch (Skip s) {
            return new CaseResult(family, file, index, note, Outcome.SKIP, s.getMessage());
        } catch (RuntimeException | StackOverflowError e) {
            return new CaseResult(family, file, index, note, Outcome.FAIL, "crash: " + e);
        }
    }

    private static final class Skip extends RuntimeException {
        Skip(String msg) {
            super(msg, null, false, false);
        }
    }

    /** Returns null when the case passes, else why it failed. */
    private String check(JsonNode c) {
        List<RegoModule> modules = new ArrayList<>();
        JsonNode mods = c.get("modules");
        if (mods != null) for (int i = 0; i < mods.size(); i++) modules.add(new RegoModule("test-" + i + ".rego", mods.get(i).asText()));
        String wantError = c.hasNonNull("want_error") ? c.get("want_error").asText() : null;
        String wantCode = c.hasNonNull("want_error_code") ? c.get("want_error_code").asText() : null;
        boolean expectError = wantError != null || wantCode != null;
        boolean strict = c.path("strict_error").asBoolean(false);
        EvalOptions opts = EvalOptions.DEFAULT.withStrictBuiltinErrors(strict).withTimeout(Duration.ofSeconds(5));
        List<Map<String, Value>> rows;
        try {
            CompiledPolicy policy = Rego.compile(modules, new Rego.Options(syntax, TEST_BUILTINS));
            Value input = null;
            if (c.hasNonNull("input_term")) {
                EvalResult r = Rego.compile(List.of()).evalRef(c.get("input_term").asText(), null, null, opts);
                input = r.value();
            } else if (c.has("input")) {
                input = Json.fromJsonNode(c.get("input"));
            }
            DataStore data = c.hasNonNull("data") ? new DataStore(Json.fromJsonNode(c.get("data"))) : new DataStore();
            rows = policy.eval(c.path("query").asText(), input, data, opts).rows();
        } catch (RegoException e) {
            Matcher m = UNDEFINED_FN.matcher(e.getMessage());
            if (m.find() && Builtins.get(m.group(1)) == null && OpaBuiltins.isKnown(m.group(1)))
                throw new Skip("built-in " + m.group(1) + " is not implemented");
            if (!expectError) {
                return "unexpected error: " + e.getMessage();
            }
            if (wantCode != null && !wantCode.equals(e.code()))
                return "want error code " + wantCode + ", got " + e.code() + " (" + e.getMessage() + ")";
            if (wantError != null && !e.getMessage().contains(wantError))
                return "want error containing '" + wantError + "', got '" + e.getMessage() + "'";
            return null;
        }
        if (expectError) return "want error " + (wantCode != null ? wantCode : "") + " '" + (wantError == null ? "" : wantError) + "', got result " + rows;
        JsonNode want = c.get("want_result");
        boolean sort = c.path("sort_bindings").asBoolean(false);
        Set<Map<String, Value>> got = new HashSet<>();
        for (Map<String, Value> r : rows) got.add(normalize(r, sort));
        Set<Map<String, Value>> exp = new HashSet<>();
        if (want != null && want.isArray()) {
            for (JsonNode row : want) {
                Map<String, Value> m = new LinkedHashMap<>();
                for (Iterator<Map.Entry<String, JsonNode>> it = row.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    m.put(e.getKey(), Json.fromJsonNode(e.getValue()));
                }
                exp.add(normalize(m, sort));
            }
        } else if (want == null) {
            return rows.isEmpty() ? null : "want no result, got " + rows;
        }
        if (!got.equals(exp)) return "want " + exp + ", got " + got;
        return null;
    }

    private static Map<String, Value> normalize(Map<String, Value> row, boolean sort) {
        Map<String, Value> out = new TreeMap<>();
        for (Map.Entry<String, Value> e : row.entrySet()) {
            Value v = Json.fromJsonNode(Json.toJsonNode(e.getValue()));
            if (sort && v instanceof ArrayValue a) {
                ArrayList<Value> items = new ArrayList<>(a.items());
                items.sort(Value.ORDER);
                v = Value.wrapList(items);
            }
            out.put(e.getKey(), v);
        }
        return out;
    }

}
