package dev.coffer.runtime.group;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the group's scratch (its writable layers and emptyDir volumes) turned out to be, as the
 * host asked the agent for it and the policy accepted: kept as scratch.json in the group's
 * directory so reports (the demo's, `coffer` status output) say what happened rather than what
 * was hoped for.
 *
 * @param encrypted  true when the agent made encrypted, integrity-protected scratch with a key of its own
 * @param whyNot     why the sandbox could not encrypt it (null when encrypted)
 */
public record ScratchRecord(boolean encrypted, String whyNot) {
    static final String FILE = "scratch.json";
    private static final ObjectMapper JSON = JsonMapper.builder().build();

    public ScratchRecord {
        if (encrypted == (whyNot != null)) {
            throw new IllegalArgumentException("expected a reason exactly when scratch is unencrypted, found encrypted="
                    + encrypted + " and reason " + whyNot);
        }
    }

    /** One line for people: what the scratch is and, when unencrypted, why. */
    public String describe() {
        return encrypted ? "encrypted (LUKS2 aes-xts-plain64 + dm-integrity HMAC-SHA256, key made in the sandbox)"
                : "UNENCRYPTED: writable layers and emptyDir volumes are plain files on the host, allowed by the policy"
                + " (allow_unencrypted_scratch); this sandbox could not encrypt them: " + whyNot;
    }

    void write(Path groupDir) throws IOException {
        Files.write(groupDir.resolve(FILE), JSON.writeValueAsBytes(this));
    }

    static ScratchRecord read(Path groupDir) throws IOException {
        Path f = groupDir.resolve(FILE);
        return Files.exists(f) ? JSON.readValue(f.toFile(), ScratchRecord.class) : null;
    }
}
