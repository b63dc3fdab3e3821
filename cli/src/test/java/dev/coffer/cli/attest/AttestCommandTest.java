package dev.coffer.cli.attest;

import dev.coffer.cli.CliRun;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.coffer.cli.CofferCommand;
import dev.coffer.cli.Main;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class AttestCommandTest {

    static final Path DATA = Path.of(System.getProperty("coffer.shared", "../../shared")).resolve("testdata/attestation");
    static final String GO = "snp/go-sev-guest-milan-v2/";
    static final String GO_AT = "2023-06-01T00:00:00Z";

    @TempDir
    Path tmp;
    private String savedUserHome;

    @BeforeEach
    void isolateHome() {
        assumeTrue(System.getenv("COFFER_HOME") == null, "COFFER_HOME is set; these tests need their own home");
        savedUserHome = System.getProperty("user.home");
        System.setProperty("user.home", tmp.resolve("user").toString());
    }

    @AfterEach
    void restoreHome() {
        if (savedUserHome != null) System.setProperty("user.home", savedUserHome);
    }

    static CliRun run(String... args) {
        CommandLine cli = Main.commandLine();
        if (!cli.getSubcommands().containsKey("attest")) {
            CommandLine reference = cli;
            cli = new CommandLine(new CofferCommand()).addSubcommand(new AttestCommand());
            cli.setExecutionExceptionHandler(reference.getExecutionExceptionHandler());
            cli.setParameterExceptionHandler(reference.getParameterExceptionHandler());
            cli.setExitCodeExceptionMapper(reference.getExitCodeExceptionMapper());
        }
        return CliRun.execute(cli, args);
    }

    static String data(String relative) {
        return DATA.resolve(relative).toString();
    }

    @Test
    void verifiesARealReportAndPrintsEveryField() {
        CliRun r = run("attest", "verify", "--report", data(GO + "attestation.bin"), "--vcek", data(GO + "vcek.der"),
                "--chain", data("amd-roots/ask_ark_milan.pem"), "--at", GO_AT, "--allow-debug");
        assertEquals(0, r.exit(), r.out() + r.err());
        for (String field : new String[] {"version", "guest_svn", "policy", "family_id", "image_id", "vmpl", "signature_algo",
                "current_tcb", "platform_info", "signing_key", "report_data", "measurement", "host_data", "id_key_digest",
                "author_key_digest", "report_id", "report_id_ma", "reported_tcb", "chip_id", "committed_tcb",
                "current_version", "committed_version", "launch_tcb", "signature_r", "signature_s"}) {
            assertTrue(r.out().contains("  " + field + " "), "missing " + field + " in\n" + r.out());
        }
        assertTrue(r.out().contains("b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01"));
        assertTrue(r.out().contains("verdict: valid (tee=real, product=milan)"), r.out());
    }

    @Test
    void debugGuestsAreInvalidByDefaultWithTheReason() {
        CliRun r = run("attest", "verify", "--report", data(GO + "attestation.bin"), "--vcek", data(GO + "vcek.der"), "--at", GO_AT);
        assertEquals(1, r.exit());
        assertTrue(r.out().contains("FAIL policy_debug"), r.out());
        assertTrue(r.out().contains("verdict: invalid: policy_debug"), r.out());
    }

    @Test
    void jsonOutputCarriesFieldsAndChecks() throws Exception {
        CliRun r = run("attest", "verify", "--report", data("snp/oak-genoa/report.bin"), "--vcek", data("snp/oak-genoa/vcek.der"),
                "--at", "2025-09-01T00:00:00Z", "--expect-measurement",
                "c57729018b0a6fb90dc17bb138b0aa35e4401004283ff4a2c24d3739ff3750f52384370e77b7032862a08c440a9bc4dc", "-o", "json");
        assertEquals(0, r.exit(), r.out() + r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertTrue(j.at("/verdict/valid").asBoolean());
        assertEquals("real", j.at("/verdict/tee").asText());
        assertEquals("genoa", j.at("/verdict/product").asText());
        assertEquals(5, j.at("/report/version").asInt());
        assertEquals("0a00000000001954", j.at("/report/reported_tcb/raw").asText());
        assertEquals(0x54, j.at("/report/reported_tcb/microcode").asInt());
        assertEquals("VCEK", j.at("/endorsement_key/role").asText());
        boolean measured = false;
        for (JsonNode c : j.at("/verdict/checks")) {
            if (c.get("name").asText().equals("measurement")) measured = c.get("status").asText().equals("pass");
        }
        assertTrue(measured);
    }

    @Test
    void hexReportWithAnAzureStyleBundleInAnyOrder() throws Exception {
        String vcekPem = dev.coffer.attest.cert.Certificates.toPem(Files.readAllBytes(DATA.resolve("snp/virtee-sev-milan-v2/vcek_milan.der")));
        String chain = Files.readString(DATA.resolve("snp/virtee-sev-milan-v2/cert_chain_milan.pem"));
        int split = chain.indexOf("-----END CERTIFICATE-----") + "-----END CERTIFICATE-----\n".length();
        Path bundle = Files.writeString(tmp.resolve("bundle.pem"), chain.substring(split) + vcekPem + chain.substring(0, split));
        CliRun r = run("attest", "verify", "--report", data("snp/virtee-sev-milan-v2/report_milan.hex"), "--chain", bundle.toString(),
                "--at", "2024-01-01T00:00:00Z");
        assertEquals(0, r.exit(), r.out() + r.err());
    }

    @Test
    void tamperedTruncatedAndWrongInputsFailPrecisely() throws Exception {
        byte[] raw = Files.readAllBytes(DATA.resolve(GO + "attestation.bin"));
        raw[0x90] ^= 1;
        Path tampered = Files.write(tmp.resolve("tampered.bin"), raw);
        CliRun r = run("attest", "verify", "--report", tampered.toString(), "--vcek", data(GO + "vcek.der"), "--at", GO_AT, "--allow-debug");
        assertEquals(1, r.exit());
        assertTrue(r.out().contains("FAIL report_signature"), r.out());

        Path truncated = Files.write(tmp.resolve("short.bin"), java.util.Arrays.copyOf(raw, 1000));
        r = run("attest", "verify", "--report", truncated.toString(), "--vcek", data(GO + "vcek.der"));
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("truncated: 184 bytes missing"), r.err());

        r = run("attest", "verify", "--report", data(GO + "attestation.bin"), "--vcek", data("snp/trustee-milan-vcek-v2/test-vcek-invalid-new.der"),
                "--at", GO_AT, "--allow-debug");
        assertEquals(1, r.exit());
        assertTrue(r.out().contains("FAIL certificate_chain"), r.out());

        r = run("attest", "verify", "--report", data(GO + "attestation.bin"), "--vcek", data("amd-roots/ask_ark_milan.pem"));
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("expected exactly one certificate, found 2"), r.err());

        r = run("attest", "verify", "--report", data(GO + "attestation.bin"), "--at", "yesterday");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("--at expects an ISO-8601 instant"), r.err());

        r = run("attest", "verify", "--report", data(GO + "attestation.bin"), "--expect-host-data", "abcd");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("--expect-host-data expects 64 hex digits"), r.err());

        r = run("attest", "verify", "--report", tmp.resolve("missing.bin").toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("does not exist"), r.err());
    }

    @Test
    void withoutAVcekItAsksTheKdsAndCachesTheAnswer() throws Exception {
        AtomicInteger hits = new AtomicInteger();
        HttpServer kds = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        byte[] vcek = Files.readAllBytes(DATA.resolve(GO + "vcek.der"));
        kds.createContext("/vcek/v1/Milan/", ex -> {
            hits.incrementAndGet();
            ex.sendResponseHeaders(200, vcek.length);
            ex.getResponseBody().write(vcek);
            ex.close();
        });
        kds.start();
        try {
            String url = "http://127.0.0.1:" + kds.getAddress().getPort();
            Path cache = tmp.resolve("kds-cache");
            CliRun offline = run("attest", "verify", "--report", data(GO + "attestation.bin"), "--offline", "--kds-cache", cache.toString());
            assertEquals(1, offline.exit());
            assertTrue(offline.err().contains("collateral unavailable: offline mode"), offline.err());

            CliRun r = run("attest", "verify", "--report", data(GO + "attestation.bin"), "--at", GO_AT, "--allow-debug",
                    "--kds-url", url, "--kds-cache", cache.toString());
            assertEquals(0, r.exit(), r.out() + r.err());
            assertEquals(1, hits.get());
            r = run("attest", "verify", "--report", data(GO + "attestation.bin"), "--at", GO_AT, "--allow-debug",
                    "--offline", "--kds-cache", cache.toString());
            assertEquals(0, r.exit(), r.out() + r.err());
            assertEquals(1, hits.get());
        } finally {
            kds.stop(0);
        }
    }

    @Test
    void simReportsVerifyOnlyWithTrustSim() throws Exception {
        Path sim = tmp.resolve("sim-tee");
        Path out = tmp.resolve("sim-out");
        Path policy = Files.writeString(tmp.resolve("policy.rego"), "package policy\n");
        CliRun made = run("attest", "sim-report", "--sim-dir", sim.toString(), "--out", out.toString(), "--policy", policy.toString(),
                "--report-data", "cafe");
        assertEquals(0, made.exit(), made.out() + made.err());
        String report = out.resolve("report.bin").toString();

        CliRun trusted = run("attest", "verify", "--report", report, "--trust-sim", "--sim-dir", sim.toString(),
                "--expect-host-data", "89d09cb5c2f579afa733a1f68ae0dd5ff13e59efa75b870c64ca9fd62e9ec139");
        assertEquals(0, trusted.exit(), trusted.out() + trusted.err());
        assertTrue(trusted.out().contains("verdict: valid (tee=sim, product=milan)"), trusted.out());
        assertTrue(trusted.out().contains("cafe000000"), trusted.out());

        CliRun nonce = run("attest", "verify", "--report", report, "--trust-sim", "--sim-dir", sim.toString(), "--expect-report-data", "cafe");
        assertEquals(0, nonce.exit(), nonce.out() + nonce.err());
        CliRun wrongNonce = run("attest", "verify", "--report", report, "--trust-sim", "--sim-dir", sim.toString(), "--expect-report-data", "beef");
        assertEquals(1, wrongNonce.exit());
        assertTrue(wrongNonce.out().contains("FAIL report_data"), wrongNonce.out());

        CliRun refused = run("attest", "verify", "--report", report, "--vcek", out.resolve("vcek.pem").toString(),
                "--chain", out.resolve("cert_chain.pem").toString());
        assertEquals(1, refused.exit());
        assertTrue(refused.out().contains("--trust-sim"), refused.out());
        assertFalse(refused.out().contains("tee=real"));

        CliRun noChip = run("attest", "verify", "--report", report, "--trust-sim", "--sim-dir", tmp.resolve("nothing").toString());
        assertEquals(1, noChip.exit());
        assertTrue(noChip.err().contains("no simulated secure processor at"), noChip.err());
    }

    @Test
    void helpShowsAnExample() {
        CliRun r = run("attest", "verify", "--help");
        assertEquals(0, r.exit());
        assertTrue(r.out().contains("coffer attest verify --report"), r.out());
        assertTrue(r.out().contains("--trust-sim"));
    }
}
