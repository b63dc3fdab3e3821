package dev.coffer.attest.kds;

import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.cert.CertRole;
import dev.coffer.attest.cert.CertificateFormatException;
import dev.coffer.attest.cert.Certificates;
import dev.coffer.attest.cert.RevocationList;
import dev.coffer.attest.snp.Product;
import dev.coffer.attest.snp.SnpReport;
import dev.coffer.attest.snp.TcbVersion;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Client for AMD's Key Distribution Service (KDS): VCEKs by chip id and TCB, the ASK/ASVK+ARK
 * cert_chain and the CRL per product. Every answer is validated before it is cached on disk;
 * a cache hit never touches the network (the KDS is rate limited). In offline mode only the
 * cache is used. Any failure to obtain collateral is a {@link CollateralUnavailableException}.
 */
public final class KdsClient {
    public static final URI AMD_KDS = URI.create("https://kdsintf.amd.com");
    /** KDS answers are a few kilobytes; anything far larger is not a KDS answer. */
    private static final int MAX_RESPONSE_BYTES = 1 << 20;

    private final URI base;
    private final Path cacheDir;
    private final boolean offline;
    private final Duration timeout;
    private final int maxAttempts;
    private final Duration maxBackoff;
    private final Clock clock;
    private final HttpClient http;

