package dev.coffer.rego.builtins;

import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.BooleanValue;
import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.NumberValue;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.SetValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.io.ByteArrayInputStream;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPrivateKeySpec;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.EdECPoint;
import java.security.spec.EdECPrivateKeySpec;
import java.security.spec.EdECPublicKeySpec;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.NamedParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.security.spec.RSAPrivateCrtKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/** io.jwt.*: decode, verify (HS/RS/PS/ES/EdDSA with PEM, JWK or JWKS keys), decode_verify and sign, on JCA. */
final class Jwt {
    private Jwt() {
    }

    record Token(String headerB64, String payloadB64, byte[] signature, ObjectValue header, Value payload) {
        byte[] signingInput() {
            return (headerB64 + "." + payloadB64).getBytes(StandardCharsets.US_ASCII);
        }
    }

    static void register(Builtins.Registry r) {
        r.add("io.jwt.decode", 1, (c, a) -> {
            Token t = parse("io.jwt.decode", Args.str("io.jwt.decode", a, 0));
            return Value.array(t.header(), t.payload(), Value.of(HexFormat.of().formatHex(t.signature())));
        });
        for (String alg : List.of("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")) {
            String name = "io.jwt.verify_" + alg.toLowerCase(java.util.Locale.ROOT);
            r.add(name, 2, (c, a) -> {
                Token t = parse(name, Args.str(name, a, 0));
                String key = Args.str(name, a, 1);
                return Value.of(alg.startsWith("HS") ? verifyHmac(alg, t, key.getBytes(StandardCharsets.UTF_8)) : verifyWithKeys(name, alg, t, publicKeys(name, key)));
            });
        }
        r.add("io.jwt.verify_eddsa", 2, (c, a) -> {
            Token t = parse("io.jwt.verify_eddsa", Args.str("io.jwt.verify_eddsa", a, 0));
            return Value.of(verifyWithKeys("io.jwt.verify_eddsa", "EdDSA", t, publicKeys("io.jwt.verify_eddsa", Args.str("io.jwt.verify_eddsa", a, 1))));
        });
        r.add("io.jwt.decode_verify", 2, Jwt::decodeVerify);
        r.add("io.jwt.encode_sign", 3, (c, a) -> Value.of(sign("io.jwt.encode_sign", Json.write(Args.obj("io.jwt.encode_sign", a, 0)),
                Json.write(Args.obj("io.jwt.encode_sign", a, 1)), Args.obj("io.jwt.encode_sign", a, 2))));
        r.add("io.jwt.encode_sign_raw", 3, (c, a) -> {
            Value key;
            try {
                key = Json.parse(Args.str("io.jwt.encode_sign_raw", a, 2));
            } catch (IllegalArgumentException e) {
                throw BuiltinException.builtin("io.jwt.encode_sign_raw", "invalid JWK: " + e.getMessage());
            }
            if (!(key instanceof ObjectValue ko)) throw BuiltinException.builtin("io.jwt.encode_sign_raw", "key must be a JWK object");
            return Value.of(sign("io.jwt.encode_sign_raw", Args.str("io.jwt.encode_sign_raw", a, 0), Args.str("io.jwt.encode_sign_raw", a, 1), ko));
        });
    }

    static byte[] b64(String fn, String s) {
        try {
            return Base64.getUrlDecoder().decode(s.replace('+', '-').replace('/', '_').replace("=", ""));
        } catch (IllegalArgumentException e) {
            throw BuiltinException.builtin(fn, "failed to decode JWT: illegal base64 data");
        }
    }

    static String b64(byte[] b) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /** The innermost token: a header with {@code "cty": "JWT"} means the payload is itself a token. */
    static Token parse(String fn, String jwt) {
        Token t = parseLayer(fn, jwt);
        while (isNested(t)) t = parseLayer(fn, ((StringValue) t.payload()).value());
        return t;
    }

    static boolean isNested(Token t) {
        return t.header().get("cty") instanceof StringValue cs && cs.value().equalsIgnoreCase("JWT") && t.payload() instanceof StringValue;
    }

