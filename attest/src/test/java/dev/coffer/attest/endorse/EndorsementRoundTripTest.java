package dev.coffer.attest.endorse;

import dev.coffer.attest.verify.CheckResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Endorsements we sign parse back field for field and verify, with each algorithm. */
class EndorsementRoundTripTest {
    static final String FEED = "test-feed";

    @Test
    void es384RoundTrip() {
        TestSigners s = TestSigners.ec384("CN=Signer,O=Test", Duration.ofDays(365));
        byte[] cose = s.sign(TestSigners.MEASUREMENT.toUpperCase(), 7, FEED);
        GuestEndorsement e = GuestEndorsement.parse(cose);
        assertEquals(CoseAlgorithm.ES384, e.algorithm());
        assertEquals("application/json", e.contentType());
        assertEquals(s.chain(), e.chain());
        assertEquals(s.did(), e.issuer());
        assertEquals(FEED, e.feed());
        assertEquals(TestSigners.MEASUREMENT, e.launchMeasurement());
        assertEquals(7, e.guestSvn());
        assertEquals(96, e.signature().length);
        assertArrayEquals(cose, e.raw());

        EndorsementVerdict v = EndorsementVerifier.verify(e, TestSigners.MEASUREMENT, TestSigners.NOW, List.of(s.trusted(FEED)));
        assertTrue(v.endorsed(), v.summary());
        assertEquals(EndorsementVerifier.CHECKS, v.checks().stream().map(CheckResult::name).toList());
        assertEquals(EndorsementVerifier.COFFER_COMPLIANT_GUEST, v.complianceStatus());
        assertEquals(s.trusted(FEED), v.matchedEndorser());
    }

    @Test
    void ps384RoundTripAndAnyFeedEndorser() {
        TestSigners s = TestSigners.rsa("CN=Signer,O=Test");
        GuestEndorsement e = GuestEndorsement.parse(s.sign(TestSigners.MEASUREMENT, 101, "ContainerPlat-AMD-UVM"));
        assertEquals(CoseAlgorithm.PS384, e.algorithm());
        EndorsementVerdict v = EndorsementVerifier.verify(e, TestSigners.MEASUREMENT, TestSigners.NOW, List.of(s.trusted(null)));
        assertTrue(v.endorsed(), v.summary());
        // Another issuer with Microsoft's feed is not Microsoft: Coffer's status, not Azure's.
        assertEquals(EndorsementVerifier.COFFER_COMPLIANT_GUEST, v.complianceStatus());
    }

    @Test
    void es256Key() throws Exception {
        var gen = java.security.KeyPairGenerator.getInstance("EC");
        gen.initialize(new java.security.spec.ECGenParameterSpec("secp256r1"));
        assertEquals(CoseAlgorithm.ES256, EndorsementSigner.algorithmFor(gen.generateKeyPair().getPrivate()));
    }

    @Test
    void signingWithAKeyThatIsNotTheLeafsIsRefused() {
        TestSigners a = TestSigners.ec384("CN=A", Duration.ofDays(10)), b = TestSigners.ec384("CN=B", Duration.ofDays(10));
        var ex = assertThrows(IllegalArgumentException.class,
                () -> EndorsementSigner.sign(TestSigners.MEASUREMENT, 1, FEED, a.key(), b.chain(), b.did()));
        assertTrue(ex.getMessage().contains("does not belong"), ex.getMessage());
        ex = assertThrows(IllegalArgumentException.class, () -> EndorsementSigner.sign("abc", 1, FEED, a.key(), a.chain(), a.did()));
        assertTrue(ex.getMessage().contains("96 hex digits"), ex.getMessage());
    }

    @Test
    void homeEndorsementKeyIsCreatedOnceAndSigns(@TempDir Path home) throws Exception {
        Path dir = home.resolve("endorsement");
        EndorsementKey k = EndorsementKey.openOrCreate(dir);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(EndorsementKey.KEY_FILE))));
        assertTrue(k.did().startsWith("did:x509:0:sha256:") && k.did().endsWith("::eku:" + EndorsementKey.EKU), k.did());
        assertEquals(DidX509.fingerprint(k.chain().get(1), "sha256"), DidX509.parse(k.did()).caFingerprint());
        EndorsementKey again = EndorsementKey.openOrCreate(dir);
        assertEquals(k.did(), again.did());

        GuestEndorsement e = GuestEndorsement.parse(again.sign(TestSigners.MEASUREMENT, 3));
        EndorsementVerdict v = EndorsementVerifier.verify(e, TestSigners.MEASUREMENT, Instant.now(), List.of(k.trustedEndorser()));
        assertTrue(v.endorsed(), v.summary());
        assertEquals("coffer-guest", e.feed());
    }

    @Test
    void damagedEndorsementKeyIsReportedWithWhatToDo(@TempDir Path home) throws Exception {
        Path dir = home.resolve("endorsement");
        EndorsementKey.openOrCreate(dir);
        Files.writeString(dir.resolve(EndorsementKey.KEY_FILE), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        var ex = assertThrows(IllegalStateException.class, () -> EndorsementKey.openOrCreate(dir));
        assertTrue(ex.getMessage().contains("delete the directory"), ex.getMessage());
    }
}
