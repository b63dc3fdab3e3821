package dev.coffer.attest.endorse;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * A Coffer home's own guest endorser: a small CA (EC P-384, self-signed, CA:true) and a signing
 * leaf (EC P-384, with {@link #EKU}), created once per directory (normally
 * {@code $COFFER_HOME/endorsement/}) and reused. Its issuer is
 * {@code did:x509:0:sha256:<CA fingerprint>::eku:<EKU>}, its feed {@value #FEED}.
 *
 * <p>Only the leaf's private key is kept (mode 0600); the CA key is discarded once the leaf is
 * issued, so the identity cannot sign another leaf: when the leaf expires (after
 * {@link #LEAF_VALIDITY}) delete the directory to make a new endorser and trust its new DID.
 */
public final class EndorsementKey {
    /**
     * Coffer's extended key usage for guest endorsement signing: an OID under 2.25 (ITU-T X.667),
     * the integer value of UUID 81375b4a-a374-4457-b2ca-a838ea4cdaea.
     */
    public static final String EKU = "2.25.171757839396218136216355256577850923754";
    /** The feed Coffer's own endorsements are published under. */
    public static final String FEED = "coffer-guest";
    static final Duration LEAF_VALIDITY = Duration.ofDays(3650), CA_VALIDITY = Duration.ofDays(7300);
    static final String CHAIN_FILE = "chain.pem", KEY_FILE = "key.pem";

    private final Path dir;
    private final List<X509Certificate> chain;
    private final PrivateKey key;
    private final String did;

    private EndorsementKey(Path dir, List<X509Certificate> chain, PrivateKey key) {
        this.dir = dir;
        this.chain = List.copyOf(chain);
        this.key = key;
        this.did = DidX509.forChain(chain, "eku", EKU);
    }

    /** Where a Coffer home keeps its own endorsement key: {@code $COFFER_HOME/endorsement}. */
    public static Path homeDir(Path home) {
        return home.resolve("endorsement");
    }

    /** Opens the endorsement key in {@code dir}, creating it the first time. */
    public static EndorsementKey openOrCreate(Path dir) {
        if (!Files.isRegularFile(dir.resolve(KEY_FILE))) create(dir);
        return open(dir);
    }

    /** The endorsement key in {@code dir} if one was created there, without creating one. */
    public static java.util.Optional<EndorsementKey> openIfPresent(Path dir) {
        return Files.isRegularFile(dir.resolve(KEY_FILE)) ? java.util.Optional.of(open(dir)) : java.util.Optional.empty();
    }

    /** Opens an existing endorsement key; fails with what to do if it is missing or damaged. */
    public static EndorsementKey open(Path dir) {
        Path chainFile = dir.resolve(CHAIN_FILE), keyFile = dir.resolve(KEY_FILE);
        try {
            List<X509Certificate> chain = readChain(Files.readString(chainFile, StandardCharsets.US_ASCII));
            PrivateKey key = readKey(Files.readString(keyFile, StandardCharsets.US_ASCII));
            if (chain.size() != 2) throw new IllegalStateException("expected the leaf and the CA in " + chainFile + ", found " + chain.size() + " certificate(s)");
            EndorsementKey k = new EndorsementKey(dir, chain, key);
            // Sign once to prove key and leaf belong together (sign() verifies with the leaf).
            EndorsementSigner.sign("0".repeat(96), 0, FEED, key, chain, k.did);
            return k;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the endorsement key in " + dir + " (" + e.getMessage() + "); run `coffer guest build` to create it", e);
        } catch (GeneralSecurityException | IllegalArgumentException | EndorsementFormatException e) {
            throw new IllegalStateException("the endorsement key in " + dir + " is damaged (" + e.getMessage()
                    + "); delete the directory to create a new endorser, and trust its new DID", e);
        }
    }

    public Path dir() {
        return dir;
    }

    /** The issuer DID: {@code did:x509:0:sha256:<CA fingerprint>::eku:<EKU>}. */
    public String did() {
        return did;
    }

    public String feed() {
        return FEED;
    }

    /** Leaf first, then the CA. */
    public List<X509Certificate> chain() {
        return chain;
    }

    /** This key as a verifier should trust it: its DID and feed, any guest SVN. */
    public TrustedEndorser trustedEndorser() {
        return new TrustedEndorser(did, FEED, 0);
    }

    /** A COSE_Sign1 endorsement of {@code measurementHex} at {@code guestSvn}. */
    public byte[] sign(String measurementHex, long guestSvn) {
        return EndorsementSigner.sign(measurementHex, guestSvn, FEED, key, chain, did);
    }

    private static void create(Path dir) {
        try {
            Path parent = dir.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Path tmp = Files.createTempDirectory(parent, dir.getFileName() + ".tmp-");
            try {
                generate(tmp, Instant.now());
                try {
                    Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    throw new IOException("cannot atomically create " + dir + " (" + e.getMessage() + ")", e);
                } catch (FileSystemException raced) {
                    // Another process created the key first; theirs wins and ours is discarded.
                    if (!Files.isRegularFile(dir.resolve(KEY_FILE))) throw raced;
                }
            } finally {
                deleteTree(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the endorsement key under " + dir + " (" + e.getMessage() + "); check that the directory is writable", e);
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("cannot generate the endorsement key: " + e.getMessage(), e);
        }
    }

    private static void generate(Path dir, Instant now) throws IOException, GeneralSecurityException, OperatorCreationException {
        SecureRandom random = new SecureRandom();
        KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
        gen.initialize(new ECGenParameterSpec("secp384r1"), random);
        KeyPair ca = gen.generateKeyPair(), leaf = gen.generateKeyPair();
        byte[] id = new byte[6];
        random.nextBytes(id);
        String tag = HexFormat.of().formatHex(id);
        X500Name caName = new X500Name("CN=Coffer guest endorsement CA " + tag + ",O=Coffer");
        X500Name leafName = new X500Name("CN=Coffer guest endorsement signer " + tag + ",O=Coffer");
        Date notBefore = Date.from(now.minus(Duration.ofHours(1)));
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        var signer = new JcaContentSignerBuilder("SHA384withECDSA").build(ca.getPrivate());
        X509Certificate caCert = new JcaX509CertificateConverter().getCertificate(
                new JcaX509v3CertificateBuilder(caName, new BigInteger(64, random).setBit(63), notBefore, Date.from(now.plus(CA_VALIDITY)), caName, ca.getPublic())
                        .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                        .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                        .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(ca.getPublic()))
                        .build(signer));
        X509Certificate leafCert = new JcaX509CertificateConverter().getCertificate(
                new JcaX509v3CertificateBuilder(caName, new BigInteger(64, random).setBit(63), notBefore, Date.from(now.plus(LEAF_VALIDITY)), leafName, leaf.getPublic())
                        .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                        .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                        .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.getInstance(new ASN1ObjectIdentifier(EKU))))
                        .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCert))
                        .build(signer));
        write(dir.resolve(KEY_FILE), pem("PRIVATE KEY", leaf.getPrivate().getEncoded()), true);
        write(dir.resolve(CHAIN_FILE), pem("CERTIFICATE", leafCert.getEncoded()) + pem("CERTIFICATE", caCert.getEncoded()), false);
    }

    static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[]{'\n'}).encodeToString(der) + "\n-----END " + type + "-----\n";
    }

    /** Certificates from PEM text, in order. */
    public static List<X509Certificate> readChain(String pem) throws CertificateException {
        CertificateFactory f = CertificateFactory.getInstance("X.509");
        List<X509Certificate> out = new ArrayList<>();
        for (var c : f.generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) out.add((X509Certificate) c);
        if (out.isEmpty()) throw new CertificateException("no PEM certificate found");
        return out;
    }

    /** A PKCS#8 ("BEGIN PRIVATE KEY") EC or RSA private key from PEM text. */
    public static PrivateKey readKey(String pem) throws GeneralSecurityException {
        int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----"), end = pem.indexOf("-----END PRIVATE KEY-----");
        if (begin < 0 || end < begin) {
            throw new GeneralSecurityException("expected a PKCS#8 key (-----BEGIN PRIVATE KEY-----); convert with `openssl pkcs8 -topk8 -nocrypt`");
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(pem.substring(begin + 27, end));
        } catch (IllegalArgumentException e) {
            throw new GeneralSecurityException("the PEM key is not valid base64: " + e.getMessage());
        }
        GeneralSecurityException last = null;
        for (String alg : List.of("EC", "RSA")) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw new GeneralSecurityException("the PKCS#8 key is neither EC nor RSA (" + last.getMessage() + ")");
    }

    /**
     * The private key is created with mode 0600 before a byte is written (no window in which the
     * umask's mode exposes it), and a file system without POSIX permissions is refused for it;
     * the public chain keeps the default mode.
     */
    private static void write(Path file, String content, boolean secret) throws IOException {
        if (secret) {
            try {
                Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } catch (UnsupportedOperationException notPosix) {
                throw new IOException("expected a file system with POSIX permissions for the endorsement key " + file
                        + ", found none; keep $COFFER_HOME on such a file system");
            }
        }
        Files.writeString(file, content, StandardCharsets.US_ASCII);
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        }
    }
}
