package dev.coffer.runtime.group;

import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Result;
import dev.coffer.layer.LayerDisk;
import dev.coffer.oci.store.LocalImage;
import dev.coffer.policy.spec.GroupSpec;
import dev.coffer.runtime.sandbox.Sandbox;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * How a container comes to exist in a launched sandbox, the same for the containers a group
 * starts with and for those that join it later (a pod's): the agent mounts each layer disk,
 * checking its dm-verity root hash against the policy, then the container's overlay, then creates
 * the container under the policy. One agent connection serves the whole setup.
 */
final class ContainerSetup {
    private final Sandbox sandbox;
    private final AgentClient agent;
    private final Path agentState;

    ContainerSetup(Sandbox sandbox, AgentClient agent) {
        this.sandbox = sandbox;
        this.agent = agent;
        this.agentState = Path.of(sandbox.record().agentStateDir());
    }

    /** Has the agent mount each of {@code disks} (by diffID hex) at its device target. */
    void mountLayers(Map<String, LayerDisk> disks) throws IOException {
        for (Map.Entry<String, LayerDisk> layer : disks.entrySet()) {
            agent.call(new Request.MountDevice(sandbox.layerSource(layer.getValue()), layerTarget(layer.getKey()).toString(),
                    layer.getValue().rootHash()), Result.Done.class);
        }
    }

    /** Where the agent mounts the layer with diffID {@code hex}: short names keep the overlay's lowerdir option within one page. */
    private Path layerTarget(String hex) {
        return agentState.resolve("devices").resolve(hex.substring(0, 16));
    }

    /**
     * {@code c}'s volume mounts in the form the generated policy pins (PolicyGenerator's
     * VOLUME_SOURCE_PREFIX and ENCRYPTED_SOURCE_PREFIX, its options): the sandbox's own volume of
     * that name, an emptyDir or, for a name in {@code encrypted}, where mount_encrypted_volume opened it.
     */
    static List<Request.Mount> mounts(GroupSpec.ContainerSpec c, java.util.Set<String> encrypted) {
        return c.volumeMounts().stream().map(vm -> new Request.Mount(vm.mountPath(),
                (encrypted.contains(vm.name()) ? "sandbox:///encrypted/" : "sandbox:///volumes/") + vm.name(), "bind",
                List.of("rbind", "rshared", vm.readOnly() ? "ro" : "rw"))).toList();
    }

    /**
     * Mounts {@code c}'s overlay on its image's layers (already mounted) and has the agent create
     * it with {@code mounts}; nothing is started.
     *
     * @return the container's record, as the host keeps it
     * @throws AgentClient.AgentCallException when the agent (its policy) refuses
     */
    ContainerRecord create(String group, GroupSpec.ContainerSpec c, LocalImage image, List<Request.Mount> mounts)
            throws IOException {
        List<String> layerPaths = image.layers().stream().map(l -> layerTarget(l.diffId().hex()).toString()).toList();
        Path rootfs = agentState.resolve("containers").resolve(c.name()).resolve("rootfs");
        agent.call(new Request.MountOverlay(c.name(), layerPaths, rootfs.toString()), Result.Done.class);
        ContainerPlan plan = ContainerPlan.of(c, image.config());
        if (plan.argList().isEmpty()) {
            throw new GroupException("container " + c.name() + ": expected a command, found none in its spec and no"
                    + " Entrypoint/Cmd in image " + c.image() + "; set its command");
        }
        Result.ContainerStatus created = agent.call(new Request.CreateContainer(c.name(), rootfs.toString(), plan.argList(),
                plan.envList(), plan.workingDir(), plan.user(), plan.additionalGids(), mounts, null, true, group),
                Result.ContainerStatus.class);
        // where the host reads the log: the agent's own file, or the copy pulled from the guest
        String logPath = sandbox.logsOnHost() ? created.logPath() : sandbox.logDir().resolve(c.name() + ".log").toString();
        return new ContainerRecord(c.name(), c.image(), image.id(), plan.argList(), created.state(), null, null, logPath);
    }
}
