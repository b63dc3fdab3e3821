package dev.coffer.attest.dcap;

import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Enumerated;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1Sequence;

import java.io.IOException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;

/**
 * The SGX extensions of a PCK certificate (OID 1.2.840.113741.1.13.1): what the platform's TCB
 * was when Intel issued the certificate, which is what collateral is evaluated against.
 *
 * @param tcbComponents the 16 SGX TCB component SVNs (…1.13.1.2.1 to .16)
 * @param sgxType       0 standard, 1 scalable, 2 scalable with integrity
 */
public record PckExtensions(byte[] ppid, int[] tcbComponents, int pceSvn, byte[] cpuSvn, byte[] pceId, byte[] fmspc, int sgxType) {
    static final String SGX_EXTENSIONS = "1.2.840.113741.1.13.1";

    public PckExtensions {
        tcbComponents = tcbComponents.clone();
    }

    @Override public int[] tcbComponents() { return tcbComponents.clone(); }
    @Override public byte[] fmspc() { return fmspc.clone(); }
    @Override public byte[] pceId() { return pceId.clone(); }

    public String fmspcHex() { return HexFormat.of().formatHex(fmspc); }
    public String pceIdHex() { return HexFormat.of().formatHex(pceId); }

    public static PckExtensions of(X509Certificate pck) {
        byte[] ext = pck.getExtensionValue(SGX_EXTENSIONS);
        if (ext == null) {
            throw new QuoteFormatException("the PCK leaf '" + pck.getSubjectX500Principal().getName()
                    + "' has no SGX extensions (" + SGX_EXTENSIONS + "); it is not an Intel PCK certificate");
        }
        try {
            ASN1Sequence seq = ASN1Sequence.getInstance(ASN1OctetString.getInstance(ext).getOctets());
            byte[] ppid = null, cpuSvn = null, pceId = null, fmspc = null;
            int[] comps = null;
            int pceSvn = -1, sgxType = -1;
            for (ASN1Encodable e : seq) {
                ASN1Sequence item = ASN1Sequence.getInstance(e);
                String oid = ASN1ObjectIdentifier.getInstance(item.getObjectAt(0)).getId();
                ASN1Encodable value = item.getObjectAt(1);
                switch (oid.substring(SGX_EXTENSIONS.length())) {
                    case ".1" -> ppid = octets(value);
                    case ".2" -> {
                        comps = new int[16];
                        for (ASN1Encodable t : ASN1Sequence.getInstance(value)) {
                            ASN1Sequence c = ASN1Sequence.getInstance(t);
                            String sub = ASN1ObjectIdentifier.getInstance(c.getObjectAt(0)).getId();
                            int idx = Integer.parseInt(sub.substring(sub.lastIndexOf('.') + 1));
                            ASN1Primitive v = c.getObjectAt(1).toASN1Primitive();
                            if (idx >= 1 && idx <= 16) comps[idx - 1] = ASN1Integer.getInstance(v).intValueExact();
                            else if (idx == 17) pceSvn = ASN1Integer.getInstance(v).intValueExact();
                            else if (idx == 18) cpuSvn = octets(v);
                        }
                    }
                    case ".3" -> pceId = octets(value);
                    case ".4" -> fmspc = octets(value);
                    case ".5" -> sgxType = ASN1Enumerated.getInstance(value).intValueExact();
                    default -> { } // platform instance id, configuration: not used in evaluation
                }
            }
            if (ppid == null || comps == null || pceSvn < 0 || pceId == null || fmspc == null) {
                throw new QuoteFormatException("the PCK certificate's SGX extensions lack PPID, TCB, PCE-ID or FMSPC");
            }
            if (fmspc.length != 6 || pceId.length != 2) {
                throw new QuoteFormatException("PCK FMSPC must be 6 bytes and PCE-ID 2 bytes, found " + fmspc.length + " and " + pceId.length);
            }
            return new PckExtensions(ppid, comps, pceSvn, cpuSvn == null ? new byte[16] : cpuSvn, pceId, fmspc, sgxType);
        } catch (IllegalArgumentException | IllegalStateException | ArithmeticException | ClassCastException e) {
            if (e instanceof QuoteFormatException q) throw q;
            throw new QuoteFormatException("the PCK certificate's SGX extensions are malformed: " + e.getMessage());
        }
    }

    private static byte[] octets(ASN1Encodable v) {
        return ASN1OctetString.getInstance(v).getOctets();
    }
}
