package dev.coffer.attest.dcap;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An Intel DCAP ECDSA quote, parsed completely: SGX v3 (tee type 0), TDX v4 and v5 (tee type
 * 0x81; v5 carries a body descriptor naming SGX, TD 1.0 or TD 1.5). Parsing checks structure
 * only; {@link DcapVerifier} checks signatures, chains and collateral.
 *
 * @param signedLength bytes {@code [0, signedLength)} of {@link #raw()} are what the attestation key signed
 * @param signature    ECDSA P-256 r‖s over the signed bytes
 * @param attestationKey raw P-256 public key X‖Y (64 bytes)
 * @param qeReport     the quoting enclave's report, signed by the PCK leaf
 * @param pckChain     certification data type 5: PCK leaf, PCK Platform/Processor CA, root (leaf first)
 * @param trailingBytes bytes after the signature data (TDX guests hand out zero-padded buffers)
 */
public record DcapQuote(QuoteHeader header, QuoteBody body, int signedLength, byte[] signature, byte[] attestationKey,
                        EnclaveReport qeReport, byte[] qeReportSignature, byte[] qeAuthData,
                        int certificationDataType, List<X509Certificate> pckChain, int trailingBytes, byte[] raw) {
    /** Certification data type 5: concatenated PEM PCK chain. */
    static final int CERT_PCK_CHAIN = 5;
    /** Certification data type 6: QE report certification data (v4/v5), nesting type 5. */
    static final int CERT_QE_REPORT = 6;
    private static final int V5_BODY_SGX = 1;
    private static final int V5_BODY_TD10 = 2;
    private static final int V5_BODY_TD15 = 3;
    /** Far above any real quote (~5 KB): refuses absurd size fields before they drive work. */
    public static final int MAX_LENGTH = 1 << 20;

    public DcapQuote {
        raw = raw.clone();
        pckChain = List.copyOf(pckChain);
    }

    @Override public byte[] raw() { return raw.clone(); }
    @Override public byte[] signature() { return signature.clone(); }
    @Override public byte[] attestationKey() { return attestationKey.clone(); }
    @Override public byte[] qeReportSignature() { return qeReportSignature.clone(); }
    @Override public byte[] qeAuthData() { return qeAuthData.clone(); }

    /** The kind of TEE this quote comes from. */
    public Tee tee() {
        return body instanceof TdReport ? Tee.TDX : Tee.SGX;
    }

    public enum Tee {
        SGX("sgx"), TDX("tdx");
        private final String label;
        Tee(String label) { this.label = label; }
        public String label() { return label; }
    }

    /** Parses a quote; throws {@link QuoteFormatException} naming the first structural problem. */
    public static DcapQuote parse(byte[] quote) {
        if (quote.length > MAX_LENGTH) {
            throw new QuoteFormatException("quote is " + quote.length + " bytes; a DCAP quote is a few KB (at most " + MAX_LENGTH + " accepted)");
        }
        Bytes all = new Bytes(quote, 0, quote.length, "quote");
        QuoteHeader header = QuoteHeader.decode(all.sub(0, QuoteHeader.LENGTH, "quote header"));
        if (header.attestationKeyType() != QuoteHeader.ATT_KEY_ECDSA_P256) {
            throw new QuoteFormatException("attestation key type is " + header.attestationKeyType()
                    + ", expected 2 (ECDSA P-256); only ECDSA P-256 DCAP quotes are supported");
        }
        int off = QuoteHeader.LENGTH;
        QuoteBody body;
        switch (header.version()) {
            case 3 -> {
                if (header.teeType() != QuoteHeader.TEE_SGX) {
                    throw new QuoteFormatException("quote v3 has tee type 0x" + Long.toHexString(header.teeType()) + ", expected 0x0 (SGX)");
                }
                body = EnclaveReport.decode(all.sub(off, EnclaveReport.LENGTH, "SGX report body"));
                off += EnclaveReport.LENGTH;
            }
            case 4 -> {
                if (header.teeType() != QuoteHeader.TEE_TDX) {
                    throw new QuoteFormatException("quote v4 has tee type 0x" + Long.toHexString(header.teeType())
                            + ", expected 0x81 (TDX); SGX quotes are version 3");
                }
                body = TdReport.decode(all.sub(off, TdReport.LENGTH_TD10, "TD 1.0 report body"));
                off += TdReport.LENGTH_TD10;
            }
            case 5 -> {
                int type = all.u16(off);
                long size = all.u32(off + 2);
                off += 6;
                int expected = switch (type) {
                    case V5_BODY_SGX -> EnclaveReport.LENGTH;
                    case V5_BODY_TD10 -> TdReport.LENGTH_TD10;
                    case V5_BODY_TD15 -> TdReport.LENGTH_TD15;
                    default -> throw new QuoteFormatException("quote v5 body type is " + type + ", expected 1 (SGX), 2 (TD 1.0) or 3 (TD 1.5)");
                };
                if (size != expected) {
                    throw new QuoteFormatException("quote v5 body type " + type + " declares " + size + " bytes, expected " + expected);
                }
                long wantTee = type == V5_BODY_SGX ? QuoteHeader.TEE_SGX : QuoteHeader.TEE_TDX;
                if (header.teeType() != wantTee) {
                    throw new QuoteFormatException("quote v5 body type " + type + " needs tee type 0x" + Long.toHexString(wantTee)
                            + " but the header says 0x" + Long.toHexString(header.teeType()));
                }
                Bytes b = all.sub(off, size, "v5 report body");
                body = type == V5_BODY_SGX ? EnclaveReport.decode(b) : TdReport.decode(b);
                off += (int) size;
            }
            default -> throw new QuoteFormatException("quote version is " + header.version()
                    + ", expected 3 (SGX) or 4/5 (TDX); this is not a DCAP ECDSA quote or a newer format");
        }
        int signedLength = off;
        long sigLen = all.u32(off);
        off += 4;
        Bytes sig = all.sub(off, sigLen, "signature data (declared " + sigLen + " bytes)");
        int trailing = quote.length - off - sig.length();
        byte[] signature = sig.slice(0, 64);
        byte[] key = sig.slice(64, 64);
        int p = 128;
        Bytes qeData;
        if (header.version() == 3) {
            qeData = sig.sub(p, sig.length() - p, "QE report certification data");
        } else {
            int type = sig.u16(p);
            long size = sig.u32(p + 2);
            if (type != CERT_QE_REPORT) {
                throw new QuoteFormatException("certification data type is " + type + ", expected 6 (QE report certification data) in a v"
                        + header.version() + " quote");
            }
            qeData = sig.sub(p + 6, size, "QE report certification data (declared " + size + " bytes)");
        }
        EnclaveReport qeReport = EnclaveReport.decode(qeData.sub(0, EnclaveReport.LENGTH, "QE report"));
        byte[] qeSig = qeData.slice(EnclaveReport.LENGTH, 64);
        int q = EnclaveReport.LENGTH + 64;
        int authLen = qeData.u16(q);
        byte[] auth = qeData.slice(q + 2, authLen);
        q += 2 + authLen;
        int certType = qeData.u16(q);
        long certLen = qeData.u32(q + 2);
        byte[] certData = qeData.sub(q + 6, certLen, "PCK certification data (declared " + certLen + " bytes)").slice(0, (int) certLen);
        if (certType != CERT_PCK_CHAIN) {
            throw new QuoteFormatException("PCK certification data type is " + certType
                    + ", expected 5 (PEM PCK certificate chain); quotes carrying only PPID need the PCK fetched separately, which is not supported");
        }
        List<X509Certificate> chain = parsePemChain(certData);
        return new DcapQuote(header, body, signedLength, signature, key, qeReport, qeSig, auth, certType, chain, trailing, quote);
    }

    private static final Pattern PEM = Pattern.compile(
            "-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\\s]+?)-----END CERTIFICATE-----");

    /** Concatenated PEM certificates, in order; NUL padding after the last is tolerated. */
    static List<X509Certificate> parsePemChain(byte[] pem) {
        String text = new String(pem, StandardCharsets.US_ASCII);
        Matcher m = PEM.matcher(text);
        List<X509Certificate> out = new ArrayList<>(3);
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            while (m.find()) {
                byte[] der = Base64.getMimeDecoder().decode(m.group(1));
                out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der)));
            }
        } catch (CertificateException | IllegalArgumentException e) {
            throw new QuoteFormatException("PCK certificate chain: certificate " + (out.size() + 1) + " is not a valid X.509 certificate: " + e.getMessage());
        }
        if (out.isEmpty()) {
            throw new QuoteFormatException("PCK certification data holds no PEM certificate (" + pem.length + " bytes); expected PCK leaf, intermediate CA and root");
        }
        return out;
    }
}
