/**
 * Policy generation: {@link dev.coffer.policy.gen.PolicyGenerator} turns a group into Rego text in
 * ACI's schema ({@link dev.coffer.policy.gen.RegoPolicyWriter}, deterministic byte for byte) and its
 * SHA-256, the HOST_DATA ({@link dev.coffer.policy.gen.GeneratedPolicy}). Images come from an
 * {@link dev.coffer.policy.gen.ImageSource}; {@link dev.coffer.policy.gen.StoreImageSource} resolves
 * them in the local image store and hashes every layer to its dm-verity root hash.
 *
 * <p>Conventions the runtime and agent must follow so that honest requests match the policy:
 * <ul>
 *   <li>Capabilities: {@link dev.coffer.policy.gen.DefaultCapabilities#UNPRIVILEGED} (bounding,
 *       effective, permitted; none inheritable or ambient) unless the container is privileged.</li>
 *   <li>Volume {@code NAME} is bind-mounted from {@code <sandboxDir>/volumes/NAME} with options
 *       {@code rbind, rshared, rw|ro}; the CRI mounts every container gets ({@code /proc},
 *       {@code /dev}, {@code /dev/shm}, ..., hcsshim's defaultMounts) need no entry; no other mount
 *       is implicit.</li>
 *   <li>Env: the image's env with the spec's entries replacing same-named ones in place, then new
 *       ones appended; every rule is required.</li>
 *   <li>User: the spec's or image's user; empty means uid 0; umask {@code 0022}.</li>
 *   <li>Init-process signals default to 9 and 15. No pause container is pinned: the agent
 *       creates the group's network namespace itself.</li>
 * </ul>
 */
package dev.coffer.policy.gen;
