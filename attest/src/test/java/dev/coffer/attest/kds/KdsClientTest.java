package dev.coffer.attest.kds;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.coffer.attest.TestData;
import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.cert.CertRole;
import dev.coffer.attest.snp.Product;
import dev.coffer.attest.snp.SnpReport;
import dev.coffer.attest.verify.SnpVerifier;
import dev.coffer.attest.verify.Verdict;
import dev.coffer.attest.verify.VerifierPolicy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/** The KDS client against a tiny local KDS serving the captured fixture files. */
class KdsClientTest {
    static final SnpReport REPORT = TestData.GO_SEV_GUEST.report();
    static final String CHIP = HexFormat.of().formatHex(REPORT.chipId());
    /** The exact request PROVENANCE.md says served this VCEK. */
    static final String VCEK_PATH = "/vcek/v1/Milan/" + CHIP;
    static final String VCEK_QUERY = "blSPL=2&teeSPL=0&snpSPL=5&ucodeSPL=68";

    @TempDir
    Path cache;
    HttpServer server;
    final AtomicInteger requests = new AtomicInteger();
    /** Scripted failures by path, consumed one per request: status code, or -1 to hang. */
    final ConcurrentHashMap<String, java.util.Deque<Integer>> failures = new ConcurrentHashMap<>();
    final CountDownLatch release = new CountDownLatch(1);
    volatile byte[] crl;

