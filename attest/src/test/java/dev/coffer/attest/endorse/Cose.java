package dev.coffer.attest.endorse;

import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.List;

/** Builds COSE_Sign1 documents field by field, to alter one field of a signed endorsement. */
record Cose(byte[] protectedHeader, byte[] payload, byte[] signature) {
    static Cose of(byte[] cose) {
        GuestEndorsement e = GuestEndorsement.parse(cose);
        return new Cose(e.protectedHeader(), e.payload(), e.signature());
    }

    static byte[] header(int alg, List<X509Certificate> chain, String iss, String feed) {
        try {
            Cbor.Writer w = new Cbor.Writer().map(5).integer(1).integer(alg).integer(3).text("application/json").integer(33).array(chain.size());
            for (X509Certificate c : chain) w.bytes(c.getEncoded());
            return w.text("iss").text(iss).text("feed").text(feed).toByteArray();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    Cose withHeader(byte[] h) { return new Cose(h, payload, signature); }

    Cose withPayload(String json) { return new Cose(protectedHeader, json.getBytes(StandardCharsets.UTF_8), signature); }

    Cose withSignature(byte[] s) { return new Cose(protectedHeader, payload, s); }

    byte[] encode() {
        return new Cbor.Writer().tag(18).array(4).bytes(protectedHeader).map(0).bytes(payload).bytes(signature).toByteArray();
    }
}
