package dev.coffer.server.tls;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Reader;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The server's TLS identity: a certificate chain (leaf first) and its private key. Either one
 * given to the server ({@code --tls-cert}, {@code --tls-key}, PEM), or the one the embedded
 * default makes in its state directory on first start: self-signed, EC P-256, with the listen
 * address, {@code localhost}, {@code 127.0.0.1} and {@code ::1} as subject alternative names.
 * Clients of a self-signed server pin it by {@link #fingerprint()} (SHA-256 of the leaf's DER).
 */
public record ServerIdentity(List<X509Certificate> chain, PrivateKey key) {
    public static final String CERT_FILE = "tls-cert.pem";
    public static final String KEY_FILE = "tls-key.pem";
    private static final Duration SELF_SIGNED_VALIDITY = Duration.ofDays(3650);

    public ServerIdentity {
        if (chain.isEmpty()) throw new IllegalArgumentException("expected at least the server's own certificate, found none");
        chain = List.copyOf(chain);
    }

    public X509Certificate certificate() {
        return chain.getFirst();
    }

    /** SHA-256 of the leaf certificate's DER, lowercase hex: what a client pins. */
    public String fingerprint() {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(certificate().getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** An in-memory key store holding the key and chain under alias "server", for the listener. */
    public KeyStore keyStore(char[] password) {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("server", key, password, chain.toArray(X509Certificate[]::new));
            return ks;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot hold the server's TLS key: " + e.getMessage(), e);
        }
    }

    /** The certificate chain as PEM, as written to {@link #CERT_FILE} for clients of this home. */
    public String certificatePem() {
        StringBuilder out = new StringBuilder();
        Base64.Encoder mime = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII));
        for (X509Certificate c : chain) {
            try {
                out.append("-----BEGIN CERTIFICATE-----\n").append(mime.encodeToString(c.getEncoded())).append("\n-----END CERTIFICATE-----\n");
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        }
        return out.toString();
    }

    /** Reads a PEM certificate chain (leaf first) and its PEM private key (PKCS#8, or SEC1/PKCS#1). */
    public static ServerIdentity fromPem(Path certFile, Path keyFile) throws IOException {
        List<X509Certificate> chain = readCertificates(certFile);
        PrivateKey key;
        try (Reader r = Files.newBufferedReader(keyFile); PEMParser p = new PEMParser(r)) {
            Object o = p.readObject();
            JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
            key = switch (o) {
                case PrivateKeyInfo info -> conv.getPrivateKey(info);
                case PEMKeyPair pair -> conv.getKeyPair(pair).getPrivate();
                case null -> throw new IOException("expected a PEM private key in " + keyFile + ", found no PEM object");
                default -> throw new IOException("expected an unencrypted PEM private key in " + keyFile + ", found "
                        + o.getClass().getSimpleName() + " (decrypt it first, e.g. openssl pkey -in KEY -out KEY.pem)");
            };
        }
        ServerIdentity id = new ServerIdentity(chain, key);
        id.checkKeyMatches(certFile, keyFile);
        return id;
    }

    /** The PEM certificates of {@code file}, in order. */
    public static List<X509Certificate> readCertificates(Path file) throws IOException {
        List<X509Certificate> out = new ArrayList<>();
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            for (var c : cf.generateCertificates(new ByteArrayInputStream(Files.readAllBytes(file)))) out.add((X509Certificate) c);
        } catch (GeneralSecurityException e) {
            throw new IOException("expected PEM certificates in " + file + ": " + e.getMessage(), e);
        }
        if (out.isEmpty()) throw new IOException("expected PEM certificates in " + file + ", found none");
        return out;
    }

    private void checkKeyMatches(Path certFile, Path keyFile) throws IOException {
        try {
            String alg = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
            var s = java.security.Signature.getInstance(alg);
            s.initSign(key);
            s.update(new byte[] {1});
            byte[] sig = s.sign();
            var v = java.security.Signature.getInstance(alg);
            v.initVerify(certificate().getPublicKey());
            v.update(new byte[] {1});
            if (!v.verify(sig)) throw new GeneralSecurityException("signature check failed");
        } catch (GeneralSecurityException e) {
            throw new IOException("expected the private key in " + keyFile + " to belong to the certificate in " + certFile
                    + ", found another key (" + e.getMessage() + ")");
        }
    }

    /**
     * The identity in {@code stateDir} ({@link #CERT_FILE}, {@link #KEY_FILE}), made on first use:
     * self-signed for {@code host} and the loopback names. An existing one that does not name
     * {@code host} is replaced (its clients must re-pin), since it would fail every host check.
     */
    public static ServerIdentity loadOrCreate(Path stateDir, String host) throws IOException {
        Path cert = stateDir.resolve(CERT_FILE);
        Path key = stateDir.resolve(KEY_FILE);
        if (Files.exists(cert) && Files.exists(key)) {
            ServerIdentity existing = fromPem(cert, key);
            if (names(existing.certificate()).containsAll(subjectNames(host))) return existing;
        }
        ServerIdentity made = selfSigned(host);
        Files.createDirectories(stateDir);
        Path tmpKey = stateDir.resolve(KEY_FILE + ".tmp");
        Files.deleteIfExists(tmpKey);
        Files.createFile(tmpKey, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmpKey, "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(made.key().getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
        Files.move(tmpKey, key, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        Files.writeString(cert, made.certificatePem());
        return made;
    }

    /** A fresh self-signed EC P-256 identity for {@code host}, {@code localhost}, 127.0.0.1 and ::1. */
    public static ServerIdentity selfSigned(String host) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair kp = g.generateKeyPair();
            Instant now = Instant.now();
            X500Name subject = new X500Name("CN=coffer server");
            byte[] serial = new byte[16];
            new SecureRandom().nextBytes(serial);
            var b = new JcaX509v3CertificateBuilder(subject, new BigInteger(1, serial), Date.from(now.minus(Duration.ofHours(1))),
                    Date.from(now.plus(SELF_SIGNED_VALIDITY)), subject, kp.getPublic());
            List<GeneralName> sans = new ArrayList<>();
            for (String n : subjectNames(host)) {
                sans.add(isIp(n) ? new GeneralName(GeneralName.iPAddress, n) : new GeneralName(GeneralName.dNSName, n));
            }
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans.toArray(GeneralName[]::new)));
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            X509Certificate c = new JcaX509CertificateConverter().getCertificate(
                    b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())));
            return new ServerIdentity(List.of(c), kp.getPrivate());
        } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
            throw new IllegalStateException("cannot make the server's self-signed certificate: " + e.getMessage(), e);
        }
    }

    private static Set<String> subjectNames(String host) {
        LinkedHashSet<String> names = new LinkedHashSet<>(List.of("localhost", "127.0.0.1", "::1"));
        String h = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
        // a wildcard listen address names no host a client could dial; loopback names cover local use
        if (!h.isBlank() && !h.equals("0.0.0.0") && !h.equals("::")) names.add(h);
        return names;
    }

    private static Set<String> names(X509Certificate c) {
        Set<String> out = new LinkedHashSet<>();
        try {
            var sans = c.getSubjectAlternativeNames();
            if (sans != null) for (List<?> san : sans) out.add(normalizeIp(String.valueOf(san.get(1))));
        } catch (GeneralSecurityException e) {
            // no names: the certificate is replaced
        }
        return out;
    }

    private static boolean isIp(String n) {
        return n.matches("[0-9.]+") || n.contains(":");
    }

    private static String normalizeIp(String n) {
        if (n.equals("0:0:0:0:0:0:0:1")) return "::1";
        return n;
    }

    /** SHA-256 (lowercase hex) of the first certificate in a PEM file: a client's pin of that server. */
    public static Fingerprint fromCertificate(Path pemFile) throws IOException {
        try {
            return new Fingerprint(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(readCertificates(pemFile).getFirst().getEncoded())));
        } catch (GeneralSecurityException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** A certificate's SHA-256, lowercase hex. */
    public record Fingerprint(String fingerprint) {}
}
