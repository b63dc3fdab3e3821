package dev.coffer.attest.cert;

import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1IA5String;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.Certificate;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;

import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * One certificate of an AMD SEV-SNP chain, parsed once with AMD's X.509 extensions
 * (1.3.6.1.4.1.3704.1.*) decoded. Parsed with Bouncy Castle's ASN.1 layer rather than the JDK's
 * certificate factory because real VCEKs carry serial number 0, which some X.509 stacks refuse.
 */
public final class AmdCertificate {
    static final String AMD_ARC = "1.3.6.1.4.1.3704.1.";
    public static final ASN1ObjectIdentifier STRUCT_VERSION = new ASN1ObjectIdentifier(AMD_ARC + "1");
    public static final ASN1ObjectIdentifier PRODUCT_NAME = new ASN1ObjectIdentifier(AMD_ARC + "2");
    public static final ASN1ObjectIdentifier BL_SPL = new ASN1ObjectIdentifier(AMD_ARC + "3.1");
    public static final ASN1ObjectIdentifier TEE_SPL = new ASN1ObjectIdentifier(AMD_ARC + "3.2");
    public static final ASN1ObjectIdentifier SNP_SPL = new ASN1ObjectIdentifier(AMD_ARC + "3.3");
    public static final ASN1ObjectIdentifier SPL_4 = new ASN1ObjectIdentifier(AMD_ARC + "3.4");
    public static final ASN1ObjectIdentifier SPL_5 = new ASN1ObjectIdentifier(AMD_ARC + "3.5");
    public static final ASN1ObjectIdentifier SPL_6 = new ASN1ObjectIdentifier(AMD_ARC + "3.6");
    public static final ASN1ObjectIdentifier SPL_7 = new ASN1ObjectIdentifier(AMD_ARC + "3.7");
    public static final ASN1ObjectIdentifier UCODE_SPL = new ASN1ObjectIdentifier(AMD_ARC + "3.8");
    public static final ASN1ObjectIdentifier FMC_SPL = new ASN1ObjectIdentifier(AMD_ARC + "3.9");
    public static final ASN1ObjectIdentifier HW_ID = new ASN1ObjectIdentifier(AMD_ARC + "4");
    public static final ASN1ObjectIdentifier CSP_ID = new ASN1ObjectIdentifier(AMD_ARC + "5");

    private final byte[] der;
    private final Certificate cert;
    private final byte[] tbs;
    private final String subjectCn;
    private final String issuerCn;
    private final CertRole role;
    private final String fingerprint;
    // AMD extension values, decoded once: the verifier reads them on every verification.
    private final Optional<String> productName;
    // BC parses the ASN.1 time text on every getDate(); the verifier checks validity per call.
    private final Instant notBefore;
    private final Instant notAfter;
    private final Optional<byte[]> hwId;
    private final Optional<String> cspId;
    private final java.util.Map<ASN1ObjectIdentifier, Object> spls = new java.util.HashMap<>();

    private AmdCertificate(byte[] der) {
        this.der = der;
        try {
            this.cert = Certificate.getInstance(ASN1Primitive.fromByteArray(der));
        } catch (Exception e) {
            throw new CertificateFormatException("expected a DER X.509 certificate, found " + der.length
                    + " bytes that do not parse (" + e.getMessage() + ")", e);
        }
        if (cert == null) throw new CertificateFormatException("expected a DER X.509 certificate, found an empty structure");
        this.tbs = Der.firstElementOfSequence(der);
        this.subjectCn = cn(cert.getSubject());
        this.issuerCn = cn(cert.getIssuer());
        this.fingerprint = HexFormat.of().formatHex(sha256(der));
        this.role = classify();
        this.productName = decodeProductName();
        try {
            this.notBefore = cert.getStartDate().getDate().toInstant();
            this.notAfter = cert.getEndDate().getDate().toInstant();
        } catch (RuntimeException e) {
            throw new CertificateFormatException("certificate " + subjectCn + " has an unreadable validity period (" + e.getMessage() + ")", e);
        }
        this.hwId = decodeHwId();
        this.cspId = decodeCspId();
        for (ASN1ObjectIdentifier oid : List.of(BL_SPL, TEE_SPL, SNP_SPL, SPL_4, SPL_5, SPL_6, SPL_7, UCODE_SPL, FMC_SPL)) {
            try {
                decodeSpl(oid).ifPresent(v -> spls.put(oid, v));
            } catch (CertificateFormatException e) {
                spls.put(oid, e);
            }
        }
    }

    /** Parses one DER certificate (the bytes are copied). */
    public static AmdCertificate fromDer(byte[] der) {
        if (der == null || der.length == 0) throw new CertificateFormatException("expected a DER X.509 certificate, found no bytes");
        return new AmdCertificate(der.clone());
    }

