package dev.coffer.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import dev.coffer.attest.sim.SimLaunch;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.server.client.MaaRequest;
import dev.coffer.server.http.Json;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** Shared helpers: a sim launch producing MAA request bodies, and raw HTTP calls. */
final class Fixture {
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).version(HttpClient.Version.HTTP_1_1).build();

    record Raw(int status, String body) {
        JsonNode json() {
            try {
                return Json.parse(body);
            } catch (java.io.IOException e) {
                throw new AssertionError("not JSON: " + body, e);
            }
        }

        String code() {
            return json().path("error").path("code").asText();
        }
    }

    static Raw call(String method, String url, String body, String adminToken) throws Exception {
        return callBytes(method, url, body == null ? null : body.getBytes(StandardCharsets.UTF_8), adminToken);
    }

    static Raw callBytes(String method, String url, byte[] body, String adminToken) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30));
        if (adminToken != null) b.header("Authorization", "Bearer " + adminToken);
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Raw(r.statusCode(), r.body());
    }

    /**
     * One HTTP/1.1 exchange over a plain socket: writes {@code head} and {@code body}, then reads the
     * answer until the server closes or the declared length arrives. For requests a well-behaved
     * client library would not send.
     */
    static Raw rawExchange(String baseUrl, String head, byte[] body) throws Exception {
        URI u = URI.create(baseUrl);
        try (java.net.Socket s = new java.net.Socket(u.getHost(), u.getPort())) {
            s.setSoTimeout(30_000);
            s.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().write(body);
            s.getOutputStream().flush();
            java.io.InputStream in = s.getInputStream();
            java.io.ByteArrayOutputStream headBytes = new java.io.ByteArrayOutputStream();
            while (!headBytes.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
                int b = in.read();
                if (b < 0) throw new AssertionError("connection closed before the response head ended: " + headBytes);
                headBytes.write(b);
            }
            String[] lines = headBytes.toString(StandardCharsets.ISO_8859_1).split("\r\n");
            int status = Integer.parseInt(lines[0].split(" ")[1]);
            int length = -1;
            for (String line : lines) {
                if (line.regionMatches(true, 0, "content-length:", 0, 15)) length = Integer.parseInt(line.substring(15).trim());
            }
            if (length < 0) throw new AssertionError("response without Content-Length: " + lines[0]);
            return new Raw(status, new String(in.readNBytes(length), StandardCharsets.UTF_8));
        }
    }

    /** A guest of the simulated TEE with an ephemeral runtime RSA key bound into REPORT_DATA. */
    static final class Guest {
        final SimulatedSecureProcessor sim;
        final SimLaunch launch;
        final RSAKey runtimeKey;
        final byte[] runtimeJson;
        /** The guest's endorsement by the home's own key (the server trusts it by default). */
        final byte[] endorsement;

        Guest(Path home, byte[] measurement, byte[] hostData, long guestPolicy) throws Exception {
            sim = SimulatedSecureProcessor.openOrCreate(home.resolve("sim-tee"));
            endorsement = endorse(home, measurement, 1);
            launch = sim.launch(measurement, hostData, guestPolicy);
            runtimeKey = new RSAKeyGenerator(2048).keyID("TpmEphemeralEncryptionKey").generate();
            runtimeJson = Json.bytes(Map.of("keys", List.of(runtimeKey.toPublicJWK().toJSONObject())));
        }

        byte[] report() throws Exception {
            return launch.report(Arrays.copyOf(MessageDigest.getInstance("SHA-256").digest(runtimeJson), 64));
        }

        String chainPem() {
            return sim.vcekPem() + sim.chainPem();
        }

        /** The request of an endorsed guest: its endorsement goes with the evidence, as Azure's SKR sidecar sends it. */
        Map<String, Object> maaBody() throws Exception {
            return MaaRequest.body(report(), chainPem(), List.of(endorsement), runtimeJson, "nonce-1");
        }

        /** The same evidence without any endorsement. */
        Map<String, Object> unendorsedBody() throws Exception {
            return MaaRequest.body(report(), chainPem(), runtimeJson, "nonce-1");
        }

        List<byte[]> endorsements() {
            return List.of(endorsement);
        }
    }

    /** An endorsement of {@code measurement} by the Coffer home's own endorsement key. */
    static byte[] endorse(Path home, byte[] measurement, long svn) {
        return dev.coffer.attest.endorse.EndorsementKey.openOrCreate(AppraisalSettings.homeEndorsementKeyDir(home))
                .sign(hex(measurement), svn);
    }

    static byte[] bytes(int len, int fill) {
        byte[] b = new byte[len];
        Arrays.fill(b, (byte) fill);
        return b;
    }

    static String hex(byte[] b) {
        return java.util.HexFormat.of().formatHex(b);
    }
}
