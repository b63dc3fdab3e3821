package dev.coffer.oci.registry;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.util.Base64;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A token service for the registry's token auth: issues ES256 JWTs with an x5c certificate the
 * registry trusts. Repositories under {@code private/} need Basic credentials (the one user it
 * knows); all others get a token anonymously, as Docker Hub gives public images.
 */
final class TokenServer implements AutoCloseable {
    static final String SERVICE = "coffer-test-registry";
    static final String ISSUER = "coffer-test-issuer";

    private final HttpServer server;
    private final KeyPair key;
    private final byte[] certDer;
    private final String user;
    private final String password;
    final List<String> requests = new CopyOnWriteArrayList<>();

    TokenServer(String user, String password) throws Exception {
        this.user = user;
        this.password = password;
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        this.key = g.generateKeyPair();
        X500Name name = new X500Name("CN=coffer test token signer");
        Instant now = Instant.now();
        X509CertificateHolder cert = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minusSeconds(3600)), Date.from(now.plusSeconds(86400)), name, key.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate()));
        this.certDer = cert.getEncoded();
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        server.createContext("/token", this::handle);
        server.start();
    }

    String realm() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/token";
    }

    String certificatePem() {
        return "-----BEGIN CERTIFICATE-----\n" + java.util.Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(certDer) + "\n-----END CERTIFICATE-----\n";
    }

    /** A token for pushing (tests call this directly). */
    String token(String repository, List<String> actions) throws Exception {
        Instant now = Instant.now();
        Map<String, Object> access = new LinkedHashMap<>();
        access.put("type", "repository");
        access.put("name", repository);
        access.put("actions", actions);
        JWTClaimsSet claims = new JWTClaimsSet.Builder()
                .issuer(ISSUER).subject("test").audience(SERVICE)
                .expirationTime(Date.from(now.plusSeconds(300))).notBeforeTime(Date.from(now.minusSeconds(10)))
                .issueTime(Date.from(now)).jwtID(UUID.randomUUID().toString())
                .claim("access", List.of(access)).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256)
                .x509CertChain(List.of(Base64.encode(certDer))).build(), claims);
        jwt.sign(new ECDSASigner((ECPrivateKey) key.getPrivate()));
        return jwt.serialize();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String query = ex.getRequestURI().getRawQuery();
            requests.add(query + (ex.getRequestHeaders().getFirst("Authorization") != null ? " +auth" : ""));
            Map<String, String> params = new LinkedHashMap<>();
            if (query != null) {
                for (String kv : query.split("&")) {
                    String[] p = kv.split("=", 2);
                    params.put(URLDecoder.decode(p[0], StandardCharsets.UTF_8),
                            p.length > 1 ? URLDecoder.decode(p[1], StandardCharsets.UTF_8) : "");
                }
            }
            String scope = params.getOrDefault("scope", "");
            String[] parts = scope.split(":");
            if (!SERVICE.equals(params.get("service")) || parts.length != 3 || !parts[0].equals("repository")) {
                reply(ex, 400, "{\"errors\":[{\"code\":\"BAD_REQUEST\"}]}");
                return;
            }
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            String expected = "Basic " + java.util.Base64.getEncoder()
                    .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
            if (parts[1].startsWith("private/") && !expected.equals(auth)) {
                reply(ex, 401, "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}");
                return;
            }
            List<String> actions = new ArrayList<>(List.of(parts[2].split(",")));
            actions.remove("push"); // pulls only: pushing goes through token() directly
            String token = token(parts[1], actions);
            reply(ex, 200, "{\"token\":\"" + token + "\",\"expires_in\":300}");
        } catch (Exception e) {
            throw new IOException(e);
        }
    }

    private static void reply(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
