package dev.coffer.attest.cert;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/** Reads certificates the way they travel: one DER certificate, or a PEM bundle in any order. */
public final class Certificates {
    private static final String BEGIN = "-----BEGIN CERTIFICATE-----";
    private static final String END = "-----END CERTIFICATE-----";

    private Certificates() {}

    /** DER or PEM; a PEM file may hold several certificates. */
    public static List<AmdCertificate> parse(byte[] content) {
        String head = new String(content, 0, Math.min(content.length, 4096), StandardCharsets.ISO_8859_1);
        if (head.contains("-----BEGIN")) return parsePem(new String(content, StandardCharsets.US_ASCII));
        return List.of(AmdCertificate.fromDer(content));
    }

    /** Exactly one certificate, DER or PEM. */
    public static AmdCertificate parseOne(byte[] content) {
        List<AmdCertificate> all = parse(content);
        if (all.size() != 1) {
            throw new CertificateFormatException("expected exactly one certificate, found " + all.size());
        }
        return all.getFirst();
    }

    public static List<AmdCertificate> parsePem(String pem) {
        List<AmdCertificate> out = new ArrayList<>();
        int from = 0;
        while (true) {
            int b = pem.indexOf(BEGIN, from);
            if (b < 0) break;
            int e = pem.indexOf(END, b);
            if (e < 0) throw new CertificateFormatException("PEM certificate #" + (out.size() + 1) + " has no '" + END + "' line; the file is truncated");
            String body = withoutWhitespace(pem, b + BEGIN.length(), e);
            byte[] der;
            try {
                der = Base64.getDecoder().decode(body);
            } catch (IllegalArgumentException ex) {
                throw new CertificateFormatException("PEM certificate #" + (out.size() + 1) + " is not valid base64 (" + ex.getMessage() + ")");
            }
            out.add(AmdCertificate.fromDer(der));
            from = e + END.length();
        }
        if (out.isEmpty()) throw new CertificateFormatException("expected PEM certificates ('" + BEGIN + "'), found none");
        return out;
    }

    /** The characters of {@code text[from, to)} minus whitespace; a plain loop, as this runs per request on servers. */
    private static String withoutWhitespace(String text, int from, int to) {
        StringBuilder out = new StringBuilder(to - from);
        for (int i = from; i < to; i++) {
            char c = text.charAt(i);
            if (!Character.isWhitespace(c)) out.append(c);
        }
        return out.toString();
    }

    /** PEM text for one certificate. */
    public static String toPem(byte[] der) {
        return BEGIN + "\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n" + END + "\n";
    }
}
