package dev.coffer.runtime.group;

import java.util.Map;

/**
 * @param isolation sandbox backend name ("process")
 * @param ociRuntime "auto", "runc", "crun" or a path to the runtime binary
 * @param policy {@link #GENERATE} (a policy generated from the spec and its images), {@link #ALLOW_ALL}
 *               (development: nothing enforced), or the path of a policy file from {@code coffer policy gen}
 * @param agentEnvironment extra environment for the agent process (e.g. PATH)
 * @param specFile where the spec came from, recorded in the state (may be null)
 */
public record RunOptions(String isolation, String ociRuntime, String policy, Map<String, String> agentEnvironment,
                         String specFile) {
    public static final String GENERATE = "generate";
    public static final String ALLOW_ALL = "allow-all";

    public RunOptions {
        agentEnvironment = agentEnvironment == null ? Map.of() : Map.copyOf(agentEnvironment);
    }

    public static RunOptions defaults() {
        return new RunOptions("process", "auto", GENERATE, Map.of(), null);
    }

    public RunOptions withIsolation(String value) {
        return new RunOptions(value, ociRuntime, policy, agentEnvironment, specFile);
    }

    public RunOptions withOciRuntime(String value) {
        return new RunOptions(isolation, value, policy, agentEnvironment, specFile);
    }

    public RunOptions withAgentEnvironment(Map<String, String> value) {
        return new RunOptions(isolation, ociRuntime, policy, value, specFile);
    }

    public RunOptions withPolicy(String value) {
        return new RunOptions(isolation, ociRuntime, value, agentEnvironment, specFile);
    }

    public RunOptions withSpecFile(String value) {
        return new RunOptions(isolation, ociRuntime, policy, agentEnvironment, value);
    }
}
