package dev.coffer.attest.dcap;

import dev.coffer.attest.TestData;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

/** The captured Intel quotes and PCS collateral under ../shared/testdata/attestation/intel. */
final class IntelTestData {
    private IntelTestData() {}

    static final String GO = "intel/tdx-go-tdx-guest/";
    static final String TRUSTEE = "intel/tdx-trustee/";

    /** Inside every window of the go-tdx-guest 2023 collateral (tcbInfo 06-18..07-18, QE identity 06-08..07-08, PCK CRL 06-08..07-08). */
    static final Instant AT_2023 = Instant.parse("2023-07-01T00:00:00Z");

    static byte[] bytes(String rel) {
        return TestData.read(rel);
    }

    static String text(String rel) {
        return new String(TestData.read(rel), StandardCharsets.UTF_8);
    }

    static DcapQuote quote(String rel) {
        return DcapQuote.parse(bytes(rel));
    }

    /** The 2023 TDX collateral (fmspc 50806f000000) assembled from go-tdx-guest's PCS responses. */
    static Collateral collateral2023() {
        return collateral(text(GO + "sample_tcbInfo_response"), text(GO + "sample_qeIdentity_response"));
    }

    static Collateral collateral(String tcbInfoResponse, String qeIdentityResponse) {
        String tcbChain = text(GO + "tcb_info_issuer_chain.pem");
        return Collateral.fromPcsResponses(tcbInfoResponse, tcbChain, qeIdentityResponse, tcbChain,
                bytes(GO + "pckcrl"), text(GO + "pck_crl_issuer_chain.pem"), bytes(GO + "rootcrl.der"));
    }

    /** A quote file with the values its PROVENANCE.md lists. */
    record Expected(String file, int version, String tee, String mrOrMrtd, String reportData, String fmspc, int qeSvn,
                    String qeMrEnclave, String userData) {}

    static final List<Expected> QUOTES = List.of(
            new Expected("intel/sgx-trustee/occlum_quote.dat", 3, "sgx",
                    "8f173e4613ff05c52aaf04162d234edae8c9977eae47eb2299ae16a553011c68",
                    "74657374" + "0".repeat(120), "00606a000000", 8,
                    "8ce58685be36e46187c233c7e99ed6fe75dbb33f7567ada217b077ecd8cf82f9", "dccde9b31ce8860548173bb4a2a57a1600000000"),
            new Expected(GO + "tdx_prod_quote_SPR_E4.dat", 4, "tdx",
                    "6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb",
                    "6c62dec1b8191749a31dab490be532a35944dea47caef1f980863993d9899545eb7406a38d1eed313b987a467dacead6f0c87a6d766c66f6f29f8acb281f1113",
                    "50806f000000", 4, "853e298f3b7cde28b06493d06fb2ad6f9566a97fea6d3de66236b2af1a35150f", "739c3f292a15bace1f726351a70d4b7900000000"),
            new Expected(GO + "quote_v5_sample.dat", 5, "tdx",
                    "7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f750c3bc8f876",
                    "945eaacf5abc1f719d8666a942fda03d1edcb4490277396093dc5a5289ab9f1e094aed63060cd4a4933a4dd537ed1255c9c79ecb3ed82cd1b486233e31c25c3a",
                    "90c06f000000", 7, "b7ae9ab69e76f7794a56b0db1915281d435d488c91d406ed33a7939caf8730f8", "ba103c0e5dffa40351f9d5dd559888eb00000000"),
            new Expected(GO + "ccel-cos-113-tdx-quote.dat", 4, "tdx",
                    "dae67181d3d65e073ad8f95b7907d5e927bfe9761c9ff3e9b89734a45d8954dba41394c7717cb2735396c1d04231f94a",
                    "0".repeat(128), "00806f050000", 6, "e5a3a7b5d830c2953b98534c6c59a3a34fdc34e933f7f5898f0a85cf08846bca", "0".repeat(40)),
            new Expected(TRUSTEE + "tdx_quote_4.dat", 4, "tdx",
                    "705ee9381b8633a9fbe532b52345e8433343d2868959f57889d84ca377c395b689cac1599ccea1b7d420483a9ce5f031",
                    "7c71fe2c86eff65a7cf8dbc22b3275689fd0464a267baced1bf94fc1324656aeb755da3d44d098c0c87382f3a5f85b45c8a28fee1d3bdb38342bf96671501429",
                    "50806f000000", 4, "853e298f3b7cde28b06493d06fb2ad6f9566a97fea6d3de66236b2af1a35150f", "d099bfec0a477aa85a605dceabf2b10800000000"),
            new Expected(TRUSTEE + "tdx_quote_5.dat", 5, "tdx",
                    "dfba221b48a22af8511542ee796603f37382800840dcd978703909bf8e64d4c8a1e9de86e7c9638bfcba422f3886400a",
                    "6d6ab13b046cff606ac0074be13981b07b6325dba10b5facc96febf551c0c3be2b75f92fe1f88f4bb996969ad0174b4b7a70261b7b85c844f4b33a4674fd049f",
                    "90c06f000000", 6, "e5a3a7b5d830c2953b98534c6c59a3a34fdc34e933f7f5898f0a85cf08846bca", "da2c7e326c5696889a6a6ab4f8a64b1700000000"),
            new Expected(TRUSTEE + "tdx_quote_6.dat", 4, "tdx",
                    "21e8dead92d6c69d7cbba79816686c03a48485c7df0c11f6f04792d5e1d378f6b8c46615ba6946adccac6becffbb1e88",
                    "26cae1c77185617fb6a03fc29bf1f924596e52352b9b7594940b576ae126cd4a570cc3202a900c5d19a6eb0a95b32cfd" + "0".repeat(32),
                    "00a06d080000", 7, "b7ae9ab69e76f7794a56b0db1915281d435d488c91d406ed33a7939caf8730f8", "5bd9e09e6e0bbcd3f9cc4d7c9295764a00000000"));
}
