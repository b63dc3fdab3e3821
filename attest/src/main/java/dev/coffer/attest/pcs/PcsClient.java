package dev.coffer.attest.pcs;

import dev.coffer.attest.dcap.Collateral;
import dev.coffer.attest.dcap.DcapQuote;
import dev.coffer.attest.dcap.QuoteFormatException;
import dev.coffer.attest.kds.CollateralUnavailableException;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Locale;

/**
 * Fetches the collateral of one platform from Intel PCS (API v4): TCB info for its FMSPC (SGX or
 * TDX), the QE identity, the PCK CRL of its CA and the root CA CRL, each with the issuer chain
 * PCS sends in a header. Every answer is cached on disk (body and chain side by side) and never
 * fetched twice; in offline mode only the cache is read. The cache is keyed by request, so
 * collateral past its window must be refreshed by clearing it (the verifier says when).
 */
public final class PcsClient {
    public static final URI INTEL_PCS = URI.create("https://api.trustedservices.intel.com");
    public static final URI INTEL_ROOT_CRL = URI.create("https://certificates.trustedservices.intel.com/IntelSGXRootCA.der");
    private static final int MAX_RESPONSE_BYTES = 1 << 20;

    private final URI base;
    private final URI rootCrl;
    private final Path cacheDir;
    private final boolean offline;
    private final HttpClient http;

    public PcsClient(URI base, URI rootCrl, Path cacheDir, boolean offline, Duration timeout) {
        this.base = base;
        this.rootCrl = rootCrl;
        this.cacheDir = cacheDir;
        this.offline = offline;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /** The collateral for a platform; {@code processorCa} when the PCK's issuer is the PCK Processor CA. */
    public Collateral collateral(DcapQuote.Tee tee, String fmspc, boolean processorCa) {
        if (!fmspc.matches("[0-9a-fA-F]{12}")) throw new IllegalArgumentException("FMSPC must be 12 hex digits, found '" + fmspc + "'");
        String family = tee == DcapQuote.Tee.TDX ? "tdx" : "sgx";
        Answer tcb = fetch(base + "/" + family + "/certification/v4/tcb?fmspc=" + fmspc.toLowerCase(Locale.ROOT), "TCB-Info-Issuer-Chain",
                family + "/tcb-" + fmspc.toLowerCase(Locale.ROOT) + ".json", "TCB info");
        Answer qe = fetch(base + "/" + family + "/certification/v4/qe/identity", "SGX-Enclave-Identity-Issuer-Chain",
                family + "/qe-identity.json", "QE identity");
        String ca = processorCa ? "processor" : "platform";
        Answer crl = fetch(base + "/sgx/certification/v4/pckcrl?ca=" + ca + "&encoding=der", "SGX-PCK-CRL-Issuer-Chain",
                "sgx/pckcrl-" + ca + ".der", "PCK CRL");
        Answer root = fetch(rootCrl.toString(), null, "root-ca-crl.der", "root CA CRL");
        try {
            return Collateral.fromPcsResponses(new String(tcb.body, StandardCharsets.UTF_8), tcb.chain,
                    new String(qe.body, StandardCharsets.UTF_8), qe.chain, crl.body, crl.chain, root.body);
        } catch (QuoteFormatException e) {
            throw new CollateralUnavailableException("collateral unavailable: Intel PCS (or the cache under " + cacheDir
                    + ") answered with something that is not collateral: " + e.getMessage(), e);
        }
    }

    private record Answer(byte[] body, String chain) {}

    private Answer fetch(String url, String chainHeader, String cacheName, String what) {
        Path body = cacheDir.resolve(cacheName);
        Path chain = cacheDir.resolve(cacheName + ".chain.pem");
        if (Files.isRegularFile(body) && (chainHeader == null || Files.isRegularFile(chain))) {
            try {
                return new Answer(Files.readAllBytes(body), chainHeader == null ? "" : Files.readString(chain));
            } catch (IOException e) {
                throw new CollateralUnavailableException("collateral unavailable: cannot read the cached " + what + " at " + body + " (" + e.getMessage() + ")", e);
            }
        }
        if (offline) {
            throw new CollateralUnavailableException("collateral unavailable: offline mode and no cached " + what + " at " + body
                    + "; fetch it once online, or pass a collateral bundle (--collateral)");
        }
        URI uri = URI.create(url);
        try {
            HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20)).GET().build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            byte[] bytes;
            try (InputStream in = r.body()) {
                bytes = in.readNBytes(MAX_RESPONSE_BYTES + 1);
            }
            if (r.statusCode() != 200) {
                throw new CollateralUnavailableException("collateral unavailable: " + uri + " answered HTTP " + r.statusCode() + " for the " + what
                        + (r.statusCode() == 404 ? " (Intel has none for this platform)" : ""));
            }
            if (bytes.length > MAX_RESPONSE_BYTES) {
                throw new CollateralUnavailableException("collateral unavailable: the " + what + " from " + uri + " exceeds " + MAX_RESPONSE_BYTES + " bytes");
            }
            String pem = "";
            if (chainHeader != null) {
                String h = r.headers().firstValue(chainHeader).orElseThrow(() -> new CollateralUnavailableException(
                        "collateral unavailable: " + uri + " sent the " + what + " without its " + chainHeader + " header"));
                pem = URLDecoder.decode(h, StandardCharsets.UTF_8);
            }
            store(body, bytes);
            if (chainHeader != null) store(chain, pem.getBytes(StandardCharsets.US_ASCII));
            return new Answer(bytes, pem);
        } catch (IOException e) {
            throw new CollateralUnavailableException("collateral unavailable: cannot fetch the " + what + " from " + uri + " (" + e.getMessage() + ")", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CollateralUnavailableException("collateral unavailable: interrupted while fetching the " + what, e);
        }
    }

    /** Write-then-rename, so a concurrent reader never sees a half-written answer. */
    private static void store(Path file, byte[] body) throws IOException {
        Files.createDirectories(file.getParent());
        Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
        try {
            Files.write(tmp, body);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
