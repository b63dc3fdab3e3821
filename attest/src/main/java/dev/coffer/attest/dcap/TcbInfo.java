package dev.coffer.attest.dcap;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Intel PCS TCB info (v2 SGX, v3 SGX and TDX) for one FMSPC: the TCB levels, newest first, that
 * a platform's PCK SVNs (and a TD's TEE_TCB_SVN) are matched against.
 *
 * @param id  "SGX" or "TDX" (v2 has no id and is SGX)
 * @param raw the exact signed JSON text of the tcbInfo object
 */
public record TcbInfo(String id, int version, Instant issueDate, Instant nextUpdate, byte[] fmspc, byte[] pceId,
                      int tcbEvaluationDataNumber, Optional<TdxModule> tdxModule, List<TdxModuleIdentity> tdxModuleIdentities,
                      List<TcbLevel> tcbLevels, String raw) {
    public TcbInfo {
        tdxModuleIdentities = List.copyOf(tdxModuleIdentities);
        tcbLevels = List.copyOf(tcbLevels);
    }

    public boolean isTdx() { return "TDX".equals(id); }
    public String fmspcHex() { return HexFormat.of().formatHex(fmspc); }

    /** One TCB level: SVN minimums, and the status of a platform at or above them. */
    public record TcbLevel(int[] sgxComponents, int pceSvn, Optional<int[]> tdxComponents, Instant tcbDate,
                           TcbStatus status, List<String> advisoryIds) {
        public TcbLevel {
            sgxComponents = sgxComponents.clone();
            advisoryIds = List.copyOf(advisoryIds);
        }
        @Override public int[] sgxComponents() { return sgxComponents.clone(); }

        /** A copy with other SGX component minimums (what tests use to reach each status). */
        public TcbLevel withSgxComponents(int[] comps) {
            return new TcbLevel(comps, pceSvn, tdxComponents, tcbDate, status, advisoryIds);
        }
    }

    /** The TDX module (SEAM) signer and attributes every module must match (tcbInfo.tdxModule). */
    public record TdxModule(byte[] mrSigner, byte[] attributes, byte[] attributesMask) {}

    /** One TDX module series (id "TDX_01" …) with its own isvsvn levels. */
    public record TdxModuleIdentity(String id, byte[] mrSigner, byte[] attributes, byte[] attributesMask,
                                    List<ModuleLevel> tcbLevels) {}

    public record ModuleLevel(int isvSvn, Instant tcbDate, TcbStatus status, List<String> advisoryIds) {}

    /** A copy with other levels, for exercising the evaluator without a signature. */
    public TcbInfo withLevels(List<TcbLevel> levels) {
        return new TcbInfo(id, version, issueDate, nextUpdate, fmspc, pceId, tcbEvaluationDataNumber, tdxModule,
                tdxModuleIdentities, levels, raw);
    }

    /** Parses the text of the tcbInfo object (not the PCS response wrapping it). */
    public static TcbInfo parse(String tcbInfoJson) {
        String w = "tcbInfo";
        JsonNode n = Json.parse(tcbInfoJson, w);
        if (n.has("tcbInfo") && n.has("signature")) {
            throw new QuoteFormatException("tcbInfo: this is a whole PCS response; pass the text of its \"tcbInfo\" member "
                    + "(Collateral.fromPcsResponses does that)");
        }
        int version = Json.integer(n, "version", w);
        if (version != 2 && version != 3) throw new QuoteFormatException("tcbInfo version is " + version + ", expected 2 or 3");
        String id = version == 2 ? (n.has("id") ? Json.text(n, "id", w) : "SGX") : Json.text(n, "id", w);
        if (!id.equals("SGX") && !id.equals("TDX")) throw new QuoteFormatException("tcbInfo id is '" + id + "', expected SGX or TDX");
        Optional<TdxModule> module = Optional.empty();
        if (n.has("tdxModule")) {
            JsonNode m = n.get("tdxModule");
            module = Optional.of(new TdxModule(Json.hex(m, "mrsigner", "tdxModule"), Json.hex(m, "attributes", "tdxModule"),
                    Json.hex(m, "attributesMask", "tdxModule")));
        }
        List<TdxModuleIdentity> identities = new ArrayList<>();
        if (n.has("tdxModuleIdentities")) {
            for (JsonNode m : Json.array(n, "tdxModuleIdentities", w)) {
                String mw = "tdxModuleIdentities";
                List<ModuleLevel> ml = new ArrayList<>();
                for (JsonNode l : Json.array(m, "tcbLevels", mw)) {
                    ml.add(new ModuleLevel(Json.integer(Json.field(l, "tcb", mw), "isvsvn", mw), Json.instant(l, "tcbDate", mw),
                            TcbStatus.fromPcs(Json.text(l, "tcbStatus", mw)), Json.strings(l, "advisoryIDs")));
                }
                identities.add(new TdxModuleIdentity(Json.text(m, "id", mw), Json.hex(m, "mrsigner", mw), Json.hex(m, "attributes", mw),
                        Json.hex(m, "attributesMask", mw), ml));
            }
        }
        List<TcbLevel> levels = new ArrayList<>();
        for (JsonNode l : Json.array(n, "tcbLevels", w)) {
            JsonNode tcb = Json.field(l, "tcb", "tcbLevels[" + levels.size() + "]");
            String lw = "tcbLevels[" + levels.size() + "].tcb";
            int[] sgx = new int[16];
            Optional<int[]> tdx = Optional.empty();
            if (version == 2) {
                for (int i = 0; i < 16; i++) sgx[i] = Json.integer(tcb, "sgxtcbcomp%02dsvn".formatted(i + 1), lw);
            } else {
                sgx = components(Json.array(tcb, "sgxtcbcomponents", lw), lw + ".sgxtcbcomponents");
                if (tcb.has("tdxtcbcomponents")) tdx = Optional.of(components(Json.array(tcb, "tdxtcbcomponents", lw), lw + ".tdxtcbcomponents"));
            }
            if (id.equals("TDX") && tdx.isEmpty()) throw new QuoteFormatException(lw + ": a TDX tcbInfo level must have tdxtcbcomponents");
            levels.add(new TcbLevel(sgx, Json.integer(tcb, "pcesvn", lw), tdx, Json.instant(l, "tcbDate", "tcbLevels"),
                    TcbStatus.fromPcs(Json.text(l, "tcbStatus", "tcbLevels")), Json.strings(l, "advisoryIDs")));
        }
        if (levels.isEmpty()) throw new QuoteFormatException("tcbInfo has no tcbLevels");
        byte[] fmspc = Json.hex(n, "fmspc", w);
        if (fmspc.length != 6) throw new QuoteFormatException("tcbInfo fmspc must be 6 bytes, found " + fmspc.length);
        return new TcbInfo(id, version, Json.instant(n, "issueDate", w), Json.instant(n, "nextUpdate", w), fmspc,
                Json.hex(n, "pceId", w), n.has("tcbEvaluationDataNumber") ? Json.integer(n, "tcbEvaluationDataNumber", w) : 0,
                module, identities, levels, tcbInfoJson);
    }

    private static int[] components(Iterable<JsonNode> arr, String what) {
        int[] out = new int[16];
        int i = 0;
        for (JsonNode c : arr) {
            if (i == 16) throw new QuoteFormatException(what + ": more than 16 components");
            out[i++] = Json.integer(c, "svn", what + "[" + (i - 1) + "]");
        }
        if (i != 16) throw new QuoteFormatException(what + ": expected 16 components, found " + i);
        return out;
    }
}
