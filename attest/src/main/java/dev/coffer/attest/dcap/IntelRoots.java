package dev.coffer.attest.dcap;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;

/**
 * The Intel SGX Root CA, root of PCK, TCB Signing and CRL chains. Its fingerprint is compiled in
 * so a swapped resource file is refused at load rather than trusted.
 */
public final class IntelRoots {
    /** SHA-256 of the DER of the Intel SGX Root CA (serial 22650CD65A9D3489F383B49552BF501B392706AC). */
    static final String ROOT_SHA256 = "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3";
    private static final X509Certificate ROOT = load();

    private IntelRoots() {}

    public static X509Certificate sgxRootCa() {
        return ROOT;
    }

    public static boolean isPinnedRoot(X509Certificate c) {
        return ROOT_SHA256.equals(fingerprint(c));
    }

    static String fingerprint(X509Certificate c) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(c.getEncoded()));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static X509Certificate load() {
        try (InputStream in = IntelRoots.class.getResourceAsStream("Intel_SGX_Root_CA.pem")) {
            if (in == null) throw new IllegalStateException("Intel_SGX_Root_CA.pem is missing from the coffer-attest jar");
            List<X509Certificate> certs = DcapQuote.parsePemChain(in.readAllBytes());
            X509Certificate root = certs.getFirst();
            if (!ROOT_SHA256.equals(fingerprint(root))) {
                throw new IllegalStateException("bundled Intel SGX Root CA does not match its pinned fingerprint " + ROOT_SHA256);
            }
            return root;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
