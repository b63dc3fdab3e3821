package dev.coffer.runtime.group;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.coffer.runtime.sandbox.SandboxRecord;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * The persistent state of one group, {@code $COFFER_HOME/groups/NAME/state.json}. It outlives
 * the CLI that started the group, so ps/logs/exec/stop work from any later invocation.
 *
 * @param status starting | running | stopped
 * @param enforcer the agent's policy enforcer; "allow-all" means requests are not checked
 * @param ociRuntime which OCI runtime the agent chose and how it invokes it
 * @param policySha256 SHA-256 of the enforced policy text (the HOST_DATA the sandbox was launched with), "" for allow-all
 * @param debuggable true for allow-all and debug-mode policies
 * @param layerVerification how the agent checks layer disks: "dm-verity" or "verified-in-full+loop"
 * @param tee "none" or "sim": who measured the launch
 * @param measurement the launch MEASUREMENT the TEE fixed (96 hex digits), "" without a TEE
 * @param hostData the launch HOST_DATA the TEE fixed (64 hex digits), "" without a TEE
 * @param skrPort the group-local port of the agent's SKR API, null when it serves none
 */
public record GroupState(String name, String status, String isolation, String enforcer, String ociRuntime,
                         String specFile, String createdAt, String stoppedAt, SandboxRecord sandbox,
                         List<ContainerRecord> containers, String policySha256, boolean debuggable,
                         String layerVerification, String tee, String measurement, String hostData, Integer skrPort) {
    static final String STARTING = "starting";
    static final String RUNNING = "running";
    static final String STOPPED = "stopped";

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    public GroupState {
        containers = containers == null ? List.of() : List.copyOf(containers);
        tee = tee == null ? "none" : tee;
        measurement = measurement == null ? "" : measurement;
        hostData = hostData == null ? "" : hostData;
    }

    GroupState withStatus(String newStatus, String newStoppedAt, List<ContainerRecord> newContainers) {
        return new GroupState(name, newStatus, isolation, enforcer, ociRuntime, specFile, createdAt, newStoppedAt, sandbox,
                newContainers, policySha256, debuggable, layerVerification, tee, measurement, hostData, skrPort);
    }

    static GroupState read(Path file) throws IOException {
        try {
            return MAPPER.readValue(file.toFile(), GroupState.class);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new GroupException("expected group state JSON in " + file + ", found unreadable content ("
                    + e.getOriginalMessage() + "); remove the group directory by hand");
        }
    }

    /** Writes atomically: a reader sees the old or the new state, never half of one. */
    void write(Path file) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        MAPPER.writeValue(tmp.toFile(), this);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
