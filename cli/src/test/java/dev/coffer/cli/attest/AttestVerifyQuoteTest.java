package dev.coffer.cli.attest;

import dev.coffer.cli.CliRun;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.coffer.attest.dcap.Collateral;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

import static dev.coffer.cli.attest.AttestCommandTest.data;
import static dev.coffer.cli.attest.AttestCommandTest.run;
import static org.junit.jupiter.api.Assertions.*;

/** {@code coffer attest verify --quote}: real SGX/TDX quotes, real PCS collateral assembled into a bundle, exit codes and JSON. */
class AttestVerifyQuoteTest {
    static final String GO = "intel/tdx-go-tdx-guest/";
    static final String AT = "2023-07-01T00:00:00Z";

    @TempDir
    Path tmp;

    private Path bundle() throws Exception {
        String chain = Files.readString(Path.of(data(GO + "tcb_info_issuer_chain.pem")));
        Collateral c = Collateral.fromPcsResponses(Files.readString(Path.of(data(GO + "sample_tcbInfo_response"))), chain,
                Files.readString(Path.of(data(GO + "sample_qeIdentity_response"))), chain, Files.readAllBytes(Path.of(data(GO + "pckcrl"))),
                Files.readString(Path.of(data(GO + "pck_crl_issuer_chain.pem"))), Files.readAllBytes(Path.of(data(GO + "rootcrl.der"))));
        Path f = tmp.resolve("collateral.json");
        Files.writeString(f, c.toBundleJson());
        return f;
    }

    @Test
    void tdxQuoteWithCollateralIsValidAndJsonHasTheNamedFields() throws Exception {
        CliRun r = run("attest", "verify", "--quote", data("intel/tdx-trustee/tdx_quote_4.dat"), "--collateral",
                bundle().toString(), "--at", AT, "-o", "json");
        assertEquals(0, r.exit(), r.out() + r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("tdx", j.get("tee").asText());
        assertEquals("UpToDate", j.get("tcbStatus").asText());
        assertTrue(j.get("advisoryIds").isArray());
        assertEquals("705ee9381b8633a9fbe532b52345e8433343d2868959f57889d84ca377c395b689cac1599ccea1b7d420483a9ce5f031", j.get("mrtd").asText());
        for (String k : new String[] {"rtmr0", "rtmr1", "rtmr2", "rtmr3", "mrconfigid", "reportData"}) assertTrue(j.has(k), k);
        assertEquals("50806f000000", j.get("pck").get("fmspc").asText());
    }

    @Test
    void collateralDirectoryAndTextOutput() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("dir"));
        Files.move(bundle(), dir.resolve("50806f000000.json"));
        CliRun r = run("attest", "verify", "--quote", data("intel/tdx-trustee/tdx_quote_4.dat"), "--kind", "tdx",
                "--collateral", dir.toString(), "--at", AT);
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.out().contains("tcb status: UpToDate"), r.out());
        assertTrue(r.out().contains("PASS quote_signature"), r.out());
    }

    @Test
    void noMatchingTcbLevelExitsOne() throws Exception {
        CliRun r = run("attest", "verify", "--quote", data(GO + "tdx_prod_quote_SPR_E4.dat"), "--collateral",
                bundle().toString(), "--at", AT, "-o", "json");
        assertEquals(1, r.exit(), r.out() + r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertTrue(j.get("tcbStatus").isNull());
        assertFalse(j.get("valid").asBoolean());
    }

    @Test
    void expiredCollateralExitsOne() throws Exception {
        CliRun r = run("attest", "verify", "--quote", data("intel/tdx-trustee/tdx_quote_4.dat"), "--collateral",
                bundle().toString(), "--at", "2024-01-01T00:00:00Z");
        assertEquals(1, r.exit());
        assertTrue(r.out().contains("FAIL tcb_info_validity"), r.out());
    }

    @Test
    void sgxQuoteIsDetectedAndWithoutCollateralExitsOneButPrintsEveryField() throws Exception {
        CliRun r = run("attest", "verify", "--quote", data("intel/sgx-trustee/occlum_quote.dat"), "--at", "2024-01-01T00:00:00Z",
                "-o", "json");
        assertEquals(1, r.exit(), r.out() + r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("sgx", j.get("tee").asText());
        assertEquals("8f173e4613ff05c52aaf04162d234edae8c9977eae47eb2299ae16a553011c68", j.get("mrenclave").asText());
        assertEquals("83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e", j.get("mrsigner").asText());
        for (JsonNode c : j.get("checks")) {
            if (c.get("name").asText().equals("quote_signature")) assertEquals("pass", c.get("status").asText());
        }
    }

    @Test
    void hexQuoteWrongKindTruncatedAndGarbageCollateralAreExitOneWithAMessage() throws Exception {
        byte[] raw = Files.readAllBytes(Path.of(data("intel/tdx-trustee/tdx_quote_4.dat")));
        Path hex = tmp.resolve("q.hex");
        Files.writeString(hex, HexFormat.of().formatHex(raw));
        assertEquals(1, run("attest", "verify", "--quote", hex.toString(), "--at", AT).exit());

        CliRun kind = run("attest", "verify", "--quote", hex.toString(), "--kind", "sgx");
        assertEquals(1, kind.exit());
        assertTrue(kind.err().contains("--kind sgx but the quote is a tdx quote"), kind.err());

        Path cut = tmp.resolve("cut.dat");
        Files.write(cut, java.util.Arrays.copyOf(raw, 1000));
        CliRun t = run("attest", "verify", "--quote", cut.toString());
        assertEquals(1, t.exit());
        assertTrue(t.err().contains("truncated"), t.err());
        assertFalse(t.err().contains("\tat "), "no stack trace: " + t.err());

        Path garbage = tmp.resolve("garbage.json");
        Files.writeString(garbage, "{\"tcb_info\": 3", StandardCharsets.UTF_8);
        CliRun g = run("attest", "verify", "--quote", hex.toString(), "--collateral", garbage.toString());
        assertEquals(1, g.exit());
        assertTrue(g.err().contains("not valid JSON"), g.err());

        String savedHome = System.getProperty("coffer.home");
        System.setProperty("coffer.home", tmp.resolve("home").toString()); // an empty PCS cache
        CliRun offline;
        try {
            offline = run("attest", "verify", "--quote", hex.toString(), "--pcs", "--offline");
        } finally {
            if (savedHome == null) System.clearProperty("coffer.home");
            else System.setProperty("coffer.home", savedHome);
        }
        assertEquals(1, offline.exit());
        assertTrue(offline.err().contains("offline mode and no cached TCB info"), offline.err());
        assertEquals(2, run("attest", "verify", "--quote", hex.toString(), "--pcs", "--collateral", garbage.toString()).exit());

        assertEquals(2, run("attest", "verify", "--quote", hex.toString(), "--kind", "snp").exit());
        assertEquals(2, run("attest", "verify").exit());
    }
}
