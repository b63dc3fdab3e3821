/**
 * The guest's TEE ({@code --tee}), as the interface {@link dev.coffer.agent.tee.GuestTee}: a
 * report for given REPORT_DATA, the launch-bound data, and the startup check that the policy is
 * the one the launch was bound to, read through the evidence model of
 * {@code dev.coffer.attest.evidence}. Its implementations are the simulated secure processor
 * ({@link dev.coffer.agent.tee.SimEvidenceSource}, opened through a sealed launch-context file,
 * {@link dev.coffer.agent.tee.SimLaunchContext}) and a real SEV-SNP guest through configfs-tsm or
 * {@code /dev/sev-guest} ({@link dev.coffer.agent.tee.SnpEvidenceSource});
 * {@link dev.coffer.agent.tee.TeeSources} opens one by name. Each is also the SKR API's
 * {@link dev.coffer.agent.skr.EvidenceSource}.
 */
package dev.coffer.agent.tee;
