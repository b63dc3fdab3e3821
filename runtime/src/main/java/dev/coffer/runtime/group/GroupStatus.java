package dev.coffer.runtime.group;

import java.util.List;

/**
 * What {@code coffer ps} shows for one group: the recorded state brought up to date by asking
 * the agent, or marked {@code agent-dead} when the agent is gone without a stop.
 *
 * @param status running | stopped | agent-dead | starting
 * @param problem null, or one line on what is wrong and what to do
 * @param policySha256 SHA-256 of the enforced policy (the sandbox's HOST_DATA), "" for allow-all
 * @param debuggable true for allow-all and debug-mode policies: not to be trusted with secrets
 * @param layerVerification how layer disks are checked: "dm-verity" or "verified-in-full+loop"
 * @param tee "none" or "sim" ("sim": the simulated secure processor, not a hardware TEE)
 * @param measurement the launch MEASUREMENT recorded by {@code coffer run} (96 hex digits), "" without a TEE
 * @param hostData the launch HOST_DATA recorded by {@code coffer run} (64 hex digits), "" without a TEE
 * @param skrPort the group-local port of the SKR API, null when the group has none
 */
public record GroupStatus(String name, String status, String isolation, String enforcer, String ociRuntime,
                          long agentPid, boolean agentAlive, String createdAt, String stoppedAt,
                          List<ContainerRecord> containers, String problem, String policySha256, boolean debuggable,
                          String layerVerification, String tee, String measurement, String hostData,
                          Integer skrPort) {}
