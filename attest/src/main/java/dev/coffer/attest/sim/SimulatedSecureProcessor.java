package dev.coffer.attest.sim;

import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.cert.CertRole;
import dev.coffer.attest.cert.Certificates;
import dev.coffer.attest.cert.EcdsaP384;
import dev.coffer.attest.cert.RsaPss;
import dev.coffer.attest.snp.TcbLayout;
import dev.coffer.attest.snp.TcbVersion;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.DERIA5String;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.crypto.params.ECPrivateKeyParameters;
import org.bouncycastle.math.ec.FixedPointCombMultiplier;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Comparator;
import java.util.Date;
import java.util.List;
import java.util.stream.Stream;

/**
 * A software stand-in for the AMD secure processor, so the whole attested flow runs without SNP
 * hardware. It owns a chain shaped like AMD's — ARK (RSA-4096, RSASSA-PSS, self-signed) → ASK →
 * VCEK (EC P-384 with AMD's extensions: product, SPLs, hwID) — created once per directory
 * (normally {@code $COFFER_HOME/sim-tee/}) and reused, and signs real-format SNP reports.
 *
 * <p>Its roots are distinct from AMD's (different keys, CN "ARK-Coffer-Sim"), so a verifier
 * accepts its reports only when told to trust this directory's {@link #ark()}. Only the VCEK's
 * private key is stored (mode 0600); the ARK and ASK keys are discarded after signing, since
 * nothing needs them again.
 */
public final class SimulatedSecureProcessor {
    /** The platform TCB the simulated chip reports; the VCEK's SPL extensions carry the same values. */
    public static final TcbVersion TCB = TcbVersion.of(TcbLayout.MILAN_GENOA, -1, 3, 0, 8, 115);
    /** The simulated chip poses as a Milan part (CPUID family 19h model 01h). */
    public static final String PRODUCT_NAME = "Milan-B0";
    static final int CPUID_FAMILY = 0x19, CPUID_MODEL = 0x01, CPUID_STEPPING = 0x01;

    static final String ARK_FILE = "ark.pem", ASK_FILE = "ask.pem", VCEK_FILE = "vcek.pem",
            CHAIN_FILE = "cert_chain.pem", VCEK_KEY_FILE = "vcek-key.pem";
    /** The chip's VCEK certificate's file name (PEM). */
    public static final String VCEK_CERTIFICATE_FILE = VCEK_FILE;
    /** Every file a chip is made of, by name: what a guest that signs for the chip must be handed. */
    public static final java.util.List<String> FILES = java.util.List.of(ARK_FILE, ASK_FILE, VCEK_FILE, CHAIN_FILE, VCEK_KEY_FILE);
    private static final String ORG = "Coffer Simulated Secure Processor (not AMD hardware)";

    private final Path dir;
    private final AmdCertificate ark;
    private final AmdCertificate ask;
    private final AmdCertificate vcek;
    private final ECPrivateKeyParameters vcekKey;
    private final byte[] chipId;
    /** Whether {@link #vcekKey()} has checked that the key is the VCEK certificate's (see {@link #loadForSigning}). */
    private volatile boolean vcekKeyChecked;

    private SimulatedSecureProcessor(Path dir, AmdCertificate ark, AmdCertificate ask, AmdCertificate vcek,
                                     ECPrivateKeyParameters vcekKey) {
        this.dir = dir;
        this.ark = ark;
        this.ask = ask;
        this.vcek = vcek;
        this.vcekKey = vcekKey;
        this.chipId = vcek.hwId().orElseThrow();
    }

    /**
     * Loads the simulated chip from {@code dir}, creating it on first use. Creation happens in a
     * temporary sibling directory that is renamed into place, so a crash or a concurrent first
     * use never leaves half a chain behind. Checks chain and key, like {@link #load}.
     */
    public static SimulatedSecureProcessor openOrCreate(Path dir) {
        ensureCreated(dir);
        return load(dir);
    }

    /**
     * The same chip for signing a launch's reports: created on first use, then checked like
     * {@link #loadForSigning} (key, not chain), which spares each launch three RSA-4096
     * verifications; the reports' verifiers check the chain.
     */
    public static SimulatedSecureProcessor openOrCreateForSigning(Path dir) {
        ensureCreated(dir);
        return loadForSigning(dir);
    }