    /**
     * @param base        KDS base URI ({@link #AMD_KDS} in production)
     * @param cacheDir    where validated answers are kept (e.g. {@code $COFFER_HOME/cache/kds})
     * @param offline     never use the network; a cache miss is "collateral unavailable"
     * @param timeout     per request (connect and response)
     * @param maxAttempts attempts per answer; 429 and 5xx are retried, honouring Retry-After
     *                    up to {@code maxBackoff}
     */
    public KdsClient(URI base, Path cacheDir, boolean offline, Duration timeout, int maxAttempts, Duration maxBackoff, Clock clock) {
        if (maxAttempts < 1) throw new IllegalArgumentException("maxAttempts must be at least 1, got " + maxAttempts);
        this.base = URI.create(base.toString().replaceAll("/+$", ""));
        this.cacheDir = cacheDir;
        this.offline = offline;
        this.timeout = timeout;
        this.maxAttempts = maxAttempts;
        this.maxBackoff = maxBackoff;
        this.clock = clock;
        this.http = offline ? null : HttpClient.newBuilder().connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NORMAL).build();
    }

    /** AMD's KDS with a 10 s timeout, 3 attempts and at most 5 s between them. */
    public static KdsClient amd(Path cacheDir, boolean offline) {
        return new KdsClient(AMD_KDS, cacheDir, offline, Duration.ofSeconds(10), 3, Duration.ofSeconds(5), Clock.systemUTC());
    }

    /**
     * The VCEK that signed {@code report}: for its CHIP_ID and REPORTED_TCB (not CURRENT_TCB,
     * which may be newer). The product comes from the report's CPUID (version 3+), else from
     * {@code productHint}, else Milan and then Genoa are tried.
     */
    public AmdCertificate vcekFor(SnpReport report, Optional<Product> productHint) {
        Optional<Product> known = report.cpuProduct().or(() -> productHint);
        if (known.isPresent()) return vcek(known.get(), report.chipId(), report.reportedTcb().bytes());
        CollateralUnavailableException first = null;
        for (Product p : List.of(Product.MILAN, Product.GENOA)) {
            try {
                return vcek(p, report.chipId(), report.reportedTcb().bytes());
            } catch (CollateralUnavailableException e) {
                if (first == null) first = e;
            }
        }
        throw new CollateralUnavailableException(first.getMessage() + " (a version 2 report does not name its product; tried Milan and Genoa, pass the product to pick one)", first);
    }

    /** The VCEK for a chip and a raw TCB_VERSION (decoded with {@code product}'s layout). */
    public AmdCertificate vcek(Product product, byte[] chipId, byte[] rawTcb) {
        if (chipId.length != 64) throw new IllegalArgumentException("CHIP_ID must be 64 bytes, got " + chipId.length);
        TcbVersion tcb = TcbVersion.decode(rawTcb, 0, product.tcbLayout());
        // Turin VCEKs are indexed by the first 8 bytes of CHIP_ID only.
        String hwid = HexFormat.of().formatHex(chipId, 0, product == Product.TURIN ? 8 : 64);
        String query = (product == Product.TURIN ? "fmcSPL=" + tcb.fmc() + "&" : "") + "blSPL=" + tcb.bootloader()
                + "&teeSPL=" + tcb.tee() + "&snpSPL=" + tcb.snp() + "&ucodeSPL=" + tcb.microcode();
        String path = "/vcek/v1/" + product.kdsName() + "/" + hwid + "?" + query;
        Path cached = cacheFile("vcek/v1/" + product.kdsName() + "/" + hwid + "/" + query.replace('&', '_').replace('=', '-') + ".der");
        byte[] der = fetch(path, cached, "VCEK for " + product + " chip " + hwid.substring(0, 16) + "… at TCB " + tcb, body -> {
            AmdCertificate c = AmdCertificate.fromDer(body);
            if (c.role() != CertRole.VCEK) throw new CertificateFormatException("expected a VCEK, found " + c);
            return true;
        });
        return AmdCertificate.fromDer(der);
    }

    /** The ASK (for VCEKs) or ASVK (for VLEKs) and the ARK of {@code product}. */
    public List<AmdCertificate> certChain(Product product, CertRole endorsementKind) {
        String kind = switch (endorsementKind) {
            case VCEK -> "vcek";
            case VLEK -> "vlek";
            default -> throw new IllegalArgumentException("cert_chain exists for VCEK and VLEK, not " + endorsementKind);
        };
        String path = "/" + kind + "/v1/" + product.kdsName() + "/cert_chain";
        Path cached = cacheFile(kind + "/v1/" + product.kdsName() + "/cert_chain.pem");
        byte[] pem = fetch(path, cached, kind.toUpperCase() + " cert_chain for " + product, body -> {
            List<AmdCertificate> certs = Certificates.parse(body);
            if (certs.stream().noneMatch(c -> c.role() == CertRole.ARK)) throw new CertificateFormatException("cert_chain lacks an ARK");
            return true;
        });
        return Certificates.parse(pem);
    }

    /**
     * The product's CRL, signed by its ARK (give it to {@code VerifierPolicy.Builder.crl}). A
     * cached CRL is used until its nextUpdate; after that it is refreshed when online, and still
     * used (stale, the verifier says so) when offline.
     */
    public RevocationList crl(Product product) {
        String path = "/vcek/v1/" + product.kdsName() + "/crl";
        Path cached = cacheFile("vcek/v1/" + product.kdsName() + "/crl.der");
        if (!offline && Files.isRegularFile(cached)) {
            try {
                RevocationList crl = RevocationList.fromDer(Files.readAllBytes(cached));
                if (crl.nextUpdate().map(next -> next.isBefore(clock.instant())).orElse(false)) Files.deleteIfExists(cached);
            } catch (IOException | RuntimeException e) {
                try {
                    Files.deleteIfExists(cached);
                } catch (IOException ignored) {
                    // The refetch below overwrites it.
                }
            }
        }
        return RevocationList.fromDer(fetch(path, cached, "CRL for " + product, body -> {
            RevocationList.fromDer(body);
            return true;
        }));
    }

    @FunctionalInterface
    private interface Validator {
        boolean check(byte[] body) throws Exception;
    }

    private byte[] fetch(String path, Path cached, String what, Validator validator) {
        if (Files.isRegularFile(cached)) {
            try {
                return Files.readAllBytes(cached);
            } catch (IOException e) {
                throw new CollateralUnavailableException("collateral unavailable: cannot read the cached " + what + " at " + cached + " (" + e.getMessage() + ")", e);
            }
        }
        if (offline) {
            throw new CollateralUnavailableException("collateral unavailable: offline mode and no cached " + what + " at " + cached
                    + "; fetch it once online or pass the certificate explicitly");
        }
        URI uri = URI.create(base + path);
        String last = null;
        for (int attempt = 1; attempt <= maxAttempts; attempt++) {
            Duration wait = Duration.ZERO;
            try {
                HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(uri).timeout(timeout).GET().build(),
                        HttpResponse.BodyHandlers.ofInputStream());
                byte[] body;
                try (InputStream in = r.body()) {
                    body = in.readNBytes(MAX_RESPONSE_BYTES + 1);
                }
                int status = r.statusCode();
                if (status == 200) {
                    if (body.length > MAX_RESPONSE_BYTES) {
                        throw new CollateralUnavailableException("collateral unavailable: the KDS answer for " + what + " exceeds "
                                + MAX_RESPONSE_BYTES + " bytes; " + uri + " is not behaving like AMD's KDS");
                    }
                    try {
                        validator.check(body);
                    } catch (Exception e) {
                        throw new CollateralUnavailableException("collateral unavailable: " + uri + " answered 200 but not with a "
                                + what + " (" + e.getMessage() + ")", e);
                    }
                    store(cached, body);
                    return body;
                }
                if (status == 404) {
                    throw new CollateralUnavailableException("collateral unavailable: the KDS has no " + what + " (404 from " + uri + ")");
                }
                last = status == 429 ? "rate limited (429)" : "HTTP " + status;
                if (status != 429 && status < 500) break;
                wait = r.headers().firstValue("Retry-After").flatMap(KdsClient::seconds).orElse(Duration.ofMillis(200L * attempt));
            } catch (HttpTimeoutException e) {
                last = "timed out after " + timeout.toMillis() + " ms";
            } catch (IOException e) {
                last = "network error (" + e.getMessage() + ")";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CollateralUnavailableException("collateral unavailable: interrupted while fetching " + what, e);
            }
            if (attempt < maxAttempts) sleep(wait.compareTo(maxBackoff) > 0 ? maxBackoff : wait);
        }
        throw new CollateralUnavailableException("collateral unavailable: could not fetch the " + what + " from " + uri + ": " + last
                + " after " + maxAttempts + " attempt(s); retry later, or pass the certificate explicitly");
    }

    private static Optional<Duration> seconds(String v) {
        try {
            return Optional.of(Duration.ofSeconds(Math.max(0, Long.parseLong(v.trim()))));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private Path cacheFile(String relative) {
        return cacheDir.resolve(relative);
    }

    /** Write-then-rename, so a concurrent reader never sees a half-written answer. */
    private static void store(Path file, byte[] body) {
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
            try {
                Files.write(tmp, body);
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            // A read-only cache costs a refetch next time but must not fail verification.
            System.getLogger(KdsClient.class.getName()).log(System.Logger.Level.WARNING,
                    "cannot cache KDS answer at " + file + ": " + e.getMessage());
        }
    }

    /** Lists cached files (for diagnostics). */
    public List<Path> cachedFiles() {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(cacheDir)) return out;
        try (var s = Files.walk(cacheDir)) {
            s.filter(Files::isRegularFile).forEach(out::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }
}
