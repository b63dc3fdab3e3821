package dev.coffer.runtime.group;

import dev.coffer.agent.container.Mounts;
import dev.coffer.attest.endorse.EndorsementVerdict;
import dev.coffer.attest.endorse.EndorsementVerifier;
import dev.coffer.attest.endorse.GuestEndorsement;
import dev.coffer.oci.layout.ImageBuilder;
import dev.coffer.oci.layout.TarLayer;
import dev.coffer.oci.store.ImageConfig;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.policy.spec.GroupSpecParser;
import dev.coffer.runtime.guest.GuestEndorsements;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The process sandbox's endorsement is of the MEASUREMENT a real {@code --tee sim} launch gets:
 * endorsed without launching, then found by the launched group's recorded measurement.
 */
class ProcessSandboxEndorsementTest {
    @TempDir
    Path home;
    @TempDir
    Path work;

    @Test
    void endorsementMatchesTheLaunchedGroupsMeasurement() throws Exception {
        Path busybox = Files.isExecutable(Path.of("/bin/busybox")) ? Path.of("/bin/busybox") : Path.of("/usr/bin/busybox");
        TarLayer layer = new TarLayer().dir("bin").file("bin/busybox", busybox, 0755).symlink("bin/sleep", "busybox")
                .dir("proc").dir("sys").dir("dev").dir("tmp", 01777);
        Path layout = new ImageBuilder().layer(layer).config(ImageConfig.of(List.of("sleep")))
                .writeLayout(Files.createDirectories(work.resolve("layout")), "coffer.test/idle:1");
        try (ImageStore store = ImageStore.open(home)) {
            store.importArchive(layout);
        }
        GuestEndorsements.Entry endorsed = GuestEndorsements.endorseProcessSandbox(home);

        GroupManager groups = new GroupManager(home);
        var spec = GroupSpecParser.parse("""
                name: endorsed
                scratch: {allowUnencrypted: true} # no device-mapper here: plaintext scratch, said so
                skr: {enabled: false}
                containers:
                  - name: idle
                    image: coffer.test/idle:1
                    command: [sleep, "300"]
                """, "group.yaml");
        try {
            groups.run(spec, RunOptions.defaults().withTee(RunOptions.TEE_SIM));
            String measurement = groups.status("endorsed").measurement();
            assertEquals(endorsed.endorsement().launchMeasurement(), measurement);
            List<GuestEndorsement> found = GuestEndorsements.lookup(home, measurement);
            assertEquals(1, found.size());
            EndorsementVerdict v = EndorsementVerifier.verify(found.getFirst(), measurement, Instant.now(), List.of(GuestEndorsements.homeEndorser(home)));
            assertTrue(v.endorsed(), v.summary());
        } finally {
            groups.stop("endorsed", Duration.ofSeconds(1));
        }
        assertEquals(List.of(), Mounts.mountedUnder(home));
    }
}
