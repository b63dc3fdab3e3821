package dev.coffer.agent.tee;

import dev.coffer.agent.skr.Evidence;
import dev.coffer.agent.skr.EvidenceSource;
import dev.coffer.attest.cert.Certificates;
import dev.coffer.attest.measure.HostData;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.attest.snp.SnpReport;
import dev.coffer.attest.verify.SnpVerifier;
import dev.coffer.attest.verify.TeeKind;
import dev.coffer.attest.verify.Verdict;
import dev.coffer.attest.verify.VerifierPolicy;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SimLaunchContextTest {
    @TempDir
    static Path home;
    static SimulatedSecureProcessor chip;
    static final byte[] MEASUREMENT = new byte[48];
    static final String POLICY = "package policy\napi_version := \"0.10.0\"\n";

    @BeforeAll
    static void chip() {
        Arrays.fill(MEASUREMENT, (byte) 0x5a);
        chip = SimulatedSecureProcessor.openOrCreate(home.resolve("sim-tee"));
    }

    private static Path context(Path dir) throws Exception {
        Path file = dir.resolve("launch-context.json");
        SimLaunchContext.create(chip, "web", MEASUREMENT, HostData.ofPolicy(POLICY), file);
        return file;
    }

    @Test
    void reportsFromTheContextVerifyAndCarryTheLaunchAndTheNonce(@TempDir Path dir) throws Exception {
        Path file = context(dir);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        EvidenceSource tee = SimLaunchContext.open(file, "web");
        assertEquals("sim", tee.tee());
        byte[] nonce = HexFormat.of().parseHex("00112233445566778899aabbccddeeff");
        Evidence evidence = tee.evidence(HostChallenge.reportData(nonce));
        SnpReport report = SnpReport.parse(evidence.report());
        Verdict verdict = new SnpVerifier(VerifierPolicy.builder().trustSimRoot(chip.ark()).allowSmt(true)
                .expectReportData(HostChallenge.reportData(nonce)).expectHostData(HostData.ofPolicy(POLICY))
                .expectMeasurement(MEASUREMENT).build())
                .verify(report, Certificates.parsePem(evidence.certChainPem()));
        assertTrue(verdict.valid(), verdict.summary());
        assertEquals(TeeKind.SIM, verdict.tee());
        assertArrayEquals(nonce, Arrays.copyOfRange(report.reportData(), 32, 32 + nonce.length));
        assertArrayEquals(HostChallenge.TAG, Arrays.copyOf(report.reportData(), 32));
    }

    @Test
    void startupCheckPassesForTheLaunchPolicyAndRefusesAnother(@TempDir Path dir) throws Exception {
        EvidenceSource tee = SimLaunchContext.open(context(dir), "web");
        TeeSources.requirePolicyBound(tee, POLICY.getBytes(StandardCharsets.UTF_8));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> TeeSources.requirePolicyBound(tee, (POLICY + "# edited\n").getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().contains("does not match this sandbox's launch"), e.getMessage());
        IllegalStateException allowAll = assertThrows(IllegalStateException.class, () -> TeeSources.requirePolicyBound(tee, null));
        assertTrue(allowAll.getMessage().contains("allow-all"), allowAll.getMessage());
    }

    @Test
    void allowAllLaunchesAreBoundToZeroHostData(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("ctx.json");
        SimLaunchContext.create(chip, "web", MEASUREMENT, new byte[32], file);
        TeeSources.requirePolicyBound(SimLaunchContext.open(file, "web"), null);
        assertThrows(IllegalStateException.class,
                () -> TeeSources.requirePolicyBound(SimLaunchContext.open(file, "web"), "x".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void editedHostDataIsRefused(@TempDir Path dir) throws Exception {
        Path file = context(dir);
        String other = HexFormat.of().formatHex(HostData.ofPolicy("package policy\n"));
        String text = Files.readString(file).replace(HexFormat.of().formatHex(HostData.ofPolicy(POLICY)), other);
        Files.writeString(file, text);
        TeeException e = assertThrows(TeeException.class, () -> SimLaunchContext.open(file, "web"));
        assertTrue(e.getMessage().contains("altered after the launch"), e.getMessage());
    }

    @Test
    void everyEditedFieldIsRefused(@TempDir Path dir) throws Exception {
        Path file = context(dir);
        String original = Files.readString(file);
        String measurement = HexFormat.of().formatHex(MEASUREMENT);
        for (String[] edit : new String[][] {
                {measurement, measurement.replaceFirst("5a", "5b")},
                {"\"0x30000\"", "\"0xb0000\""},
                {"\"seal\" : \"", "\"seal\" : \"00"},
                {"\"seal\" : \"", "\"seal\" : \"zz"},
                {"\"format\" : \"coffer-sim-launch-context/v1\"", "\"format\" : \"v0\""},
                {"\"group\" : \"web\"", "\"group\" : \"db\""},
        }) {
            assertTrue(original.contains(edit[0]), edit[0]);
            Files.writeString(file, original.replace(edit[0], edit[1]));
            TeeException e = assertThrows(TeeException.class, () -> SimLaunchContext.open(file, "web"), edit[1]);
            assertTrue(e.getMessage().startsWith("refusing the launch context "), e.getMessage());
        }
        // a flipped bit anywhere in the seal's signed area
        String seal = original.replaceAll("(?s).*\"seal\" : \"([0-9a-f]+)\".*", "$1");
        char[] flipped = seal.toCharArray();
        flipped[200] = flipped[200] == '0' ? '1' : '0';
        Files.writeString(file, original.replace(seal, new String(flipped)));
        assertThrows(TeeException.class, () -> SimLaunchContext.open(file, "web"));
    }

    /**
     * The microVM's order: the guest checks the context in memory (checkSealed), then the agent
     * opens the same context from the file, and the seal's signature is not verified twice. A
     * signature verified once must not let anything else through: edited fields beside the same
     * seal, a seal with a flipped bit, and the same seal claimed by another chip are all refused.
     */
    @Test
    void aSealVerifiedOnceStillBindsEveryFieldAndOnlyThisChip(@TempDir Path dir) throws Exception {
        Path file = context(dir);
        String original = Files.readString(file);
        byte[] vcekPem = Files.readAllBytes(chip.directory().resolve(SimulatedSecureProcessor.VCEK_CERTIFICATE_FILE));
        SimLaunchContext.checkSealed(original, "web", vcekPem);
        assertTrue(SimLaunchContext.open(file, "web") != null, "the checked context opens");

        String measurement = HexFormat.of().formatHex(MEASUREMENT);
        String hostData = HexFormat.of().formatHex(HostData.ofPolicy(POLICY));
        for (String[] edit : new String[][] {
                {measurement, measurement.replaceFirst("5a", "5b")},
                {hostData, HexFormat.of().formatHex(HostData.ofPolicy("package policy\n"))},
                {"\"0x30000\"", "\"0xb0000\""},
        }) {
            String edited = original.replace(edit[0], edit[1]);
            Files.writeString(file, edited);
            TeeException opened = assertThrows(TeeException.class, () -> SimLaunchContext.open(file, "web"), edit[1]);
            assertTrue(opened.getMessage().contains("altered after the launch"), opened.getMessage());
            TeeException checked = assertThrows(TeeException.class, () -> SimLaunchContext.checkSealed(edited, "web", vcekPem));
            assertTrue(checked.getMessage().contains("altered after the launch"), checked.getMessage());
        }
        String seal = original.replaceAll("(?s).*\"seal\" : \"([0-9a-f]+)\".*", "$1");
        for (int at : new int[] {200, 2 * SnpReport.SIGNED_LENGTH + 10}) { // in the signed area, in the signature's R
            char[] flipped = seal.toCharArray();
            flipped[at] = flipped[at] == '0' ? '1' : '0';
            String edited = original.replace(seal, new String(flipped));
            Files.writeString(file, edited);
            assertThrows(TeeException.class, () -> SimLaunchContext.open(file, "web"), "bit at " + at);
            assertThrows(TeeException.class, () -> SimLaunchContext.checkSealed(edited, "web", vcekPem), "bit at " + at);
        }
        SimulatedSecureProcessor other = SimulatedSecureProcessor.openOrCreate(dir.resolve("other-chip"));
        byte[] otherPem = Files.readAllBytes(other.directory().resolve(SimulatedSecureProcessor.VCEK_CERTIFICATE_FILE));
        TeeException otherChip = assertThrows(TeeException.class, () -> SimLaunchContext.checkSealed(original, "web", otherPem));
        assertTrue(otherChip.getMessage().contains("its signature is not this simulated chip's"), otherChip.getMessage());
        Files.writeString(file, original);
        TeeException otherDir = assertThrows(TeeException.class, () -> SimLaunchContext.open(file, "web", other.directory()));
        assertTrue(otherDir.getMessage().contains("its signature is not this simulated chip's"), otherDir.getMessage());
    }

    @Test
    void anotherGroupsContextLooseModesLinksAndGarbageAreRefused(@TempDir Path dir) throws Exception {
        Path file = context(dir);
        TeeException group = assertThrows(TeeException.class, () -> SimLaunchContext.open(file, "db"));
        assertTrue(group.getMessage().contains("made for group \"web\""), group.getMessage());

        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        TeeException mode = assertThrows(TeeException.class, () -> SimLaunchContext.open(file, "web"));
        assertTrue(mode.getMessage().contains("must be rw------- (0600)"), mode.getMessage());
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));

        Path link = dir.resolve("link.json");
        Files.createSymbolicLink(link, file);
        assertThrows(TeeException.class, () -> SimLaunchContext.open(link, "web"));
        assertThrows(TeeException.class, () -> SimLaunchContext.open(dir.resolve("missing.json"), "web"));

        for (String garbage : new String[] {"", "{", "[]", "{\"format\": 1}", "{\"unknown\": true}"}) {
            Files.writeString(file, garbage);
            TeeException e = assertThrows(TeeException.class, () -> SimLaunchContext.open(file, "web"), garbage);
            assertTrue(e.getMessage().startsWith("refusing the launch context"), e.getMessage());
        }
        Files.write(file, new byte[100_000]);
        assertThrows(TeeException.class, () -> SimLaunchContext.open(file, "web"));
    }

    @Test
    void aContextIsAFlatObjectOfStringFieldsEachOnceAndNothingAfterIt(@TempDir Path dir) throws Exception {
        Path file = context(dir);
        String original = Files.readString(file);
        assertTrue(SimLaunchContext.open(file, "web") != null);
        Map<String, String> edits = new LinkedHashMap<>();
        // a second "group" after the sealed one: a lenient reader would take the later value
        edits.put("a field twice", original.replaceFirst("\\{", "{ \"group\" : \"db\","));
        edits.put("an unknown field", original.replaceFirst("\\{", "{ \"note\" : \"x\","));
        edits.put("a number for a string", original.replace("\"group\" : \"web\"", "\"group\" : 7"));
        edits.put("an object for a string", original.replace("\"group\" : \"web\"", "\"group\" : {\"name\": \"web\"}"));
        edits.put("something after the object", original + "{}");
        edits.put("a missing field", original.replaceAll("\"guestPolicy\" : \"0x30000\",?", ""));
        for (var edit : edits.entrySet()) {
            assertNotEquals(original, edit.getValue(), edit.getKey());
            Files.writeString(file, edit.getValue());
            TeeException e = assertThrows(TeeException.class, () -> SimLaunchContext.open(file, "web"), edit.getKey());
            assertTrue(e.getMessage().startsWith("refusing the launch context "), edit.getKey() + ": " + e.getMessage());
        }
        Files.writeString(file, original);
        assertTrue(SimLaunchContext.open(file, "web") != null, "the original still opens");
    }

    @Test
    void aContextForAnotherChipIsRefused(@TempDir Path dir) throws Exception {
        Path file = context(dir);
        SimulatedSecureProcessor other = SimulatedSecureProcessor.openOrCreate(dir.resolve("other-chip"));
        String text = Files.readString(file).replace(chip.directory().toAbsolutePath().normalize().toString(),
                other.directory().toAbsolutePath().normalize().toString());
        Files.writeString(file, text);
        assertThrows(TeeException.class, () -> SimLaunchContext.open(file, "web"));
    }

    @Test
    void teeChoiceArguments() {
        assertTrue(TeeSources.open("none", null, "web").isEmpty());
        assertThrows(IllegalArgumentException.class, () -> TeeSources.open("sim", null, "web"));
        assertThrows(IllegalArgumentException.class, () -> TeeSources.open("none", Path.of("/x"), "web"));
        assertThrows(IllegalArgumentException.class, () -> TeeSources.open("snp", Path.of("/x"), "web"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TeeSources.open("tdx", null, "web"));
        assertEquals("expected --tee none|sim|snp, found \"tdx\"", e.getMessage());
    }

    @Test
    void hostChallengeKeepsTheFirstHalfForItsTag() {
        byte[] rd = HostChallenge.reportData(new byte[] {1, 2, 3});
        assertEquals(64, rd.length);
        assertArrayEquals(HostChallenge.TAG, Arrays.copyOf(rd, 32));
        assertArrayEquals(new byte[] {1, 2, 3, 0}, Arrays.copyOfRange(rd, 32, 36));
        assertThrows(IllegalArgumentException.class, () -> HostChallenge.reportData(new byte[33]));
        assertThrows(IllegalArgumentException.class, () -> HostChallenge.reportData(null));
    }
}