    private CertRole classify() {
        String cn = subjectCn == null ? "" : subjectCn;
        if (cn.equals("SEV-VCEK")) return CertRole.VCEK;
        if (cn.equals("SEV-VLEK")) return CertRole.VLEK;
        if (cn.startsWith("ARK-")) return CertRole.ARK;
        if (cn.startsWith("SEV-VLEK-")) return CertRole.ASVK;
        if (cn.startsWith("SEV-")) return CertRole.ASK;
        if (extension(HW_ID).isPresent()) return CertRole.VCEK;
        if (extension(CSP_ID).isPresent()) return CertRole.VLEK;
        return CertRole.OTHER;
    }

    public byte[] der() { return der.clone(); }
    /** The signed part, exactly as encoded in the certificate. */
    byte[] tbsBytes() { return tbs; }
    Certificate asn1() { return cert; }
    public CertRole role() { return role; }
    public String subjectCn() { return subjectCn; }
    public String issuerCn() { return issuerCn; }
    public X500Name subject() { return cert.getSubject(); }
    public X500Name issuer() { return cert.getIssuer(); }
    public BigInteger serial() { return cert.getSerialNumber().getValue(); }
    public Instant notBefore() { return notBefore; }
    public Instant notAfter() { return notAfter; }
    public SubjectPublicKeyInfo publicKeyInfo() { return cert.getSubjectPublicKeyInfo(); }
    /** SHA-256 of the DER encoding, lowercase hex. */
    public String sha256Fingerprint() { return fingerprint; }
    public boolean selfIssued() { return cert.getSubject().equals(cert.getIssuer()); }

    public boolean validAt(Instant t) {
        return !t.isBefore(notBefore) && !t.isAfter(notAfter);
    }

    /** productName (…1.2), e.g. "Milan-B0" or "Genoa". */
    public Optional<String> productName() {
        return productName;
    }

    private Optional<String> decodeProductName() {
        return extension(PRODUCT_NAME).map(v -> {
            ASN1Primitive p = parseOrNull(v);
            if (p instanceof ASN1String s) return s.getString();
            return new String(v, java.nio.charset.StandardCharsets.US_ASCII);
        });
    }

    /** An SPL extension (…1.3.x) as an integer. */
    public Optional<Integer> spl(ASN1ObjectIdentifier oid) {
        Object v = spls.get(oid);
        if (v == null) return spls.containsKey(oid) ? Optional.empty() : decodeSpl(oid);
        if (v instanceof CertificateFormatException e) throw new CertificateFormatException(e.getMessage(), e);
        return Optional.of((Integer) v);
    }

    private Optional<Integer> decodeSpl(ASN1ObjectIdentifier oid) {
        return extension(oid).map(v -> {
            ASN1Primitive p = parseOrNull(v);
            if (p instanceof ASN1Integer i) return i.intValueExact();
            throw new CertificateFormatException("AMD extension " + oid + " should hold a DER INTEGER, found "
                    + HexFormat.of().formatHex(v));
        });
    }

    /**
     * hwID (…1.4): the chip id. AMD's KDS has encoded it both as the raw bytes and wrapped in a
     * DER OCTET STRING; both are accepted. A raw value is 64 bytes (8 on Turin), so a wrapper is
     * recognised by its exact tag and length rather than by guessing.
     */
    public Optional<byte[]> hwId() {
        return hwId.map(byte[]::clone);
    }

    private Optional<byte[]> decodeHwId() {
        return extension(HW_ID).map(v -> {
            boolean wrapped = (v.length == 66 && v[0] == 0x04 && v[1] == 64) || (v.length == 10 && v[0] == 0x04 && v[1] == 8);
            return wrapped ? Arrays.copyOfRange(v, 2, v.length) : v;
        });
    }

    /** cspId (…1.5), the cloud provider a VLEK was issued to. */
    public Optional<String> cspId() {
        return cspId;
    }

    private Optional<String> decodeCspId() {
        return extension(CSP_ID).map(v -> parseOrNull(v) instanceof ASN1String s ? s.getString()
                : new String(v, java.nio.charset.StandardCharsets.US_ASCII));
    }

    /** The contents of an extension's extnValue OCTET STRING. */
    public Optional<byte[]> extension(ASN1ObjectIdentifier oid) {
        Extensions exts = cert.getTBSCertificate().getExtensions();
        if (exts == null) return Optional.empty();
        Extension e = exts.getExtension(oid);
        if (e == null) return Optional.empty();
        ASN1OctetString os = e.getExtnValue();
        return Optional.of(os.getOctets());
    }

    private static ASN1Primitive parseOrNull(byte[] v) {
        try {
            ASN1Primitive p = ASN1Primitive.fromByteArray(v);
            return p instanceof ASN1IA5String || p instanceof ASN1String || p instanceof ASN1Integer ? p : null;
        } catch (Exception e) {
            return null;
        }
    }

    private static String cn(X500Name name) {
        for (RDN rdn : name.getRDNs(BCStyle.CN)) {
            ASN1Encodable v = rdn.getFirst().getValue();
            return v instanceof ASN1String s ? s.getString() : v.toString();
        }
        return null;
    }

    static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AmdCertificate c && Arrays.equals(der, c.der);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(der);
    }

    @Override
    public String toString() {
        return role + "[CN=" + subjectCn + ", issuer CN=" + issuerCn + ", sha256=" + fingerprint.substring(0, 16) + "…]";
    }
}
