package dev.coffer.server.vault;

import dev.coffer.server.http.ApiException;
import dev.coffer.server.http.ErrorCode;

import java.util.List;

/** The key types the vault holds: {@code oct-256}, {@code RSA-2048|3072}, {@code EC-P-256|P-384}. */
public record KeySpec(String kty, int size, String curve) {
    public static final List<String> SUPPORTED = List.of("oct-256", "RSA-2048", "RSA-3072", "EC-P-256", "EC-P-384");

    public static KeySpec oct256() {
        return new KeySpec("oct", 256, null);
    }

    public static KeySpec rsa(int bits) {
        return parse("RSA-" + bits);
    }

    public static KeySpec ec(String curve) {
        return parse("EC-" + curve);
    }

    /** Parses the stored/CLI form, e.g. {@code RSA-3072}. */
    public static KeySpec parse(String text) {
        return switch (text) {
            case "oct-256" -> new KeySpec("oct", 256, null);
            case "RSA-2048" -> new KeySpec("RSA", 2048, null);
            case "RSA-3072" -> new KeySpec("RSA", 3072, null);
            case "EC-P-256" -> new KeySpec("EC", 256, "P-256");
            case "EC-P-384" -> new KeySpec("EC", 384, "P-384");
            default -> throw new ApiException(ErrorCode.KEY_INVALID, "unsupported key type '" + text + "'; expected one of " + SUPPORTED);
        };
    }

    /** From the API's {@code kty} plus {@code key_size} or {@code crv}. */
    public static KeySpec of(String kty, Integer size, String curve) {
        if (kty == null) throw new ApiException(ErrorCode.MALFORMED_REQUEST, "missing 'kty'; expected oct, RSA or EC");
        String k = kty.replace("-HSM", "");
        return switch (k) {
            case "oct" -> {
                if (size != null && size != 256) throw new ApiException(ErrorCode.KEY_INVALID, "oct keys are 256 bits; found key_size " + size);
                yield oct256();
            }
            case "RSA" -> parse("RSA-" + (size == null ? 2048 : size));
            case "EC" -> parse("EC-" + (curve == null ? "P-256" : curve));
            default -> throw new ApiException(ErrorCode.KEY_INVALID, "unsupported kty '" + kty + "'; expected oct, RSA or EC");
        };
    }

    @Override
    public String toString() {
        return kty.equals("EC") ? "EC-" + curve : kty + "-" + size;
    }
}
