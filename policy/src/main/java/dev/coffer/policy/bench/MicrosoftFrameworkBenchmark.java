package dev.coffer.policy.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.policy.enforce.EnforcementRequest;
import dev.coffer.policy.enforce.EnforcerOptions;
import dev.coffer.policy.enforce.MetadataAction;
import dev.coffer.policy.enforce.PolicyState;
import dev.coffer.policy.enforce.RequestCodec;
import dev.coffer.rego.CompiledPolicy;
import dev.coffer.rego.DataStore;
import dev.coffer.rego.EvalOptions;
import dev.coffer.rego.Rego;
import dev.coffer.rego.RegoModule;
import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.Value;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The create_container decision of an ACI policy evaluated with Microsoft's own framework
 * (hcsshim's framework.rego and api.rego, v0 syntax, with the data hcsshim's Go preloads), by
 * Coffer's Rego engine: the workload of the Azure confidential-container guest. The host's
 * requests are derived from the policy itself, as an honest host would send them: every layer
 * of the runnable container with the most env rules mounted (mount_device, then mount_overlay, each allowed
 * decision's metadata applied), then the timed create_container with that container's
 * command, environment (one value per env rule), working directory and mounts. The deny
 * figure is the same request with an argument the policy does not list (an unlisted
 * environment variable is no denial: framework 0.3.0 drops it and allows).
 */
public final class MicrosoftFrameworkBenchmark {
    /**
     * @param cpuMicros thread CPU time per decision: unlike the wall-clock figures it does not grow
     *                  when other processes compete for the cores, so it is the one to compare
     *                  across runs on a shared machine
     * @param allocatedBytes bytes the decision allocates: the work it does, independent of the
     *                  machine's load, so an optimisation shows in it even where CPU time is noisy
     */
    public record Figures(String decision, boolean allowed, double p50Micros, double p99Micros, double meanMicros, double cpuMicros,
                          long allocatedBytes) {
    }

    public record Result(String policy, String container, int envVariables, int mounts, double compileMillis, List<Figures> decisions) {
        public String summary() {
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                    "Microsoft framework (%s), container %s (%d env variables, %d mounts); compiled in %.0f ms%n",
                    policy, container, envVariables, mounts, compileMillis));
            for (Figures f : decisions) {
                sb.append(String.format(Locale.ROOT, "%-28s p50 %8.1f us  p99 %8.1f us  mean %8.1f us  CPU %8.1f us  alloc %7.1f KB  allowed=%s%n", f.decision(),
                        f.p50Micros(), f.p99Micros(), f.meanMicros(), f.cpuMicros(), f.allocatedBytes() / 1024.0, f.allowed()));
            }
            return sb.toString().stripTrailing();
        }
    }

    static final EvalOptions OPTIONS = EvalOptions.DEFAULT.withMaxSteps(5_000_000).withTimeout(Duration.ofSeconds(5));
    static final String SANDBOX = EnforcerOptions.DEFAULT_SANDBOX_DIR;

    private MicrosoftFrameworkBenchmark() {
    }

    /**
     * @param frameworkDir hcsshim's securitypolicy directory: framework.rego, api.rego, data.json
     * @param policyFile   an ACI policy (az confcom's output)
     */
    public static Result run(Path frameworkDir, Path policyFile, int warmup, int iterations) {
        String framework = read(frameworkDir.resolve("framework.rego")).replace("@@FRAMEWORK_VERSION@@", "0.3.0");
        String api = read(frameworkDir.resolve("api.rego")).replace("@@API_VERSION@@", "0.10.0");
        long t0 = System.nanoTime();
        CompiledPolicy compiled = Rego.compile(List.of(new RegoModule("framework.rego", framework), new RegoModule("api.rego", api),
                new RegoModule(policyFile.getFileName().toString(), withCommands(read(policyFile)))), Rego.Options.DEFAULT.withSyntax(Rego.Syntax.V0));
        double compileMillis = (System.nanoTime() - t0) / 1e6;
        ObjectNode preloaded;
        try {
            preloaded = (ObjectNode) Json.MAPPER.readTree(read(frameworkDir.resolve("data.json")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        preloaded.remove("metadata");
        JsonNode containers = Json.toJsonNode(compiled.evalRef("data.policy.containers", Value.object(java.util.Map.of()), new DataStore(), OPTIONS).value());
        // the runnable container with the most env rules: env matching is where the framework spends its time
        JsonNode container = null;
        for (JsonNode c : containers) {
            if (!c.path("command").isNull() && c.path("command").size() > 0
                    && (container == null || c.path("env_rules").size() > container.path("env_rules").size())) {
                container = c;
            }
        }
        if (container == null) throw new IllegalArgumentException(policyFile + ": no container with a command; nothing can be created");
        Host host = new Host(compiled, preloaded);
        List<String> paths = new ArrayList<>();
        int i = 0;
        for (JsonNode layer : container.get("layers")) {
            String target = "/run/coffer/layers/c0-" + i++;
            host.step(new EnforcementRequest.MountDevice(target, layer.asText()));
            paths.add(target);
        }
        host.step(new EnforcementRequest.MountOverlay("c0", paths.reversed(), "/run/coffer/rootfs/c0"));
        EnforcementRequest.CreateContainer create = honestCreate("c0", container, preloaded);
        List<String> badArgs = new ArrayList<>(create.argList());
        badArgs.add("--evil");
        EnforcementRequest.CreateContainer bad = new EnforcementRequest.CreateContainer(create.containerID(), badArgs, create.envList(),
                create.workingDir(), create.mounts(), create.privileged(), create.noNewPrivileges(), create.user(), create.groups(),
                create.umask(), create.capabilities(), create.seccompProfileSHA256(), create.devices(), create.hostname());
        List<Figures> figures = List.of(host.time("create_container allow", create, warmup, iterations),
                host.time("create_container deny (args)", bad, warmup, iterations));
        return new Result(policyFile.toString(), "c0 " + container.get("command"), create.envList().size(), create.mounts().size(),
                compileMillis, figures);
    }

    /** The framework's state as hcsshim keeps it: allowed decisions' metadata actions applied. */
    private static final class Host {
        final CompiledPolicy compiled;
        final ObjectNode preloaded;
        PolicyState state = PolicyState.initial();

        Host(CompiledPolicy compiled, ObjectNode preloaded) {
            this.compiled = compiled;
            this.preloaded = preloaded;
        }

        DataStore data() {
            ObjectNode d = preloaded.deepCopy();
            d.set("metadata", state.toJson());
            return new DataStore(Json.fromJsonNode(d));
        }

        Value input(EnforcementRequest r) {
            ObjectNode in = RequestCodec.toInput(r);
            in.put("rule", r.rule());
            if (r instanceof EnforcementRequest.CreateContainer) in.put("sandboxDir", SANDBOX).put("hugePagesDir", SANDBOX + "/hugepages");
            return Json.fromJsonNode(in);
        }

        Value decide(EnforcementRequest r, Value input, DataStore data) {
            return compiled.evalRef("data.policy." + r.rule(), input, data, OPTIONS).value();
        }

        void step(EnforcementRequest r) {
            Value v = decide(r, input(r), data());
            JsonNode result = v == null ? null : Json.toJsonNode(v);
            if (result == null || !result.path("allowed").asBoolean(false)) {
                throw new IllegalStateException(r.rule() + " was denied by the framework; the benchmark's host requests do not fit this policy");
            }
            List<MetadataAction> delta = new ArrayList<>();
            result.path("metadata").forEach(a -> delta.add(MetadataAction.fromJson(a)));
            state = state.apply(delta);
        }

        Figures time(String name, EnforcementRequest r, int warmup, int iterations) {
            Value input = input(r);
            DataStore data = data();
            boolean allowed = false;
            for (int i = 0; i < warmup; i++) decide(r, input, data);
            long[] ns = new long[iterations];
            long total = 0;
            com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
            long cpu0 = mx.getCurrentThreadCpuTime();
            long bytes0 = mx.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < iterations; i++) {
                long t = System.nanoTime();
                Value v = decide(r, input, data);
                ns[i] = System.nanoTime() - t;
                total += ns[i];
                // read in place: converting the decision to JSON here would be timed with it
                allowed = v instanceof ObjectValue o && Value.of(true).equals(o.get("allowed"));
            }
            long cpu = mx.getCurrentThreadCpuTime() - cpu0;
            long bytes = mx.getCurrentThreadAllocatedBytes() - bytes0;
            Arrays.sort(ns);
            return new Figures(name, allowed, ns[iterations / 2] / 1e3, ns[(int) (iterations * 0.99)] / 1e3, total / 1e3 / iterations,
                    cpu / 1e3 / iterations, bytes / iterations);
        }
    }

    // requests an honest host sends for a policy container (as AciOracleTest derives them)

    static EnforcementRequest.CreateContainer honestCreate(String id, JsonNode c, JsonNode preloaded) {
        return new EnforcementRequest.CreateContainer(id, strings(c.get("command")), honestEnv(c), c.get("working_dir").asText(),
                honestMounts(c, preloaded), false, c.get("no_new_privileges").asBoolean(), idName(c.path("user").path("user_idname")), groups(c),
                c.path("user").path("umask").asText("0022"), caps(c.get("capabilities")), c.get("seccomp_profile_sha256").asText(), List.of());
    }

    static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        if (array != null) array.forEach(n -> out.add(n.asText()));
        return out;
    }

    /** A value for each env rule: the string itself, or a candidate the rule's pattern matches. */
    static List<String> honestEnv(JsonNode container) {
        Set<String> env = new LinkedHashSet<>();
        for (JsonNode rule : container.path("env_rules")) {
            String pattern = rule.get("pattern").asText();
            if (rule.get("strategy").asText().equals("string")) {
                env.add(pattern);
                continue;
            }
            String candidate = pattern.replace("(?i)", "").replace("(E)?", "E").replaceAll("\\(([A-Za-z_]+)\\)", "$1")
                    .replace(".+", "x1").replace(".*", "").replace("\\.", ".").replace("^", "").replace("$", "");
            if (Pattern.compile(pattern).matcher(candidate).matches()) env.add(candidate);
        }
        return List.copyOf(env);
    }

    /** The container's policy mounts with concrete sources, then the CRI mounts every container gets (data.defaultMounts). */
    static List<EnforcementRequest.Mount> honestMounts(JsonNode container, JsonNode preloaded) {
        List<EnforcementRequest.Mount> out = new ArrayList<>();
        for (JsonNode m : container.path("mounts")) {
            String source = m.get("source").asText();
            if (source.startsWith("sandbox://")) source = SANDBOX + source.substring("sandbox://".length()).replace(".+", "vol-1");
            out.add(new EnforcementRequest.Mount(m.get("destination").asText(), source, m.get("type").asText(), strings(m.get("options"))));
        }
        for (JsonNode m : preloaded.path("defaultMounts")) {
            out.add(new EnforcementRequest.Mount(m.get("destination").asText(), m.get("source").asText(), m.get("type").asText(), strings(m.get("options"))));
        }
        return out;
    }

    static EnforcementRequest.Capabilities caps(JsonNode c) {
        return new EnforcementRequest.Capabilities(strings(c.get("bounding")), strings(c.get("effective")),
                strings(c.get("inheritable")), strings(c.get("permitted")), strings(c.get("ambient")));
    }

    static EnforcementRequest.IdName idName(JsonNode rule) {
        String pattern = rule.path("pattern").asText();
        return switch (rule.path("strategy").asText("any")) {
            case "id" -> new EnforcementRequest.IdName(pattern, "g" + pattern);
            case "name" -> new EnforcementRequest.IdName("1000", pattern);
            default -> new EnforcementRequest.IdName("0", "root");
        };
    }

    static List<EnforcementRequest.IdName> groups(JsonNode c) {
        List<EnforcementRequest.IdName> out = new ArrayList<>();
        for (JsonNode g : c.path("user").path("group_idnames")) out.add(idName(g));
        return out.isEmpty() ? List.of(new EnforcementRequest.IdName("0", "root")) : out;
    }

    /**
     * az confcom writes {@code "command": null} for an image whose command it could not read (the
     * samples' images are in a registry not reachable here); such a container can never be
     * created, so the benchmark gives it a command, as AciOracleTest does.
     */
    static String withCommands(String policy) {
        return policy.replace("\"command\":null", "\"command\":[\"/bin/app\",\"--serve\"]");
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(p + ": " + e.getMessage(), e);
        }
    }

    /** Developer entry point: FRAMEWORK_DIR POLICY [iterations]. */
    public static void main(String[] args) {
        int n = args.length > 2 ? Integer.parseInt(args[2]) : 5000;
        System.out.println(run(Path.of(args[0]), Path.of(args[1]), n, n).summary());
    }
}
