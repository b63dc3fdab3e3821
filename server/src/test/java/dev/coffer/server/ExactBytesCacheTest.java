package dev.coffer.server;

import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.cert.Certificates;
import dev.coffer.attest.sim.SimLaunch;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.server.http.ApiException;
import dev.coffer.server.http.ErrorCode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The parse caches (certificate bundles, endorsements) must only ever save work: a bundle or
 * endorsement that was accepted before does not make a tampered, expired or different one pass.
 */
class ExactBytesCacheTest {
    static final byte[] MEASUREMENT = Fixture.bytes(48, 0x11);
    static final byte[] HOST_DATA = Fixture.bytes(32, 0x22);

    private static String attest(CofferServer server, Fixture.Guest guest, String chain) throws Exception {
        return server.attestation().attest(guest.report(), chain, guest.endorsements(), guest.runtimeJson, "JSON", null);
    }

    private static ApiException refused(CofferServer server, Fixture.Guest guest, String chain) {
        return assertThrows(ApiException.class, () -> attest(server, guest, chain));
    }

    /** The VCEK's PEM with one byte of its DER changed at {@code fromEnd} bytes before the end (the signature). */
    private static String tamperedVcekPem(SimulatedSecureProcessor sim, int fromEnd) {
        byte[] der = Certificates.parsePem(sim.vcekPem()).getFirst().der();
        der[der.length - fromEnd] ^= 0x01;
        return Certificates.toPem(der);
    }

    @Test
    void tamperedChainAfterACachedGoodOneIsRejected(@TempDir Path home) throws Exception {
        try (CofferServer server = CofferServer.startPlainHttpOnLoopback(ServerConfig.defaults(home).withPort(0).withTrustSim(true))) {
            Fixture.Guest guest = new Fixture.Guest(home, MEASUREMENT, HOST_DATA, 0x30000L);
            assertFalse(attest(server, guest, guest.chainPem()).isBlank());
            assertFalse(attest(server, guest, guest.chainPem()).isBlank(), "the cached bundle is accepted again");

            ApiException e = refused(server, guest, tamperedVcekPem(guest.sim, 1) + guest.sim.chainPem());
            assertEquals(ErrorCode.EVIDENCE_INVALID, e.code());
            assertTrue(e.getMessage().contains("certificate_chain"), e.getMessage());
            // the tampered bundle, now seen once, is rejected again, not remembered as good
            assertEquals(ErrorCode.EVIDENCE_INVALID, refused(server, guest, tamperedVcekPem(guest.sim, 1) + guest.sim.chainPem()).code());

            // a tampered ASK in an otherwise identical bundle
            byte[] askDer = Certificates.parsePem(guest.sim.chainPem()).getFirst().der();
            askDer[askDer.length - 1] ^= 0x01;
            String arkPem = Certificates.toPem(Certificates.parsePem(guest.sim.chainPem()).get(1).der());
            ApiException ask = refused(server, guest, guest.sim.vcekPem() + Certificates.toPem(askDer) + arkPem);
            assertEquals(ErrorCode.EVIDENCE_INVALID, ask.code());

            // a truncated bundle is malformed, and the good one still works afterwards
            String good = guest.chainPem();
            assertEquals(ErrorCode.MALFORMED_REQUEST, refused(server, guest, good.substring(0, good.length() / 2)).code());
            assertFalse(attest(server, guest, good).isBlank());
        }
    }

    @Test
    void expiredCertificateIsRejectedEvenWhenItsBundleIsCached(@TempDir Path home) throws Exception {
        AdjustableClock clock = new AdjustableClock();
        try (CofferServer server = CofferServer.startPlainHttpOnLoopback(ServerConfig.defaults(home).withPort(0).withTrustSim(true).withClock(clock))) {
            Fixture.Guest guest = new Fixture.Guest(home, MEASUREMENT, HOST_DATA, 0x30000L);
            assertFalse(attest(server, guest, guest.chainPem()).isBlank());
            // the simulated VCEK is valid for 7 years; its bundle is now cached
            clock.advance(Duration.ofDays(8 * 365));
            ApiException e = refused(server, guest, guest.chainPem());
            assertEquals(ErrorCode.EVIDENCE_INVALID, e.code());
            assertTrue(e.getMessage().contains("certificate_validity"), e.getMessage());
        }
    }

