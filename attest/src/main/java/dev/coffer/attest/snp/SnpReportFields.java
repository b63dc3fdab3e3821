package dev.coffer.attest.snp;

import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Every field of a report as an ordered map with the ABI's field names (snake_case), hex for
 * byte strings: what {@code coffer attest verify} prints and JSON output carries.
 */
public final class SnpReportFields {
    private SnpReportFields() {}

    public static Map<String, Object> of(SnpReport r) {
        HexFormat hex = HexFormat.of();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("version", r.version());
        m.put("guest_svn", r.guestSvn());
        m.put("policy", policy(r.policy()));
        m.put("family_id", hex.formatHex(r.familyId()));
        m.put("image_id", hex.formatHex(r.imageId()));
        m.put("vmpl", r.vmpl());
        m.put("signature_algo", r.signatureAlgorithm());
        m.put("current_tcb", tcb(r.currentTcb()));
        m.put("platform_info", platform(r.platformInfo()));
        m.put("author_key_en", r.authorKeyEnabled());
        m.put("mask_chip_key", r.maskChipKey());
        m.put("signing_key", r.signingKey().name());
        m.put("report_data", hex.formatHex(r.reportData()));
        m.put("measurement", hex.formatHex(r.measurement()));
        m.put("host_data", hex.formatHex(r.hostData()));
        m.put("id_key_digest", hex.formatHex(r.idKeyDigest()));
        m.put("author_key_digest", hex.formatHex(r.authorKeyDigest()));
        m.put("report_id", hex.formatHex(r.reportId()));
        m.put("report_id_ma", hex.formatHex(r.reportIdMa()));
        m.put("reported_tcb", tcb(r.reportedTcb()));
        if (r.version() >= 3) {
            m.put("cpuid_fam_id", r.cpuidFamily());
            m.put("cpuid_mod_id", r.cpuidModel());
            m.put("cpuid_step", r.cpuidStepping());
            m.put("cpu_product", r.cpuProduct().map(Product::toString).orElse("unknown"));
        }
        m.put("chip_id", hex.formatHex(r.chipId()));
        m.put("committed_tcb", tcb(r.committedTcb()));
        m.put("current_version", r.currentFirmware().major() + "." + r.currentFirmware().minor() + "." + r.currentFirmware().build());
        m.put("committed_version", r.committedFirmware().major() + "." + r.committedFirmware().minor() + "." + r.committedFirmware().build());
        m.put("launch_tcb", tcb(r.launchTcb()));
        if (r.version() >= 5) {
            m.put("launch_mit_vector", String.format("0x%x", r.launchMitigationVector()));
            m.put("current_mit_vector", String.format("0x%x", r.currentMitigationVector()));
        }
        m.put("signature_r", hex.formatHex(r.signatureR()));
        m.put("signature_s", hex.formatHex(r.signatureS()));
        return m;
    }

    private static Map<String, Object> policy(GuestPolicy p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("raw", String.format("0x%x", p.raw()));
        m.put("abi", p.abiMajor() + "." + p.abiMinor());
        m.put("smt", p.smt());
        m.put("migrate_ma", p.migrationAgent());
        m.put("debug", p.debug());
        m.put("single_socket", p.singleSocket());
        m.put("cxl_allow", p.cxlAllowed());
        m.put("mem_aes_256_xts", p.memAes256Xts());
        m.put("rapl_dis", p.raplDisabled());
        m.put("ciphertext_hiding", p.ciphertextHiding());
        m.put("page_swap_disable", p.pageSwapDisabled());
        return m;
    }

    private static Map<String, Object> platform(PlatformInfo p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("raw", String.format("0x%x", p.raw()));
        m.put("smt_en", p.smtEnabled());
        m.put("tsme_en", p.tsmeEnabled());
        m.put("ecc_en", p.eccEnabled());
        m.put("rapl_dis", p.raplDisabled());
        m.put("ciphertext_hiding_en", p.ciphertextHidingEnabled());
        m.put("alias_check_complete", p.aliasCheckComplete());
        return m;
    }

    private static Map<String, Object> tcb(TcbVersion t) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("raw", t.hex());
        if (t.fmc() >= 0) m.put("fmc", t.fmc());
        m.put("bootloader", t.bootloader());
        m.put("tee", t.tee());
        m.put("snp", t.snp());
        m.put("microcode", t.microcode());
        return m;
    }
}
