package dev.coffer.attest.cert;

import java.util.Arrays;

/** Just enough DER to cut the TBSCertificate out of a certificate without re-encoding it. */
final class Der {
    private Der() {}

    /** The first element (header and content) inside the outer SEQUENCE of {@code der}. */
    static byte[] firstElementOfSequence(byte[] der) {
        if (der.length < 2 || der[0] != 0x30) {
            throw new CertificateFormatException("expected a DER SEQUENCE (tag 0x30) at the start of the certificate, found "
                    + (der.length == 0 ? "nothing" : String.format("tag 0x%02x", der[0])));
        }
        int[] outer = header(der, 0);
        int start = outer[0];
        if (start + outer[1] != der.length) {
            throw new CertificateFormatException("certificate DER length field says " + (start + outer[1])
                    + " bytes, found " + der.length + "; the file is truncated or has trailing data");
        }
        int[] inner = header(der, start);
        int end = inner[0] + inner[1];
        if (end > der.length) throw new CertificateFormatException("TBSCertificate runs past the end of the certificate");
        return Arrays.copyOfRange(der, start, end);
    }

    /** Returns {content offset, content length} of the element whose tag is at {@code off}. */
    private static int[] header(byte[] b, int off) {
        if (off + 2 > b.length) throw new CertificateFormatException("certificate DER truncated at offset " + off);
        int len = b[off + 1] & 0xFF;
        int p = off + 2;
        if (len >= 0x80) {
            int n = len & 0x7F;
            if (n == 0 || n > 4 || p + n > b.length) {
                throw new CertificateFormatException("unsupported DER length encoding at offset " + off);
            }
            len = 0;
            for (int i = 0; i < n; i++) len = (len << 8) | (b[p++] & 0xFF);
            if (len < 0) throw new CertificateFormatException("DER length overflow at offset " + off);
        }
        return new int[] {p, len};
    }
}
