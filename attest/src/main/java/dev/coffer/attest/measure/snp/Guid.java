package dev.coffer.attest.measure.snp;

import java.util.HexFormat;

/** EFI GUIDs as firmware stores them: the first three fields little-endian, the rest as written. */
final class Guid {
    private Guid() {}

    static byte[] bytes(String guid) {
        byte[] be = HexFormat.of().parseHex(guid.replace("-", ""));
        byte[] le = be.clone();
        reverse(le, 0, 4);
        reverse(le, 4, 2);
        reverse(le, 6, 2);
        return le;
    }

    static String text(byte[] le, int offset) {
        byte[] be = java.util.Arrays.copyOfRange(le, offset, offset + 16);
        reverse(be, 0, 4);
        reverse(be, 4, 2);
        reverse(be, 6, 2);
        String h = HexFormat.of().formatHex(be);
        return h.substring(0, 8) + "-" + h.substring(8, 12) + "-" + h.substring(12, 16) + "-" + h.substring(16, 20) + "-" + h.substring(20);
    }

    private static void reverse(byte[] b, int from, int len) {
        for (int i = 0; i < len / 2; i++) {
            byte t = b[from + i];
            b[from + i] = b[from + len - 1 - i];
            b[from + len - 1 - i] = t;
        }
    }
}