    /** One layer; for a nested token the payload is the inner token's text. */
    static Token parseLayer(String fn, String jwt) {
        String[] parts = jwt.split("\\.", -1);
        if (parts.length == 1) throw BuiltinException.builtin(fn, "encoded JWT had no period separators");
        if (parts.length != 3) throw BuiltinException.builtin(fn, "encoded JWT must have 3 sections, found " + parts.length);
        Value header, payload;
        byte[] hb = section(fn, "header", parts[0]);
        byte[] pb = section(fn, "payload", parts[1]);
        byte[] sb = section(fn, "signature", parts[2]);
        try {
            header = Json.parse(new String(hb, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw BuiltinException.builtin(fn, "JWT header had invalid JSON: " + e.getMessage());
        }
        if (!(header instanceof ObjectValue h)) throw BuiltinException.builtin(fn, "JWT header is not an object");
        if (h.get("enc") != null) throw BuiltinException.builtin(fn, "JWT is a JWE object, which is not supported");
        if (h.get("cty") instanceof StringValue cs && cs.value().equalsIgnoreCase("JWT")) {
            // the inner token is the payload, either as is or as a JSON string
            String inner = new String(pb, StandardCharsets.UTF_8).strip();
            if (inner.startsWith("\"")) {
                try {
                    if (Json.parse(inner) instanceof StringValue sv) inner = sv.value();
                } catch (IllegalArgumentException e) {
                    // not a JSON string: keep the text
                }
            }
            return new Token(parts[0], parts[1], sb, h, Value.of(inner));
        }
        try {
            payload = Json.parse(new String(pb, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw BuiltinException.builtin(fn, "JWT payload had invalid JSON: " + e.getMessage());
        }
        return new Token(parts[0], parts[1], sb, h, payload);
    }

    /** Sections are base64url (RFC 7515), padding optional; '+' and '/' are rejected like Go's decoder does. */
    private static byte[] section(String fn, String what, String s) {
        try {
            String unpadded = s.endsWith("==") ? s.substring(0, s.length() - 2) : s.endsWith("=") ? s.substring(0, s.length() - 1) : s;
            return Base64.getUrlDecoder().decode(unpadded);
        } catch (IllegalArgumentException e) {
            int bad = 0;
            while (bad < s.length() && (s.charAt(bad) < 128 && Character.isLetterOrDigit(s.charAt(bad)) || "-_".indexOf(s.charAt(bad)) >= 0)) bad++;
            throw BuiltinException.builtin(fn, "JWT " + what + " had invalid encoding: illegal base64 data at input byte " + bad);
        }
    }

    private static String hmacAlg(String alg) {
        return switch (alg) {
            case "HS256" -> "HmacSHA256";
            case "HS384" -> "HmacSHA384";
            default -> "HmacSHA512";
        };
    }

    static boolean verifyHmac(String alg, Token t, byte[] secret) {
        byte[] mac = Crypto.hmacBytes("io.jwt.verify_" + alg.toLowerCase(java.util.Locale.ROOT), hmacAlg(alg), secret, t.signingInput());
        return MessageDigest.isEqual(mac, t.signature());
    }

    private static Signature signature(String alg) throws GeneralSecurityException {
        String bits = alg.substring(2);
        return switch (alg.substring(0, 2)) {
            case "RS" -> Signature.getInstance("SHA" + bits + "withRSA");
            case "PS" -> {
                Signature s = Signature.getInstance("RSASSA-PSS");
                int n = Integer.parseInt(bits);
                s.setParameter(new PSSParameterSpec("SHA-" + bits, "MGF1", new MGF1ParameterSpec("SHA-" + bits), n / 8, 1));
                yield s;
            }
            case "ES" -> Signature.getInstance("SHA" + bits + "withECDSAinP1363Format");
            case "Ed" -> Signature.getInstance("Ed25519");
            default -> throw new GeneralSecurityException("unsupported algorithm " + alg);
        };
    }

    static boolean verifyWithKeys(String fn, String alg, Token t, List<PublicKey> keys) {
        for (PublicKey k : keys) {
            try {
                Signature s = signature(alg);
                s.initVerify(k);
                s.update(t.signingInput());
                if (s.verify(t.signature())) return true;
            } catch (GeneralSecurityException | IllegalArgumentException e) {
                // wrong key type for this algorithm: try the next key
            }
        }
        return false;
    }

    private static final java.util.regex.Pattern PEM = java.util.regex.Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----\\r?\\n(.*?)-----END \\1-----", java.util.regex.Pattern.DOTALL);

    /** Keys from a PEM certificate or public key, or from a JWK or JWK set, with OPA's error texts. */
    static List<PublicKey> publicKeys(String fn, String text) {
        List<PublicKey> out = new ArrayList<>();
        java.util.regex.Matcher pem = PEM.matcher(text);
        if (pem.find() && text.substring(0, pem.start()).isBlank()) {
            if (!text.substring(pem.end()).isBlank()) throw BuiltinException.builtin(fn, "extra data after a PEM certificate block");
            String type = pem.group(1);
            byte[] der;
            try {
                der = Base64.getMimeDecoder().decode(pem.group(2));
            } catch (IllegalArgumentException e) {
                throw BuiltinException.builtin(fn, "failed to parse a PEM certificate: " + e.getMessage());
            }
            if (type.equals("CERTIFICATE")) {
                try {
                    CertificateFactory cf = CertificateFactory.getInstance("X.509");
                    out.add(cf.generateCertificate(new ByteArrayInputStream(der)).getPublicKey());
                } catch (GeneralSecurityException | IllegalArgumentException e) {
                    throw BuiltinException.builtin(fn, "failed to parse a PEM certificate: " + e.getMessage());
                }
            } else if (type.equals("PUBLIC KEY")) {
                for (String kt : List.of("RSA", "EC", "Ed25519")) {
                    try {
                        out.add(KeyFactory.getInstance(kt).generatePublic(new X509EncodedKeySpec(der)));
                        break;
                    } catch (GeneralSecurityException e) {
                        // not this key type
                    }
                }
                if (out.isEmpty()) throw BuiltinException.builtin(fn, "failed to parse a PEM public key");
            } else {
                throw BuiltinException.builtin(fn, "failed to extract a Key from the PEM certificate");
            }
            return out;
        }
        try {
            Value v = Json.parse(text.strip());
            if (v instanceof ObjectValue o && o.get("keys") instanceof ArrayValue ks) {
                for (Value k : ks.items()) if (k instanceof ObjectValue ko) out.add(jwkPublic(ko));
            } else if (v instanceof ObjectValue o) {
                out.add(jwkPublic(o));
            } else {
                throw new IllegalArgumentException("not a JSON object");
            }
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw BuiltinException.builtin(fn, "failed to parse a JWK key (set): " + e.getMessage());
        }
        if (out.isEmpty()) throw BuiltinException.builtin(fn, "failed to parse a JWK key (set): no usable key found");
        return out;
    }

    private static BigInteger big(ObjectValue jwk, String field) {
        if (!(jwk.get(field) instanceof StringValue s)) throw new IllegalArgumentException("JWK lacks " + field);
        return new BigInteger(1, Base64.getUrlDecoder().decode(s.value().replace("=", "")));
    }

    private static byte[] raw(ObjectValue jwk, String field) {
        if (!(jwk.get(field) instanceof StringValue s)) throw new IllegalArgumentException("JWK lacks " + field);
        return Base64.getUrlDecoder().decode(s.value().replace("=", ""));
    }

    private static String str(ObjectValue jwk, String field) {
        return jwk.get(field) instanceof StringValue s ? s.value() : "";
    }

    private static ECParameterSpec curve(String crv) throws GeneralSecurityException {
        String std = switch (crv) {
            case "P-256" -> "secp256r1";
            case "P-384" -> "secp384r1";
            case "P-521" -> "secp521r1";
            default -> throw new GeneralSecurityException("unsupported curve " + crv);
        };
        AlgorithmParameters p = AlgorithmParameters.getInstance("EC");
        p.init(new ECGenParameterSpec(std));
        return p.getParameterSpec(ECParameterSpec.class);
    }

    static PublicKey jwkPublic(ObjectValue jwk) throws GeneralSecurityException {
        return switch (str(jwk, "kty")) {
            case "RSA" -> KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(big(jwk, "n"), big(jwk, "e")));
            case "EC" -> KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(new ECPoint(big(jwk, "x"), big(jwk, "y")), curve(str(jwk, "crv"))));
            case "OKP" -> {
                byte[] x = raw(jwk, "x");
                boolean odd = (x[x.length - 1] & 0x80) != 0;
                x[x.length - 1] &= 0x7f;
                byte[] be = new byte[x.length];
                for (int i = 0; i < x.length; i++) be[i] = x[x.length - 1 - i];
                yield KeyFactory.getInstance("Ed25519").generatePublic(new EdECPublicKeySpec(NamedParameterSpec.ED25519, new EdECPoint(odd, new BigInteger(1, be))));
            }
            default -> throw new GeneralSecurityException("unsupported JWK kty " + str(jwk, "kty"));
        };
    }

    private static PrivateKey jwkPrivate(ObjectValue jwk) throws GeneralSecurityException {
        return switch (str(jwk, "kty")) {
            case "RSA" -> KeyFactory.getInstance("RSA").generatePrivate(new RSAPrivateCrtKeySpec(big(jwk, "n"), big(jwk, "e"), big(jwk, "d"),
                    big(jwk, "p"), big(jwk, "q"), big(jwk, "dp"), big(jwk, "dq"), big(jwk, "qi")));
            case "EC" -> KeyFactory.getInstance("EC").generatePrivate(new ECPrivateKeySpec(big(jwk, "d"), curve(str(jwk, "crv"))));
            case "OKP" -> KeyFactory.getInstance("Ed25519").generatePrivate(new EdECPrivateKeySpec(NamedParameterSpec.ED25519, raw(jwk, "d")));
            default -> throw new GeneralSecurityException("unsupported JWK kty " + str(jwk, "kty"));
        };
    }

    static String sign(String fn, String headerJson, String payloadJson, ObjectValue jwk) {
        if (headerJson.isBlank()) throw BuiltinException.builtin(fn, "missing or invalid 'alg' header: cannot parse JSON: cannot parse empty string");
        Value header;
        try {
            header = Json.parse(headerJson);
        } catch (IllegalArgumentException e) {
            // OPA reports broken JSON objects as such, and anything else as a header without "alg"
            if (headerJson.strip().startsWith("{"))
                throw BuiltinException.builtin(fn, "missing or invalid 'alg' header: cannot parse JSON: " + e.getMessage());
            header = null;
        }
        if (!(header instanceof ObjectValue h) || !(h.get("alg") instanceof StringValue algV))
            throw BuiltinException.builtin(fn, "missing or invalid 'alg' header: jwsbb: header \"alg\" not found");
        String alg = algV.value();
        if (!alg.matches("HS(256|384|512)|RS(256|384|512)|PS(256|384|512)|ES(256|384|512)|EdDSA|none"))
            throw BuiltinException.builtin(fn, "unknown JWS algorithm: " + alg);
        if (h.get("typ") instanceof StringValue typ && typ.value().equals("JWT")) {
            Value pv;
            try {
                pv = payloadJson.isBlank() ? null : Json.parse(payloadJson);
            } catch (IllegalArgumentException e) {
                pv = null;
            }
            if (pv == null) throw BuiltinException.builtin(fn, "type is JWT but payload is not JSON");
        }
        String input = b64(headerJson.getBytes(StandardCharsets.UTF_8)) + "." + b64(payloadJson.getBytes(StandardCharsets.UTF_8));
        byte[] sig;
        try {
            if (alg.startsWith("HS")) {
                sig = Crypto.hmacBytes(fn, hmacAlg(alg), raw(jwk, "k"), input.getBytes(StandardCharsets.US_ASCII));
            } else if (alg.equals("none")) {
                sig = new byte[0];
            } else {
                Signature s = signature(alg.equals("EdDSA") ? "Ed25519" : alg);
                s.initSign(jwkPrivate(jwk));
                s.update(input.getBytes(StandardCharsets.US_ASCII));
                sig = s.sign();
            }
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw BuiltinException.builtin(fn, "failed to sign: " + e.getMessage());
        }
        return input + "." + b64(sig);
    }

    private static Value decodeVerify(BuiltinContext c, Value[] a) {
        String fn = "io.jwt.decode_verify";
        String jwt = Args.str(fn, a, 0);
        ObjectValue cons = Args.obj(fn, a, 1);
        Value fail = Value.array(BooleanValue.FALSE, ObjectValue.EMPTY, ObjectValue.EMPTY);
        String cert = null, secret = null, alg = null, iss = null, aud = null;
        BigDecimal time = null;
        for (Map.Entry<Value, Value> e : cons.map().entrySet()) {
            String k = e.getKey() instanceof StringValue s ? s.value() : "";
            Value v = e.getValue();
            switch (k) {
                case "cert" -> cert = v instanceof StringValue s ? s.value() : null;
                case "secret" -> secret = v instanceof StringValue s ? s.value() : null;
                case "alg" -> alg = v instanceof StringValue s ? s.value() : null;
                case "iss" -> iss = v instanceof StringValue s ? s.value() : null;
                case "aud" -> aud = v instanceof StringValue s ? s.value() : null;
                case "time" -> {
                    if (!(v instanceof NumberValue n)) throw BuiltinException.builtin(fn, "time constraint must be a number");
                    time = n.value();
                }
                default -> throw BuiltinException.builtin(fn, "unknown token validation constraint: " + k);
            }
        }
        if (cert == null && secret == null) throw BuiltinException.builtin(fn, "no key or secret provided");
        if (cert != null && secret != null) throw BuiltinException.builtin(fn, "both key and secret provided");
        Token t;
        String layer = jwt;
        while (true) {
            // every layer of a nested token must carry a valid signature
            try {
                t = parseLayer(fn, layer);
            } catch (BuiltinException e) {
                return fail;
            }
            if (!(t.header().get("alg") instanceof StringValue ha)) return fail;
            // critical header extensions we do not understand make the token invalid (RFC 7515 4.1.11)
            if (t.header().get("crit") != null) return fail;
            String halg = ha.value();
            if (alg != null && !alg.equals(halg)) return fail;
            boolean ok;
            if (secret != null) {
                ok = halg.startsWith("HS") && verifyHmac(halg, t, secret.getBytes(StandardCharsets.UTF_8));
            } else {
                if (halg.startsWith("HS")) return fail;
                ok = verifyWithKeys(fn, halg, t, publicKeys(fn, cert));
            }
            if (!ok) return fail;
            if (!isNested(t)) break;
            layer = ((StringValue) t.payload()).value();
        }
        if (!(t.payload() instanceof ObjectValue p)) return fail;
        BigDecimal now = time != null ? time : new BigDecimal(Times.nanos(c.now()));
        BigDecimal nowSec = now.divide(BigDecimal.valueOf(1_000_000_000L));
        if (p.get("exp") != null && !(p.get("exp") instanceof NumberValue)) throw BuiltinException.builtin(fn, "exp value must be a number");
        if (p.get("nbf") != null && !(p.get("nbf") instanceof NumberValue)) throw BuiltinException.builtin(fn, "nbf value must be a number");
        if (p.get("exp") instanceof NumberValue exp && nowSec.compareTo(exp.value()) >= 0) return fail;
        if (p.get("nbf") instanceof NumberValue nbf && nowSec.compareTo(nbf.value()) < 0) return fail;
        if (iss != null && !(Value.of(iss).equals(p.get("iss")))) return fail;
        Value pa = p.get("aud");
        if (aud == null) {
            if (pa != null) return fail;
        } else {
            boolean match = pa instanceof StringValue ps ? ps.value().equals(aud)
                    : pa instanceof ArrayValue arr ? arr.items().contains(Value.of(aud)) : pa instanceof SetValue ss && ss.contains(Value.of(aud));
            if (!match) return fail;
        }
        return Value.array(BooleanValue.TRUE, t.header(), p);
    }
}
