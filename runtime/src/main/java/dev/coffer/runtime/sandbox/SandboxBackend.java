package dev.coffer.runtime.sandbox;

import dev.coffer.layer.LayerDisk;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A way to run a group's agent in isolation: {@code process} or {@code microvm}. A
 * backend is a plug-in registered in {@code group.SandboxBackends}; group lifecycle code never
 * branches on which one it has.
 */
public interface SandboxBackend {
    /** The --isolation value that selects this backend, e.g. "process". */
    String name();

    /** One line that says plainly what this backend does and does not isolate. */
    String isolationNotice();

    /**
     * Starts the agent for one group and returns once it answers on its transport.
     *
     * @throws SandboxException with the agent's own last words when it cannot start
     */
    Sandbox launch(LaunchRequest request) throws IOException;

    /** Reconnects to a sandbox started earlier (by another CLI invocation) from its record. */
    Sandbox attach(SandboxRecord record);

    /**
     * @param groupDir the group's directory under $COFFER_HOME/groups
     * @param ociRuntime "auto", "runc", "crun" or a path to the binary
     * @param policy "allow-all", or the path of the policy file the agent enforces (the launch binds its SHA-256)
     * @param environment extra environment for the agent (tests use it to change PATH)
     * @param layerDisks the group's layer disks, which the backend makes readable to the agent
     *                   (as files, or as block devices of the VM); see {@link Sandbox#layerSource}
     * @param tee "none", "sim" (measured by the simulated secure processor) or "snp" (by AMD's, microVM only)
     * @param simTeeDir the simulated chip's directory ({@code $COFFER_HOME/sim-tee}); used with tee "sim", and its parent (the home) is where a launch's endorsement is looked up
     * @param skrPort where the agent serves the SKR API inside the group (127.0.0.1:PORT), or null for no SKR API
     * @param endpoints the attestation services and key vaults the group may call, as origins
     *                  {@code scheme://host:port} (the spec's {@code skr.endpoints}): the agent's allow-list,
     *                  and in a microVM the only destinations its network reaches
     * @param ports the containers' declared TCP ports, reachable on the host's 127.0.0.1 (the agent relays
     *              them into the group's network namespace; a microVM's through QEMU's forwarding)
     * @param volumeDisks the images of the group's encrypted volumes, which the backend makes readable (and,
     *                    unless read-only, writable) to the agent; see {@link Sandbox#volumeSource}
     * @param snp the SEV-SNP launch's firmware, vCPUs and memory; used with tee "snp"
     * @param networkNamespace the network namespace the group adopts (an nsfs file: a Kubernetes pod's, which
     *                         containerd made through CNI), or null for one of the group's own; a backend that
     *                         cannot put the group in it refuses the launch
     */
    record LaunchRequest(String groupName, Path groupDir, String ociRuntime, String policy, Map<String, String> environment,
                         List<LayerDisk> layerDisks, String tee, Path simTeeDir, Integer skrPort, List<String> endpoints,
                         List<Integer> ports, List<VolumeDisk> volumeDisks, SnpSettings snp, Path networkNamespace) {
        public LaunchRequest(String groupName, Path groupDir, String ociRuntime, String policy, Map<String, String> environment,
                             List<LayerDisk> layerDisks, String tee, Path simTeeDir, Integer skrPort, List<String> endpoints,
                             List<Integer> ports, List<VolumeDisk> volumeDisks, SnpSettings snp) {
            this(groupName, groupDir, ociRuntime, policy, environment, layerDisks, tee, simTeeDir, skrPort, endpoints, ports,
                    volumeDisks, snp, null);
        }

        public LaunchRequest(String groupName, Path groupDir, String ociRuntime, String policy, Map<String, String> environment,
                             List<LayerDisk> layerDisks, String tee, Path simTeeDir, Integer skrPort, List<String> endpoints,
                             List<Integer> ports, List<VolumeDisk> volumeDisks) {
            this(groupName, groupDir, ociRuntime, policy, environment, layerDisks, tee, simTeeDir, skrPort, endpoints, ports,
                    volumeDisks, null);
        }

        /** A launch without encrypted volumes. */
        public LaunchRequest(String groupName, Path groupDir, String ociRuntime, String policy, Map<String, String> environment,
                             List<LayerDisk> layerDisks, String tee, Path simTeeDir, Integer skrPort, List<String> endpoints,
                             List<Integer> ports) {
            this(groupName, groupDir, ociRuntime, policy, environment, layerDisks, tee, simTeeDir, skrPort, endpoints, ports,
                    List.of());
        }

        public LaunchRequest {
            volumeDisks = volumeDisks == null ? List.of() : List.copyOf(volumeDisks);
            layerDisks = List.copyOf(layerDisks);
            tee = tee == null ? "none" : tee;
            endpoints = endpoints == null ? List.of() : List.copyOf(endpoints);
            ports = ports == null ? List.of() : List.copyOf(ports);
            snp = snp == null ? SnpSettings.defaults() : snp;
        }

        /** A launch without a TEE (and so without an SKR API). */
        public LaunchRequest(String groupName, Path groupDir, String ociRuntime, String policy, Map<String, String> environment,
                             List<LayerDisk> layerDisks) {
            this(groupName, groupDir, ociRuntime, policy, environment, layerDisks, "none", null, null, List.of(), List.of());
        }

        public LaunchRequest(String groupName, Path groupDir, String ociRuntime, String policy, Map<String, String> environment) {
            this(groupName, groupDir, ociRuntime, policy, environment, List.of());
        }
    }

    /**
     * The LUKS2 image of encrypted volume {@code name} (the spec's file, or the host's cached copy
     * of its URL). Its content is ciphertext the agent opens only with the key the vault releases
     * to the attested group, so the host may hold it; {@code readOnly} attaches it so.
     */
    record VolumeDisk(String name, Path file, boolean readOnly) {}
}
