package dev.coffer.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.SignedJWT;
import dev.coffer.server.client.ApiClientException;
import dev.coffer.server.client.CofferClient;
import dev.coffer.server.http.Json;
import dev.coffer.server.store.AuditEntry;
import dev.coffer.server.store.KeyEncryptionKey;
import dev.coffer.server.store.StoredKey;
import dev.coffer.server.store.VaultStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Two real server processes on one real PostgreSQL, as replicas behind a load balancer: one
 * issuer name, one KEK, one database, each with a home of its own. A client alternates between
 * them. Every wait is a bounded loop; nothing asserts on time.
 */
class ReplicatedServerTest {
    static final byte[] MEASUREMENT = Fixture.bytes(48, 0x5a);
    static final byte[] HOST_DATA = Fixture.bytes(32, 0x6b);
    /** The name both replicas issue under (the Service's URL in a cluster). */
    static final String ISSUER = "https://coffer.replicas.test";

    @TempDir
    Path dir;

    /** A replica: its process, home and base URL. */
    record Replica(String name, Process process, Path home, String url) {
        void kill() throws InterruptedException {
            process.destroyForcibly(); // SIGKILL
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private String db;
    private Path kek;
    private Path machine;
    private Fixture.Guest guest;
    private final List<Replica> started = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        db = PostgresServer.get().createDatabase();
        kek = dir.resolve("kek");
        KeyEncryptionKey.generate(kek);
        // the one machine whose simulated TEE the guest runs on, and whose endorsement key endorses it
        machine = dir.resolve("machine");
        guest = new Fixture.Guest(machine, MEASUREMENT, HOST_DATA, 0x30000L);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (Replica r : started) r.kill();
    }

    @Test
    void attestOnOneReleaseOnTheOtherAndShareEveryState() throws Exception {
        Replica a = start("a");
        Replica b = start("b");
        String admin = adminToken(a);
        CofferClient ca = new CofferClient(a.url, admin);
        CofferClient cb = new CofferClient(b.url, admin);

        assertEquals(kids(a), kids(b), "both replicas publish one JWKS");
        assertEquals(2, kids(a).size(), "two active keys (ES256, RS256) before any rotation");
        for (Replica r : List.of(a, b)) {
            JsonNode discovery = Fixture.call("GET", r.url + "/.well-known/openid-configuration", null, null).json();
            assertEquals(ISSUER + "/certs", discovery.path("jwks_uri").asText(), "clients reach the keys through the load balancer");
        }
        ca.post("/keys/shared/create", Map.of("kty", "oct", "exportable", true, "release_policy", policy()));
        for (int i = 0; i < 10; i++) {
            CofferClient attester = i % 2 == 0 ? ca : cb;
            Replica releaser = i % 2 == 0 ? b : a;
            String token = attester.attest(guest.maaBody());
            Fixture.Raw released = Fixture.call("POST", releaser.url + "/keys/shared/release", Json.string(Map.of("target", token)), null);
            assertEquals(200, released.status(), "token of " + (i % 2 == 0 ? "a" : "b") + " released on " + releaser.name + ": " + released.body());
        }
        // the audit log is one: both replicas list the ten releases
        for (CofferClient c : List.of(ca, cb)) {
            JsonNode entries = c.get("/audit?key=shared").path("entries");
            assertEquals(10, entries.size());
            entries.forEach(e -> assertEquals("released", e.path("verdict").asText()));
        }

        // admin tokens: made on b, accepted on a; revoked on a, refused on b at once
        JsonNode made = cb.post("/admin/tokens", Map.of("label", "operator on b"));
        CofferClient second = new CofferClient(a.url, made.path("token").asText());
        assertEquals(1, second.get("/keys").path("keys").size());
        ca.delete("/admin/tokens/" + made.path("id").asText());
        ApiClientException revoked = assertThrows(ApiClientException.class,
                () -> new CofferClient(b.url, made.path("token").asText()).get("/keys"));
        assertEquals("unauthenticated", revoked.code());

        // guest endorsements registered on one replica are listed (and used) by the other
        byte[] endorsement = Fixture.endorse(machine, Fixture.bytes(48, 0x77), 3);
        ca.post("/admin/endorsements", Map.of("endorsement", Base64.getUrlEncoder().withoutPadding().encodeToString(endorsement)));
        assertEquals(1, cb.get("/admin/endorsements").path("endorsements").size());

        // probes and metrics
        for (Replica r : List.of(a, b)) {
            assertEquals(200, Fixture.call("GET", r.url + "/healthz", null, null).status());
            Fixture.Raw ready = Fixture.call("GET", r.url + "/readyz", null, null);
            assertEquals(200, ready.status(), ready.body());
            assertEquals("loaded", ready.json().path("checks").path("signing_keys").asText());
            assertEquals("unauthenticated", Fixture.call("GET", r.url + "/metrics", null, null).code(), "metrics are on the admin side");
        }
        String metrics = Fixture.call("GET", b.url + "/metrics", null, admin).body();
        assertTrue(metrics.contains("coffer_key_releases_total{code=\"\",verdict=\"released\"} 5"), metrics);
        assertTrue(metrics.contains("coffer_attestation_verdicts_total{type=\"SevSnpVm\",verdict=\"issued\",code=\"\"} 5"), metrics);
        assertTrue(metrics.contains("coffer_http_request_duration_seconds_bucket{method=\"POST\",route=\"/keys/{name}/release\",le=\"+Inf\"} 5"), metrics);
        assertTrue(metrics.contains("coffer_database_up 1"), metrics);
        // every attestation passed the verification queue; none waited beyond it
        assertTrue(metrics.contains("coffer_verification_queue_total{outcome=\"admitted\"} 5"), metrics);
        assertTrue(metrics.contains("coffer_verification_queue_total{outcome=\"refused\"} 0"), metrics);
    }

