package dev.coffer.cli.attest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.coffer.attest.endorse.EndorsementSigner;
import dev.coffer.attest.endorse.TrustedEndorser;
import dev.coffer.cli.CliRun;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import static dev.coffer.cli.attest.AttestCommandTest.data;
import static dev.coffer.cli.attest.AttestCommandTest.run;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@code coffer attest verify --endorsement}: exit 0 only for a valid report whose MEASUREMENT a trusted endorser signed. */
class AttestVerifyEndorsementTest {
    static final String OAK = "snp/oak-genoa/";
    static final String OAK_AT = "2025-09-01T00:00:00Z";
    static final String OAK_MEASUREMENT = "c57729018b0a6fb90dc17bb138b0aa35e4401004283ff4a2c24d3739ff3750f52384370e77b7032862a08c440a9bc4dc";

    @TempDir
    Path tmp;
    private String savedUserHome;
    TestEndorser key;

    @BeforeEach
    void isolateHome() {
        assumeTrue(System.getenv("COFFER_HOME") == null, "COFFER_HOME is set; these tests need their own home");
        savedUserHome = System.getProperty("user.home");
        System.setProperty("user.home", tmp.resolve("user").toString());
        key = TestEndorser.make("coffer-guest", java.time.Instant.parse("2020-01-01T00:00:00Z"), java.time.Instant.parse("2040-01-01T00:00:00Z"));
    }

    @AfterEach
    void restoreHome() {
        if (savedUserHome != null) System.setProperty("user.home", savedUserHome);
    }

    Path write(String name, byte[] content) throws Exception {
        return Files.write(tmp.resolve(name), content);
    }

    CliRun verifyOak(Path endorsement, String... extra) {
        List<String> args = new ArrayList<>(List.of("attest", "verify", "--report", data(OAK + "report.bin"), "--vcek", data(OAK + "vcek.der"),
                "--at", OAK_AT, "--endorsement", endorsement.toString()));
        args.addAll(List.of(extra));
        return run(args.toArray(String[]::new));
    }

    String trust() {
        return key.trust();
    }

    static JsonNode json(CliRun r) throws Exception {
        return new ObjectMapper().readTree(r.out());
    }

    static List<String> failed(CliRun r) throws Exception {
        List<String> names = new ArrayList<>();
        json(r).at("/endorsement/failed").forEach(n -> names.add(n.asText()));
        return names;
    }

    @Test
    void realReportWithItsEndorsementVerifies() throws Exception {
        Path e = write("guest.cose", key.sign(OAK_MEASUREMENT, 2));
        CliRun r = verifyOak(e, "--trust-endorser", trust(), "-o", "json");
        assertEquals(0, r.exit(), r.out() + r.err());
        JsonNode j = json(r);
        assertTrue(j.get("endorsed").asBoolean());
        assertEquals("coffer-compliant-guest", j.get("complianceStatus").asText());
        assertEquals(key.did(), j.at("/endorsement/issuer").asText());
        assertEquals(2, j.at("/endorsement/guestSvn").asLong());
        assertEquals(6, j.at("/endorsement/checks").size());

        CliRun text = verifyOak(e, "--trust-endorser", trust());
        assertEquals(0, text.exit(), text.out() + text.err());
        assertTrue(text.out().contains("endorsement: endorsed (coffer-compliant-guest"), text.out());

        // Base64 text, the form of Azure's UVM_REFERENCE_INFO, is read too.
        Path b64 = write("guest.b64", Base64.getEncoder().encode(key.sign(OAK_MEASUREMENT, 2)));
        assertEquals(0, verifyOak(b64, "--trust-endorser", key.did()).exit());
    }

    @Test
    void benchMeasuresEndorsementAppraisal() throws Exception {
        CliRun r = run("attest", "bench", "--endorsements", "--seconds", "1", "-o", "json");
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(json(r).get("appraisals").asLong() > 0, r.out());
        assertTrue(json(r).get("cpu_micros_per_appraisal").asLong() > 0, r.out());
    }

    @Test
    void expiredEndorserRefusedAtALaterTime() throws Exception {
        TestEndorser shortLived = TestEndorser.make("coffer-guest", java.time.Instant.parse("2025-01-01T00:00:00Z"), java.time.Instant.parse("2025-06-01T00:00:00Z"));
        CliRun r = verifyOak(write("expired.cose", shortLived.sign(OAK_MEASUREMENT, 1)), "--trust-endorser", shortLived.trust(), "-o", "json");
        assertEquals(1, r.exit());
        assertEquals(List.of("chain"), failed(r));
        assertTrue(json(r).at("/endorsement/checks/0/detail").asText().contains("expired"), r.out());
    }