    @Test
    void aDifferentVcekIsNotConfusedWithACachedOne(@TempDir Path home, @TempDir Path otherHome) throws Exception {
        try (CofferServer server = CofferServer.startPlainHttpOnLoopback(ServerConfig.defaults(home).withPort(0).withTrustSim(true))) {
            Fixture.Guest trusted = new Fixture.Guest(home, MEASUREMENT, HOST_DATA, 0x30000L);
            Fixture.Guest other = new Fixture.Guest(otherHome, MEASUREMENT, HOST_DATA, 0x30000L);
            assertFalse(attest(server, trusted, trusted.chainPem()).isBlank());

            // the other chip's report with the cached (trusted) bundle: its signature is not the cached VCEK's
            ApiException wrongKey = refused(server, other, trusted.chainPem());
            assertEquals(ErrorCode.EVIDENCE_INVALID, wrongKey.code());
            assertTrue(wrongKey.getMessage().contains("report_signature"), wrongKey.getMessage());

            // the other chip's own bundle chains to a root this server does not trust
            ApiException untrusted = refused(server, other, other.chainPem());
            assertEquals(ErrorCode.EVIDENCE_INVALID, untrusted.code());
            assertTrue(untrusted.getMessage().contains("certificate_chain"), untrusted.getMessage());

            // the other chip's VCEK presented under the trusted ASK and ARK does not chain
            ApiException spliced = refused(server, other, other.sim.vcekPem() + trusted.sim.chainPem());
            assertEquals(ErrorCode.EVIDENCE_INVALID, spliced.code());

            // and a second launch on the trusted chip, same bundle, still verifies
            SimLaunch second = trusted.sim.launch(Fixture.bytes(48, 0x33), HOST_DATA);
            byte[] report = second.report(java.util.Arrays.copyOf(AttestationService.sha256(trusted.runtimeJson), 64));
            assertFalse(server.attestation().attest(report, trusted.chainPem(), java.util.List.of(Fixture.endorse(home, Fixture.bytes(48, 0x33), 1)), trusted.runtimeJson, "JSON", null).isBlank());
        }
    }

    private static String attestWith(CofferServer server, Fixture.Guest guest, byte[] endorsement) throws Exception {
        return server.attestation().attest(guest.report(), guest.chainPem(), List.of(endorsement), guest.runtimeJson, "JSON", null);
    }

    @Test
    void tamperedEndorsementAfterACachedGoodOneIsRefused(@TempDir Path home) throws Exception {
        try (CofferServer server = CofferServer.startPlainHttpOnLoopback(ServerConfig.defaults(home).withPort(0).withTrustSim(true))) {
            Fixture.Guest guest = new Fixture.Guest(home, MEASUREMENT, HOST_DATA, 0x30000L);
            assertFalse(attestWith(server, guest, guest.endorsement).isBlank());
            assertFalse(attestWith(server, guest, guest.endorsement.clone()).isBlank(), "the cached endorsement is accepted again");

            // the last byte is the signature's: the document still parses, its signature no longer verifies
            byte[] tampered = guest.endorsement.clone();
            tampered[tampered.length - 1] ^= 0x01;
            for (int i = 0; i < 2; i++) {
                ApiException e = assertThrows(ApiException.class, () -> attestWith(server, guest, tampered));
                assertEquals(ErrorCode.MEASUREMENT_NOT_ENDORSED, e.code());
                assertTrue(e.getMessage().contains("signature"), e.getMessage());
            }
            // a truncated one does not parse, each time, and the genuine one still counts afterwards
            byte[] truncated = java.util.Arrays.copyOf(guest.endorsement, guest.endorsement.length / 2);
            for (int i = 0; i < 2; i++) {
                assertEquals(ErrorCode.ENDORSEMENT_INVALID, assertThrows(ApiException.class, () -> attestWith(server, guest, truncated)).code());
            }
            assertFalse(attestWith(server, guest, guest.endorsement).isBlank());
        }
    }

    @Test
    void cacheHitsOnlyOnIdenticalBytesAndStaysBounded(@TempDir Path home, @TempDir Path otherHome) {
        SimulatedSecureProcessor a = SimulatedSecureProcessor.openOrCreate(home.resolve("sim-tee"));
        SimulatedSecureProcessor b = SimulatedSecureProcessor.openOrCreate(otherHome.resolve("sim-tee"));
        byte[] bundleA = (a.vcekPem() + a.chainPem()).getBytes(StandardCharsets.US_ASCII);
        byte[] bundleB = (b.vcekPem() + b.chainPem()).getBytes(StandardCharsets.US_ASCII);
        byte[] bundleAReordered = (a.chainPem() + a.vcekPem()).getBytes(StandardCharsets.US_ASCII);

        ExactBytesCache<List<AmdCertificate>> cache = new ExactBytesCache<>(2,
                pem -> List.copyOf(Certificates.parsePem(new String(pem, StandardCharsets.ISO_8859_1))));
        List<AmdCertificate> first = cache.parse(bundleA);
        assertSame(first, cache.parse(bundleA.clone()), "identical bytes are a hit");
        List<AmdCertificate> other = cache.parse(bundleB);
        assertNotSame(first, other);
        assertNotEquals(first.getFirst().sha256Fingerprint(), other.getFirst().sha256Fingerprint());
        assertEquals(2, cache.size());

        List<AmdCertificate> reordered = cache.parse(bundleAReordered);
        assertEquals(first.getFirst(), reordered.get(2), "the same certificates, parsed again from other bytes");
        assertEquals(2, cache.size(), "capacity bounds the cache");
        assertNotSame(first, cache.parse(bundleA), "the least recently used entry was evicted and is parsed again");

        byte[] truncated = java.util.Arrays.copyOf(bundleA, bundleA.length / 3);
        assertThrows(IllegalArgumentException.class, () -> cache.parse(truncated));
        assertThrows(IllegalArgumentException.class, () -> cache.parse(truncated), "a bundle that fails to parse is never cached");
        assertThrows(IllegalArgumentException.class, () -> new ExactBytesCache<>(0, bytes -> bytes));
    }
}
