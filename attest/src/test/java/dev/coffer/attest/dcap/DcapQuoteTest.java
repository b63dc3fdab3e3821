package dev.coffer.attest.dcap;

import dev.coffer.attest.dcap.IntelTestData.Expected;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Every captured quote parses with the fields its PROVENANCE.md lists; malformed ones are refused precisely. */
class DcapQuoteTest {
    static final List<Expected> QUOTES = IntelTestData.QUOTES;
    private static final HexFormat HEX = HexFormat.of();

    @ParameterizedTest
    @FieldSource("QUOTES")
    void parsesAsProvenanceSays(Expected e) {
        DcapQuote q = IntelTestData.quote(e.file());
        assertEquals(e.version(), q.header().version());
        assertEquals(QuoteHeader.ATT_KEY_ECDSA_P256, q.header().attestationKeyType());
        assertEquals(e.tee(), q.tee().label());
        assertEquals("939a7233f79c4ca9940a0db3957f0607", HEX.formatHex(q.header().qeVendorId()));
        assertEquals(e.userData(), HEX.formatHex(q.header().userData()));
        assertEquals(e.reportData(), HEX.formatHex(q.body().reportData()));
        switch (q.body()) {
            case EnclaveReport r -> assertEquals(e.mrOrMrtd(), HEX.formatHex(r.mrEnclave()));
            case TdReport td -> assertEquals(e.mrOrMrtd(), HEX.formatHex(td.mrTd()));
        }
        assertEquals(e.qeSvn(), q.qeReport().isvSvn());
        assertEquals(e.qeMrEnclave(), HEX.formatHex(q.qeReport().mrEnclave()));
        assertEquals(3, q.pckChain().size());
        assertEquals("Intel SGX PCK Certificate", DcapVerifier.cn(q.pckChain().getFirst()));
        assertEquals(e.fmspc(), PckExtensions.of(q.pckChain().getFirst()).fmspcHex());
        assertEquals("0000", PckExtensions.of(q.pckChain().getFirst()).pceIdHex());
    }

    @Test
    void sgxQuoteHasEveryEnclaveField() {
        DcapQuote q = IntelTestData.quote("intel/sgx-trustee/occlum_quote.dat");
        EnclaveReport r = (EnclaveReport) q.body();
        assertEquals(8, q.header().qeSvn());
        assertEquals(13, q.header().pceSvn());
        assertEquals("06060c0cffff00000000000000000000", HEX.formatHex(r.cpuSvn()));
        assertEquals("0700000000000000e700000000000000", HEX.formatHex(r.attributes()));
        assertEquals("83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e", HEX.formatHex(r.mrSigner()));
        assertEquals(0, r.isvProdId());
        assertEquals(0, r.isvSvn());
        assertTrue(r.debug(), "ATTRIBUTES.FLAGS 0x07 has DEBUG set");
        assertEquals(1, q.qeReport().isvProdId());
        assertEquals("8c4f5775d796503e96137f77c68a829a0056ac8ded70140b081b094490c57bff", HEX.formatHex(q.qeReport().mrSigner()));
        assertEquals(0, q.trailingBytes());
    }

    @Test
    void tdxV4QuoteHasEveryTdField() {
        DcapQuote q = IntelTestData.quote(IntelTestData.GO + "tdx_prod_quote_SPR_E4.dat");
        TdReport td = (TdReport) q.body();
        assertEquals("1.0", td.tdVersion());
        assertEquals("03000400000000000000000000000000", HEX.formatHex(td.teeTcbSvn()));
        assertEquals("2fd279c16164a93dd5bf373d834328d46008c2b693af9ebb865b08b2ced320c9a89b4869a9fab60fbe9d0c5a5363c656", HEX.formatHex(td.mrSeam()));
        assertEquals("0000004000000000", HEX.formatHex(td.tdAttributes()));
        assertEquals("e71a060000000000", HEX.formatHex(td.xfam()));
        assertEquals("0".repeat(96), HEX.formatHex(td.mrConfigId()));
        assertEquals("2927da70461cd63266f43230cc1849c03ef25ebe490062a801d8fcc80af42976823adf08f833c1e50b51779c6593f32a", HEX.formatHex(td.rtmr(0)));
        assertEquals("2c700b8ba9b85783f8be9fb9443647bdc0bb3c50747f06297cc6538c25a5f589c4b56d035c59107c6bc5800db2cacb61", HEX.formatHex(td.rtmr(1)));
        assertEquals("8652f0caaba7e215ea442dc36a4499d8fec3362f3a0b2ca151cbe4b3e6466fe59c7368b3c2287fc7c3bf5c924eb4424e", HEX.formatHex(td.rtmr(2)));
        assertEquals("0".repeat(96), HEX.formatHex(td.rtmr(3)));
        assertFalse(td.debug());
        assertEquals(39, q.trailingBytes());
        PckExtensions pck = PckExtensions.of(q.pckChain().getFirst());
        assertArrayEquals(new int[] {3, 3, 2, 2, 2, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0}, pck.tcbComponents());
        assertEquals(11, pck.pceSvn());
        assertEquals("089ddfdb9c0359c82a3bc7719239574e", HEX.formatHex(pck.ppid()));
    }

