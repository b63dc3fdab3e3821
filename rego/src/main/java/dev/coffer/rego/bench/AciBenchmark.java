package dev.coffer.rego.bench;

import dev.coffer.rego.CompiledPolicy;
import dev.coffer.rego.DataStore;
import dev.coffer.rego.EvalOptions;
import dev.coffer.rego.EvalResult;
import dev.coffer.rego.Rego;
import dev.coffer.rego.RegoModule;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.Value;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Benchmark on a generated confidential-container policy shaped like Azure's: N containers,
 * each with layers, env rules (string and re2) and mounts, plus framework rules that check
 * create_container and mount_overlay requests. Reports µs per decision (p50/p99),
 * allocated bytes per decision and parse+compile time.
 */
public final class AciBenchmark {
    public record Figures(String decision, double p50Micros, double p99Micros, double meanMicros, long allocatedBytesPerOp,
                          boolean allowed) {
    }

    /**
     * Parse+compile times: {@code freshJvm*} is the first compile in a new JVM that has loaded
     * nothing else (median of {@link #FRESH_RUNS} child processes, -1 when no child could be
     * started); {@code firstInProcess*} is the first compile in this JVM after generating the
     * policy; {@code warmCompileP50Millis} is the median of {@link #WARM_COMPILES} compiles
     * timed after as many untimed ones. CPU times are of the compiling thread (the machine may be shared).
     */
    public record Report(double freshJvmCompileMillis, double freshJvmCompileCpuMillis, double firstInProcessCompileMillis,
                         double firstInProcessCompileCpuMillis, double warmCompileP50Millis, double warmCompileMinMillis,
                         List<Figures> decisions, int policyBytes) {
    }

    static final int FRESH_RUNS = 3;
    static final int WARM_COMPILES = 50;

    private AciBenchmark() {
    }

    static final String FRAMEWORK = """
            default create_container := {"allowed": false}

            default mount_overlay := {"allowed": false}

            mount_overlay := {"allowed": true, "container_ids": ids} if {
                ids := [c.id | some c in containers; layers_ok(c.layers, input.layerPaths)]
                count(ids) > 0
            }

            layers_ok(layers, paths) if {
                count(layers) == count(paths)
                every i, layer in layers {
                    paths[(count(paths) - 1) - i] == layer
                }
            }

            create_container := {"allowed": true, "env_list": null, "allow_stdio_access": c.allow_stdio_access} if {
                some c in containers
                command_ok(c.command, input.argList)
                env_ok(c.env_rules, input.envList)
                input.workingDir == c.working_dir
                mounts_ok(c.mounts, input.mounts)
                privileged_ok(c, input)
            }

            command_ok(command, args) if {
                count(command) == count(args)
                every i, arg in args {
                    command[i] == arg
                }
            }

            env_ok(rules, env_list) if {
                every env in env_list {
                    some rule in rules
                    env_matches(rule, env)
                }
                every rule in rules {
                    not rule.required
                } 
            } else if {
                every env in env_list {
                    some rule in rules
                    env_matches(rule, env)
                }
                every rule in rules {
                    required_present(rule, env_list)
                }
            }

            required_present(rule, env_list) if not rule.required

            required_present(rule, env_list) if {
                rule.required
                some env in env_list
                env_matches(rule, env)
            }

            env_matches(rule, env) if {
                rule.strategy == "string"
                rule.pattern == env
            }

            env_matches(rule, env) if {
                rule.strategy == "re2"
                regex.match(rule.pattern, env)
            }

            mounts_ok(policy_mounts, mounts) if {
                every m in mounts {
                    some pm in policy_mounts
                    mount_matches(pm, m)
                }
            }

            mount_matches(pm, m) if {
                pm.destination == m.destination
                pm.type == m.type
                regex.match(pm.source, m.source)
                every opt in pm.options {
                    opt in m.options
                }
            }

            privileged_ok(c, req) if {
                not c.allow_elevated
                not req.privileged
            }

            privileged_ok(c, req) if c.allow_elevated
            """;

    static String hex(int container, int layer) {
        StringBuilder sb = new StringBuilder();
        long seed = container * 1_000_003L + layer * 7919L + 17;
        while (sb.length() < 64) {
            seed = seed * 6364136223846793005L + 1442695040888963407L;
            sb.append(String.format("%016x", seed));
        }
        return sb.substring(0, 64);
    }

