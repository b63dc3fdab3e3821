package dev.coffer.runtime.guest;

import dev.coffer.attest.endorse.EndorsementFormatException;
import dev.coffer.attest.endorse.EndorsementKey;
import dev.coffer.attest.endorse.EndorsementVerdict;
import dev.coffer.attest.endorse.EndorsementVerifier;
import dev.coffer.attest.endorse.GuestEndorsement;
import dev.coffer.runtime.sandbox.ProcessSandboxBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The home's endorsement key and the endorsements kept beside the guest. */
class GuestEndorsementsTest {
    static final String ROOT = "ab".repeat(32);

    @TempDir
    Path home;

    GuestImage standInGuest(String kernel) throws Exception {
        Path dir = Files.createDirectories(home.resolve("guest"));
        Files.writeString(dir.resolve(GuestImage.KERNEL_FILE), kernel);
        Files.writeString(dir.resolve(GuestImage.INITRD_FILE), "initrd");
        Files.write(dir.resolve(GuestImage.AGENT_DISK_FILE), new byte[3 * 4096]);
        return new GuestImage(dir, "6.1.0-test", ROOT, 2, "console=ttyS0 coffer.agentdisk=" + ROOT + ",2", "");
    }

    @Test
    void microVmGuestIsEndorsedWithTheHomeKeyAndFoundByMeasurement() throws Exception {
        GuestImage guest = standInGuest("kernel");
        String measurement = HexFormat.of().formatHex(guest.measurement().compute());
        GuestEndorsements.Entry e = GuestEndorsements.endorseMicroVm(home, guest);
        assertEquals("microvm", e.kind());
        assertTrue(e.file().startsWith(home.resolve("guest").resolve("endorsements")), e.file().toString());
        assertEquals(measurement, e.endorsement().launchMeasurement());
        assertEquals(GuestEndorsements.GUEST_SVN, e.endorsement().guestSvn());
        EndorsementKey key = GuestEndorsements.homeKey(home);
        assertEquals(key.did(), e.endorsement().issuer());
        assertEquals(EndorsementKey.FEED, e.endorsement().feed());

        EndorsementVerdict v = EndorsementVerifier.verify(GuestEndorsement.parse(Files.readAllBytes(e.file())), measurement, Instant.now(),
                List.of(GuestEndorsements.homeEndorser(home)));
        assertTrue(v.endorsed(), v.summary());
        assertEquals(List.of(e.endorsement()), GuestEndorsements.lookup(home, measurement.toUpperCase()));
        assertEquals(List.of(), GuestEndorsements.lookup(home, "cd".repeat(48)));

        // endorsing again replaces the file; a changed guest gets one of its own
        GuestEndorsements.endorseMicroVm(home, guest);
        assertEquals(1, GuestEndorsements.list(home).size());
        GuestEndorsements.endorseMicroVm(home, standInGuest("kernel2"));
        assertEquals(2, GuestEndorsements.list(home).size());
    }

    @Test
    void processSandboxEndorsementCoversItsLaunchFlags() throws Exception {
        GuestEndorsements.Entry plain = GuestEndorsements.endorseProcessSandbox(home);
        assertEquals("process", plain.kind());
        assertEquals(ProcessSandboxBackend.simMeasurementHex("auto", null, List.of(), List.of()), plain.endorsement().launchMeasurement());
        GuestEndorsements.Entry skr = GuestEndorsements.endorseProcessSandbox(home, "auto", 8080, List.of("127.0.0.1:9000"), List.of(80));
        assertNotEquals(plain.endorsement().launchMeasurement(), skr.endorsement().launchMeasurement());
        assertEquals(2, GuestEndorsements.list(home).size());
        assertTrue(GuestEndorsements.list(home).stream().allMatch(x -> x.intact(Instant.now())));
    }

    @Test
    void malformedEndorsementsAreRefusedOrListedWithTheirProblem() throws Exception {
        assertThrows(EndorsementFormatException.class,
                () -> GuestEndorsements.store(home, GuestEndorsements.Kind.MEASUREMENT, "not cose".getBytes(StandardCharsets.US_ASCII)));
        assertFalse(Files.exists(GuestEndorsements.dir(home)), "nothing written for a refused endorsement");

        GuestEndorsements.Entry ok = GuestEndorsements.endorseProcessSandbox(home);
        Path broken = GuestEndorsements.dir(home).resolve("measurement-broken.cose");
        Files.write(broken, java.util.Arrays.copyOf(Files.readAllBytes(ok.file()), 100));
        List<GuestEndorsements.Entry> all = GuestEndorsements.list(home);
        assertEquals(2, all.size());
        GuestEndorsements.Entry bad = all.stream().filter(x -> x.file().equals(broken)).findFirst().orElseThrow();
        assertNull(bad.endorsement());
        assertTrue(bad.problem().contains("truncated"), bad.problem());
        assertFalse(bad.intact(Instant.now()));
        // lookup skips it
        assertEquals(1, GuestEndorsements.lookup(home, ok.endorsement().launchMeasurement()).size());
    }
}
