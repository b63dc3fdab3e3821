package dev.coffer.attest.endorse;

import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x500.AttributeTypeAndValue;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.IETFUtils;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A {@code did:x509} identifier (the did:x509 method specification, version 0, as published by
 * Microsoft and the Trust over IP foundation): a fingerprint of a CA certificate in the signer's
 * chain plus policies the leaf must satisfy. Example, Microsoft's UVM signer:
 * {@code did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx_eT1RPHbCQ_ECBQfYZpt9s::eku:1.3.6.1.4.1.311.76.59.1.2}.
 *
 * <p>Supported policies: {@code eku} (an OID in the leaf's extended key usage), {@code subject}
 * (percent-encoded key:value pairs that must all appear in the leaf's subject; keys CN, L, ST,
 * O, OU, C, STREET or a dotted OID), {@code san} ({@code email}, {@code dns} or {@code uri}
 * with a percent-encoded value among the leaf's subject alternative names). An identifier with
 * another policy ({@code fulcio-issuer}) parses but never matches, so it fails closed.
 *
 * @param did                  the identifier as written
 * @param fingerprintAlgorithm {@code sha256}, {@code sha384} or {@code sha512}
 * @param caFingerprint        base64url (no padding) of the CA certificate's digest
 * @param policies             the policies in order, values still percent-encoded
 */
public record DidX509(String did, String fingerprintAlgorithm, String caFingerprint, List<Policy> policies) {
    public static final String PREFIX = "did:x509:";
    static final int MAX_LENGTH = 4096;

    /** One {@code ::name:value} policy of the identifier. */
    public record Policy(String name, String value) {}

    /** The subject labels the method defines, with their attribute OIDs (RFC 4519). */
    private static final Map<String, String> SUBJECT_LABELS = Map.of(
            "CN", "2.5.4.3", "L", "2.5.4.7", "ST", "2.5.4.8", "O", "2.5.4.10", "OU", "2.5.4.11", "C", "2.5.4.6", "STREET", "2.5.4.9");
    /** SAN types the method supports, with their GeneralName tags (RFC 5280 §4.2.1.6). */
    private static final Map<String, Integer> SAN_TYPES = Map.of("email", 1, "dns", 2, "uri", 6);
    private static final Map<String, String> DIGESTS = Map.of("sha256", "SHA-256", "sha384", "SHA-384", "sha512", "SHA-512");

    public DidX509 {
        policies = List.copyOf(policies);
    }

    /** Parses an identifier; {@link EndorsementFormatException} says which part is malformed. */
    public static DidX509 parse(String did) {
        if (did == null || did.isEmpty()) throw new EndorsementFormatException("the did:x509 identifier is empty; expected did:x509:0:<alg>:<ca-fingerprint>::<policy>:<value>");
        if (did.length() > MAX_LENGTH) throw new EndorsementFormatException("the did:x509 identifier is " + did.length() + " characters; at most " + MAX_LENGTH + " are accepted");
        if (!did.startsWith(PREFIX)) throw new EndorsementFormatException("\"" + GuestEndorsement.abbreviate(did) + "\" is not a did:x509 identifier; expected it to start with " + PREFIX);
        String[] parts = did.substring(PREFIX.length()).split("::", -1);
        String[] head = parts[0].split(":", -1);
        if (head.length != 3) {
            throw new EndorsementFormatException("did:x509 \"" + GuestEndorsement.abbreviate(did) + "\": expected version:alg:ca-fingerprint before the first \"::\", found \"" + parts[0] + '"');
        }
        if (!head[0].equals("0")) throw new EndorsementFormatException("did:x509 version is \"" + head[0] + "\"; only version 0 is defined");
        if (!DIGESTS.containsKey(head[1])) throw new EndorsementFormatException("did:x509 CA fingerprint algorithm is \"" + head[1] + "\"; expected sha256, sha384 or sha512");
        String fingerprint = head[2];
        int expectedLength = base64UrlLength(digestLength(head[1]));
        if (fingerprint.length() != expectedLength || !fingerprint.chars().allMatch(c -> Character.isLetterOrDigit(c) && c < 128 || c == '-' || c == '_')) {
            throw new EndorsementFormatException("did:x509 CA fingerprint \"" + GuestEndorsement.abbreviate(fingerprint) + "\" is not " + expectedLength
                    + " base64url characters (an unpadded " + head[1] + " digest)");
        }
        if (parts.length < 2) throw new EndorsementFormatException("did:x509 \"" + GuestEndorsement.abbreviate(did) + "\" has no policy; expected at least one ::eku:<oid>, ::subject:<key>:<value> or ::san:<type>:<value>");
        List<Policy> policies = new ArrayList<>(parts.length - 1);
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i];
            int colon = p.indexOf(':');
            if (colon <= 0 || colon == p.length() - 1) {
                throw new EndorsementFormatException("did:x509 policy " + i + " is \"" + p + "\"; expected <name>:<value>");
            }
            String name = p.substring(0, colon), value = p.substring(colon + 1);
            if (!name.chars().allMatch(c -> (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-')) {
                throw new EndorsementFormatException("did:x509 policy name \"" + name + "\" is not alphabetic");
            }
            for (String seg : value.split(":", -1)) {
                if (seg.isEmpty()) throw new EndorsementFormatException("did:x509 policy " + name + " has an empty segment in \"" + value + '"');
                for (int k = 0; k < seg.length(); k++) {
                    char c = seg.charAt(k);
                    if (c == '%' && (k + 2 >= seg.length() || Character.digit(seg.charAt(k + 1), 16) < 0 || Character.digit(seg.charAt(k + 2), 16) < 0)) {
                        throw new EndorsementFormatException("did:x509 policy " + name + " value \"" + value + "\" has an invalid percent-encoding at \"" + seg.substring(k) + "\"; expected % and two hex digits");
                    }
                    if (!(c < 128 && Character.isLetterOrDigit(c) || c == '.' || c == '-' || c == '_' || c == '%')) {
                        throw new EndorsementFormatException("did:x509 policy " + name + " value contains '" + c + "'; characters other than letters, digits, '.', '-', '_' must be percent-encoded");
                    }
                }
            }
            policies.add(new Policy(name, value));
        }
        return new DidX509(did, head[1], fingerprint, policies);
    }

    /**
     * The identifier for a chain: the fingerprint (SHA-256) of its root (last certificate, which
     * must be a CA other than the leaf) and one policy, e.g. {@code forChain(chain, "eku", oid)}.
     * The policy value is percent-encoded here.
     */
    public static String forChain(List<X509Certificate> chain, String policyName, String policyValue) {
        if (chain.size() < 2) throw new IllegalArgumentException("a did:x509 needs a chain of at least two certificates (leaf and CA); got " + chain.size());
        String did = PREFIX + "0:sha256:" + fingerprint(chain.getLast(), "sha256") + "::" + policyName + ":" + encodePolicyValue(policyName, policyValue);
        parse(did);
        return did;
    }

    /** Percent-encodes a value as the method requires; for subject, each key and value separately. */
    private static String encodePolicyValue(String name, String value) {
        if (!name.equals("subject") && !name.equals("san")) return percentEncode(value);
        String[] items = value.split(":", -1);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < items.length; i++) sb.append(i == 0 ? "" : ":").append(i % 2 == 0 ? items[i] : percentEncode(items[i]));
        return sb.toString();
    }

    static String percentEncode(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_') sb.append((char) c);
            else sb.append('%').append(String.format("%02X", c));
        }
        return sb.toString();
    }

    static String percentDecode(String s) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                if (i + 2 >= s.length()) {
                    throw new EndorsementFormatException("did:x509 value \"" + s + "\" has a truncated percent-encoding at position " + i);
                }
                int hi = Character.digit(s.charAt(i + 1), 16), lo = Character.digit(s.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) throw new EndorsementFormatException("did:x509 value \"" + s + "\" has an invalid percent-encoding at position " + i);
                out.write(hi * 16 + lo);
                i += 2;
            } else {
                out.write(c);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /**
     * Resolves this identifier against a chain (leaf first): empty when it matches, otherwise a
     * message naming the part that did not. The chain's own validity is checked elsewhere
     * ({@link EndorsementVerifier}'s {@code chain} check).
     */
    public Optional<String> mismatch(List<X509Certificate> chain) {
        if (chain.size() < 2) return Optional.of("the chain has " + chain.size() + " certificate(s); a did:x509 needs the leaf and at least one CA certificate");
        boolean found = false;
        for (int i = 1; i < chain.size() && !found; i++) found = fingerprint(chain.get(i), fingerprintAlgorithm).equals(caFingerprint);
        if (!found) {
            return Optional.of("CA fingerprint " + fingerprintAlgorithm + ":" + caFingerprint + " matches no CA certificate in the chain (root "
                    + fingerprintAlgorithm + ":" + fingerprint(chain.getLast(), fingerprintAlgorithm) + ", " + chain.getLast().getSubjectX500Principal().getName() + ")");
        }
        X509Certificate leaf = chain.getFirst();
        for (Policy p : policies) {
            Optional<String> m = switch (p.name()) {
                case "eku" -> eku(leaf, p.value());
                case "subject" -> subject(leaf, p.value());
                case "san" -> san(leaf, p.value());
                default -> Optional.of("policy \"" + p.name() + "\" is not supported by Coffer (supported: eku, subject, san); the identifier cannot match");
            };
            if (m.isPresent()) return m;
        }
        return Optional.empty();
    }

    private static Optional<String> eku(X509Certificate leaf, String oid) {
        List<String> ekus;
        try {
            ekus = leaf.getExtendedKeyUsage();
        } catch (CertificateParsingException e) {
            return Optional.of("eku policy: the leaf's extended key usage cannot be read (" + e.getMessage() + ")");
        }
        if (ekus == null) return Optional.of("eku policy: the leaf certificate has no extended key usage; expected " + oid);
        return ekus.contains(oid) ? Optional.empty() : Optional.of("eku policy: the leaf's extended key usages " + ekus + " do not include " + oid);
    }

    private static Optional<String> subject(X509Certificate leaf, String value) {
        String[] items = value.split(":", -1);
        if (items.length % 2 != 0) return Optional.of("subject policy \"" + value + "\" is not a list of key:value pairs");
        Map<String, String> actual = new HashMap<>();
        X500Name name = X500Name.getInstance(leaf.getSubjectX500Principal().getEncoded());
        for (RDN rdn : name.getRDNs()) {
            for (AttributeTypeAndValue atv : rdn.getTypesAndValues()) {
                String oid = atv.getType().getId();
                if (actual.put(oid, IETFUtils.valueToString(atv.getValue()).replace("\\", "")) != null) actual.put(oid, null);
            }
        }
        Map<String, String> wanted = new LinkedHashMap<>();
        for (int i = 0; i < items.length; i += 2) {
            String key = items[i];
            String oid = SUBJECT_LABELS.getOrDefault(key, key);
            if (ASN1ObjectIdentifier.tryFromID(oid) == null) return Optional.of("subject policy key \"" + key + "\" is neither CN, L, ST, O, OU, C, STREET nor an OID");
            if (wanted.put(oid, percentDecode(items[i + 1])) != null) return Optional.of("subject policy repeats the key " + key);
        }
        for (Map.Entry<String, String> w : wanted.entrySet()) {
            if (!actual.containsKey(w.getKey())) return Optional.of("subject policy: the leaf's subject has no " + label(w.getKey()) + "; expected \"" + w.getValue() + '"');
            String have = actual.get(w.getKey());
            if (have == null) return Optional.of("subject policy: the leaf's subject repeats " + label(w.getKey()) + ", which the method does not allow");
            if (!have.equals(w.getValue())) return Optional.of("subject policy: the leaf's " + label(w.getKey()) + " is \"" + have + "\"; expected \"" + w.getValue() + '"');
        }
        return Optional.empty();
    }

    private static String label(String oid) {
        for (Map.Entry<String, String> e : SUBJECT_LABELS.entrySet()) if (e.getValue().equals(oid)) return e.getKey();
        return oid;
    }

    private static Optional<String> san(X509Certificate leaf, String value) {
        int colon = value.indexOf(':');
        if (colon < 0 || value.indexOf(':', colon + 1) >= 0) return Optional.of("san policy \"" + value + "\" is not <type>:<value>");
        String type = value.substring(0, colon);
        Integer tag = SAN_TYPES.get(type);
        if (tag == null) return Optional.of("san policy type \"" + type + "\" is not email, dns or uri");
        String wanted = percentDecode(value.substring(colon + 1));
        Collection<List<?>> names;
        try {
            names = leaf.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            return Optional.of("san policy: the leaf's subject alternative names cannot be read (" + e.getMessage() + ")");
        }
        if (names != null) {
            for (List<?> n : names) if (tag.equals(n.get(0)) && wanted.equals(n.get(1))) return Optional.empty();
        }
        return Optional.of("san policy: the leaf has no " + type + " subject alternative name \"" + wanted + '"');
    }

    /** base64url (unpadded) of the certificate's DER digest with {@code alg} (sha256, sha384, sha512). */
    public static String fingerprint(X509Certificate cert, String alg) {
        try {
            byte[] digest = MessageDigest.getInstance(DIGESTS.get(alg)).digest(cert.getEncoded());
            return Base64.getUrlEncoder().withoutPadding().encodeToString(digest);
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException("cannot fingerprint " + cert.getSubjectX500Principal() + " with " + alg, e);
        }
    }

    private static int base64UrlLength(int bytes) {
        return (bytes * 8 + 5) / 6;
    }

    private static int digestLength(String alg) {
        return switch (alg) {
            case "sha256" -> 32;
            case "sha384" -> 48;
            default -> 64;
        };
    }

    @Override
    public String toString() {
        return did;
    }
}
