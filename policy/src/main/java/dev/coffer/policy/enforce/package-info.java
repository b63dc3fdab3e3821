/**
 * Enforcement: {@link dev.coffer.policy.enforce.PolicyEnforcer} evaluates every host request
 * ({@link dev.coffer.policy.enforce.EnforcementRequest}, one record per enforcement point with
 * Azure's input field names) against the policy and Coffer's {@code framework.rego}, BEFORE the
 * agent acts. An allowed {@link dev.coffer.policy.enforce.Decision} carries a state delta; the
 * agent commits it after the host operation succeeded or rolls it back if it failed. A denied
 * decision carries an {@link dev.coffer.policy.enforce.Explanation} (rule, errors, field, expected,
 * actual, closest container) and changes nothing. Every decision goes to a bounded decision log
 * ({@link dev.coffer.policy.enforce.DecisionLogEntry}, env values redacted; pass a sink in
 * {@link dev.coffer.policy.enforce.EnforcerOptions} to persist it for {@code coffer logs --policy}).
 *
 * <p>The sequence an honest host sends, and what the agent passes:
 * <ol>
 *   <li>{@code MountDevice(target, deviceHash)} per layer disk, {@code target} matching
 *       {@link dev.coffer.policy.enforce.EnforcerOptions#layerMountPathRegex()}, {@code deviceHash}
 *       the dm-verity root hash the disk was opened with;</li>
 *   <li>{@code MountOverlay(containerID, layerPaths, target)}, {@code layerPaths} top-most layer
 *       FIRST (overlayfs lowerdir order; the policy lists layers base first);</li>
 *   <li>{@code CreateContainer(...)} with the exact argv, env, working dir, mounts (sources under
 *       {@link dev.coffer.policy.enforce.EnforcerOptions#sandboxDir()}), user/groups/umask,
 *       capabilities, seccomp hash ("" for none) of the OCI config the agent will run; start
 *       the process with {@link dev.coffer.policy.enforce.Decision#envList()} and
 *       {@link dev.coffer.policy.enforce.Decision#capabilities()} (which differ from the request
 *       only when an ACI policy allows dropping), and connect stdio only if
 *       {@link dev.coffer.policy.enforce.Decision#allowStdioAccess()};</li>
 *   <li>{@code ExecInContainer}, {@code SignalContainerProcess}, {@code ShutdownContainer}, and
 *       {@code UnmountOverlay}/{@code UnmountDevice} on teardown. An exec'd process runs with the
 *       container's user, capabilities and noNewPrivileges (the request cannot change them, so
 *       the agent must not take them from the host).</li>
 * </ol>
 * A container ID is never reusable in a sandbox's life. {@code SetPolicy} (replacing the policy
 * after launch) is always denied. {@link dev.coffer.policy.enforce.PolicyEnforcer#allowAll()} is
 * for development and reports itself debuggable, as does a policy generated with {@code --debug-mode}.
 */
package dev.coffer.policy.enforce;
