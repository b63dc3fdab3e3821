package dev.coffer.rego.builtins;

import dev.coffer.rego.value.Value;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;

/** crypto.md5/sha1/sha256/sha384/sha512 and crypto.hmac.* (JCA). */
final class Crypto {
    private Crypto() {
    }

    static void register(Builtins.Registry r) {
        digest(r, "crypto.md5", "MD5");
        digest(r, "crypto.sha1", "SHA-1");
        digest(r, "crypto.sha256", "SHA-256");
        digest(r, "crypto.sha384", "SHA-384");
        digest(r, "crypto.sha512", "SHA-512");
        hmac(r, "crypto.hmac.md5", "HmacMD5");
        hmac(r, "crypto.hmac.sha1", "HmacSHA1");
        hmac(r, "crypto.hmac.sha256", "HmacSHA256");
        hmac(r, "crypto.hmac.sha512", "HmacSHA512");
        r.add("crypto.hmac.equal", 2, (c, a) -> Value.of(MessageDigest.isEqual(
                Args.str("crypto.hmac.equal", a, 0).getBytes(StandardCharsets.UTF_8),
                Args.str("crypto.hmac.equal", a, 1).getBytes(StandardCharsets.UTF_8))));
    }

    private static void digest(Builtins.Registry r, String name, String alg) {
        r.add(name, 1, (c, a) -> {
            try {
                byte[] d = MessageDigest.getInstance(alg).digest(Args.str(name, a, 0).getBytes(StandardCharsets.UTF_8));
                return Value.of(HexFormat.of().formatHex(d));
            } catch (GeneralSecurityException e) {
                throw BuiltinException.builtin(name, alg + " unavailable: " + e.getMessage());
            }
        });
    }

    static byte[] hmacBytes(String fn, String alg, byte[] key, byte[] msg) {
        try {
            Mac mac = Mac.getInstance(alg);
            mac.init(new SecretKeySpec(key.length == 0 ? new byte[1] : key, alg));
            if (key.length == 0) {
                // JCA refuses empty keys; HMAC pads keys with zeros, so one zero byte is the same key
                mac.init(new SecretKeySpec(new byte[]{0}, alg));
            }
            return mac.doFinal(msg);
        } catch (GeneralSecurityException e) {
            throw BuiltinException.builtin(fn, alg + " unavailable: " + e.getMessage());
        }
    }

    private static void hmac(Builtins.Registry r, String name, String alg) {
        r.add(name, 2, (c, a) -> Value.of(HexFormat.of().formatHex(hmacBytes(name, alg,
                Args.str(name, a, 1).getBytes(StandardCharsets.UTF_8), Args.str(name, a, 0).getBytes(StandardCharsets.UTF_8)))));
    }
}
