package dev.coffer.attest.cert;

import dev.coffer.attest.snp.Product;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * AMD's pinned roots of trust. The ARK fingerprints are compiled in (not read from a file a host
 * could swap); the ASK/ASVK intermediates ship as resources so a verifier needs only the VCEK.
 * Source: AMD KDS cert_chain responses, cross-checked in go-sev-guest, virtee/sev and trustee.
 */
public final class AmdRoots {
    /** SHA-256 of the DER of each product's ARK. */
    private static final Map<String, Product> PINNED_ARKS = Map.of(
            "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd", Product.MILAN,
            "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1", Product.GENOA,
            "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a", Product.TURIN);

    private static final List<AmdCertificate> BUNDLED = load();

    private AmdRoots() {}

    /** The product whose pinned ARK this is, or empty when it is not one of AMD's. */
    public static Optional<Product> pinnedArk(AmdCertificate cert) {
        return Optional.ofNullable(PINNED_ARKS.get(cert.sha256Fingerprint()));
    }

    /** Every bundled AMD certificate: three ARKs, their ASKs and ASVKs. */
    public static List<AmdCertificate> bundled() {
        return BUNDLED;
    }

    private static List<AmdCertificate> load() {
        List<AmdCertificate> all = new ArrayList<>();
        for (String name : List.of("ask_ark_milan.pem", "ask_ark_genoa.pem", "ask_ark_turin_vcek.pem",
                "ask_ark_milan_vlek.pem", "ask_ark_genoa_vlek.pem", "ask_ark_turin_vlek.pem")) {
            try (InputStream in = AmdRoots.class.getResourceAsStream(name)) {
                if (in == null) throw new IllegalStateException("AMD root bundle " + name + " is missing from the coffer-attest jar");
                for (AmdCertificate c : Certificates.parse(in.readAllBytes())) {
                    if (!all.contains(c)) all.add(c);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read bundled AMD roots " + name, e);
            }
        }
        for (AmdCertificate c : all) {
            if (c.role() == CertRole.ARK && pinnedArk(c).isEmpty()) {
                throw new IllegalStateException("bundled ARK " + c.subjectCn() + " does not match its pinned fingerprint");
            }
        }
        return List.copyOf(all);
    }
}
