package dev.coffer.channel;

import java.security.spec.MGF1ParameterSpec;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * How a released key is wrapped to the runtime key: RSA-OAEP of an ephemeral AES-256 key, then
 * AES key wrap with padding (RFC 5649) of the key material; the two concatenated. The names are
 * the {@code enc} values of Azure Key Vault's release API.
 */
public enum KeyWrapAlgorithm {
    /** PKCS#11 CKM_RSA_AES_KEY_WRAP with OAEP SHA-1 / MGF1 SHA-1. */
    CKM_RSA_AES_KEY_WRAP("SHA-1", MGF1ParameterSpec.SHA1),
    /** The same with OAEP SHA-256 / MGF1 SHA-256. */
    RSA_AES_KEY_WRAP_256("SHA-256", MGF1ParameterSpec.SHA256);

    final String oaepDigest;
    final MGF1ParameterSpec mgf1;

    KeyWrapAlgorithm(String oaepDigest, MGF1ParameterSpec mgf1) {
        this.oaepDigest = oaepDigest;
        this.mgf1 = mgf1;
    }

    /** The algorithm named {@code name}, or null when there is none. */
    public static KeyWrapAlgorithm fromName(String name) {
        for (KeyWrapAlgorithm a : values()) {
            if (a.name().equals(name)) return a;
        }
        return null;
    }

    /** The names, for error messages ("expected one of ..."). */
    public static String names() {
        return Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(" or "));
    }
}
