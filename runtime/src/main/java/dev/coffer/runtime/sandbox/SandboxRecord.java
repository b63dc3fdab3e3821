package dev.coffer.runtime.sandbox;

/**
 * What the group state keeps about a running sandbox so a later CLI invocation can find it
 * again: which backend, the agent's pid and start time (to tell it from a reused pid), its
 * socket and state directory.
 */
public record SandboxRecord(String backend, long agentPid, String agentStartedAt, String socket, String agentStateDir) {}