    @BeforeEach
    void startKds() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
        server.start();
    }

    @AfterEach
    void stopKds() {
        release.countDown();
        server.stop(0);
    }

    private void handle(HttpExchange ex) throws IOException {
        requests.incrementAndGet();
        String path = ex.getRequestURI().getPath();
        var scripted = failures.get(path);
        Integer failure = scripted == null ? null : scripted.poll();
        if (failure != null) {
            if (failure == -1) {
                try {
                    release.await(5, TimeUnit.SECONDS);
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
            } else if (failure == 429) {
                ex.getResponseHeaders().add("Retry-After", "0");
            }
            ex.sendResponseHeaders(failure == -1 ? 500 : failure, -1);
            ex.close();
            return;
        }
        byte[] body = path.equals(VCEK_PATH)
                ? (VCEK_QUERY.equals(ex.getRequestURI().getRawQuery()) ? TestData.read(TestData.GO_SEV_GUEST.vcekFile()) : null)
                : switch (path) {
            case "/vcek/v1/Milan/cert_chain" -> TestData.read("amd-roots/ask_ark_milan.pem");
            case "/vlek/v1/Genoa/cert_chain" -> TestData.read("amd-roots/ask_ark_genoa_vlek.pem");
            case "/vcek/v1/Genoa/cert_chain" -> "<html>maintenance</html>".getBytes();
            case "/vcek/v1/Milan/crl" -> crl;
            default -> null;
        };
        if (body == null) {
            ex.sendResponseHeaders(404, -1);
        } else {
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
        }
        ex.close();
    }

    KdsClient client(boolean offline, int attempts) {
        return client(offline, attempts, Duration.ofSeconds(10));
    }

    KdsClient client(boolean offline, int attempts, Duration timeout) {
        return new KdsClient(URI.create("http://127.0.0.1:" + server.getAddress().getPort()), cache, offline,
                timeout, attempts, Duration.ofMillis(50), Clock.systemUTC());
    }

    void script(String path, Integer... statuses) {
        failures.put(path, new java.util.concurrent.ConcurrentLinkedDeque<>(List.of(statuses)));
    }

    @Test
    void fetchesTheVcekForReportedTcbAndNeverAsksTwice() {
        AmdCertificate vcek = client(false, 1).vcekFor(REPORT, Optional.empty());
        assertEquals(TestData.GO_SEV_GUEST.vcek(), vcek);
        assertEquals(1, requests.get());
        assertEquals(vcek, client(false, 1).vcekFor(REPORT, Optional.empty()));
        assertEquals(1, requests.get(), "a cache hit must not touch the network");
        server.stop(0);
        assertEquals(vcek, client(true, 1).vcekFor(REPORT, Optional.of(Product.MILAN)), "offline mode serves the cache");
    }

    @Test
    void verifiesWithCollateralFromTheKds() {
        KdsClient kds = client(false, 1);
        AmdCertificate vcek = kds.vcekFor(REPORT, Optional.empty());
        List<AmdCertificate> chain = kds.certChain(Product.MILAN, CertRole.VCEK);
        Verdict v = new SnpVerifier(VerifierPolicy.builder().allowDebug(true)
                .clock(Clock.fixed(TestData.GO_SEV_GUEST.at(), ZoneOffset.UTC)).build()).verify(REPORT, vcek, chain);
        assertTrue(v.valid(), v.summary());
        assertEquals(List.of(CertRole.ASVK, CertRole.ARK),
                kds.certChain(Product.GENOA, CertRole.VLEK).stream().map(AmdCertificate::role).toList());
    }

    @Test
    void offlineWithAnEmptyCacheIsCollateralUnavailable() {
        var e = assertThrows(CollateralUnavailableException.class, () -> client(true, 1).vcek(Product.MILAN, REPORT.chipId(), REPORT.reportedTcb().bytes()));
        assertTrue(e.getMessage().startsWith("collateral unavailable: offline mode"), e.getMessage());
        assertEquals(0, requests.get());
    }

    @Test
    void rateLimitingIsRetriedThenReportedAsUnavailable() {
        script(VCEK_PATH, 429);
        assertEquals(TestData.GO_SEV_GUEST.vcek(), client(false, 2).vcekFor(REPORT, Optional.of(Product.MILAN)));
        assertEquals(2, requests.get());

        script("/vcek/v1/Milan/cert_chain", 429, 429);
        var e = assertThrows(CollateralUnavailableException.class, () -> client(false, 2).certChain(Product.MILAN, CertRole.VCEK));
        assertTrue(e.getMessage().contains("rate limited (429) after 2 attempt(s)"), e.getMessage());
        assertTrue(e.getMessage().startsWith("collateral unavailable"), e.getMessage());
    }

    @Test
    void serverErrorsAreUnavailableAndNothingIsCached() {
        script(VCEK_PATH, 500, 503);
        var e = assertThrows(CollateralUnavailableException.class, () -> client(false, 2).vcekFor(REPORT, Optional.of(Product.MILAN)));
        assertTrue(e.getMessage().contains("HTTP 503"), e.getMessage());
        assertTrue(client(false, 1).cachedFiles().isEmpty());
    }

    @Test
    void aHangingKdsTimesOut() {
        script(VCEK_PATH, -1);
        var e = assertThrows(CollateralUnavailableException.class, () -> client(false, 1, Duration.ofMillis(500)).vcekFor(REPORT, Optional.of(Product.MILAN)));
        assertTrue(e.getMessage().contains("timed out after 500 ms"), e.getMessage());
    }

    @Test
    void unknownChipsAndGarbageAnswersAreUnavailableNotInvalid() {
        byte[] otherChip = new byte[64];
        var notFound = assertThrows(CollateralUnavailableException.class, () -> client(false, 1).vcek(Product.MILAN, otherChip, REPORT.reportedTcb().bytes()));
        assertTrue(notFound.getMessage().contains("404"), notFound.getMessage());
        var garbage = assertThrows(CollateralUnavailableException.class, () -> client(false, 1).certChain(Product.GENOA, CertRole.VCEK));
        assertTrue(garbage.getMessage().contains("answered 200 but not with a VCEK cert_chain"), garbage.getMessage());
        assertTrue(client(false, 1).cachedFiles().isEmpty(), "garbage is never cached");
    }

    @Test
    void anUnreachableKdsIsUnavailable() {
        int port = server.getAddress().getPort();
        server.stop(0);
        KdsClient kds = new KdsClient(URI.create("http://127.0.0.1:" + port), cache, false, Duration.ofMillis(500), 1, Duration.ZERO, Clock.systemUTC());
        var e = assertThrows(CollateralUnavailableException.class, () -> kds.vcekFor(REPORT, Optional.of(Product.MILAN)));
        assertTrue(e.getMessage().contains("network error") || e.getMessage().contains("timed out"), e.getMessage());
    }

    @Test
    void turinUsesTheShortHwidAndFmcSpl() {
        byte[] tcb = dev.coffer.attest.snp.TcbVersion.of(dev.coffer.attest.snp.TcbLayout.TURIN, 1, 2, 3, 4, 5).bytes();
        var e = assertThrows(CollateralUnavailableException.class, () -> client(false, 1).vcek(Product.TURIN, REPORT.chipId(), tcb));
        assertTrue(e.getMessage().contains("/vcek/v1/Turin/" + CHIP.substring(0, 16) + "?fmcSPL=1&blSPL=2&teeSPL=3&snpSPL=4&ucodeSPL=5"), e.getMessage());
    }

    @Test
    void crlsAreCachedUntilTheirNextUpdate() throws Exception {
        var gen = java.security.KeyPairGenerator.getInstance("RSA");
        gen.initialize(2048);
        var key = gen.generateKeyPair();
        var issuer = new org.bouncycastle.asn1.x500.X500Name("CN=ARK-Milan");
        var b = new org.bouncycastle.cert.X509v2CRLBuilder(issuer, new java.util.Date());
        b.setNextUpdate(java.util.Date.from(java.time.Instant.now().plus(Duration.ofDays(1))));
        b.addCRLEntry(java.math.BigInteger.valueOf(0x10001), new java.util.Date(), org.bouncycastle.asn1.x509.CRLReason.keyCompromise);
        crl = b.build(new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA384withRSAandMGF1")
                .setProvider(new org.bouncycastle.jce.provider.BouncyCastleProvider()).build(key.getPrivate())).getEncoded();
        KdsClient kds = client(false, 1);
        assertEquals(1, kds.crl(Product.MILAN).size());
        assertEquals(1, kds.crl(Product.MILAN).size());
        assertEquals(1, requests.get(), "a fresh cached CRL is not refetched");
        KdsClient later = new KdsClient(URI.create("http://127.0.0.1:" + server.getAddress().getPort()), cache, false,
                Duration.ofSeconds(10), 1, Duration.ZERO, Clock.fixed(java.time.Instant.now().plus(Duration.ofDays(2)), ZoneOffset.UTC));
        later.crl(Product.MILAN);
        assertEquals(2, requests.get(), "a CRL past its nextUpdate is refetched");
    }
}