    @Test
    void signingKeyRotationOnOneWhileTheOtherServes() throws Exception {
        Replica a = start("a");
        Replica b = start("b");
        String admin = adminToken(a);
        CofferClient ca = new CofferClient(a.url, admin);
        CofferClient cb = new CofferClient(b.url, admin);
        ca.post("/keys/rot/create", Map.of("kty", "oct", "exportable", true, "release_policy", policy()));

        AtomicBoolean stop = new AtomicBoolean();
        List<String> failures = new CopyOnWriteArrayList<>();
        Set<String> kidsSeen = ConcurrentHashMap.newKeySet();
        AtomicInteger served = new AtomicInteger();
        Thread client = Thread.ofPlatform().start(() -> {
            for (int i = 0; !stop.get() && i < 20_000; i++) {
                CofferClient attester = i % 2 == 0 ? cb : ca;
                Replica releaser = i % 2 == 0 ? a : b;
                try {
                    String token = attester.attest(guest.maaBody());
                    kidsSeen.add(SignedJWT.parse(token).getHeader().getKeyID());
                    Fixture.Raw r = Fixture.call("POST", releaser.url + "/keys/rot/release", Json.string(Map.of("target", token)), null);
                    if (r.status() != 200) failures.add("release on " + releaser.name + ": " + r.body());
                    served.incrementAndGet();
                } catch (Exception e) {
                    failures.add("round " + i + ": " + e);
                }
            }
        });
        Set<String> kidsBefore = kids(b);
        for (int rotation = 0; rotation < 3; rotation++) {
            JsonNode rotated = ca.post("/admin/signing-keys/rotate", Map.of());
            Instant takeover = Instant.parse(rotated.path("new_keys_sign_from").asText());
            // the new keys are published by both replicas before they sign anything
            waitUntil(() -> kids(b).size() > kidsBefore.size() || !kids(b).equals(kidsBefore), "b publishes the new keys");
            int before = served.get();
            waitUntil(() -> Instant.now().isAfter(takeover.plusSeconds(3)) && served.get() > before + 5, "traffic past the takeover");
        }
        stop.set(true);
        client.join(120_000);
        assertEquals(List.of(), failures, "no request fails for lack of a key during rotations");
        assertTrue(served.get() > 15, "enough rounds to mean anything: " + served.get());
        // ES256 tokens came from four keys: the first and one per rotation, and b signed with keys a made
        assertTrue(kidsSeen.size() >= 4, "tokens were signed by the rotated keys: " + kidsSeen);
        waitUntil(() -> kids(a).equals(kids(b)), "both replicas publish the same JWKS again");
        for (String kid : kidsSeen) assertTrue(kids(b).contains(kid), "retired key " + kid + " stays published while its tokens are valid");
    }