    @Test
    void endorsementForAnotherMeasurementExitsOne() throws Exception {
        Path e = write("other.cose", key.sign("ab".repeat(48), 2));
        CliRun r = verifyOak(e, "--trust-endorser", trust(), "-o", "json");
        assertEquals(1, r.exit());
        assertFalse(json(r).get("endorsed").asBoolean());
        assertTrue(json(r).get("complianceStatus").isNull());
        assertTrue(json(r).at("/verdict/valid").asBoolean(), "the report itself is valid");
        assertEquals(List.of("measurement"), failed(r));
        CliRun text = verifyOak(e, "--trust-endorser", trust());
        assertTrue(text.out().contains("FAIL measurement"), text.out());
        assertTrue(text.out().contains("endorsement: not endorsed: measurement"), text.out());
    }

    @Test
    void untrustedEndorserAndSvnMinimum() throws Exception {
        Path e = write("guest.cose", key.sign(OAK_MEASUREMENT, 2));
        CliRun none = verifyOak(e, "-o", "json");
        assertEquals(1, none.exit());
        assertEquals(List.of("issuer_feed", "guest_svn"), failed(none));
        CliRun azure = verifyOak(e, "--trust-azure-uvm", "-o", "json");
        assertEquals(List.of("issuer_feed", "guest_svn"), failed(azure));
        CliRun otherFeed = verifyOak(e, "--trust-endorser", key.did() + ",ContainerPlat-AMD-UVM", "-o", "json");
        assertEquals(List.of("issuer_feed", "guest_svn"), failed(otherFeed));
        CliRun svn = verifyOak(e, "--trust-endorser", trust() + ",3", "-o", "json");
        assertEquals(1, svn.exit());
        assertEquals(List.of("guest_svn"), failed(svn));
    }

    @Test
    void tamperedEndorsementsExitOneNamingTheCheck() throws Exception {
        byte[] genuine = key.sign(OAK_MEASUREMENT, 2);
        // payload: one hex digit of the measurement changed
        byte[] payload = replace(genuine, OAK_MEASUREMENT.substring(0, 10), "d" + OAK_MEASUREMENT.substring(1, 10));
        assertEquals(List.of("signature", "measurement"), failed(verifyOak(write("p.cose", payload), "--trust-endorser", trust(), "-o", "json")));
        // signature: last byte flipped
        byte[] sig = genuine.clone();
        sig[sig.length - 1] ^= 1;
        assertEquals(List.of("signature"), failed(verifyOak(write("s.cose", sig), "--trust-endorser", trust(), "-o", "json")));
        // feed in the protected header
        byte[] feed = replace(genuine, "coffer-guest", "coffer-guesT");
        assertEquals(List.of("signature", "issuer_feed", "guest_svn"), failed(verifyOak(write("f.cose", feed), "--trust-endorser", trust(), "-o", "json")));
        // issuer in the protected header: the EKU OID's last digit changed
        String did = key.did();
        String forged = did.substring(0, did.length() - 1) + (did.charAt(did.length() - 1) == '1' ? '2' : '1');
        byte[] iss = replace(genuine, did, forged);
        assertEquals(List.of("did_x509", "signature", "issuer_feed", "guest_svn"),
                failed(verifyOak(write("i.cose", iss), "--trust-endorser", trust(), "-o", "json")));
        // chain: another endorser's key and chain claiming our DID
        TestEndorser other = TestEndorser.make("coffer-guest", java.time.Instant.parse("2020-01-01T00:00:00Z"), java.time.Instant.parse("2040-01-01T00:00:00Z"));
        byte[] chain = EndorsementSigner.sign(OAK_MEASUREMENT, 2, key.feed(), other.key(), other.chain(), key.did());
        CliRun c = verifyOak(write("c.cose", chain), "--trust-endorser", trust(), "-o", "json");
        assertEquals(1, c.exit());
        assertEquals(List.of("did_x509"), failed(c));
        assertTrue(json(c).at("/endorsement/checks/1/detail").asText().contains("matches no CA certificate"), c.out());
    }

