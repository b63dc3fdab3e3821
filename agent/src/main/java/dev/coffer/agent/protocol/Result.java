package dev.coffer.agent.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

import java.util.List;

/** What a successful request returns. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
        @JsonSubTypes.Type(value = Result.Done.class, name = "done"),
        @JsonSubTypes.Type(value = Result.Properties.class, name = "properties"),
        @JsonSubTypes.Type(value = Result.ContainerStatus.class, name = "container_status"),
        @JsonSubTypes.Type(value = Result.ExecResult.class, name = "exec_result"),
        @JsonSubTypes.Type(value = Result.LogChunk.class, name = "log_chunk"),
        @JsonSubTypes.Type(value = Result.ExecOutput.class, name = "exec_output"),
        @JsonSubTypes.Type(value = Result.Report.class, name = "report"),
        @JsonSubTypes.Type(value = Result.VolumeFormatted.class, name = "volume_formatted"),
})
public sealed interface Result {

    record Done() implements Result {}

    /**
     * @param enforcer which policy enforcer judges requests ("allow-all" means none)
     * @param ociRuntime e.g. "runc 1.1.5" and how it is invoked
     * @param policySha256 SHA-256 of the policy text the agent enforces (its HOST_DATA), "" for allow-all
     * @param debuggable true for allow-all and debug-mode policies: not to be trusted with secrets
     * @param layerVerification how layer disks are checked: "dm-verity" or "verified-in-full+loop"
     * @param tee the sandbox's TEE: "none", "sim" or "snp"
     * @param skrPort the group-local port of the SKR API, null when the agent serves none
     */
    record Properties(String agentVersion, int protocolVersion, long pid, String enforcer, String ociRuntime,
                      String networkNamespace, List<ContainerStatus> containers, String policySha256,
                      boolean debuggable, String layerVerification, String tee, Integer skrPort) implements Result {}

    /** state: created | running | exited. exitCode is null until exited (128+n when killed by signal n). */
    record ContainerStatus(String containerID, String state, Long pid, Integer exitCode, String logPath)
            implements Result {}

    record ExecResult(int exitCode, String stdout, String stderr, boolean timedOut, boolean truncated)
            implements Result {}

    /**
     * An attestation report for a {@code get_report} challenge.
     *
     * @param tee "sim" or "snp"
     * @param reportHex the raw report (1184 bytes for SEV-SNP) in hex
     * @param certChainPem VCEK first, then ASK and ARK when the TEE supplies them ("" when it does not)
     */
    record Report(String tee, String reportHex, String certChainPem) implements Result {}

    /**
     * A volume formatted by {@code format_encrypted_volume}: the SHA-256 of its LUKS2 header
     * (what the group's policy pins as headerDigest), its integrity mode and its size in bytes.
     */
    record VolumeFormatted(String headerDigest, String integrity, long sizeBytes) implements Result {}

    /** Log bytes as UTF-8 text (lossy for binary output); {@code nextOffset} is where to continue. */
    record LogChunk(long offset, long nextOffset, String text, boolean exited) implements Result {}

    /**
     * A chunk of an exec process's output (bytes, base64 on the wire): {@code stdout} from the
     * requested stdout offset, continue at {@code stdoutNext} (likewise stderr). {@code exited} is
     * true once the process ended and every byte of its output is in this or an earlier chunk;
     * {@code exitCode} is then its status (128+n when killed by signal n). {@code outputWithheld}
     * is true where the container has no stdio access: its output is discarded, only the exit returned.
     */
    record ExecOutput(byte[] stdout, long stdoutNext, byte[] stderr, long stderrNext, boolean exited, Integer exitCode,
                      boolean outputWithheld) implements Result {}
}
