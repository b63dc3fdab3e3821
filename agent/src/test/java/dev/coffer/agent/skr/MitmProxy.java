package dev.coffer.agent.skr;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.channel.CompactJws;
import dev.coffer.channel.Jwk;
import dev.coffer.channel.KeyWrapAlgorithm;
import dev.coffer.channel.RsaAesKeyWrap;
import dev.coffer.channel.SignedRelease;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A host in the middle: a real TCP listener on 127.0.0.1 that forwards the agent's requests to
 * the genuine server and answers in its place where that pays. It swaps every key release for
 * one it signed itself, holding key material it chose, wrapped to the runtime key the token
 * carries (what the host sees), and serves its own signing key at {@code /certs} and in the
 * discovery document, so an agent trusting "the vault's keys" from the same origin accepts it.
 * Plain HTTP toward the agent, or TLS with a certificate of its own.
 */
final class MitmProxy implements AutoCloseable {
    static final byte[] ATTACKER_KEY = "attacker-chosen-key-material-32b".getBytes(StandardCharsets.US_ASCII);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    private final ServerSocket listener;
    private final String upstream;
    private final HttpClient client;
    private final KeyPair signing;
    private final String jwksUri;
    final AtomicInteger requests = new AtomicInteger();
    final AtomicInteger swapped = new AtomicInteger();
    private final Thread acceptor;
    /** The kid of the last release swapped: the proxy serves its own key under it. */
    private volatile String lastKid = "none";

    /**
     * @param upstream     the genuine server's base URL
     * @param upstreamTls  an SSL context trusting the genuine server
     * @param ownTls       a key store with the proxy's own certificate (alias "server", empty password), or null for plain HTTP
     * @param jwksUri      the jwks_uri its discovery document names, or null for its own /certs
     */
    MitmProxy(String upstream, SSLContext upstreamTls, KeyStore ownTls, String jwksUri) throws Exception {
        this.upstream = upstream;
        this.jwksUri = jwksUri;
        this.client = HttpClient.newBuilder().sslContext(upstreamTls).version(HttpClient.Version.HTTP_1_1).build();
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        this.signing = g.generateKeyPair();
        if (ownTls == null) {
            listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        } else {
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ownTls, new char[0]);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), null, null);
            listener = ctx.getServerSocketFactory().createServerSocket(0, 50, InetAddress.getLoopbackAddress());
        }
        acceptor = Thread.ofVirtual().start(this::acceptLoop);
    }

    String url() {
        return (listener instanceof javax.net.ssl.SSLServerSocket ? "https" : "http") + "://127.0.0.1:" + listener.getLocalPort();
    }

    String attackerThumbprint() {
        return Jwk.thumbprint(signing.getPublic());
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket s = listener.accept();
                Thread.ofVirtual().start(() -> serve(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            String head = readHead(in);
            if (head == null) return;
            requests.incrementAndGet();
            String[] lines = head.split("\r\n");
            String[] requestLine = lines[0].split(" ");
            int length = 0;
            for (String l : lines) {
                if (l.toLowerCase(Locale.ROOT).startsWith("content-length:")) length = Integer.parseInt(l.substring(15).strip());
            }
            byte[] body = in.readNBytes(length);
            String method = requestLine[0];
            String path = requestLine[1];
            byte[] answer;
            int status = 200;
            if (path.startsWith("/certs")) {
                answer = JSON.writeValueAsBytes(Map.of("keys", List.of(ownJwk())));
            } else if (path.startsWith("/.well-known/openid-configuration")) {
                answer = JSON.writeValueAsBytes(Map.of("issuer", url(), "jwks_uri", jwksUri != null ? jwksUri : url() + "/certs"));
            } else {
                HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(upstream + path)).header("Content-Type", "application/json");
                b.method(method, body.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
                HttpResponse<byte[]> r = client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
                status = r.statusCode();
                answer = r.body();
                if (method.equals("POST") && path.matches("/keys/.*/release.*") && status == 200) {
                    answer = swap(answer, JSON.readTree(body).path("target").asText());
                    swapped.incrementAndGet();
                }
            }
            out.write(("HTTP/1.1 " + status + " X\r\nContent-Type: application/json\r\nContent-Length: " + answer.length
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(answer);
            out.flush();
        } catch (Exception e) {
            // a refused handshake (the agent's pin check) ends the connection here
        }
    }

    /** The genuine release with its key swapped for one the proxy chose, re-signed with the proxy's key. */
    private byte[] swap(byte[] genuine, String token) throws Exception {
        String jws = JSON.readTree(genuine).path("value").asText();
        ObjectNode payload = (ObjectNode) SignedRelease.unverifiedPayload(jws);
        JsonNode runtimeJwk = CompactJws.parse(token, "token").payloadJson("token").path("x-ms-runtime").path("keys").get(0);
        RSAPublicKey runtime = (RSAPublicKey) Jwk.publicKey(runtimeJwk);
        ObjectNode key = (ObjectNode) payload.path("response").path("key").path("key");
        byte[] wrapped = RsaAesKeyWrap.wrap(runtime, ATTACKER_KEY, KeyWrapAlgorithm.CKM_RSA_AES_KEY_WRAP);
        key.put("key_hsm", SignedRelease.keyHsm(key.path("kid").asText(), KeyWrapAlgorithm.CKM_RSA_AES_KEY_WRAP, wrapped));
        String kid = CompactJws.parse(jws, "release").kid();
        lastKid = kid;
        String header = B64.encodeToString(JSON.writeValueAsBytes(Map.of("alg", "ES256", "kid", kid, "typ", "JOSE")));
        String body = B64.encodeToString(JSON.writeValueAsBytes(payload));
        Signature s = Signature.getInstance("SHA256withECDSAinP1363Format");
        s.initSign(signing.getPrivate());
        s.update((header + "." + body).getBytes(StandardCharsets.US_ASCII));
        return JSON.writeValueAsBytes(Map.of("value", header + "." + body + "." + B64.encodeToString(s.sign())));
    }

    /** Its own key, under the kid of the genuine release (kids are public). */
    private Map<String, Object> ownJwk() {
        ECPublicKey pub = (ECPublicKey) signing.getPublic();
        return Map.of("kid", lastKid, "kty", "EC", "crv", "P-256", "x", Jwk.b64(pub.getW().getAffineX(), 32), "y", Jwk.b64(pub.getW().getAffineY(), 32));
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0) {
            b.write(c);
            byte[] a = b.toByteArray();
            int n = a.length;
            if (n >= 4 && a[n - 4] == '\r' && a[n - 3] == '\n' && a[n - 2] == '\r' && a[n - 1] == '\n') {
                return new String(a, 0, n - 4, StandardCharsets.ISO_8859_1);
            }
            if (n > 64 * 1024) return null;
        }
        return null;
    }

    @Override
    public void close() throws IOException {
        listener.close();
        acceptor.interrupt();
    }
}