    @Test
    void simulatedReportWithEndorsement() throws Exception {
        Path sim = tmp.resolve("sim-tee");
        Path out = tmp.resolve("sim-out");
        Path policy = Files.writeString(tmp.resolve("policy.rego"), "package policy\n");
        CliRun made = run("attest", "sim-report", "--sim-dir", sim.toString(), "--out", out.toString(), "--policy", policy.toString());
        assertEquals(0, made.exit(), made.out() + made.err());
        CliRun plain = run("attest", "verify", "--report", out.resolve("report.bin").toString(), "--trust-sim", "--sim-dir", sim.toString(), "-o", "json");
        assertEquals(0, plain.exit(), plain.out() + plain.err());
        String measurement = json(plain).at("/report/measurement").asText();
        Path e = write("sim.cose", key.sign(measurement, 1));
        CliRun r = run("attest", "verify", "--report", out.resolve("report.bin").toString(), "--trust-sim", "--sim-dir", sim.toString(),
                "--chain", out.resolve("cert_chain.pem").toString(), "--endorsement", e.toString(), "--trust-endorser", trust(), "-o", "json");
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(json(r).get("endorsed").asBoolean());
        // An invalid report with a valid endorsement still exits 1.
        CliRun untrustedSim = run("attest", "verify", "--report", out.resolve("report.bin").toString(), "--vcek", out.resolve("vcek.pem").toString(),
                "--chain", out.resolve("cert_chain.pem").toString(), "--endorsement", e.toString(), "--trust-endorser", trust(), "-o", "json");
        assertEquals(1, untrustedSim.exit());
        assertTrue(json(untrustedSim).get("endorsed").asBoolean());
        assertFalse(json(untrustedSim).get("valid").asBoolean());
    }

    @Test
    void badEndorsementInputGetsAPreciseErrorAndNoStackTrace() throws Exception {
        byte[] genuine = key.sign(OAK_MEASUREMENT, 2);
        CliRun garbage = verifyOak(write("g.cose", "garbage, not CBOR".getBytes(StandardCharsets.US_ASCII)), "--trust-endorser", trust());
        assertEquals(1, garbage.exit());
        assertTrue(garbage.err().contains("g.cose: "), garbage.err());
        for (int n : new int[]{1, 2, 7, 40, genuine.length / 2, genuine.length - 1}) {
            CliRun t = verifyOak(write("t" + n + ".cose", java.util.Arrays.copyOf(genuine, n)), "--trust-endorser", trust());
            assertEquals(1, t.exit(), "length " + n);
            assertTrue(t.err().contains("truncated"), n + ": " + t.err());
            assertFalse(t.err().contains("Exception") || t.err().contains("\tat "), t.err());
        }
        byte[] huge = new byte[]{(byte) 0xd2, (byte) 0x84, 0x5b, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff};
        CliRun h = verifyOak(write("h.cose", huge), "--trust-endorser", trust());
        assertEquals(1, h.exit());
        assertTrue(h.err().contains("claiming 18446744073709551615 bytes"), h.err());
        CliRun missing = verifyOak(tmp.resolve("absent.cose"), "--trust-endorser", trust());
        assertEquals(1, missing.exit());
        assertTrue(missing.err().contains("does not exist"), missing.err());

        CliRun badDid = verifyOak(write("ok.cose", genuine), "--trust-endorser", "did:x509:0:sha1:abc::eku:1.2");
        assertEquals(2, badDid.exit());
        assertTrue(badDid.err().contains("expected sha256, sha384 or sha512"), badDid.err());
        CliRun noEndorsement = run("attest", "verify", "--report", data(OAK + "report.bin"), "--trust-endorser", trust());
        assertEquals(2, noEndorsement.exit());
        assertTrue(noEndorsement.err().contains("need --endorsement"), noEndorsement.err());
        assertEquals(TrustedEndorser.MICROSOFT_UVM.feed(), "ContainerPlat-AMD-UVM");
    }

    private static byte[] replace(byte[] in, String from, String to) {
        byte[] f = from.getBytes(StandardCharsets.US_ASCII), t = to.getBytes(StandardCharsets.US_ASCII);
        assertEquals(f.length, t.length);
        for (int i = 0; i + f.length <= in.length; i++) {
            if (java.util.Arrays.equals(in, i, i + f.length, f, 0, f.length)) {
                byte[] out = in.clone();
                System.arraycopy(t, 0, out, i, t.length);
                return out;
            }
        }
        return fail("\"" + from + "\" not found");
    }
}
