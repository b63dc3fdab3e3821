/**
 * The simulated secure processor: a persisted ARK → ASK → VCEK chain of its own and per-launch
 * contexts ({@link dev.coffer.attest.sim.SimLaunch}) that sign real-format SNP reports. Its root
 * is trusted only when a verifier is explicitly configured with it.
 */
package dev.coffer.attest.sim;