    @Test
    void sigkillOfOneReplicaUnderLoadLosesNothingAcknowledged() throws Exception {
        Replica a = start("a");
        Replica b = start("b");
        String admin = adminToken(a);
        String token = new CofferClient(a.url, admin).attest(guest.maaBody());
        Map<String, String> createdKeys = new ConcurrentHashMap<>();
        Set<String> releasedKeys = ConcurrentHashMap.newKeySet();
        List<String> survivorFailures = new CopyOnWriteArrayList<>();
        AtomicBoolean aDead = new AtomicBoolean();
        AtomicInteger attempted = new AtomicInteger();
        AtomicInteger servedBySurvivorAfterKill = new AtomicInteger();
        int total = 800;
        List<Thread> clients = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            int thread = t;
            clients.add(Thread.ofPlatform().start(() -> {
                Map<Replica, CofferClient> admins = Map.of(a, new CofferClient(a.url, admin), b, new CofferClient(b.url, admin));
                Map<Replica, CofferClient> guests = Map.of(a, new CofferClient(a.url, null), b, new CofferClient(b.url, null));
                for (int i = 0; attempted.incrementAndGet() <= total; i++) {
                    boolean afterKill = aDead.get();
                    Replica creator = afterKill || i % 2 == 0 ? b : a;
                    Replica releaser = afterKill || i % 2 == 1 ? b : a;
                    String name = "k-" + thread + "-" + i;
                    try {
                        JsonNode created = admins.get(creator).post("/keys/" + name + "/create",
                                Map.of("kty", "oct", "exportable", true, "release_policy", policy()));
                        createdKeys.put(name, created.path("version").asText());
                        guests.get(releaser).release(name, null, token, null);
                        releasedKeys.add(name);
                        if (afterKill) servedBySurvivorAfterKill.incrementAndGet();
                    } catch (ApiClientException e) {
                        // a request that went to a while it died is unacknowledged; the survivor must answer everything
                        if (afterKill || (creator == b && releaser == b)) survivorFailures.add(name + ": " + e.code() + " " + e.getMessage());
                    }
                }
            }));
        }
        waitUntil(() -> createdKeys.size() >= 200 || attempted.get() >= total, "200 keys acknowledged before the kill");
        a.kill();
        aDead.set(true);
        for (Thread c : clients) c.join(300_000);

        assertEquals(List.of(), survivorFailures, "the survivor serves every request");
        assertTrue(servedBySurvivorAfterKill.get() > 100, "load continued on the survivor: " + servedBySurvivorAfterKill.get());
        assertTrue(createdKeys.size() > total / 2, "acknowledged creations: " + createdKeys.size());
        // every acknowledged key is there with its material; every acknowledged release has its audit entry
        CofferClient survivor = new CofferClient(b.url, admin);
        Map<String, String> listed = new java.util.HashMap<>();
        for (JsonNode k : survivor.get("/keys").path("keys")) listed.put(k.path("name").asText(), k.path("version").asText());
        try (VaultStore store = VaultStore.open(db, KeyEncryptionKey.fromFile(kek))) {
            for (var e : createdKeys.entrySet()) {
                assertEquals(e.getValue(), listed.get(e.getKey()), "acknowledged key " + e.getKey() + " lost");
                StoredKey k = store.version(e.getKey(), e.getValue()).orElseThrow();
                assertEquals(32, store.material(k).length);
            }
            Set<String> audited = new HashSet<>();
            for (AuditEntry e : store.audit(null, 10_000)) if (e.verdict().equals("released")) audited.add(e.keyName());
            for (String name : releasedKeys) assertTrue(audited.contains(name), "acknowledged release of " + name + " has no audit entry");
        }
    }

