package dev.coffer.server;

import dev.coffer.attest.endorse.TrustedEndorser;
import dev.coffer.attest.snp.Product;
import dev.coffer.attest.snp.TcbVersion;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How {@code coffer server} decides that a verified report describes a guest it may issue a token
 * for. The defaults fail closed: a MEASUREMENT must be endorsed by a trusted endorser (the Coffer
 * home's own endorsement key is trusted) or be a configured reference value.
 *
 * @param acceptAnyMeasurement issue tokens for any MEASUREMENT (development only; tokens say so)
 * @param trustHomeEndorser    trust the Coffer home's own endorsement key (its DID and feed)
 * @param endorsers            further trusted endorsers (by default Microsoft's UVM endorser, as MAA trusts it)
 * @param minimumTcb           per product, the lowest REPORTED_TCB accepted, component by component
 * @param crlFiles             AMD CRLs (DER or PEM) read at start, for offline use
 * @param fetchCrls            fetch AMD's CRLs through the KDS cache at start
 */
public record AppraisalSettings(boolean acceptAnyMeasurement, boolean trustHomeEndorser, List<TrustedEndorser> endorsers,
                                Map<Product, TcbVersion> minimumTcb, List<Path> crlFiles, boolean fetchCrls) {
    public AppraisalSettings {
        endorsers = List.copyOf(endorsers);
        minimumTcb = Map.copyOf(minimumTcb);
        crlFiles = List.copyOf(crlFiles);
    }

    /** Where a Coffer home keeps its own endorsement key ({@link dev.coffer.attest.endorse.EndorsementKey#homeDir}). */
    public static Path homeEndorsementKeyDir(Path home) {
        return dev.coffer.attest.endorse.EndorsementKey.homeDir(home);
    }

    public static AppraisalSettings defaults() {
        return new AppraisalSettings(false, true, List.of(TrustedEndorser.MICROSOFT_UVM), Map.of(), List.of(), false);
    }

    public AppraisalSettings withAcceptAnyMeasurement(boolean v) {
        return new AppraisalSettings(v, trustHomeEndorser, endorsers, minimumTcb, crlFiles, fetchCrls);
    }

    public AppraisalSettings withTrustHomeEndorser(boolean v) {
        return new AppraisalSettings(acceptAnyMeasurement, v, endorsers, minimumTcb, crlFiles, fetchCrls);
    }

    public AppraisalSettings withEndorser(TrustedEndorser e) {
        List<TrustedEndorser> all = new ArrayList<>(endorsers);
        all.add(e);
        return new AppraisalSettings(acceptAnyMeasurement, trustHomeEndorser, all, minimumTcb, crlFiles, fetchCrls);
    }

    public AppraisalSettings withMinimumTcb(Product product, TcbVersion min) {
        Map<Product, TcbVersion> all = new EnumMap<>(Product.class);
        all.putAll(minimumTcb);
        all.put(product, Objects.requireNonNull(min));
        return new AppraisalSettings(acceptAnyMeasurement, trustHomeEndorser, endorsers, all, crlFiles, fetchCrls);
    }

    public AppraisalSettings withCrlFile(Path f) {
        List<Path> all = new ArrayList<>(crlFiles);
        all.add(f);
        return new AppraisalSettings(acceptAnyMeasurement, trustHomeEndorser, endorsers, minimumTcb, all, fetchCrls);
    }

    public AppraisalSettings withFetchCrls(boolean v) {
        return new AppraisalSettings(acceptAnyMeasurement, trustHomeEndorser, endorsers, minimumTcb, crlFiles, v);
    }

    /**
     * Parses {@code PRODUCT:bl=N,tee=N,snp=N,ucode=N[,fmc=N]} (e.g. {@code Milan:bl=3,tee=0,snp=8,ucode=115}),
     * the form of {@code --min-tcb}.
     */
    public static Map.Entry<Product, TcbVersion> parseMinimumTcb(String spec) {
        int colon = spec.indexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("minimum TCB '" + spec + "' is not PRODUCT:COMPONENTS, e.g. Milan:bl=3,tee=0,snp=8,ucode=115");
        }
        String name = spec.substring(0, colon);
        Product p = Product.fromName(name).orElseThrow(() -> new IllegalArgumentException("minimum TCB: unknown product '"
                + name + "'; expected one of " + java.util.Arrays.stream(Product.values()).map(Product::kdsName).toList()));
        return Map.entry(p, TcbVersion.parseSpec(spec.substring(colon + 1), p.tcbLayout()));
    }
}