    @Test
    void tdxV5QuoteHasTd15Fields() {
        DcapQuote q = IntelTestData.quote(IntelTestData.TRUSTEE + "tdx_quote_5.dat");
        TdReport td = (TdReport) q.body();
        assertEquals("1.5", td.tdVersion());
        assertEquals("05010200000000000000000000000000", HEX.formatHex(td.teeTcbSvn2().orElseThrow()));
        assertEquals("383c87d3bbb047b2d171eaca95312ede99f258088dc788f6ae2ccf8b6dd848fe8d47629e08b3f6cbd4a00dd47a5a033d",
                HEX.formatHex(td.mrServiceTd().orElseThrow()));
        DcapQuote q4 = IntelTestData.quote(IntelTestData.TRUSTEE + "tdx_quote_4.dat");
        assertTrue(q4.body().debug(), "tdx_quote_4 TDATTRIBUTES 01.. has DEBUG set");
        DcapQuote q6 = IntelTestData.quote(IntelTestData.TRUSTEE + "tdx_quote_6.dat");
        assertEquals("889abf4718f037e38d74464c11e7c91a6e9890b5546409e1e7df9de7a51ca93152bf847bd2440328e90adb18b150ed67",
                HEX.formatHex(((TdReport) q6.body()).mrConfigId()));
        assertEquals(70, q6.trailingBytes());
        PckExtensions pck = PckExtensions.of(q.pckChain().getFirst());
        assertArrayEquals(new int[] {1, 1, 2, 2, 3, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0}, pck.tcbComponents());
    }

    @ParameterizedTest
    @FieldSource("QUOTES")
    void everyTruncationIsRefusedWithAQuoteFormatException(Expected e) {
        byte[] raw = IntelTestData.bytes(e.file());
        DcapQuote full = DcapQuote.parse(raw);
        int end = raw.length - full.trailingBytes();
        for (int len = 0; len < end; len++) {
            byte[] cut = java.util.Arrays.copyOf(raw, len);
            QuoteFormatException ex = assertThrows(QuoteFormatException.class, () -> DcapQuote.parse(cut), "length " + len);
            assertFalse(ex.getMessage().isBlank());
        }
    }

    @Test
    void wrongVersionTeeTypeAndSizesAreNamed() {
        byte[] raw = IntelTestData.bytes(IntelTestData.TRUSTEE + "tdx_quote_4.dat");
        byte[] v9 = raw.clone();
        v9[0] = 9;
        assertTrue(assertThrows(QuoteFormatException.class, () -> DcapQuote.parse(v9)).getMessage().contains("quote version is 9"));
        byte[] sgxTee = raw.clone();
        sgxTee[4] = 0;
        assertTrue(assertThrows(QuoteFormatException.class, () -> DcapQuote.parse(sgxTee)).getMessage().contains("expected 0x81"));
        byte[] keyType = raw.clone();
        keyType[2] = 3;
        assertTrue(assertThrows(QuoteFormatException.class, () -> DcapQuote.parse(keyType)).getMessage().contains("attestation key type is 3"));
        // A signature-data length of 2^32-1: refused by a bounds check, not an allocation.
        byte[] huge = raw.clone();
        int off = QuoteHeader.LENGTH + TdReport.LENGTH_TD10;
        huge[off] = huge[off + 1] = huge[off + 2] = huge[off + 3] = (byte) 0xff;
        assertTrue(assertThrows(QuoteFormatException.class, () -> DcapQuote.parse(huge)).getMessage().contains("truncated"));
        // A certification data size far beyond the quote.
        byte[] hugeCert = raw.clone();
        int certSize = off + 4 + 128 + 2;
        hugeCert[certSize + 3] = (byte) 0x7f;
        assertTrue(assertThrows(QuoteFormatException.class, () -> DcapQuote.parse(hugeCert)).getMessage().contains("QE report certification data"));
        byte[] sgx = IntelTestData.bytes("intel/sgx-trustee/occlum_quote.dat");
        byte[] sgxAsTdx = sgx.clone();
        sgxAsTdx[4] = (byte) 0x81;
        assertTrue(assertThrows(QuoteFormatException.class, () -> DcapQuote.parse(sgxAsTdx)).getMessage().contains("expected 0x0 (SGX)"));
        byte[] v5 = IntelTestData.bytes(IntelTestData.TRUSTEE + "tdx_quote_5.dat");
        byte[] badBody = v5.clone();
        badBody[QuoteHeader.LENGTH] = 7;
        assertTrue(assertThrows(QuoteFormatException.class, () -> DcapQuote.parse(badBody)).getMessage().contains("body type is 7"));
    }

    @Test
    void garbageAndEmptyInputAreRefused() {
        assertThrows(QuoteFormatException.class, () -> DcapQuote.parse(new byte[0]));
        assertThrows(QuoteFormatException.class, () -> DcapQuote.parse(new byte[5000]));
        assertThrows(QuoteFormatException.class, () -> DcapQuote.parse(new byte[DcapQuote.MAX_LENGTH + 1]));
    }
}
