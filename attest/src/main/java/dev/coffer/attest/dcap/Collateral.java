package dev.coffer.attest.dcap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CRLException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

/**
 * Intel PCS collateral for one platform, as the file bundle common verifiers use (one JSON
 * object: {@code pck_crl_issuer_chain}, {@code root_ca_crl}, {@code pck_crl},
 * {@code tcb_info_issuer_chain}, {@code tcb_info}, {@code tcb_info_signature},
 * {@code qe_identity_issuer_chain}, {@code qe_identity}, {@code qe_identity_signature}).
 * Chains are PEM, CRLs hex DER, signatures hex r‖s, and tcb_info/qe_identity the exact signed
 * JSON text. Nothing here is trusted until {@link DcapVerifier} checks it.
 */
public record Collateral(List<X509Certificate> pckCrlIssuerChain, X509CRL rootCaCrl, X509CRL pckCrl,
                         List<X509Certificate> tcbInfoIssuerChain, TcbInfo tcbInfo, byte[] tcbInfoSignature,
                         List<X509Certificate> qeIdentityIssuerChain, QeIdentity qeIdentity, byte[] qeIdentitySignature) {
    static final List<String> KEYS = List.of("pck_crl_issuer_chain", "root_ca_crl", "pck_crl", "tcb_info_issuer_chain",
            "tcb_info", "tcb_info_signature", "qe_identity_issuer_chain", "qe_identity", "qe_identity_signature");

    public Collateral {
        pckCrlIssuerChain = List.copyOf(pckCrlIssuerChain);
        tcbInfoIssuerChain = List.copyOf(tcbInfoIssuerChain);
        qeIdentityIssuerChain = List.copyOf(qeIdentityIssuerChain);
        tcbInfoSignature = tcbInfoSignature.clone();
        qeIdentitySignature = qeIdentitySignature.clone();
    }

    @Override public byte[] tcbInfoSignature() { return tcbInfoSignature.clone(); }
    @Override public byte[] qeIdentitySignature() { return qeIdentitySignature.clone(); }

    /** Parses a bundle; a missing key, bad hex, PEM or JSON is named in the error. */
    public static Collateral parseBundle(String json) {
        JsonNode n = Json.parse(json, "collateral bundle");
        for (String k : KEYS) {
            if (!n.hasNonNull(k) || !n.get(k).isTextual()) {
                throw new QuoteFormatException("collateral bundle: missing string field '" + k + "'; a bundle has " + KEYS);
            }
        }
        String w = "collateral bundle";
        return new Collateral(chain(n.get("pck_crl_issuer_chain").asText(), "pck_crl_issuer_chain"),
                crl(n.get("root_ca_crl").asText(), "root_ca_crl"), crl(n.get("pck_crl").asText(), "pck_crl"),
                chain(n.get("tcb_info_issuer_chain").asText(), "tcb_info_issuer_chain"),
                TcbInfo.parse(n.get("tcb_info").asText()), signature(Json.hex(n, "tcb_info_signature", w), "tcb_info_signature"),
                chain(n.get("qe_identity_issuer_chain").asText(), "qe_identity_issuer_chain"),
                QeIdentity.parse(n.get("qe_identity").asText()), signature(Json.hex(n, "qe_identity_signature", w), "qe_identity_signature"));
    }

    /**
     * Assembles collateral from Intel PCS responses as served: the TCB info and QE identity
     * response bodies (their signed member is cut out verbatim), the issuer-chain headers
     * (URL-decoded PEM), and the CRLs (DER, or PEM).
     */
    public static Collateral fromPcsResponses(String tcbInfoResponse, String tcbInfoIssuerChainPem, String qeIdentityResponse,
                                              String qeIdentityIssuerChainPem, byte[] pckCrl, String pckCrlIssuerChainPem, byte[] rootCaCrl) {
        JsonNode tcb = Json.parse(tcbInfoResponse, "TCB info response");
        JsonNode qe = Json.parse(qeIdentityResponse, "QE identity response");
        return new Collateral(chain(pckCrlIssuerChainPem, "PCK CRL issuer chain"), crl(rootCaCrl, "root CA CRL"), crl(pckCrl, "PCK CRL"),
                chain(tcbInfoIssuerChainPem, "TCB info issuer chain"),
                TcbInfo.parse(Json.rawMember(tcbInfoResponse, "tcbInfo", "TCB info response")),
                signature(Json.hex(tcb, "signature", "TCB info response"), "TCB info signature"),
                chain(qeIdentityIssuerChainPem, "QE identity issuer chain"),
                QeIdentity.parse(Json.rawMember(qeIdentityResponse, "enclaveIdentity", "QE identity response")),
                signature(Json.hex(qe, "signature", "QE identity response"), "QE identity signature"));
    }

    /** The bundle JSON of this collateral (what {@link #parseBundle} reads). */
    public String toBundleJson() {
        ObjectNode o = Json.MAPPER.createObjectNode();
        HexFormat hex = HexFormat.of();
        try {
            o.put("pck_crl_issuer_chain", pem(pckCrlIssuerChain));
            o.put("root_ca_crl", hex.formatHex(rootCaCrl.getEncoded()));
            o.put("pck_crl", hex.formatHex(pckCrl.getEncoded()));
            o.put("tcb_info_issuer_chain", pem(tcbInfoIssuerChain));
            o.put("tcb_info", tcbInfo.raw());
            o.put("tcb_info_signature", hex.formatHex(tcbInfoSignature));
            o.put("qe_identity_issuer_chain", pem(qeIdentityIssuerChain));
            o.put("qe_identity", qeIdentity.raw());
            o.put("qe_identity_signature", hex.formatHex(qeIdentitySignature));
            return Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(o);
        } catch (CRLException | CertificateException | com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot encode collateral: " + e.getMessage(), e);
        }
    }

    static String pem(List<X509Certificate> certs) throws CertificateException {
        StringBuilder sb = new StringBuilder();
        Base64.Encoder enc = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII));
        for (X509Certificate c : certs) {
            sb.append("-----BEGIN CERTIFICATE-----\n").append(enc.encodeToString(c.getEncoded())).append("\n-----END CERTIFICATE-----\n");
        }
        return sb.toString();
    }

    private static byte[] signature(byte[] sig, String what) {
        if (sig.length != 64) throw new QuoteFormatException(what + ": expected 64 bytes (ECDSA P-256 r‖s), found " + sig.length);
        return sig;
    }

    private static List<X509Certificate> chain(String pem, String what) {
        try {
            return DcapQuote.parsePemChain(pem.getBytes(StandardCharsets.US_ASCII));
        } catch (QuoteFormatException e) {
            throw new QuoteFormatException(what + ": " + e.getMessage());
        }
    }

    private static X509CRL crl(String text, String what) {
        String t = text.strip();
        if (t.startsWith("-----BEGIN")) return crl(t.getBytes(StandardCharsets.US_ASCII), what);
        try {
            return crl(HexFormat.of().parseHex(t.toLowerCase(java.util.Locale.ROOT)), what);
        } catch (IllegalArgumentException e) {
            if (e instanceof QuoteFormatException q) throw q;
            throw new QuoteFormatException(what + ": expected hex-encoded DER (or PEM), found text that is neither");
        }
    }

    private static X509CRL crl(byte[] der, String what) {
        try {
            X509CRL c = (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(new ByteArrayInputStream(der));
            if (c == null) throw new CRLException("empty");
            return c;
        } catch (CRLException | CertificateException e) {
            throw new QuoteFormatException(what + ": not a DER or PEM X.509 CRL (" + e.getMessage() + ")");
        }
    }
}
