package dev.coffer.agent;

import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Response;
import dev.coffer.agent.protocol.Result;
import dev.coffer.agent.tee.HostChallenge;
import dev.coffer.agent.tee.SimLaunchContext;
import dev.coffer.attest.cert.Certificates;
import dev.coffer.attest.measure.HostData;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.attest.snp.SnpReport;
import dev.coffer.attest.verify.SnpVerifier;
import dev.coffer.attest.verify.Verdict;
import dev.coffer.attest.verify.VerifierPolicy;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The agent with {@code --tee sim}: the startup binding check, and get_report, as a separate JVM. */
class AgentTeeTest {
    static final HexFormat HEX = HexFormat.of();
    static final byte[] MEASUREMENT = new byte[48];

    @TempDir
    static Path chipHome;
    static SimulatedSecureProcessor chip;

    @TempDir
    Path dir;

    @BeforeAll
    static void chip() {
        Arrays.fill(MEASUREMENT, (byte) 0x4d);
        chip = SimulatedSecureProcessor.openOrCreate(chipHome.resolve("sim-tee"));
    }

    @Test
    void allowAllLaunchAnswersGetReportBoundToTheNonce() throws Exception {
        Path context = dir.resolve("launch-context.json");
        SimLaunchContext.create(chip, "attested", MEASUREMENT, new byte[32], context);
        try (AgentProcess agent = AgentProcess.start(dir, "attested", "--policy", "allow-all", "--tee", "sim",
                "--launch-context", context.toString())) {
            assertTrue(agent.process.isAlive(), agent.output());
            assertTrue(agent.output().contains("tee=sim"), agent.output());
            try (AgentClient client = agent.client()) {
                Result.Properties props = client.call(new Request.GetProperties(), Result.Properties.class);
                assertEquals("sim", props.tee());
                byte[] nonce = HEX.parseHex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
                Result.Report r = client.call(new Request.GetReport(HEX.formatHex(nonce)), Result.Report.class);
                assertEquals("sim", r.tee());
                SnpReport report = SnpReport.parse(HEX.parseHex(r.reportHex()));
                assertArrayEquals(HostChallenge.reportData(nonce), report.reportData());
                assertArrayEquals(MEASUREMENT, report.measurement());
                assertArrayEquals(new byte[32], report.hostData());
                Verdict v = new SnpVerifier(VerifierPolicy.builder().trustSimRoot(chip.ark()).build())
                        .verify(report, Certificates.parsePem(r.certChainPem()));
                assertTrue(v.valid(), v.summary());
                assertEquals("sim", v.tee().label());

                // a nonce longer than 32 bytes, or not hex, is refused before the TEE is asked
                for (String bad : new String[] {"00".repeat(33), "zz", ""}) {
                    Response resp = client.exchange(new Request.GetReport(bad));
                    assertFalse(resp.ok(), bad);
                    assertEquals(Response.Failure.INVALID_REQUEST, resp.error().code(), bad);
                }
                client.exchange(new Request.ShutdownSandbox(1000));
            }
            assertEquals(0, agent.waitExit(), agent.output());
        }
    }

    @Test
    void policyWhoseHashIsNotTheLaunchHostDataIsRefused() throws Exception {
        Path policy = dir.resolve("policy.rego");
        Files.writeString(policy, "package policy\n# the policy the host hands over\n");
        Path context = dir.resolve("launch-context.json");
        // the launch was bound to another policy text
        SimLaunchContext.create(chip, "bound", MEASUREMENT,
                HostData.ofPolicy("package policy\n# the policy that was launched\n".getBytes(StandardCharsets.UTF_8)), context);
        try (AgentProcess agent = AgentProcess.start(dir, "bound", "--policy", policy.toString(), "--tee", "sim",
                "--launch-context", context.toString())) {
            assertEquals(2, agent.waitExit(), agent.output());
            assertTrue(agent.output().contains("the policy does not match this sandbox's launch"), agent.output());
            assertTrue(agent.output().contains(HEX.formatHex(HostData.ofPolicy(Files.readAllBytes(policy)))), agent.output());
            assertFalse(agent.output().contains("READY"), agent.output());
        }
    }

    @Test
    void allowAllOnALaunchBoundToAPolicyIsRefused() throws Exception {
        Path context = dir.resolve("launch-context.json");
        SimLaunchContext.create(chip, "bound", MEASUREMENT, HostData.ofPolicy("package policy\n"), context);
        try (AgentProcess agent = AgentProcess.start(dir, "bound", "--policy", "allow-all", "--tee", "sim",
                "--launch-context", context.toString())) {
            assertEquals(2, agent.waitExit(), agent.output());
            assertTrue(agent.output().contains("expected HOST_DATA of zeros for --policy allow-all"), agent.output());
        }
    }

    @Test
    void tamperedLaunchContextIsRefused() throws Exception {
        Path policy = dir.resolve("policy.rego");
        Files.writeString(policy, "package policy\n# the host's own policy\n");
        Path context = dir.resolve("launch-context.json");
        SimLaunchContext.create(chip, "tampered", MEASUREMENT, HostData.ofPolicy("package policy\n# launched\n"), context);
        // the host rewrites HOST_DATA to match the policy it wants to run instead
        String json = Files.readString(context);
        String launched = HEX.formatHex(HostData.ofPolicy("package policy\n# launched\n"));
        Files.writeString(context, json.replace(launched, HEX.formatHex(HostData.ofPolicy(Files.readAllBytes(policy)))));
        try (AgentProcess agent = AgentProcess.start(dir, "tampered", "--policy", policy.toString(), "--tee", "sim",
                "--launch-context", context.toString())) {
            assertEquals(2, agent.waitExit(), agent.output());
            assertTrue(agent.output().contains("it was altered after the launch"), agent.output());
        }
    }

    @Test
    void hostDataFlagCannotOverrideTheTee() throws Exception {
        Path context = dir.resolve("launch-context.json");
        Path policy = dir.resolve("policy.rego");
        Files.writeString(policy, "package policy\n");
        SimLaunchContext.create(chip, "flag", MEASUREMENT, HostData.ofPolicy(Files.readAllBytes(policy)), context);
        try (AgentProcess agent = AgentProcess.start(dir, "flag", "--policy", policy.toString(), "--tee", "sim",
                "--launch-context", context.toString(), "--host-data", "ab".repeat(32))) {
            assertEquals(2, agent.waitExit(), agent.output());
            assertTrue(agent.output().contains("the host's word does not override the TEE's"), agent.output());
        }
    }

    @Test
    void skrPortWithoutTeeAndGetReportWithoutTeeAreRefused() throws Exception {
        try (AgentProcess agent = AgentProcess.start(dir, "plain", "--policy", "allow-all", "--skr-port", "8080")) {
            assertEquals(2, agent.waitExit(), agent.output());
            assertTrue(agent.output().contains("expected --skr-port only with a TEE"), agent.output());
        }
        Path other = Files.createDirectories(dir.resolve("plain2"));
        try (AgentProcess agent = AgentProcess.start(other, "plain", "--policy", "allow-all")) {
            assertTrue(agent.process.isAlive(), agent.output());
            try (AgentClient client = agent.client()) {
                AgentClient.AgentCallException e = assertThrows(AgentClient.AgentCallException.class,
                        () -> client.call(new Request.GetReport("00"), Result.Report.class));
                assertTrue(e.failure().reason().contains("launched with --tee none"), e.failure().reason());
                client.exchange(new Request.ShutdownSandbox(1000));
            }
            assertEquals(0, agent.waitExit(), agent.output());
        }
    }
}
