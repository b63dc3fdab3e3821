package dev.coffer.rego.builtins;

import dev.coffer.rego.value.BooleanValue;
import dev.coffer.rego.value.NumberValue;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * providers.aws.sign_req: AWS Signature Version 4 for an HTTP request object, as OPA signs
 * it (host, x-amz-date, x-amz-content-sha256 for s3/glacier, x-amz-security-token with a
 * session token, plus the request's own headers), returning the request with the added headers.
 */
final class AwsSigning {
    private static final String FN = "providers.aws.sign_req";
    private static final List<String> REQUEST_KEYS = List.of("method", "url");
    private static final List<String> CONFIG_KEYS = List.of("aws_access_key", "aws_region", "aws_secret_access_key", "aws_service");
    private static final DateTimeFormatter DAY = DateTimeFormatter.ofPattern("yyyyMMdd").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
    /** Headers AWS signers leave out: proxies and clients change them. */
    private static final List<String> IGNORED = List.of("authorization", "user-agent", "x-amzn-trace-id");

    private AwsSigning() {
    }

    static void register(Builtins.Registry r) {
        r.add(FN, 3, (c, a) -> sign(a));
    }

    private static Value sign(Value[] a) {
        ObjectValue req = Args.obj(FN, a, 0);
        requireStrings(req, REQUEST_KEYS, 1, "request");
        ObjectValue cfg = Args.obj(FN, a, 1);
        requireStrings(cfg, CONFIG_KEYS, 2, "AWS config");
        boolean unsignedPayload = false;
        Value dps = cfg.get(Value.of("disable_payload_signing"));
        if (dps != null) {
            if (!(dps instanceof BooleanValue b)) throw BuiltinException.type(FN, "operand 2 invalid value for 'disable_payload_signing' in AWS config");
            unsignedPayload = b.value();
        }
        Instant when = timestamp(a[2]);

        String method = str(req, "method");
        URI url;
        try {
            url = new URI(str(req, "url"));
        } catch (URISyntaxException e) {
            throw BuiltinException.builtin(FN, "invalid url: " + e.getMessage());
        }
        byte[] body = new byte[0];
        Value raw = req.get(Value.of("raw_body"));
        Value json = req.get(Value.of("body"));
        if (raw instanceof StringValue rs) body = rs.value().getBytes(StandardCharsets.UTF_8);
        else if (json != null) body = json.toJson().getBytes(StandardCharsets.UTF_8);

        String service = str(cfg, "aws_service"), region = str(cfg, "aws_region");
        String payloadHash = unsignedPayload ? "UNSIGNED-PAYLOAD" : HexFormat.of().formatHex(sha256(body));
        String day = DAY.format(when), stamp = STAMP.format(when);

        TreeMap<String, String> awsHeaders = new TreeMap<>();
        awsHeaders.put("host", url.getRawAuthority() == null ? "" : url.getRawAuthority());
        awsHeaders.put("x-amz-date", stamp);
        // s3 and glacier want the payload hash as a header; other services do not
        if (service.equals("s3") || service.equals("glacier")) awsHeaders.put("x-amz-content-sha256", payloadHash);
        Value token = cfg.get(Value.of("aws_session_token"));
        if (token instanceof StringValue ts && !ts.value().isEmpty()) awsHeaders.put("x-amz-security-token", ts.value());

        TreeMap<String, String> signed = new TreeMap<>(awsHeaders);
        Value hv = req.get(Value.of("headers"));
        ObjectValue reqHeaders = hv instanceof ObjectValue ho ? ho : ObjectValue.EMPTY;
        for (Map.Entry<Value, Value> e : reqHeaders.map().entrySet()) {
            if (!(e.getKey() instanceof StringValue k)) continue;
            String name = k.value().toLowerCase(java.util.Locale.ROOT);
            if (IGNORED.contains(name)) continue;
            signed.put(name, e.getValue() instanceof StringValue sv ? sv.value() : e.getValue().toJson());
        }

        StringBuilder canonical = new StringBuilder();
        canonical.append(method).append('\n');
        // the escaped path as is (empty for "http://host"), as OPA's signer writes it
        canonical.append(url.getRawPath() == null ? "" : url.getRawPath()).append('\n');
        canonical.append(url.getRawQuery() == null ? "" : url.getRawQuery()).append('\n');
        for (Map.Entry<String, String> e : signed.entrySet()) canonical.append(e.getKey()).append(':').append(e.getValue()).append('\n');
        canonical.append('\n');
        String headerList = String.join(";", signed.keySet());
        canonical.append(headerList).append('\n').append(payloadHash);

        String scope = day + "/" + region + "/" + service + "/aws4_request";
        String toSign = "AWS4-HMAC-SHA256\n" + stamp + "\n" + scope + "\n"
                + HexFormat.of().formatHex(sha256(canonical.toString().getBytes(StandardCharsets.UTF_8)));
        byte[] key = hmac(("AWS4" + str(cfg, "aws_secret_access_key")).getBytes(StandardCharsets.UTF_8), day);
        key = hmac(key, region);
        key = hmac(key, service);
        key = hmac(key, "aws4_request");
        String signature = HexFormat.of().formatHex(hmac(key, toSign));
        String auth = "AWS4-HMAC-SHA256 Credential=" + str(cfg, "aws_access_key") + "/" + scope + ",SignedHeaders=" + headerList
                + ",Signature=" + signature;

        TreeMap<Value, Value> headersOut = new TreeMap<>(Value.ORDER);
        headersOut.putAll(reqHeaders.map());
        headersOut.put(Value.of("Authorization"), Value.of(auth));
        for (Map.Entry<String, String> e : awsHeaders.entrySet()) headersOut.put(Value.of(e.getKey()), Value.of(e.getValue()));
        TreeMap<Value, Value> out = new TreeMap<>(Value.ORDER);
        out.putAll(req.map());
        out.put(Value.of("headers"), ObjectValue.wrap(headersOut));
        return ObjectValue.wrap(out);
    }

    private static void requireStrings(ObjectValue o, List<String> keys, int operand, String what) {
        List<String> missing = new ArrayList<>(), invalid = new ArrayList<>();
        for (String k : keys) {
            Value v = o.get(Value.of(k));
            if (v == null) missing.add(k);
            else if (!(v instanceof StringValue)) invalid.add(k);
        }
        if (!missing.isEmpty())
            throw BuiltinException.type(FN, "operand " + operand + " missing required " + what + " parameters(s): " + setText(missing));
        if (!invalid.isEmpty())
            throw BuiltinException.type(FN, "operand " + operand + " invalid values for required " + what + " parameters(s): " + setText(invalid));
    }

    private static String setText(List<String> names) {
        StringBuilder sb = new StringBuilder("{");
        for (int i = 0; i < names.size(); i++) sb.append(i > 0 ? ", " : "").append('"').append(names.get(i)).append('"');
        return sb.append('}').toString();
    }

    private static Instant timestamp(Value v) {
        if (v instanceof NumberValue n && n.isInteger() && n.value().signum() >= 0 && n.value().compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) <= 0) {
            BigInteger[] qr = n.value().toBigIntegerExact().divideAndRemainder(BigInteger.valueOf(1_000_000_000L));
            return Instant.ofEpochSecond(qr[0].longValue(), qr[1].longValue());
        }
        throw BuiltinException.type(FN, "operand 3 could not convert time_ns value into a unix timestamp");
    }

    private static String str(ObjectValue o, String k) {
        return ((StringValue) o.get(Value.of(k))).value();
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK always provides SHA-256", e);
        }
    }

    private static byte[] hmac(byte[] key, String msg) {
        return Crypto.hmacBytes(FN, "HmacSHA256", key, msg.getBytes(StandardCharsets.UTF_8));
    }
}
