package dev.coffer.runtime.guest;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What one launch of the guest is for — the group, the policy the agent must enforce and the
 * HOST_DATA it is bound to, the OCI runtime — handed to the guest as a small read-only disk
 * (serial {@value #SERIAL}). The guest image and its measured command line stay the same for
 * every group; only this disk differs, as ACI passes the policy beside a fixed utility VM.
 *
 * <p>Nothing on it is trusted for being there: the agent still checks SHA-256(policy) against
 * HOST_DATA, and with a TEE the HOST_DATA comes from the secure processor, not from this disk.
 *
 * <p>Format: a JSON object (UTF-8), zero-padded to a multiple of 4 KiB. Its fields and who
 * vouches for each:
 * <ul>
 * <li>{@code group}: checked against the sealed launch context with a TEE;</li>
 * <li>{@code policy}, {@code hostData}: SHA-256(policy) must be HOST_DATA, which a TEE reports;</li>
 * <li>{@code ociRuntime}: a name ({@value #OCI_RUNTIMES}), resolved on the guest's own PATH, never a path;</li>
 * <li>{@code tee}: {@code none} is refused by the agent where a secure processor is present, and by
 *     this reader when the disk also carries the simulated chip;</li>
 * <li>{@code launchContext}, {@code simTee}: the sealed context and the chip's files by their fixed
 *     names, checked against each other before the guest writes them to its fixed directory;</li>
 * <li>{@code skrPort}, {@code network.ports}: must be what the policy's {@code launch} lists;</li>
 * <li>{@code network.endpoints}: where the guest's restricted network may connect (the host's own
 *     network anyway); the SKR API calls only the policy's {@code launch.skr_endpoints}.</li>
 * </ul>
 */
public final class LaunchDisk {
    public static final String SERIAL = "coffer-launch";
    public static final String FORMAT = "coffer-launch/v1";
    /** Policies are tens of KiB; the bound keeps a hostile disk from exhausting guest memory. */
    static final int MAX_BYTES = 4 << 20;
    /** The OCI runtimes a launch may name; the guest finds the binary itself. */
    static final String OCI_RUNTIMES = "auto|crun|runc";

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();

    /**
     * @param policy        the Rego policy text, or null for the development mode allow-all
     * @param hostData      64 hex digits, SHA-256 of the policy; null with allow-all
     * @param tee           "none", "sim" or "snp" (the guest's secure processor fixed MEASUREMENT and HOST_DATA;
     *                      the agent reads HOST_DATA from its own report, never from this disk)
     * @param launchContext with tee sim: the sealed launch-context file (SimLaunchContext) the runtime made
     * @param simTee        with tee sim: the simulated chip's files by name (base64), which the guest
     *                      puts where the context says the chip lives; a simulation has no hardware
     *                      to keep its key, so the guest gets the key the way the process sandbox's
     *                      agent reads it from the host
     * @param skrPort       the SKR API's port inside the group, or null for none
     * @param network       the endpoints the guest may reach and the ports forwarded into the group
     * @param endorsement   the guest's endorsement (COSE_Sign1, base64), or null: signed data the agent
     *                      forwards, opaque, with its evidence for the attestation service to verify
     */
    public record Content(String format, String group, String policy, String hostData, String ociRuntime, String tee,
                          String launchContext, java.util.Map<String, String> simTee, Integer skrPort,
                          GuestNetwork.Plan network, String endorsement) {
        /** An endorsement is at most 64 KiB (the attestation service's limit), so at most this much base64. */
        static final int MAX_ENDORSEMENT_CHARS = (64 * 1024 + 2) / 3 * 4;

        public Content {
            if (endorsement != null && (endorsement.length() > MAX_ENDORSEMENT_CHARS || !endorsement.matches("[A-Za-z0-9+/]*={0,2}"))) {
                throw new IllegalArgumentException("expected the launch disk's endorsement to be base64 of at most 64 KiB, found "
                        + endorsement.length() + " characters that are not");
            }
            if (!FORMAT.equals(format)) {
                throw new IllegalArgumentException("expected a launch disk of format " + FORMAT + ", found " + format);
            }
            if (group == null || !group.matches("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")) {
                throw new IllegalArgumentException("expected the launch disk's group to be a group name, found " + group);
            }
            if ((policy == null) != (hostData == null)) {
                throw new IllegalArgumentException("expected the launch disk to carry a policy and its HOST_DATA together, found only one");
            }
            if (ociRuntime == null || ociRuntime.isBlank()) ociRuntime = "auto";
            if (!ociRuntime.matches(OCI_RUNTIMES)) {
                throw new IllegalArgumentException("expected the launch disk's ociRuntime to be one of " + OCI_RUNTIMES
                        + " (the guest's own binary), found \"" + ociRuntime + "\"; a path from the host is never run");
            }
            network = network == null ? GuestNetwork.Plan.NONE : network;
            tee = tee == null ? "none" : tee;
            simTee = simTee == null ? java.util.Map.of() : java.util.Map.copyOf(simTee);
            if (!tee.equals("none") && !tee.equals("sim") && !tee.equals("snp")) {
                throw new IllegalArgumentException("expected the launch disk's tee to be none, sim or snp, found " + tee);
            }
            if (tee.equals("snp") && (launchContext != null || !simTee.isEmpty())) {
                throw new IllegalArgumentException("expected no simulated chip (launchContext, simTee) with tee snp, found one;"
                        + " an SEV-SNP launch is measured and bound by the hardware");
            }
            if (tee.equals("none") && (launchContext != null || !simTee.isEmpty())) {
                throw new IllegalArgumentException("expected the launch disk's tee to be sim when it carries the simulated"
                        + " chip (launchContext, simTee), found tee none; a launch with a secure processor binds its policy"
                        + " through HOST_DATA, which the host may not switch off");
            }
            if (tee.equals("sim") && (launchContext == null || simTee.isEmpty())) {
                throw new IllegalArgumentException("expected a launch context and the simulated chip with tee sim, found them missing");
            }
        }

        public static Content of(String group, String policy, String hostData, String ociRuntime) {
            return new Content(FORMAT, group, policy, hostData, ociRuntime, "none", null, null, null, null, null);
        }

        /** The same launch on the simulated secure processor. */
        public Content withSim(String launchContextText, java.util.Map<String, String> chipFiles, Integer skr) {
            return new Content(format, group, policy, hostData, ociRuntime, "sim", launchContextText, chipFiles, skr, network, endorsement);
        }

        /** The same launch on AMD SEV-SNP hardware, with the SKR API on {@code skr} (or none). */
        public Content withSnp(Integer skr) {
            return new Content(format, group, policy, hostData, ociRuntime, "snp", null, null, skr, network, endorsement);
        }

        /** The same launch with {@code plan} for the guest's network. */
        public Content withNetwork(GuestNetwork.Plan plan) {
            return new Content(format, group, policy, hostData, ociRuntime, tee, launchContext, simTee, skrPort, plan, endorsement);
        }

        /** The same launch with the guest's endorsement ({@code cose}, or null for none). */
        public Content withEndorsement(byte[] cose) {
            return new Content(format, group, policy, hostData, ociRuntime, tee, launchContext, simTee, skrPort, network,
                    cose == null ? null : java.util.Base64.getEncoder().encodeToString(cose));
        }
    }

    private LaunchDisk() {}

    /** Writes the disk image for {@code content} to {@code file}. */
    public static void write(Path file, Content content) throws IOException {
        byte[] json = JSON.writeValueAsBytes(content);
        if (json.length > MAX_BYTES) {
            throw new IOException("expected a launch description under " + MAX_BYTES + " bytes, found " + json.length
                    + "; the policy is too large");
        }
        byte[] image = new byte[(json.length + 4095) / 4096 * 4096];
        System.arraycopy(json, 0, image, 0, json.length);
        Files.write(file, image);
    }

    /** Reads the launch description from the disk (or its image file), up to the first zero byte. */
    public static Content read(Path device) throws IOException {
        ByteArrayOutputStream json = new ByteArrayOutputStream();
        try (InputStream in = Files.newInputStream(device)) {
            byte[] buf = new byte[4096];
            outer:
            while (true) {
                int n = in.read(buf);
                if (n < 0) break;
                for (int i = 0; i < n; i++) {
                    if (buf[i] == 0) {
                        json.write(buf, 0, i);
                        break outer;
                    }
                }
                json.write(buf, 0, n);
                if (json.size() > MAX_BYTES) {
                    throw new IOException("expected a launch description under " + MAX_BYTES + " bytes on " + device + ", found more");
                }
            }
        }
        try {
            return JSON.readValue(json.toString(StandardCharsets.UTF_8), Content.class);
        } catch (JacksonException e) {
            throw new IOException("expected a " + FORMAT + " JSON description on " + device + ", found: " + e.getOriginalMessage());
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage());
        }
    }
}
