package dev.coffer.attest.dcap;

import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Every parsed field of a quote under one stable name each (hex for bytes), in quote order: what
 * the CLI prints, what claims are built from, and what policies match on.
 */
public final class QuoteFields {
    private static final HexFormat HEX = HexFormat.of();

    private QuoteFields() {}

    public static Map<String, Object> of(DcapQuote q) {
        Map<String, Object> m = new LinkedHashMap<>();
        QuoteHeader h = q.header();
        m.put("tee", q.tee().label());
        m.put("version", h.version());
        m.put("attestationKeyType", h.attestationKeyType());
        m.put("teeType", "0x" + Long.toHexString(h.teeType()));
        if (h.version() == 3) {
            m.put("qeSvn", h.qeSvn());
            m.put("pceSvn", h.pceSvn());
        }
        m.put("qeVendorId", HEX.formatHex(h.qeVendorId()));
        m.put("userData", HEX.formatHex(h.userData()));
        switch (q.body()) {
            case EnclaveReport r -> {
                m.put("cpuSvn", HEX.formatHex(r.cpuSvn()));
                m.put("miscSelect", "%08x".formatted(r.miscSelect()));
                m.put("attributes", HEX.formatHex(r.attributes()));
                m.put("mrenclave", HEX.formatHex(r.mrEnclave()));
                m.put("mrsigner", HEX.formatHex(r.mrSigner()));
                m.put("configId", HEX.formatHex(r.configId()));
                m.put("isvProdId", r.isvProdId());
                m.put("isvSvn", r.isvSvn());
                m.put("configSvn", r.configSvn());
                m.put("isvExtProdId", HEX.formatHex(r.isvExtProdId()));
                m.put("isvFamilyId", HEX.formatHex(r.isvFamilyId()));
            }
            case TdReport td -> {
                m.put("tdVersion", td.tdVersion());
                m.put("teeTcbSvn", HEX.formatHex(td.teeTcbSvn()));
                m.put("mrseam", HEX.formatHex(td.mrSeam()));
                m.put("mrsignerseam", HEX.formatHex(td.mrSignerSeam()));
                m.put("seamAttributes", HEX.formatHex(td.seamAttributes()));
                m.put("tdAttributes", HEX.formatHex(td.tdAttributes()));
                m.put("xfam", HEX.formatHex(td.xfam()));
                m.put("mrtd", HEX.formatHex(td.mrTd()));
                m.put("mrconfigid", HEX.formatHex(td.mrConfigId()));
                m.put("mrowner", HEX.formatHex(td.mrOwner()));
                m.put("mrownerconfig", HEX.formatHex(td.mrOwnerConfig()));
                for (int i = 0; i < 4; i++) m.put("rtmr" + i, HEX.formatHex(td.rtmr(i)));
                td.teeTcbSvn2().ifPresent(s -> m.put("teeTcbSvn2", HEX.formatHex(s)));
                td.mrServiceTd().ifPresent(s -> m.put("mrservicetd", HEX.formatHex(s)));
            }
        }
        m.put("debug", q.body().debug());
        m.put("reportData", HEX.formatHex(q.body().reportData()));
        EnclaveReport qe = q.qeReport();
        Map<String, Object> qm = new LinkedHashMap<>();
        qm.put("mrenclave", HEX.formatHex(qe.mrEnclave()));
        qm.put("mrsigner", HEX.formatHex(qe.mrSigner()));
        qm.put("isvProdId", qe.isvProdId());
        qm.put("isvSvn", qe.isvSvn());
        m.put("qeReport", qm);
        m.put("pckChain", q.pckChain().stream().map(DcapVerifier::cn).toList());
        return m;
    }

    /** The PCK certificate's platform facts. */
    public static Map<String, Object> of(PckExtensions p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("fmspc", p.fmspcHex());
        m.put("pceId", p.pceIdHex());
        m.put("pceSvn", p.pceSvn());
        m.put("tcbComponents", java.util.Arrays.stream(p.tcbComponents()).boxed().toList());
        m.put("cpuSvn", HEX.formatHex(p.cpuSvn()));
        m.put("sgxType", p.sgxType());
        return m;
    }
}