    @Test
    void postgresOutageIsAnswered503ThenServedAgainWithoutRestart() throws Exception {
        Replica a = start("a");
        Replica b = start("b");
        String admin = adminToken(a);
        String token = new CofferClient(a.url, admin).attest(guest.maaBody());
        Map<String, String> acknowledged = new ConcurrentHashMap<>();
        for (int i = 0; i < 10; i++) create(i % 2 == 0 ? a : b, admin, "before-" + i, acknowledged);

        // load through the whole outage: every answer is recorded with when its request started and ended
        record Outcome(long startedNanos, long finishedNanos, int status, String code) {}
        List<Outcome> outcomes = new CopyOnWriteArrayList<>();
        AtomicBoolean stopLoad = new AtomicBoolean();
        List<Thread> load = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int thread = t;
            load.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; !stopLoad.get() && i < 100_000; i++) {
                    Replica r = i % 2 == 0 ? a : b;
                    long started = System.nanoTime();
                    try {
                        String name = "load-" + thread + "-" + i;
                        Fixture.Raw created = Fixture.call("POST", r.url + "/keys/" + name + "/create",
                                Json.string(Map.of("kty", "oct", "exportable", true, "release_policy", policy())), admin);
                        if (created.status() == 201 || created.status() == 200) {
                            acknowledged.put(name, created.json().path("version").asText());
                            Fixture.Raw released = Fixture.call("POST", r.url + "/keys/" + name + "/release",
                                    Json.string(Map.of("target", token)), null);
                            outcomes.add(new Outcome(started, System.nanoTime(), released.status(), released.status() == 200 ? "" : released.code()));
                        } else {
                            outcomes.add(new Outcome(started, System.nanoTime(), created.status(), created.code()));
                        }
                        Thread.sleep(20);
                    } catch (Exception e) {
                        outcomes.add(new Outcome(started, System.nanoTime(), 0, e.toString()));
                    }
                }
            }));
        }
        waitUntil(() -> outcomes.size() >= 20, "load running before the outage");
        PostgresServer pg = PostgresServer.get();
        long down = System.nanoTime();
        pg.pause();
        long back;
        try {
            for (Replica r : List.of(a, b)) {
                waitUntil(() -> Fixture.call("GET", r.url + "/readyz", null, null).status() == 503, r.name + " reports not ready");
                Fixture.Raw ready = Fixture.call("GET", r.url + "/readyz", null, null);
                assertTrue(ready.json().path("checks").path("database").asText().startsWith("unavailable"), ready.body());
                assertEquals(200, Fixture.call("GET", r.url + "/healthz", null, null).status(), "alive while the database is down");
            }
            for (int i = 0; i < 10; i++) {
                Replica r = i % 2 == 0 ? a : b;
                Fixture.Raw created = Fixture.call("POST", r.url + "/keys/during-" + i + "/create", Json.string(Map.of("kty", "oct")), admin);
                assertEquals(503, created.status(), created.body());
                assertEquals("store_unavailable", created.code());
                assertTrue(created.json().path("error").path("message").asText().contains("retry"), created.body());
                Fixture.Raw released = Fixture.call("POST", r.url + "/keys/before-0/release", Json.string(Map.of("target", token)), null);
                assertEquals(503, released.status(), released.body());
                assertEquals("store_unavailable", released.code());
            }
        } finally {
            pg.resume();
            back = System.nanoTime();
        }
        // the replicas were not restarted: they reconnect by themselves
        for (Replica r : List.of(a, b)) {
            waitUntil(() -> Fixture.call("GET", r.url + "/readyz", null, null).status() == 200, r.name + " ready again");
        }
        int before = outcomes.size();
        waitUntil(() -> outcomes.size() >= before + 40, "load served after the outage");
        stopLoad.set(true);
        for (Thread t : load) t.join(120_000);
        // answered before the stop began, or asked after the start returned: served; in between: 503 store_unavailable
        List<Outcome> failedBefore = outcomes.stream().filter(o -> o.finishedNanos < down && o.status != 200).toList();
        List<Outcome> wrongDuring = outcomes.stream().filter(o -> o.status != 200 && !(o.status == 503 && o.code.equals("store_unavailable"))).toList();
        List<Outcome> failedAfter = outcomes.stream().filter(o -> o.startedNanos > back && o.status != 200).toList();
        long servedDuring = outcomes.stream().filter(o -> o.startedNanos > down && o.startedNanos < back && o.status != 200).count();
        assertEquals(List.of(), failedBefore, "errors before the outage");
        assertEquals(List.of(), wrongDuring, "an outage is answered 503 store_unavailable, nothing else");
        assertEquals(List.of(), failedAfter, "errors after PostgreSQL is back");
        assertTrue(servedDuring > 0, "the load met the outage");
        for (int i = 0; i < 20; i++) {
            Replica r = i % 2 == 0 ? a : b;
            create(r, admin, "after-" + i, acknowledged);
            Fixture.Raw released = Fixture.call("POST", r.url + "/keys/after-" + i + "/release", Json.string(Map.of("target", token)), null);
            assertEquals(200, released.status(), "after the outage, on " + r.name + ": " + released.body());
        }
        Map<String, String> listed = new java.util.HashMap<>();
        for (JsonNode k : new CofferClient(b.url, admin).get("/keys").path("keys")) listed.put(k.path("name").asText(), k.path("version").asText());
        for (var e : acknowledged.entrySet()) assertEquals(e.getValue(), listed.get(e.getKey()), e.getKey());
        for (int i = 0; i < 10; i++) assertNull(listed.get("during-" + i), "a creation answered 503 must not exist");
    }

    /**
     * Not a pass/fail test: prints the release throughput of one replica and of two on this
     * machine (both processes share its cores, so two replicas here measure contention, not scale-out).
     */
    @Test
    void throughputOfTwoReplicasAgainstOne() throws Exception {
        Replica a = start("a");
        Replica b = start("b");
        String admin = adminToken(a);
        new CofferClient(a.url, admin).post("/keys/bench/create", Map.of("kty", "oct", "exportable", true, "release_policy", policy()));
        String token = new CofferClient(a.url, admin).attest(guest.maaBody());
        runReleases(List.of(a, b), token, 200); // warm both JVMs
        double one = runReleases(List.of(a), token, 800);
        double two = runReleases(List.of(a, b), token, 800);
        System.out.printf("release throughput on %d cores, 16 clients: one replica %.0f/s, two replicas %.0f/s (x%.2f)%n",
                Runtime.getRuntime().availableProcessors(), one, two, two / one);
        assertTrue(one > 0 && two > 0);
    }

    private double runReleases(List<Replica> replicas, String token, int total) throws Exception {
        AtomicInteger next = new AtomicInteger();
        List<String> failures = new CopyOnWriteArrayList<>();
        List<Thread> threads = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int t = 0; t < 16; t++) {
            threads.add(Thread.ofPlatform().start(() -> {
                // one client (one kept-alive connection) per replica and thread, as a load balancer's pool would
                List<CofferClient> clients = replicas.stream().map(r -> new CofferClient(r.url, null)).toList();
                for (int i; (i = next.getAndIncrement()) < total; ) {
                    try {
                        clients.get(i % clients.size()).release("bench", null, token, null);
                    } catch (ApiClientException e) {
                        failures.add(e.code());
                    }
                }
            }));
        }
        for (Thread t : threads) t.join(600_000);
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(List.of(), failures);
        return total / seconds;
    }

    // ---- helpers ----------------------------------------------------------------------------------

    private void create(Replica r, String admin, String name, Map<String, String> acknowledged) {
        JsonNode created = new CofferClient(r.url, admin).post("/keys/" + name + "/create",
                Map.of("kty", "oct", "exportable", true, "release_policy", policy()));
        acknowledged.put(name, created.path("version").asText());
    }

    static Map<String, Object> policy() {
        return Map.of("version", "1.0.0", "anyOf", List.of(Map.of("authority", ISSUER, "allOf", List.of(
                Map.of("claim", "x-ms-attestation-type", "equals", dev.coffer.server.token.AttestationTypes.SIM_SEVSNPVM),
                Map.of("claim", "x-ms-sevsnpvm-hostdata", "equals", Fixture.hex(HOST_DATA))))));
    }

    private static Set<String> kids(Replica r) throws Exception {
        Set<String> out = new TreeSet<>();
        for (JWK k : JWKSet.parse(Fixture.call("GET", r.url + "/certs", null, null).body()).getKeys()) out.add(k.getKeyID());
        return out;
    }

    private static String adminToken(Replica first) throws Exception {
        return Files.readString(first.home.resolve("server/admin-token")).strip();
    }

    /** Starts a replica with a home of its own on the shared database, KEK and issuer; returns once it is ready. */
    private Replica start(String name) throws Exception {
        Path home = dir.resolve(name);
        // the same machine: its simulated TEE and the endorsement key its guests are endorsed with
        copyTree(machine.resolve("sim-tee"), home.resolve("sim-tee"));
        copyTree(AppraisalSettings.homeEndorsementKeyDir(machine), AppraisalSettings.homeEndorsementKeyDir(home));
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "dev.coffer.server.ServerProcess", "--home", home.toString(), "--listen", "127.0.0.1:" + port, "--db", db,
                "--issuer", ISSUER, "--kek-file", kek.toString(), "--trust-sim", "--plain-http-loopback");
        Path log = dir.resolve(name + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        Replica r = new Replica(name, p, home, "http://127.0.0.1:" + port);
        started.add(r);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) fail("replica " + name + " exited: " + Files.readString(log));
            try {
                if (Fixture.call("GET", r.url + "/readyz", null, null).status() == 200) return r;
            } catch (java.io.IOException notYet) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        fail("replica " + name + " not ready in 180 s: " + Files.readString(log));
        return r;
    }

    private static void copyTree(Path from, Path to) throws Exception {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : files.toList()) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) Files.createDirectories(target);
                else Files.copy(f, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
    }

    @FunctionalInterface
    interface Condition {
        boolean holds() throws Exception;
    }

    /** Polls {@code c} every 100 ms for at most two minutes; fails naming {@code what}. */
    private static void waitUntil(Condition c, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try {
                if (c.holds()) return;
            } catch (Exception e) {
                last = e;
            }
            Thread.sleep(100);
        }
        fail("gave up waiting: " + what + (last == null ? "" : " (last error: " + last + ")"));
    }
}