    private static void ensureCreated(Path dir) {
        if (Files.isRegularFile(dir.resolve(ARK_FILE))) return;
        try {
            Path parent = dir.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Path tmp = Files.createTempDirectory(parent, dir.getFileName() + ".tmp-");
            try {
                generate(tmp);
                try {
                    Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    throw new IOException("cannot atomically create " + dir + " (" + e.getMessage() + ")", e);
                } catch (java.nio.file.FileSystemException raced) {
                    // rename(2) replaces an empty directory but fails on a populated one: another
                    // process created the chip first; theirs wins and ours is discarded.
                    if (!Files.isRegularFile(dir.resolve(ARK_FILE))) throw raced;
                }
            } finally {
                deleteTree(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the simulated secure processor under " + dir + " (" + e.getMessage()
                    + "); check that the directory is writable", e);
        }
    }

    /** Loads an existing simulated chip and checks that its files are consistent: chain and key, both now. */
    public static SimulatedSecureProcessor load(Path dir) {
        SimulatedSecureProcessor chip = loadForSigning(dir);
        String problem = RsaPss.checkSignedBy(chip.vcek, chip.ask).or(() -> RsaPss.checkSignedBy(chip.ask, chip.ark))
                .or(() -> RsaPss.checkSignedBy(chip.ark, chip.ark)).orElse(null);
        if (problem != null) {
            throw new IllegalStateException("simulated secure processor state in " + dir + " is inconsistent (" + problem
                    + "); delete the directory to create a new chip");
        }
        chip.vcekKey(); // and the key, now rather than at the first report
        return chip;
    }

    /**
     * Loads an existing simulated chip to sign reports with, checking the certificates' roles, but
     * not the ARK → ASK → VCEK signatures, and that the VCEK key belongs to the VCEK certificate
     * only before the first report is signed. Why: this is the agent's start, and the chain is
     * checked anyway by every verifier of the reports, against the ARK it trusts; three RSA-4096
     * verifications here took seconds of the agent's start under emulation and would only turn a
     * damaged chip's error into an earlier one. The key check is a P-384 multiplication of the
     * base point, whose precomputed table the first signature needs anyway: checked beside that
     * signature it costs one multiplication, here it cost the start the table as well (a second
     * or more on an emulated guest CPU), and no report is ever signed with a key that fails it.
     */
    public static SimulatedSecureProcessor loadForSigning(Path dir) {
        try {
            AmdCertificate ark = Certificates.parseOne(Files.readAllBytes(dir.resolve(ARK_FILE)));
            AmdCertificate ask = Certificates.parseOne(Files.readAllBytes(dir.resolve(ASK_FILE)));
            AmdCertificate vcek = Certificates.parseOne(Files.readAllBytes(dir.resolve(VCEK_FILE)));
            if (ark.role() != CertRole.ARK || ask.role() != CertRole.ASK || vcek.role() != CertRole.VCEK) {
                throw new IllegalStateException("simulated secure processor state in " + dir + " is inconsistent (expected"
                        + " ARK, ASK and VCEK certificates, found " + ark.role() + ", " + ask.role() + " and " + vcek.role()
                        + "); delete the directory to create a new chip");
            }
            ECPrivateKeyParameters key = readKey(dir.resolve(VCEK_KEY_FILE));
            EcdsaP384.publicKey(vcek); // a certificate without a P-384 key is refused now; the key's match before signing
            return new SimulatedSecureProcessor(dir, ark, ask, vcek, key);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the simulated secure processor in " + dir + " (" + e.getMessage()
                    + "); delete the directory to create a new chip", e);
        }
    }

    /**
     * Starts a launch with a fixed MEASUREMENT (48 bytes, see
     * {@link dev.coffer.attest.measure.LaunchMeasurement}) and HOST_DATA (32 bytes, SHA-256 of
     * the policy), with guest policy 0x30000 (SMT allowed, no debug, no migration agent).
     * Hand the returned context only to the sandbox it was made for: it is that sandbox's
     * access to the secure processor.
     */
    public SimLaunch launch(byte[] measurement, byte[] hostData) {
        return launch(measurement, hostData, 0x30000L);
    }

    /** Starts a launch measured from its artifacts (see {@link dev.coffer.attest.measure.LaunchMeasurement}). */
    public SimLaunch launch(dev.coffer.attest.measure.LaunchMeasurement artifacts, byte[] hostData) {
        return launch(artifacts.compute(), hostData);
    }

    public SimLaunch launch(byte[] measurement, byte[] hostData, long guestPolicy) {
        return new SimLaunch(this, measurement, hostData, guestPolicy);
    }

    public Path directory() { return dir; }
    public AmdCertificate ark() { return ark; }
    public AmdCertificate ask() { return ask; }
    public AmdCertificate vcek() { return vcek; }
    public byte[] chipId() { return chipId.clone(); }

    /** VCEK, ASK and ARK: everything a verifier needs besides trusting the ARK. */
    public List<AmdCertificate> certificates() {
        return List.of(vcek, ask, ark);
    }

    public String vcekPem() { return Certificates.toPem(vcek.der()); }

    /** ASK then ARK, like AMD KDS's cert_chain response. */
    public String chainPem() { return Certificates.toPem(ask.der()) + Certificates.toPem(ark.der()); }

    /**
     * The VCEK's private key for signing a report, once checked to be the VCEK certificate's: its
     * public point must be the certificate's (one fixed-base multiplication, the first time).
     *
     * @throws IllegalStateException when the key file does not match the certificate
     */
    ECPrivateKeyParameters vcekKey() {
        if (!vcekKeyChecked) {
            var derived = new FixedPointCombMultiplier().multiply(EcdsaP384.DOMAIN.getG(), vcekKey.getD()).normalize();
            if (!derived.equals(EcdsaP384.publicKey(vcek).getQ().normalize())) {
                throw new IllegalStateException("the VCEK private key in " + dir.resolve(VCEK_KEY_FILE)
                        + " does not match " + VCEK_FILE + "; delete " + dir + " to create a new chip");
            }
            vcekKeyChecked = true;
        }
        return vcekKey;
    }

    // --- creation ---------------------------------------------------------------------------

    private static void generate(Path into) throws IOException {
        try {
            SecureRandom random = new SecureRandom();
            BouncyCastleProvider bc = new BouncyCastleProvider();
            KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
            rsa.initialize(4096, random);
            KeyPair arkKeys = rsa.generateKeyPair();
            KeyPair askKeys = rsa.generateKeyPair();
            KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
            ec.initialize(new ECGenParameterSpec("secp384r1"), random);
            KeyPair vcekKeys = ec.generateKeyPair();
            byte[] chipId = new byte[64];
            random.nextBytes(chipId);

            Instant now = Instant.now();
            Instant from = now.minus(Duration.ofDays(1));
            X500Name arkName = amdStyleName("ARK-Coffer-Sim");
            X500Name askName = amdStyleName("SEV-Coffer-Sim");
            X500Name vcekName = amdStyleName("SEV-VCEK");

            X509v3CertificateBuilder arkB = new JcaX509v3CertificateBuilder(arkName, serial(random), Date.from(from),
                    Date.from(now.plus(Duration.ofDays(25 * 365))), arkName, arkKeys.getPublic());
            caExtensions(arkB);
            byte[] arkDer = arkB.build(pss(bc, arkKeys.getPrivate())).getEncoded();

            X509v3CertificateBuilder askB = new JcaX509v3CertificateBuilder(arkName, serial(random), Date.from(from),
                    Date.from(now.plus(Duration.ofDays(25 * 365))), askName, askKeys.getPublic());
            caExtensions(askB);
            byte[] askDer = askB.build(pss(bc, arkKeys.getPrivate())).getEncoded();

            X509v3CertificateBuilder vcekB = new JcaX509v3CertificateBuilder(askName, serial(random), Date.from(from),
                    Date.from(now.plus(Duration.ofDays(7 * 365))), vcekName, vcekKeys.getPublic());
            vcekB.addExtension(AmdCertificate.STRUCT_VERSION, false, new ASN1Integer(0));
            vcekB.addExtension(AmdCertificate.PRODUCT_NAME, false, new DERIA5String(PRODUCT_NAME));
            vcekB.addExtension(AmdCertificate.BL_SPL, false, new ASN1Integer(TCB.bootloader()));
            vcekB.addExtension(AmdCertificate.TEE_SPL, false, new ASN1Integer(TCB.tee()));
            vcekB.addExtension(AmdCertificate.SNP_SPL, false, new ASN1Integer(TCB.snp()));
            for (var reserved : List.of(AmdCertificate.SPL_4, AmdCertificate.SPL_5, AmdCertificate.SPL_6, AmdCertificate.SPL_7)) {
                vcekB.addExtension(reserved, false, new ASN1Integer(0));
            }
            vcekB.addExtension(AmdCertificate.UCODE_SPL, false, new ASN1Integer(TCB.microcode()));
            // AMD's KDS puts the raw 64-byte chip id in the extension value; do the same.
            vcekB.addExtension(AmdCertificate.HW_ID, false, chipId);
            byte[] vcekDer = vcekB.build(pss(bc, askKeys.getPrivate())).getEncoded();

            write(into.resolve(ARK_FILE), Certificates.toPem(arkDer), false);
            write(into.resolve(ASK_FILE), Certificates.toPem(askDer), false);
            write(into.resolve(VCEK_FILE), Certificates.toPem(vcekDer), false);
            write(into.resolve(CHAIN_FILE), Certificates.toPem(askDer) + Certificates.toPem(arkDer), false);
            write(into.resolve(VCEK_KEY_FILE), "-----BEGIN PRIVATE KEY-----\n"
                    + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(vcekKeys.getPrivate().getEncoded())
                    + "\n-----END PRIVATE KEY-----\n", true);
            write(into.resolve("README"), """
                    Coffer's simulated secure processor (a stand-in for AMD SEV-SNP hardware).
                    ark.pem / ask.pem / vcek.pem: its certificate chain; trust ark.pem only in development
                    (coffer attest verify --trust-sim). vcek-key.pem signs reports: keep it private.
                    Delete this directory to create a new simulated chip.
                    """, false);
        } catch (GeneralSecurityException | org.bouncycastle.operator.OperatorCreationException e) {
            throw new IllegalStateException("cannot generate the simulated secure processor's keys (" + e.getMessage() + ")", e);
        }
    }

    private static X500Name amdStyleName(String cn) {
        return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.OU, "Engineering").addRDN(BCStyle.C, "US")
                .addRDN(BCStyle.O, ORG).addRDN(BCStyle.CN, cn).build();
    }

    private static void caExtensions(X509v3CertificateBuilder b) throws IOException {
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    }

    private static ContentSigner pss(BouncyCastleProvider bc, PrivateKey key) throws org.bouncycastle.operator.OperatorCreationException {
        // BC's SHA384withRSAandMGF1 uses MGF1-SHA-384 and a 48-byte salt: AMD's parameters.
        return new JcaContentSignerBuilder("SHA384withRSAandMGF1").setProvider(bc).build(key);
    }

    private static BigInteger serial(SecureRandom random) {
        return new BigInteger(63, random).add(BigInteger.ONE);
    }

    private static void write(Path file, String content, boolean secret) throws IOException {
        Files.writeString(file, content, StandardCharsets.US_ASCII);
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(secret ? "rw-------" : "rw-r--r--"));
        } catch (UnsupportedOperationException notPosix) {
            // Non-POSIX file systems keep their default permissions.
        }
    }

    private static ECPrivateKeyParameters readKey(Path file) throws IOException {
        String pem = Files.readString(file, StandardCharsets.US_ASCII);
        String body = pem.replace("-----BEGIN PRIVATE KEY-----", "").replace("-----END PRIVATE KEY-----", "").replaceAll("\\s+", "");
        try {
            // PKCS#8 parsed with Bouncy Castle's ASN.1, which the agent has loaded anyway, rather
            // than the JDK's EC KeyFactory and its provider
            PrivateKeyInfo info = PrivateKeyInfo.getInstance(Base64.getDecoder().decode(body));
            if (!X9ObjectIdentifiers.id_ecPublicKey.equals(info.getPrivateKeyAlgorithm().getAlgorithm())
                    || !SECObjectIdentifiers.secp384r1.equals(info.getPrivateKeyAlgorithm().getParameters())) {
                throw new IllegalArgumentException("expected an EC P-384 key, found " + info.getPrivateKeyAlgorithm().getAlgorithm());
            }
            BigInteger d = org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(info.parsePrivateKey()).getKey();
            return new ECPrivateKeyParameters(d, EcdsaP384.DOMAIN);
        } catch (IOException | IllegalArgumentException | IllegalStateException | ClassCastException e) {
            throw new IllegalStateException("cannot read the simulated VCEK key " + file + " (" + e.getMessage()
                    + "); delete " + file.getParent() + " to create a new chip", e);
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        }
    }
}
