package dev.coffer.agent.skr;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Locale;
import java.util.Set;

/**
 * The agent's TLS trust for upstream calls: an origin with pinned certificates is accepted only
 * when its leaf certificate's SHA-256 is one of them (the embedded server's self-signed
 * certificate, or any certificate the spec names); every other origin goes through the JDK's
 * trust store and host name check. The origin is read from the connection itself (peer host and
 * port), so a pin for one service never vouches for another.
 */
final class PinnedTrust extends X509ExtendedTrustManager {
    private final KeyChannelTrust trust;
    private final X509ExtendedTrustManager system;

    private PinnedTrust(KeyChannelTrust trust, X509ExtendedTrustManager system) {
        this.trust = trust;
        this.system = system;
    }

    static SSLContext sslContext(KeyChannelTrust trust) {
        try {
            TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            f.init((KeyStore) null);
            X509ExtendedTrustManager system = null;
            for (TrustManager m : f.getTrustManagers()) if (m instanceof X509ExtendedTrustManager x) system = x;
            if (system == null) throw new IllegalStateException("the JDK offers no X.509 trust manager");
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {new PinnedTrust(trust, system)}, null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot set up TLS: " + e.getMessage(), e);
        }
    }

    /** The innermost message of a TLS failure: ours names the pin and what was found. */
    static String reason(Throwable e) {
        String message = e.getMessage();
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof CertificateException && t.getMessage() != null) return t.getMessage();
            if (t.getMessage() != null) message = t.getMessage();
        }
        return message;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        Set<String> pins = pinsOf(engine.getPeerHost(), engine.getPeerPort());
        if (pins.isEmpty()) {
            system.checkServerTrusted(chain, authType, engine);
        } else {
            checkPinned(chain, engine.getPeerHost(), engine.getPeerPort(), pins);
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        String host = socket.getInetAddress() == null ? null : socket.getInetAddress().getHostAddress();
        Set<String> pins = pinsOf(host, socket.getPort());
        if (pins.isEmpty()) {
            system.checkServerTrusted(chain, authType, socket);
        } else {
            checkPinned(chain, host, socket.getPort(), pins);
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        // no connection to learn the origin from: only the system trust can decide
        system.checkServerTrusted(chain, authType);
    }

    private Set<String> pinsOf(String host, int port) {
        if (host == null) return Set.of();
        String h = host.toLowerCase(Locale.ROOT);
        if (h.contains(":") && !h.startsWith("[")) h = "[" + h + "]";
        return trust.tlsCertificatesOf("https://" + h + ":" + (port > 0 ? port : 443));
    }

    private static void checkPinned(X509Certificate[] chain, String host, int port, Set<String> pins) throws CertificateException {
        if (chain == null || chain.length == 0) throw new CertificateException("https://" + host + ":" + port + " presented no certificate");
        String found = KeyChannelTrust.fingerprint(chain[0].getEncoded());
        if (!pins.contains(found)) {
            throw new CertificateException("the TLS certificate of https://" + host + ":" + port + " has SHA-256 " + found
                    + "; the policy pins " + String.join(" or ", pins) + " for it");
        }
        chain[0].checkValidity();
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        throw new CertificateException("the agent's upstream client does not accept client certificates");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        throw new CertificateException("the agent's upstream client does not accept client certificates");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("the agent's upstream client does not accept client certificates");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return system.getAcceptedIssuers();
    }
}
