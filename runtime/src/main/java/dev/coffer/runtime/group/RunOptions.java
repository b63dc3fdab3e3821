package dev.coffer.runtime.group;

import java.util.Map;

/**
 * @param isolation sandbox backend name ("process")
 * @param ociRuntime "auto", "runc", "crun" or a path to the runtime binary
 * @param policy {@link #GENERATE} (a policy generated from the spec and its images), {@link #ALLOW_ALL}
 *               (development: nothing enforced), or the path of a policy file from {@code coffer policy gen}
 * @param agentEnvironment extra environment for the agent process (e.g. PATH)
 * @param specFile where the spec came from, recorded in the state (may be null)
 * @param tee {@link #TEE_NONE}, {@link #TEE_SIM} (the simulated secure processor of this Coffer home) or
 *            {@link #TEE_SNP} (AMD SEV-SNP hardware, microVM only)
 * @param vault the attestation service and key vault URL ({@code coffer server}) that encrypted volumes whose
 *              spec names no {@code authority}/{@code vault} use; "" for none
 * @param snp the SEV-SNP launch's firmware, vCPUs and memory, used with {@link #TEE_SNP}
 * @param networkNamespace the network namespace the group adopts as its own (an nsfs file: a Kubernetes pod's,
 *                         which containerd made through CNI and passed in the sandbox task's spec), or null for
 *                         a namespace of the group's own with loopback only ({@code coffer run})
 */
public record RunOptions(String isolation, String ociRuntime, String policy, Map<String, String> agentEnvironment,
                         String specFile, String tee, String vault, dev.coffer.runtime.sandbox.SnpSettings snp,
                         java.nio.file.Path networkNamespace) {
    public RunOptions(String isolation, String ociRuntime, String policy, Map<String, String> agentEnvironment,
                      String specFile, String tee, String vault, dev.coffer.runtime.sandbox.SnpSettings snp) {
        this(isolation, ociRuntime, policy, agentEnvironment, specFile, tee, vault, snp, null);
    }

    public RunOptions(String isolation, String ociRuntime, String policy, Map<String, String> agentEnvironment,
                      String specFile, String tee, String vault) {
        this(isolation, ociRuntime, policy, agentEnvironment, specFile, tee, vault, null);
    }

    public RunOptions(String isolation, String ociRuntime, String policy, Map<String, String> agentEnvironment,
                      String specFile, String tee) {
        this(isolation, ociRuntime, policy, agentEnvironment, specFile, tee, "");
    }

    public static final String GENERATE = "generate";
    public static final String ALLOW_ALL = "allow-all";
    public static final String TEE_NONE = "none";
    public static final String TEE_SIM = "sim";
    public static final String TEE_SNP = "snp";

    public RunOptions {
        agentEnvironment = agentEnvironment == null ? Map.of() : Map.copyOf(agentEnvironment);
        tee = tee == null ? TEE_NONE : tee;
        vault = vault == null ? "" : vault;
        snp = snp == null ? dev.coffer.runtime.sandbox.SnpSettings.defaults() : snp;
    }

    /**
     * Process sandbox, generated policy, no TEE. The library default stays without a TEE so a
     * caller that does not ask for attestation pays nothing for it; {@code coffer run} and the
     * demo ask for {@code sim}.
     */
    public static RunOptions defaults() {
        return new RunOptions("process", "auto", GENERATE, Map.of(), null, TEE_NONE);
    }

    public RunOptions withIsolation(String value) {
        return new RunOptions(value, ociRuntime, policy, agentEnvironment, specFile, tee, vault, snp, networkNamespace);
    }

    public RunOptions withOciRuntime(String value) {
        return new RunOptions(isolation, value, policy, agentEnvironment, specFile, tee, vault, snp, networkNamespace);
    }

    public RunOptions withAgentEnvironment(Map<String, String> value) {
        return new RunOptions(isolation, ociRuntime, policy, value, specFile, tee, vault, snp, networkNamespace);
    }

    public RunOptions withPolicy(String value) {
        return new RunOptions(isolation, ociRuntime, value, agentEnvironment, specFile, tee, vault, snp, networkNamespace);
    }

    public RunOptions withSpecFile(String value) {
        return new RunOptions(isolation, ociRuntime, policy, agentEnvironment, value, tee, vault, snp, networkNamespace);
    }

    /** @param value {@link #TEE_NONE} or {@link #TEE_SIM} */
    public RunOptions withTee(String value) {
        return new RunOptions(isolation, ociRuntime, policy, agentEnvironment, specFile, value, vault, snp, networkNamespace);
    }

    /** @param value the SEV-SNP launch's settings, used with {@link #TEE_SNP} */
    public RunOptions withSnp(dev.coffer.runtime.sandbox.SnpSettings value) {
        return new RunOptions(isolation, ociRuntime, policy, agentEnvironment, specFile, tee, vault, value, networkNamespace);
    }

    /** @param value the network namespace the group adopts (a pod's, from CNI), or null for one of its own */
    public RunOptions withNetworkNamespace(java.nio.file.Path value) {
        return new RunOptions(isolation, ociRuntime, policy, agentEnvironment, specFile, tee, vault, snp, value);
    }

    /** @param value the default attestation service + key vault URL for encrypted volumes, "" for none */
    public RunOptions withVault(String value) {
        return new RunOptions(isolation, ociRuntime, policy, agentEnvironment, specFile, tee, value, snp, networkNamespace);
    }
}
