package dev.coffer.server.client;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * How a client of {@code coffer server} decides that the server it reached over HTTPS is the
 * one meant: the JDK's trust store, given CA certificates (host name checked), or the SHA-256
 * fingerprint of the server's own certificate (what a self-signed server prints at start).
 */
public sealed interface ServerTrust {
    /** The JDK's trust store and host name check. */
    ServerTrust SYSTEM = new SystemCas();

    record SystemCas() implements ServerTrust {}

    /** Certificates issued by one of these, for the host name dialled. */
    record CaCertificates(List<X509Certificate> cas) implements ServerTrust {
        public CaCertificates {
            if (cas.isEmpty()) throw new IllegalArgumentException("expected at least one CA certificate, found none");
            cas = List.copyOf(cas);
        }
    }

    /** Exactly the certificate with this SHA-256 (lowercase hex, colons allowed when given). */
    record PinnedCertificate(String sha256) implements ServerTrust {
        public PinnedCertificate {
            sha256 = sha256.replace(":", "").toLowerCase(Locale.ROOT);
            if (!sha256.matches("[0-9a-f]{64}")) {
                throw new IllegalArgumentException("expected a certificate fingerprint as 64 hex digits (SHA-256, colons allowed,"
                        + " as coffer server prints it), found '" + sha256 + "'");
            }
        }
    }

    /** The SSL context a client with this trust connects with. */
    default SSLContext sslContext() {
        try {
            TrustManager[] managers = switch (this) {
                case SystemCas s -> null;
                case CaCertificates c -> {
                    KeyStore ks = KeyStore.getInstance("PKCS12");
                    ks.load(null, null);
                    for (int i = 0; i < c.cas().size(); i++) ks.setCertificateEntry("ca" + i, c.cas().get(i));
                    TrustManagerFactory f = TrustManagerFactory.getInstance("PKIX");
                    f.init(ks);
                    yield f.getTrustManagers();
                }
                case PinnedCertificate p -> new TrustManager[] {new Pinned(p.sha256())};
            };
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, managers, null);
            return ctx;
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new IllegalStateException("cannot set up TLS: " + e.getMessage(), e);
        }
    }

    /** Accepts the one certificate whose SHA-256 is pinned; the pin names the server, so no host name check. */
    final class Pinned extends X509ExtendedTrustManager {
        private final String sha256;

        Pinned(String sha256) {
            this.sha256 = sha256;
        }

        private void check(X509Certificate[] chain) throws CertificateException {
            if (chain == null || chain.length == 0) throw new CertificateException("the server presented no certificate");
            String found;
            try {
                found = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(chain[0].getEncoded()));
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new CertificateException(e);
            }
            if (!found.equals(sha256)) {
                throw new CertificateException("the server's certificate has SHA-256 " + found + "; expected the pinned " + sha256
                        + " (check the pinned fingerprint, e.g. --server-fingerprint, or that this is the server you mean)");
            }
            chain[0].checkValidity();
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            check(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            check(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            throw new CertificateException("a client does not accept client certificates");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            throw new CertificateException("a client does not accept client certificates");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("a client does not accept client certificates");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
