package dev.coffer.attest.dcap;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Intel PCS enclave identity of the quoting enclave ("QE" for SGX, "TD_QE" for TDX): which
 * signer, product and attributes a genuine QE has, and the status of each QE ISVSVN.
 */
public record QeIdentity(String id, int version, Instant issueDate, Instant nextUpdate, long miscSelect, long miscSelectMask,
                         byte[] attributes, byte[] attributesMask, byte[] mrSigner, int isvProdId, List<Level> tcbLevels, String raw) {
    public QeIdentity {
        tcbLevels = List.copyOf(tcbLevels);
    }

    public record Level(int isvSvn, Instant tcbDate, TcbStatus status, List<String> advisoryIds) {}

    /** Parses the text of the enclaveIdentity object (not the PCS response wrapping it). */
    public static QeIdentity parse(String json) {
        String w = "enclaveIdentity";
        JsonNode n = Json.parse(json, w);
        if (n.has("enclaveIdentity") && n.has("signature")) {
            throw new QuoteFormatException("qe_identity: this is a whole PCS response; pass the text of its \"enclaveIdentity\" member");
        }
        int version = Json.integer(n, "version", w);
        if (version != 2) throw new QuoteFormatException("enclaveIdentity version is " + version + ", expected 2");
        String id = Json.text(n, "id", w);
        if (!id.equals("QE") && !id.equals("TD_QE")) {
            throw new QuoteFormatException("enclaveIdentity id is '" + id + "', expected QE (SGX) or TD_QE (TDX); QVE identities are not quoting enclaves");
        }
        List<Level> levels = new ArrayList<>();
        for (JsonNode l : Json.array(n, "tcbLevels", w)) {
            levels.add(new Level(Json.integer(Json.field(l, "tcb", w), "isvsvn", w), Json.instant(l, "tcbDate", w),
                    TcbStatus.fromPcs(Json.text(l, "tcbStatus", w)), Json.strings(l, "advisoryIDs")));
        }
        if (levels.isEmpty()) throw new QuoteFormatException("enclaveIdentity has no tcbLevels");
        return new QeIdentity(id, version, Json.instant(n, "issueDate", w), Json.instant(n, "nextUpdate", w),
                Long.parseLong(Json.text(n, "miscselect", w), 16), Long.parseLong(Json.text(n, "miscselectMask", w), 16),
                Json.hex(n, "attributes", w), Json.hex(n, "attributesMask", w), Json.hex(n, "mrsigner", w),
                Json.integer(n, "isvprodid", w), levels, json);
    }
}
