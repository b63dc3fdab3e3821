package dev.coffer.runtime.sandbox;

import dev.coffer.attest.endorse.GuestEndorsement;
import dev.coffer.runtime.guest.GuestEndorsements;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The guest's endorsement, handed to its agent at launch so the agent can send it with its
 * evidence (Azure's {@code report.Endorsements}). It is signed data the attestation service
 * verifies, so the host may supply it; the agent forwards it as opaque bytes. It is a launch
 * input, not a measured one: which endorsement comes along does not change the guest.
 */
public final class EndorsementHandOff {
    private EndorsementHandOff() {}

    /**
     * The home's endorsement for {@code measurementHex}, preferring the home key's own. The home
     * is the parent of the simulated chip's directory ({@code $COFFER_HOME/sim-tee}); none found
     * (or the store unreadable) is empty: the service then decides without one.
     */
    public static Optional<byte[]> forMeasurement(Path simTeeDir, String measurementHex) {
        if (simTeeDir == null || measurementHex == null || measurementHex.isEmpty()) return Optional.empty();
        Path home = simTeeDir.toAbsolutePath().getParent();
        try {
            List<GuestEndorsement> found = GuestEndorsements.lookup(home, measurementHex);
            if (found.isEmpty()) return Optional.empty();
            String homeDid = java.nio.file.Files.isDirectory(GuestEndorsements.keyDir(home))
                    ? GuestEndorsements.homeEndorser(home).did() : null;
            return found.stream().sorted(Comparator.comparing((GuestEndorsement e) -> !e.issuer().equals(homeDid)))
                    .findFirst().map(GuestEndorsement::raw);
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
