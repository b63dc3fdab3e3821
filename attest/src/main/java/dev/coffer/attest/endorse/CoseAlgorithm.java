package dev.coffer.attest.endorse;

import java.security.GeneralSecurityException;
import java.security.Signature;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.util.Optional;

/**
 * The COSE signature algorithms an endorsement may use (IANA "COSE Algorithms" registry;
 * Microsoft signs UVM endorsements with PS384, Coffer's own key signs with ES384). ECDSA
 * signatures are the fixed-width r||s of RFC 9053 §2.1, not DER; RSASSA-PSS uses MGF1 with the
 * same hash and a salt as long as the hash (RFC 8230 §2).
 */
public enum CoseAlgorithm {
    ES256(-7, "SHA-256", 32),
    ES384(-35, "SHA-384", 48),
    PS256(-37, "SHA-256", 0),
    PS384(-38, "SHA-384", 0);

    private final int label;
    private final String hash;
    /** Bytes per ECDSA coordinate; 0 for RSASSA-PSS. */
    private final int coordinateLength;

    CoseAlgorithm(int label, String hash, int coordinateLength) {
        this.label = label;
        this.hash = hash;
        this.coordinateLength = coordinateLength;
    }

    /** The value of the {@code alg} header parameter (label 1). */
    public int label() {
        return label;
    }

    public boolean isEcdsa() {
        return coordinateLength > 0;
    }

    /** The expected signature length for ECDSA (2 × coordinate length); 0 for RSA. */
    int ecdsaSignatureLength() {
        return 2 * coordinateLength;
    }

    /** The JCA key algorithm this COSE algorithm needs: "EC" or "RSA". */
    String keyAlgorithm() {
        return isEcdsa() ? "EC" : "RSA";
    }

    public static Optional<CoseAlgorithm> ofLabel(long label) {
        for (CoseAlgorithm a : values()) if (a.label == label) return Optional.of(a);
        return Optional.empty();
    }

    /** A JCA signature engine for this algorithm, producing and consuming COSE's encoding. */
    Signature newSignature() throws GeneralSecurityException {
        if (isEcdsa()) {
            // "inP1363Format" is the JDK's name for the fixed-width r||s encoding COSE requires.
            return Signature.getInstance(hash.replace("-", "") + "withECDSAinP1363Format");
        }
        Signature s = Signature.getInstance("RSASSA-PSS");
        int saltLength = hash.equals("SHA-256") ? 32 : 48;
        s.setParameter(new PSSParameterSpec(hash, "MGF1", new MGF1ParameterSpec(hash), saltLength, PSSParameterSpec.TRAILER_FIELD_BC));
        return s;
    }
}
