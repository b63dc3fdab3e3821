package dev.coffer.attest.pcs;

import com.sun.net.httpserver.HttpServer;
import dev.coffer.attest.TestData;
import dev.coffer.attest.dcap.Collateral;
import dev.coffer.attest.dcap.DcapQuote;
import dev.coffer.attest.dcap.DcapVerdict;
import dev.coffer.attest.dcap.DcapVerifier;
import dev.coffer.attest.dcap.TcbStatus;
import dev.coffer.attest.kds.CollateralUnavailableException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/** A local stand-in for Intel PCS serving the captured responses (bodies and issuer-chain headers as PCS sends them). */
class PcsClientTest {
    private static final String GO = "intel/tdx-go-tdx-guest/";
    @TempDir
    Path cache;
    HttpServer pcs;
    final AtomicInteger requests = new AtomicInteger();

    @BeforeEach
    void start() throws Exception {
        pcs = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        String tcbChain = URLEncoder.encode(new String(TestData.read(GO + "tcb_info_issuer_chain.pem"), StandardCharsets.US_ASCII), StandardCharsets.UTF_8);
        String crlChain = URLEncoder.encode(new String(TestData.read(GO + "pck_crl_issuer_chain.pem"), StandardCharsets.US_ASCII), StandardCharsets.UTF_8);
        Map<String, Object[]> routes = Map.of(
                "/tdx/certification/v4/tcb", new Object[] {"sample_tcbInfo_response", "TCB-Info-Issuer-Chain", tcbChain},
                "/tdx/certification/v4/qe/identity", new Object[] {"sample_qeIdentity_response", "SGX-Enclave-Identity-Issuer-Chain", tcbChain},
                "/sgx/certification/v4/pckcrl", new Object[] {"pckcrl", "SGX-PCK-CRL-Issuer-Chain", crlChain},
                "/IntelSGXRootCA.der", new Object[] {"rootcrl.der", null, null});
        pcs.createContext("/", ex -> {
            requests.incrementAndGet();
            Object[] r = routes.get(ex.getRequestURI().getPath());
            if (r == null || (ex.getRequestURI().getPath().endsWith("/tcb") && !"fmspc=50806f000000".equals(ex.getRequestURI().getQuery()))) {
                ex.sendResponseHeaders(404, -1);
                ex.close();
                return;
            }
            byte[] body = TestData.read(GO + r[0]);
            if (r[1] != null) ex.getResponseHeaders().add((String) r[1], (String) r[2]);
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        pcs.start();
    }

    @AfterEach
    void stop() {
        pcs.stop(0);
    }

    private PcsClient client(boolean offline) {
        String base = "http://127.0.0.1:" + pcs.getAddress().getPort();
        return new PcsClient(URI.create(base), URI.create(base + "/IntelSGXRootCA.der"), cache, offline, Duration.ofSeconds(5));
    }

    @Test
    void fetchesOnceThenServesFromCacheAndOffline() {
        Collateral c = client(false).collateral(DcapQuote.Tee.TDX, "50806f000000", false);
        assertEquals(4, requests.get());
        DcapVerdict v = new DcapVerifier().verify(DcapQuote.parse(TestData.read("intel/tdx-trustee/tdx_quote_4.dat")), c,
                Instant.parse("2023-07-01T00:00:00Z"));
        assertTrue(v.valid(), v.summary());
        assertEquals(TcbStatus.UP_TO_DATE, v.tcbStatus().orElseThrow());
        client(false).collateral(DcapQuote.Tee.TDX, "50806f000000", false);
        assertEquals(4, requests.get(), "never fetched twice");
        pcs.stop(0);
        assertNotNull(client(true).collateral(DcapQuote.Tee.TDX, "50806f000000", false));
    }

    @Test
    void offlineWithoutCacheAndUnknownPlatformsSayWhatIsMissing() {
        CollateralUnavailableException off = assertThrows(CollateralUnavailableException.class,
                () -> client(true).collateral(DcapQuote.Tee.TDX, "50806f000000", false));
        assertTrue(off.getMessage().contains("offline mode"), off.getMessage());
        assertEquals(0, requests.get());
        CollateralUnavailableException none = assertThrows(CollateralUnavailableException.class,
                () -> client(false).collateral(DcapQuote.Tee.TDX, "00a06d080000", false));
        assertTrue(none.getMessage().contains("404"), none.getMessage());
        assertThrows(IllegalArgumentException.class, () -> client(false).collateral(DcapQuote.Tee.TDX, "../etc", false));
    }
}
