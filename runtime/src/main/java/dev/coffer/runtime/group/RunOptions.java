package dev.coffer.runtime.group;

import java.util.Map;

/**
 * @param isolation sandbox backend name ("process")
 * @param ociRuntime "auto", "runc", "crun" or a path to the runtime binary
 * @param policy the agent's enforcer; only "allow-all" exists until policies do
 * @param agentEnvironment extra environment for the agent process (e.g. PATH)
 * @param specFile where the spec came from, recorded in the state (may be null)
 */
public record RunOptions(String isolation, String ociRuntime, String policy, Map<String, String> agentEnvironment,
                         String specFile) {
    public RunOptions {
        agentEnvironment = agentEnvironment == null ? Map.of() : Map.copyOf(agentEnvironment);
    }

    public static RunOptions defaults() {
        return new RunOptions("process", "auto", "allow-all", Map.of(), null);
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

    public RunOptions withSpecFile(String value) {
        return new RunOptions(isolation, ociRuntime, policy, agentEnvironment, value);
    }
}