    static Map<String, Object> container(int i) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("id", "container-" + i);
        c.put("name", "app-" + i);
        List<String> layers = new ArrayList<>();
        for (int l = 0; l < 5; l++) layers.add(hex(i, l));
        c.put("layers", layers);
        c.put("command", List.of("/bin/app-" + i, "--config", "/etc/app/config.yaml", "--port", Integer.toString(8000 + i)));
        List<Map<String, Object>> env = new ArrayList<>();
        for (int e = 0; e < 20; e++) {
            boolean re2 = e % 2 == 1;
            env.add(Map.of("pattern", re2 ? "VAR_" + e + "_" + i + "=[a-z0-9]{1,32}" : "CONST_" + e + "_" + i + "=value" + e,
                    "strategy", re2 ? "re2" : "string", "required", false));
        }
        c.put("env_rules", env);
        c.put("working_dir", "/srv/app-" + i);
        List<Map<String, Object>> mounts = new ArrayList<>();
        for (int m = 0; m < 5; m++) {
            mounts.add(Map.of("destination", "/mnt/data" + m, "source", "sandbox:///tmp/atlas/emptydir/.+", "type", "bind",
                    "options", List.of("rbind", "rshared", m % 2 == 0 ? "rw" : "ro")));
        }
        c.put("mounts", mounts);
        c.put("allow_elevated", false);
        c.put("allow_stdio_access", true);
        return c;
    }

    /** The generated policy text: data tables as Rego plus the framework rules. */
    public static String policy(int containers) {
        List<Object> cs = new ArrayList<>();
        for (int i = 0; i < containers; i++) cs.add(container(i));
        return "package policy\n\nimport rego.v1\n\napi_version := \"0.10.0\"\n\nframework_version := \"0.2.3\"\n\ncontainers := "
                + Value.fromJava(cs).toJson() + "\n\n" + FRAMEWORK;
    }

    static Value createInput(int i) {
        Map<String, Object> c = container(i);
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("containerID", "abc" + i);
        in.put("argList", c.get("command"));
        List<String> env = new ArrayList<>();
        for (int e = 0; e < 20; e++) env.add(e % 2 == 1 ? "VAR_" + e + "_" + i + "=x" + e + "abc" : "CONST_" + e + "_" + i + "=value" + e);
        in.put("envList", env.subList(0, 10));
        in.put("workingDir", c.get("working_dir"));
        List<Map<String, Object>> mounts = new ArrayList<>();
        for (int m = 0; m < 5; m++) {
            mounts.add(Map.of("destination", "/mnt/data" + m, "source", "sandbox:///tmp/atlas/emptydir/vol" + m, "type", "bind",
                    "options", List.of("rbind", "rshared", m % 2 == 0 ? "rw" : "ro")));
        }
        in.put("mounts", mounts);
        in.put("privileged", false);
        return Value.fromJava(in);
    }

    static Value overlayInput(int i) {
        @SuppressWarnings("unchecked")
        List<String> layers = new ArrayList<>((List<String>) container(i).get("layers"));
        java.util.Collections.reverse(layers);
        return Value.fromJava(Map.of("containerID", "abc" + i, "layerPaths", layers));
    }

    /** Compiles the policy and times both decisions for {@code iterations} evaluations each. */
    public static Report run(int containers, int warmup, int iterations) {
        String src = policy(containers);
        double[] fresh = freshJvmCompile(src);
        java.lang.management.ThreadMXBean tmx = ManagementFactory.getThreadMXBean();
        long c0 = tmx.getCurrentThreadCpuTime();
        long t0 = System.nanoTime();
        CompiledPolicy p = Rego.compile(List.of(new RegoModule("policy.rego", src)));
        double first = (System.nanoTime() - t0) / 1e6;
        double firstCpu = (tmx.getCurrentThreadCpuTime() - c0) / 1e6;
        // untimed compiles first, so that "warm" means JIT-compiled, as for a long-running agent
        for (int i = 0; i < WARM_COMPILES; i++) Rego.compile(List.of(new RegoModule("policy.rego", src)));
        double[] warm = new double[WARM_COMPILES];
        for (int i = 0; i < warm.length; i++) {
            long t = System.nanoTime();
            Rego.compile(List.of(new RegoModule("policy.rego", src)));
            warm[i] = (System.nanoTime() - t) / 1e6;
        }
        Arrays.sort(warm);
        DataStore data = new DataStore(ObjectValue.EMPTY);
        int target = containers * 7 / 10;
        List<Figures> out = new ArrayList<>();
        out.add(time(p, data, "data.policy.create_container", createInput(target), warmup, iterations));
        out.add(time(p, data, "data.policy.mount_overlay", overlayInput(target), warmup, iterations));
        return new Report(fresh[0], fresh[1], first, firstCpu, warm[warm.length / 2], warm[0], out, src.length());
    }

    /**
     * Starts {@link #FRESH_RUNS} JVMs (same java, same class path) that each read the policy
     * and compile it once, and returns the median {wall ms, CPU ms}, or {-1, -1} when a child
     * cannot be started (e.g. no java launcher at hand).
     */
    static double[] freshJvmCompile(String src) {
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        Path file = null;
        try {
            file = Files.createTempFile("coffer-bench-", ".rego");
            Files.writeString(file, src);
            double[] wall = new double[FRESH_RUNS], cpu = new double[FRESH_RUNS];
            for (int i = 0; i < FRESH_RUNS; i++) {
                Process proc = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                        AciBenchmark.class.getName(), "--compile-once", file.toString()).redirectErrorStream(true).start();
                String outText = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
                if (!proc.waitFor(60, TimeUnit.SECONDS) || proc.exitValue() != 0) return new double[]{-1, -1};
                String[] parts = outText.substring(outText.lastIndexOf('\n') + 1).split(" ");
                wall[i] = Double.parseDouble(parts[0]);
                cpu[i] = Double.parseDouble(parts[1]);
            }
            Arrays.sort(wall);
            Arrays.sort(cpu);
            return new double[]{wall[FRESH_RUNS / 2], cpu[FRESH_RUNS / 2]};
        } catch (IOException | RuntimeException e) {
            return new double[]{-1, -1};
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new double[]{-1, -1};
        } finally {
            if (file != null) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException ignored) {
                    // a leftover temp file is harmless
                }
            }
        }
    }

    private static Figures time(CompiledPolicy p, DataStore data, String ref, Value input, int warmup, int iterations) {
        EvalOptions opts = EvalOptions.DEFAULT;
        EvalResult last = null;
        for (int i = 0; i < warmup; i++) last = p.evalRef(ref, input, data, opts);
        long[] ns = new long[iterations];
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().threadId();
        long a0 = mx.getThreadAllocatedBytes(tid);
        for (int i = 0; i < iterations; i++) {
            long t = System.nanoTime();
            last = p.evalRef(ref, input, data, opts);
            ns[i] = System.nanoTime() - t;
        }
        long alloc = (mx.getThreadAllocatedBytes(tid) - a0) / iterations;
        Arrays.sort(ns);
        double mean = Arrays.stream(ns).average().orElse(0) / 1000.0;
        boolean allowed = last != null && last.value() instanceof ObjectValue o && Value.of(true).equals(o.get("allowed"));
        return new Figures(ref, ns[iterations / 2] / 1000.0, ns[(int) (iterations * 0.99)] / 1000.0, mean, alloc, allowed);
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 2 && args[0].equals("--compile-once")) {
            // child of freshJvmCompile: nothing of the engine is loaded before this compile
            String src = Files.readString(Path.of(args[1]));
            java.lang.management.ThreadMXBean tmx = ManagementFactory.getThreadMXBean();
            long c0 = tmx.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            Rego.compile(List.of(new RegoModule("policy.rego", src)));
            System.out.println((System.nanoTime() - t0) / 1e6 + " " + (tmx.getCurrentThreadCpuTime() - c0) / 1e6);
            return;
        }
        Report r = run(10, 3000, 20000);
        System.out.println(describeCompile(r));
        for (Figures f : r.decisions())
            System.out.printf("%-32s p50 %8.1f us  p99 %8.1f us  mean %8.1f us  alloc %8d B/op  allowed=%s%n",
                    f.decision(), f.p50Micros(), f.p99Micros(), f.meanMicros(), f.allocatedBytesPerOp(), f.allowed());
    }

    /** One line with the parse+compile figures. */
    public static String describeCompile(Report r) {
        return String.format("policy %d bytes; parse+compile: fresh JVM %s, first in process %.1f ms (%.1f ms CPU), warm p50 %.2f ms (min %.2f ms)",
                r.policyBytes(), r.freshJvmCompileMillis() < 0 ? "n/a" : String.format("%.1f ms (%.1f ms CPU)", r.freshJvmCompileMillis(),
                        r.freshJvmCompileCpuMillis()), r.firstInProcessCompileMillis(), r.firstInProcessCompileCpuMillis(),
                r.warmCompileP50Millis(), r.warmCompileMinMillis());
    }
}
