package dev.coffer.rego.builtins;

import dev.coffer.rego.value.NullValue;
import dev.coffer.rego.value.NumberValue;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.Value;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

/** crypto.x509.* and crypto.parse_private_keys: certificates as Go's x509.Certificate field names, keys as JWKs. */
final class X509 {
    private X509() {
    }

    static void register(Builtins.Registry r) {
        r.add("crypto.x509.parse_certificates", 1, (c, a) -> {
            List<X509Certificate> certs = certificates("crypto.x509.parse_certificates", Args.str("crypto.x509.parse_certificates", a, 0));
            List<Value> out = new ArrayList<>();
            for (X509Certificate x : certs) out.add(certValue(x));
            return Value.array(out);
        });
        r.add("crypto.x509.parse_and_verify_certificates", 1, (c, a) -> {
            List<X509Certificate> certs = certificates("crypto.x509.parse_and_verify_certificates", Args.str("crypto.x509.parse_and_verify_certificates", a, 0));
            Value invalid = Value.array(Value.of(false), Value.array());
            if (certs.size() < 2) return invalid;
            try {
                CertificateFactory cf = CertificateFactory.getInstance("X.509");
                // as in OPA: the first certificate is the root, the last the leaf, the others intermediates
                PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(certs.getFirst(), null)));
                params.setRevocationEnabled(false);
                // validity periods are checked at the evaluation's time (EvalOptions.now), never the wall clock
                // read behind the evaluation's back: a decision must be reproducible from its inputs and clock
                params.setDate(java.util.Date.from(c.now()));
                CertPathValidator.getInstance("PKIX").validate(cf.generateCertPath(certs.subList(1, certs.size()).reversed()), params);
            } catch (GeneralSecurityException e) {
                return invalid;
            }
            // the verified chain, leaf first
            List<Value> out = new ArrayList<>();
            for (X509Certificate x : certs.reversed()) out.add(certValue(x));
            return Value.array(Value.of(true), Value.array(out));
        });
        r.add("crypto.x509.parse_certificate_request", 1, (c, a) -> {
            String fn = "crypto.x509.parse_certificate_request";
            byte[] der = derOf(fn, Args.str(fn, a, 0), "CERTIFICATE REQUEST");
            try {
                PKCS10CertificationRequest csr = new PKCS10CertificationRequest(der);
                TreeMap<Value, Value> m = new TreeMap<>(Value.ORDER);
                m.put(Value.of("Subject"), name(csr.getSubject()));
                m.put(Value.of("Raw"), Value.of(Base64.getEncoder().encodeToString(der)));
                return ObjectValue.wrap(m);
            } catch (IOException | RuntimeException e) {
                throw BuiltinException.builtin(fn, "asn1: structure error: " + e.getMessage());
            }
        });
        r.add("crypto.x509.parse_rsa_private_key", 1, (c, a) -> {
            String fn = "crypto.x509.parse_rsa_private_key";
            String text = pemText(fn, Args.str(fn, a, 0));
            List<PrivateKey> keys = privateKeys(fn, text);
            if (keys.isEmpty() || !(keys.getFirst() instanceof RSAPrivateCrtKey k)) throw BuiltinException.builtin(fn, "failed to parse RSA private key");
            return jwk(k);
        });
        r.add("crypto.parse_private_keys", 1, (c, a) -> {
            String fn = "crypto.parse_private_keys";
            String s = Args.str(fn, a, 0);
            if (s.isEmpty()) return NullValue.INSTANCE;
            String text;
            try {
                text = pemText(fn, s);
            } catch (BuiltinException e) {
                return Value.array();
            }
            List<Value> out = new ArrayList<>();
            for (PrivateKey k : privateKeys(fn, text)) {
                Value j = jwk(k);
                if (j != null) out.add(j);
            }
            return Value.array(out);
        });
        r.add("crypto.x509.parse_keypair", 2, (c, a) -> {
            String fn = "crypto.x509.parse_keypair";
            List<X509Certificate> certs = certificates(fn, Args.str(fn, a, 0));
            List<PrivateKey> keys = privateKeys(fn, pemText(fn, Args.str(fn, a, 1)));
            if (certs.isEmpty() || keys.isEmpty()) throw BuiltinException.builtin(fn, "failed to parse key pair");
            List<Value> ders = new ArrayList<>();
            try {
                for (X509Certificate x : certs) ders.add(Value.of(Base64.getEncoder().encodeToString(x.getEncoded())));
            } catch (GeneralSecurityException e) {
                throw BuiltinException.builtin(fn, e.getMessage());
            }
            TreeMap<Value, Value> m = new TreeMap<>(Value.ORDER);
            m.put(Value.of("Certificate"), Value.array(ders));
            m.put(Value.of("Leaf"), certValue(certs.getFirst()));
            return ObjectValue.wrap(m);
        });
    }

    /** Input may be PEM text, base64 of PEM, or base64 of DER. */
    private static String pemText(String fn, String s) {
        if (s.contains("-----BEGIN")) return s;
        try {
            String d = new String(strictB64(s), StandardCharsets.ISO_8859_1);
            if (d.contains("-----BEGIN")) return d;
            throw BuiltinException.builtin(fn, "PEM data not found");
        } catch (IllegalArgumentException e) {
            throw BuiltinException.builtin(fn, "illegal base64 data");
        }
    }

    private static byte[] derOf(String fn, String s, String kind) {
        String text = s;
        if (!s.contains("-----BEGIN")) {
            byte[] raw;
            try {
                raw = strictB64(s);
            } catch (IllegalArgumentException e) {
                throw BuiltinException.builtin(fn, "illegal base64 data");
            }
            text = new String(raw, StandardCharsets.ISO_8859_1);
            if (!text.contains("-----BEGIN")) return raw;
        }
        int b = text.indexOf("-----BEGIN " + kind + "-----");
        int e = text.indexOf("-----END " + kind + "-----");
        if (b < 0 || e < 0) throw BuiltinException.builtin(fn, "PEM " + kind + " not found");
        return Base64.getMimeDecoder().decode(text.substring(b + kind.length() + 16, e));
    }

    private static List<X509Certificate> certificates(String fn, String s) {
        byte[] data;
        if (s.contains("-----BEGIN")) {
            data = s.getBytes(StandardCharsets.ISO_8859_1);
        } else {
            try {
                data = strictB64(s);
            } catch (IllegalArgumentException e) {
                throw BuiltinException.builtin(fn, "illegal base64 data");
            }
        }
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            Collection<? extends java.security.cert.Certificate> cs = cf.generateCertificates(new ByteArrayInputStream(data));
            List<X509Certificate> out = new ArrayList<>();
            for (var c : cs) out.add((X509Certificate) c);
            if (out.isEmpty()) throw BuiltinException.builtin(fn, "x509: malformed certificate");
            return out;
        } catch (GeneralSecurityException e) {
            throw BuiltinException.builtin(fn, "x509: malformed certificate");
        }
    }

    private static Value name(X500Name n) {
        TreeMap<Value, Value> m = new TreeMap<>(Value.ORDER);
        m.put(Value.of("CommonName"), Value.of(first(n, BCStyle.CN)));
        m.put(Value.of("Country"), all(n, BCStyle.C));
        m.put(Value.of("Organization"), all(n, BCStyle.O));
        m.put(Value.of("OrganizationalUnit"), all(n, BCStyle.OU));
        m.put(Value.of("Locality"), all(n, BCStyle.L));
        m.put(Value.of("Province"), all(n, BCStyle.ST));
        m.put(Value.of("SerialNumber"), Value.of(first(n, BCStyle.SERIALNUMBER)));
        return ObjectValue.wrap(m);
    }

    private static String first(X500Name n, org.bouncycastle.asn1.ASN1ObjectIdentifier oid) {
        RDN[] r = n.getRDNs(oid);
        return r.length == 0 ? "" : IETFUtils.valueToString(r[0].getFirst().getValue());
    }

    private static Value all(X500Name n, org.bouncycastle.asn1.ASN1ObjectIdentifier oid) {
        RDN[] r = n.getRDNs(oid);
        if (r.length == 0) return NullValue.INSTANCE;
        List<Value> out = new ArrayList<>();
        for (RDN x : r) out.add(Value.of(IETFUtils.valueToString(x.getFirst().getValue())));
        return Value.array(out);
    }

    static Value certValue(X509Certificate x) {
        TreeMap<Value, Value> m = new TreeMap<>(Value.ORDER);
        m.put(Value.of("Subject"), name(X500Name.getInstance(x.getSubjectX500Principal().getEncoded())));
        m.put(Value.of("Issuer"), name(X500Name.getInstance(x.getIssuerX500Principal().getEncoded())));
        m.put(Value.of("SerialNumber"), NumberValue.of(x.getSerialNumber()));
        m.put(Value.of("Version"), NumberValue.of(x.getVersion()));
        m.put(Value.of("NotBefore"), Value.of(x.getNotBefore().toInstant().toString()));
        m.put(Value.of("NotAfter"), Value.of(x.getNotAfter().toInstant().toString()));
        m.put(Value.of("IsCA"), Value.of(x.getBasicConstraints() >= 0));
        List<Value> dns = new ArrayList<>(), uris = new ArrayList<>(), emails = new ArrayList<>(), ips = new ArrayList<>();
        try {
            if (x.getSubjectAlternativeNames() != null) {
                for (List<?> san : x.getSubjectAlternativeNames()) {
                    int type = (Integer) san.get(0);
                    String v = String.valueOf(san.get(1));
                    switch (type) {
                        case 1 -> emails.add(Value.of(v));
                        case 2 -> dns.add(Value.of(v));
                        case 6 -> uris.add(Value.of(v));
                        case 7 -> ips.add(Value.of(v));
                        default -> {
                        }
                    }
                }
            }
            m.put(Value.of("Raw"), Value.of(Base64.getEncoder().encodeToString(x.getEncoded())));
        } catch (GeneralSecurityException e) {
            throw BuiltinException.builtin("crypto.x509.parse_certificates", e.getMessage());
        }
        m.put(Value.of("DNSNames"), dns.isEmpty() ? NullValue.INSTANCE : Value.array(dns));
        m.put(Value.of("URIStrings"), uris.isEmpty() ? NullValue.INSTANCE : Value.array(uris));
        m.put(Value.of("EmailAddresses"), emails.isEmpty() ? NullValue.INSTANCE : Value.array(emails));
        m.put(Value.of("IPAddresses"), ips.isEmpty() ? NullValue.INSTANCE : Value.array(ips));
        return ObjectValue.wrap(m);
    }

    private static List<PrivateKey> privateKeys(String fn, String pem) {
        List<PrivateKey> out = new ArrayList<>();
        JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
        try (PEMParser p = new PEMParser(new StringReader(pem))) {
            Object o;
            while ((o = p.readObject()) != null) {
                if (o instanceof PEMKeyPair kp) out.add(conv.getPrivateKey(kp.getPrivateKeyInfo()));
                else if (o instanceof PrivateKeyInfo pki) out.add(conv.getPrivateKey(pki));
            }
        } catch (IOException e) {
            throw BuiltinException.builtin(fn, "failed to parse private key: " + e.getMessage());
        }
        return out;
    }

    /** Standard base64 as Go decodes it: padding required, line breaks ignored. */
    private static byte[] strictB64(String s) {
        String t = s.replaceAll("[\\r\\n]", "").strip();
        if (t.length() % 4 != 0) throw new IllegalArgumentException("illegal base64 data at input byte " + t.length());
        return Base64.getDecoder().decode(t);
    }

    private static String b64(java.math.BigInteger n) {
        byte[] b = n.toByteArray();
        if (b.length > 1 && b[0] == 0) b = java.util.Arrays.copyOfRange(b, 1, b.length);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private static Value jwk(PrivateKey k) {
        TreeMap<Value, Value> m = new TreeMap<>(Value.ORDER);
        if (k instanceof RSAPrivateCrtKey r) {
            m.put(Value.of("kty"), Value.of("RSA"));
            m.put(Value.of("n"), Value.of(b64(r.getModulus())));
            m.put(Value.of("e"), Value.of(b64(r.getPublicExponent())));
            m.put(Value.of("d"), Value.of(b64(r.getPrivateExponent())));
            m.put(Value.of("p"), Value.of(b64(r.getPrimeP())));
            m.put(Value.of("q"), Value.of(b64(r.getPrimeQ())));
            m.put(Value.of("dp"), Value.of(b64(r.getPrimeExponentP())));
            m.put(Value.of("dq"), Value.of(b64(r.getPrimeExponentQ())));
            m.put(Value.of("qi"), Value.of(b64(r.getCrtCoefficient())));
            return ObjectValue.wrap(m);
        }
        if (k instanceof ECPrivateKey e) {
            m.put(Value.of("kty"), Value.of("EC"));
            m.put(Value.of("d"), Value.of(b64(e.getS())));
            return ObjectValue.wrap(m);
        }
        return null;
    }
}
