package dev.coffer.attest.endorse;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.ByteArrayInputStream;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * A parsed guest endorsement: a COSE_Sign1 document in Azure's UVM reference-info format.
 * Parsing checks the structure only; {@link EndorsementVerifier} decides whether to believe it.
 *
 * @param algorithm          the protected {@code alg}
 * @param contentType        the protected content type (always {@code application/json})
 * @param chain              the protected {@code x5chain}, leaf first
 * @param issuer             the protected issuer, a {@code did:x509} identifier
 * @param feed               the protected feed, e.g. {@code ContainerPlat-AMD-UVM}
 * @param launchMeasurement  the payload's {@code x-ms-sevsnpvm-launchmeasurement}, lower-case hex
 * @param guestSvn           the payload's {@code x-ms-sevsnpvm-guestsvn}
 * @param raw                the whole document as received
 * @param protectedHeader    the protected header's exact bytes, as signed
 * @param payload            the payload's exact bytes, as signed
 * @param signature          the signature bytes
 */
public record GuestEndorsement(CoseAlgorithm algorithm, String contentType, List<X509Certificate> chain, String issuer,
                               String feed, String launchMeasurement, long guestSvn, byte[] raw,
                               byte[] protectedHeader, byte[] payload, byte[] signature) {
    /** Bound on a whole document. Azure's UVM endorsements are under 10 KiB with a three-certificate chain. */
    public static final int MAX_DOCUMENT_BYTES = 64 * 1024;
    public static final int MAX_CHAIN_CERTIFICATES = 8;
    public static final int MAX_CERTIFICATE_BYTES = 16 * 1024;
    public static final int MAX_PAYLOAD_BYTES = 8 * 1024;

    /** COSE_Sign1's CBOR tag (RFC 9052 §4.2). */
    static final int TAG_COSE_SIGN1 = 18;
    /** Header labels (RFC 9052 §3.1; x5chain RFC 9360 §2). */
    static final int LABEL_ALG = 1, LABEL_CONTENT_TYPE = 3, LABEL_X5CHAIN = 33;
    /** CWT claims header (RFC 9597), which newer UVM endorsements use for issuer (1) and feed as subject (2). */
    static final int LABEL_CWT_CLAIMS = 15;
    /** COSE hash envelope's preimage content type (draft-ietf-cose-hash-envelope), used with the CWT claims layout. */
    static final int LABEL_PREIMAGE_CONTENT_TYPE = 259;
    /**
     * Azure's UVM endorsements carry issuer and feed as text labels in the protected header
     * (hcsshim's cosesign1 package and CCF's uvm_endorsements.cpp read "iss" and "feed").
     */
    static final String LABEL_ISSUER = "iss", LABEL_FEED = "feed";
    static final String CONTENT_TYPE_JSON = "application/json";
    static final String CLAIM_MEASUREMENT = "x-ms-sevsnpvm-launchmeasurement", CLAIM_GUEST_SVN = "x-ms-sevsnpvm-guestsvn";
    /** An SEV-SNP launch measurement is 48 bytes. */
    static final int MEASUREMENT_BYTES = 48;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    static {
        JSON.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(8).maxStringLength(4096).build());
    }

    public GuestEndorsement {
        chain = List.copyOf(chain);
        // Byte arrays are copied in and out: an endorsement once parsed cannot be changed under its verifier.
        raw = raw.clone();
        protectedHeader = protectedHeader.clone();
        payload = payload.clone();
        signature = signature.clone();
    }

    @Override
    public byte[] raw() {
        return raw.clone();
    }

    @Override
    public byte[] protectedHeader() {
        return protectedHeader.clone();
    }

    @Override
    public byte[] payload() {
        return payload.clone();
    }

    @Override
    public byte[] signature() {
        return signature.clone();
    }

    /** The leaf (signing) certificate. */
    public X509Certificate leaf() {
        return chain.getFirst();
    }

    /**
     * Parses a COSE_Sign1 UVM endorsement. Throws {@link EndorsementFormatException} (and nothing
     * else) for anything that is not one: garbage, truncation, oversize, missing headers.
     */
    public static GuestEndorsement parse(byte[] cose) {
        if (cose == null || cose.length == 0) throw new EndorsementFormatException("the endorsement is empty; expected a COSE_Sign1 document (CBOR tag 18)");
        if (cose.length > MAX_DOCUMENT_BYTES) {
            throw new EndorsementFormatException("the endorsement is " + cose.length + " bytes; at most " + MAX_DOCUMENT_BYTES
                    + " are accepted for a COSE_Sign1 guest endorsement");
        }
        if ((cose[0] & 0xff) != 0xd2) {
            throw new EndorsementFormatException("the endorsement starts with byte 0x" + HexFormat.of().toHexDigits(cose[0])
                    + "; expected a COSE_Sign1 document, which starts with CBOR tag 18 (0xd2)");
        }
        Cbor.Item top = Cbor.decode(cose, "the endorsement");
        if (!(top instanceof Cbor.Tagged(long tag, Cbor.Item content)) || tag != TAG_COSE_SIGN1) {
            throw new EndorsementFormatException("the endorsement starts with a " + top.kind()
                    + "; expected a COSE_Sign1 document (CBOR tag 18 around a 4-element array)");
        }
        if (!(content instanceof Cbor.Array(List<Cbor.Item> parts)) || parts.size() != 4) {
            throw new EndorsementFormatException("COSE_Sign1 content is a " + content.kind()
                    + "; expected an array of 4: [protected, unprotected, payload, signature]");
        }
        byte[] protectedBytes = bytes(parts.get(0), "COSE_Sign1 protected header");
        if (!(parts.get(1) instanceof Cbor.MapItem)) {
            throw new EndorsementFormatException("COSE_Sign1 unprotected header is a " + parts.get(1).kind() + "; expected a map");
        }
        if (parts.get(2) instanceof Cbor.Simple(int v) && v == 22) {
            throw new EndorsementFormatException("COSE_Sign1 payload is detached (null); a guest endorsement carries its JSON payload");
        }
        byte[] payload = bytes(parts.get(2), "COSE_Sign1 payload");
        byte[] signature = bytes(parts.get(3), "COSE_Sign1 signature");

        if (protectedBytes.length == 0) throw new EndorsementFormatException("COSE_Sign1 protected header is empty; expected alg, content type, x5chain, iss and feed");
        Cbor.Item headerItem = Cbor.decode(protectedBytes, "the protected header");
        if (!(headerItem instanceof Cbor.MapItem(List<Cbor.Entry> header))) {
            throw new EndorsementFormatException("the protected header is a " + headerItem.kind() + "; expected a map");
        }
        long algLabel = integer(find(header, LABEL_ALG), "protected header alg (label 1)");
        CoseAlgorithm algorithm = CoseAlgorithm.ofLabel(algLabel).orElseThrow(() -> new EndorsementFormatException(
                "protected header alg is " + algLabel + "; expected one of " + supported()));
        if (payload.length > MAX_PAYLOAD_BYTES) {
            throw new EndorsementFormatException("the payload is " + payload.length + " bytes; at most " + MAX_PAYLOAD_BYTES + " are accepted");
        }
        Cbor.Item cwt = find(header, LABEL_CWT_CLAIMS);
        String contentType, issuer, feed, measurement;
        long svn;
        if (cwt != null) {
            // The newer UVM endorsement layout (ContainerPlat 0.2.10 on, as CCF reads it): a COSE hash
            // envelope whose payload is the 48-byte measurement itself, issuer and feed (subject) and
            // the SVN in the CWT claims, the preimage content type in label 259.
            if (!(cwt instanceof Cbor.MapItem(List<Cbor.Entry> claims))) throw new EndorsementFormatException("protected header CWT claims (label 15) is a " + cwt.kind() + "; expected a map");
            contentType = jsonContentType(text(find(header, LABEL_PREIMAGE_CONTENT_TYPE), "protected header preimage content type (label 259)"));
            issuer = text(find(claims, 1), "CWT claim iss (1)");
            feed = text(find(claims, 2), "CWT claim sub (2), the feed");
            Cbor.Item svnItem = find(claims, "svn");
            if (!(svnItem instanceof Cbor.Int(long v)) || v < 0) {
                throw new EndorsementFormatException("CWT claim svn is " + (svnItem == null ? "missing" : "a " + svnItem.kind()) + "; expected a non-negative integer");
            }
            svn = v;
            if (payload.length != MEASUREMENT_BYTES) {
                throw new EndorsementFormatException("the payload of a CWT-claims endorsement is " + payload.length + " bytes; expected the "
                        + MEASUREMENT_BYTES + "-byte launch measurement");
            }
            measurement = HexFormat.of().formatHex(payload);
        } else {
            contentType = jsonContentType(text(find(header, LABEL_CONTENT_TYPE), "protected header content type (label 3)"));
            issuer = text(find(header, LABEL_ISSUER), "protected header issuer (\"iss\")");
            feed = text(find(header, LABEL_FEED), "protected header feed (\"feed\")");
            measurement = null;
            svn = -1;
        }
        if (!issuer.startsWith(DidX509.PREFIX)) {
            throw new EndorsementFormatException("protected header issuer is \"" + abbreviate(issuer) + "\"; expected a did:x509 identifier");
        }
        List<X509Certificate> chain = chain(find(header, LABEL_X5CHAIN));
        if (measurement == null) {
            JsonNode json;
            try {
                json = JSON.readTree(new ByteArrayInputStream(payload));
            } catch (JsonProcessingException e) {
                throw new EndorsementFormatException("the payload is not valid JSON (" + e.getOriginalMessage() + "); expected an object with "
                        + CLAIM_MEASUREMENT + " and " + CLAIM_GUEST_SVN);
            } catch (java.io.IOException e) {
                throw new EndorsementFormatException("the payload cannot be read as JSON (" + e.getMessage() + ')');
            }
            if (json == null || !json.isObject()) throw new EndorsementFormatException("the payload is not a JSON object; expected one with " + CLAIM_MEASUREMENT + " and " + CLAIM_GUEST_SVN);
            measurement = measurement(json.get(CLAIM_MEASUREMENT));
            svn = guestSvn(json.get(CLAIM_GUEST_SVN));
        }
        return new GuestEndorsement(algorithm, contentType, chain, issuer, feed, measurement, svn, cose, protectedBytes, payload, signature);
    }

    /**
     * Accepts an endorsement file as raw COSE_Sign1 bytes, as base64 text (standard or URL
     * alphabet, whitespace allowed: the form of Azure's UVM_REFERENCE_INFO), or as hex text.
     */
    public static GuestEndorsement decode(byte[] fileContent) {
        if (fileContent.length == 0 || (fileContent[0] & 0xff) == 0xd2) return parse(fileContent);
        if (fileContent.length > 3 * MAX_DOCUMENT_BYTES) {
            throw new EndorsementFormatException("the endorsement file is " + fileContent.length + " bytes; at most " + MAX_DOCUMENT_BYTES
                    + " bytes of COSE_Sign1 (or its base64 or hex text) are accepted");
        }
        String text = new String(fileContent, StandardCharsets.ISO_8859_1).replaceAll("\\s+", "");
        if (text.startsWith("0x")) text = text.substring(2);
        if (!text.isEmpty() && text.length() % 2 == 0 && text.chars().allMatch(c -> Character.digit(c, 16) >= 0) && text.toLowerCase(Locale.ROOT).startsWith("d2")) {
            return parse(HexFormat.of().parseHex(text));
        }
        if (!text.isEmpty() && text.chars().allMatch(c -> (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '-' || c == '_' || c == '=')) {
            byte[] decoded;
            try {
                decoded = (text.indexOf('-') >= 0 || text.indexOf('_') >= 0 ? Base64.getUrlDecoder() : Base64.getDecoder()).decode(text);
            } catch (IllegalArgumentException e) {
                throw new EndorsementFormatException("the endorsement file is neither COSE_Sign1 bytes nor valid base64 (" + e.getMessage() + ")");
            }
            return parse(decoded);
        }
        return parse(fileContent);
    }

    private static String jsonContentType(String contentType) {
        if (!contentType.equals(CONTENT_TYPE_JSON)) {
            throw new EndorsementFormatException("protected header content type is \"" + abbreviate(contentType) + "\"; expected \"" + CONTENT_TYPE_JSON + '"');
        }
        return contentType;
    }

    static String measurement(JsonNode node) {
        if (node == null) throw new EndorsementFormatException("the payload has no " + CLAIM_MEASUREMENT + "; expected the launch measurement in hex");
        if (!node.isTextual()) throw new EndorsementFormatException("the payload's " + CLAIM_MEASUREMENT + " is " + node.getNodeType() + "; expected a hex string");
        return normalizeMeasurement(node.asText(), "the payload's " + CLAIM_MEASUREMENT);
    }

    /** Lower-case hex of a 48-byte launch measurement, or a precise error naming {@code what}. */
    static String normalizeMeasurement(String hex, String what) {
        String s = hex.strip().toLowerCase(Locale.ROOT);
        if (s.length() != 2 * MEASUREMENT_BYTES || !s.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            throw new EndorsementFormatException(what + " is \"" + abbreviate(hex) + "\"; expected " + 2 * MEASUREMENT_BYTES
                    + " hex digits (a 48-byte SEV-SNP launch measurement)");
        }
        return s;
    }

    static long guestSvn(JsonNode node) {
        if (node == null) throw new EndorsementFormatException("the payload has no " + CLAIM_GUEST_SVN + "; expected the guest SVN as a decimal string");
        // Azure writes the SVN as a decimal string; a JSON integer is read too.
        String s = node.isTextual() ? node.asText() : node.isIntegralNumber() ? node.asText() : null;
        if (s == null || s.isEmpty() || s.length() > 18 || !s.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new EndorsementFormatException("the payload's " + CLAIM_GUEST_SVN + " is " + (s == null ? node.getNodeType().toString() : '"' + abbreviate(s) + '"')
                    + "; expected a non-negative decimal number as a string, e.g. \"101\"");
        }
        return Long.parseLong(s);
    }

    private static List<X509Certificate> chain(Cbor.Item item) {
        if (item == null) throw new EndorsementFormatException("the protected header has no x5chain (label 33); expected the signer's certificates, leaf first");
        List<Cbor.Item> entries = switch (item) {
            case Cbor.Bytes b -> List.of(b);
            case Cbor.Array(List<Cbor.Item> items) -> items;
            default -> throw new EndorsementFormatException("protected header x5chain is a " + item.kind() + "; expected a byte string or an array of them");
        };
        if (entries.isEmpty()) throw new EndorsementFormatException("protected header x5chain is empty; expected at least the leaf certificate");
        if (entries.size() > MAX_CHAIN_CERTIFICATES) {
            throw new EndorsementFormatException("protected header x5chain has " + entries.size() + " certificates; at most " + MAX_CHAIN_CERTIFICATES + " are accepted");
        }
        List<X509Certificate> chain = new ArrayList<>(entries.size());
        CertificateFactory factory;
        try {
            factory = CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException("no X.509 certificate factory", e);
        }
        for (int i = 0; i < entries.size(); i++) {
            byte[] der = bytes(entries.get(i), "x5chain certificate " + i);
            if (der.length > MAX_CERTIFICATE_BYTES) {
                throw new EndorsementFormatException("x5chain certificate " + i + " is " + der.length + " bytes; at most " + MAX_CERTIFICATE_BYTES + " are accepted");
            }
            try {
                X509Certificate cert = (X509Certificate) factory.generateCertificate(new ByteArrayInputStream(der));
                if (!java.util.Arrays.equals(cert.getEncoded(), der)) throw new CertificateException("trailing or re-encoded bytes");
                chain.add(cert);
            } catch (CertificateException | RuntimeException e) {
                throw new EndorsementFormatException("x5chain certificate " + i + " is not a DER X.509 certificate (" + e.getMessage() + ')');
            }
        }
        return chain;
    }

    static Cbor.Item find(List<Cbor.Entry> map, int label) {
        for (Cbor.Entry e : map) if (e.key() instanceof Cbor.Int(long k) && k == label) return e.value();
        return null;
    }

    static Cbor.Item find(List<Cbor.Entry> map, String label) {
        for (Cbor.Entry e : map) if (e.key() instanceof Cbor.Text(String k) && k.equals(label)) return e.value();
        return null;
    }

    private static byte[] bytes(Cbor.Item item, String what) {
        if (item instanceof Cbor.Bytes(byte[] b)) return b;
        throw new EndorsementFormatException(what + " is a " + item.kind() + "; expected a byte string");
    }

    private static long integer(Cbor.Item item, String what) {
        if (item == null) throw new EndorsementFormatException("the endorsement has no " + what);
        if (item instanceof Cbor.Int(long v)) return v;
        throw new EndorsementFormatException(what + " is a " + item.kind() + "; expected an integer");
    }

    private static String text(Cbor.Item item, String what) {
        if (item == null) throw new EndorsementFormatException("the endorsement has no " + what);
        if (item instanceof Cbor.Text(String v)) return v;
        throw new EndorsementFormatException(what + " is a " + item.kind() + "; expected a text string");
    }

    private static String supported() {
        StringBuilder sb = new StringBuilder();
        for (CoseAlgorithm a : CoseAlgorithm.values()) sb.append(sb.isEmpty() ? "" : ", ").append(a).append(" (").append(a.label()).append(')');
        return sb.toString();
    }

    static String abbreviate(String s) {
        return s.length() <= 120 ? s : s.substring(0, 117) + "...";
    }

    @Override
    public String toString() {
        return "GuestEndorsement[" + algorithm + ", issuer=" + issuer + ", feed=" + feed + ", measurement=" + launchMeasurement
                + ", svn=" + guestSvn + ", chain=" + chain.size() + " certificate(s)]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GuestEndorsement g && java.util.Arrays.equals(raw, g.raw);
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(raw);
    }

    /** Lower-case hex SHA-256 of the whole document: a stable name for it. */
    public String sha256() {
        try {
            return HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(raw));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
