/**
 * Where the agent's attestation evidence comes from ({@code --tee}): the simulated secure
 * processor through a sealed launch-context file ({@link dev.coffer.agent.tee.SimLaunchContext}),
 * or a real SEV-SNP guest through configfs-tsm or {@code /dev/sev-guest}
 * ({@link dev.coffer.agent.tee.SnpEvidenceSource}). Both implement the SKR API's
 * {@link dev.coffer.agent.skr.EvidenceSource}; {@link dev.coffer.agent.tee.TeeSources} opens one
 * by name and performs the startup check that the policy is the one the launch was bound to.
 */
package dev.coffer.agent.tee;
