package dev.coffer.agent.skr;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The guest's endorsement as the host hands it over at launch (a file in the process sandbox's
 * launch inputs, a file on a microVM's launch disk). It is signed data for the attestation
 * service to verify, so the host may supply it; the agent treats it as opaque bytes to forward
 * with its evidence (Azure's {@code report.Endorsements}) and never parses or obeys it.
 */
public final class GuestEndorsementFile {
    /** An endorsement is at most 64 KiB (the service's limit too); a larger file is not forwarded. */
    public static final int MAX_BYTES = 64 * 1024;

    private GuestEndorsementFile() {}

    /** The file's bytes, or null when there is no file (or it is unusable: the service then decides without it). */
    public static byte[] read(Path file) {
        if (file == null) return null;
        try (InputStream in = Files.newInputStream(file)) {
            byte[] b = in.readNBytes(MAX_BYTES + 1);
            if (b.length == 0 || b.length > MAX_BYTES) {
                System.err.println("coffer-agent: the guest endorsement " + file + " is " + (b.length == 0 ? "empty" : "over "
                        + MAX_BYTES + " bytes") + "; attestation requests go without it");
                return null;
            }
            return b;
        } catch (IOException e) {
            System.err.println("coffer-agent: cannot read the guest endorsement " + file + " (" + e.getMessage()
                    + "); attestation requests go without it");
            return null;
        }
    }
}
