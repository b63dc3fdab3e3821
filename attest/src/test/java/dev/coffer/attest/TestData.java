package dev.coffer.attest;

import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.cert.Certificates;
import dev.coffer.attest.snp.SnpReport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/** The real captured evidence under ../shared/testdata/attestation, with the times we verify it at. */
public final class TestData {
    private TestData() {}

    public static Path shared() {
        String prop = System.getProperty("coffer.shared");
        Path p = prop != null ? Path.of(prop) : Path.of("../../shared");
        return p.resolve("testdata/attestation");
    }

    public static byte[] read(String relative) {
        try {
            return Files.readAllBytes(shared().resolve(relative));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * One real report with its VCEK, chain and a verification time inside every certificate's
     * validity window (PROVENANCE.md lists the windows; upstream tests pin the time likewise).
     */
    public record Sample(String name, String reportFile, String vcekFile, String chainFile, Instant at, boolean debug) {
        public SnpReport report() { return SnpReport.decode(read(reportFile)); }
        public AmdCertificate vcek() { return AmdCertificate.fromDer(read(vcekFile)); }
        public List<AmdCertificate> chain() { return Certificates.parse(read(chainFile)); }
    }

    public static final Sample GO_SEV_GUEST = new Sample("go-sev-guest-milan-v2", "snp/go-sev-guest-milan-v2/attestation.bin",
            "snp/go-sev-guest-milan-v2/vcek.der", "amd-roots/ask_ark_milan.pem", Instant.parse("2023-06-01T00:00:00Z"), true);
    public static final Sample VIRTEE = new Sample("virtee-sev-milan-v2", "snp/virtee-sev-milan-v2/report_milan.hex",
            "snp/virtee-sev-milan-v2/vcek_milan.der", "snp/virtee-sev-milan-v2/cert_chain_milan.pem", Instant.parse("2024-01-01T00:00:00Z"), false);
    public static final Sample TRUSTEE = new Sample("trustee-milan-vcek-v2", "snp/trustee-milan-vcek-v2/test-report.bin",
            "snp/trustee-milan-vcek-v2/test-vcek.der", "amd-roots/ask_ark_milan.pem", Instant.parse("2024-01-01T00:00:00Z"), false);
    public static final Sample OAK_GENOA = new Sample("oak-genoa", "snp/oak-genoa/report.bin",
            "snp/oak-genoa/vcek.der", "amd-roots/ask_ark_genoa.pem", Instant.parse("2025-09-01T00:00:00Z"), false);

    public static final List<Sample> ALL = List.of(GO_SEV_GUEST, VIRTEE, TRUSTEE, OAK_GENOA);
}
