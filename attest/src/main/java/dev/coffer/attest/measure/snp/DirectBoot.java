package dev.coffer.attest.measure.snp;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * What QEMU measures of a direct-boot (-kernel/-initrd/-append) launch: the SHA-256 of the kernel,
 * the initrd (empty when there is none) and the command line (its UTF-8 bytes and a terminating
 * NUL; a lone NUL when there is none). OVMF checks the kernel it loads against these before
 * running it, so the firmware's measurement covers the kernel without the pages holding it.
 */
public record DirectBoot(byte[] kernelSha256, byte[] initrdSha256, byte[] cmdlineSha256) {
    static final String TABLE_GUID = "9438d606-4f22-4cc9-b479-a793d411fd21";
    static final String KERNEL_GUID = "4de79437-abd2-427f-b835-d5b172d2045b";
    static final String INITRD_GUID = "44baf731-3a2f-4bd7-9af1-41e29169781d";
    static final String CMDLINE_GUID = "97d02dd8-bd20-4c94-aa78-e7714d36ab2a";

    private static final int ENTRY = 16 + 2 + 32;
    private static final int TABLE = 16 + 2 + 3 * ENTRY;
    /** The table as QEMU lays it in guest memory: padded to a multiple of 16 bytes. */
    public static final int PADDED_TABLE_LENGTH = (TABLE + 15) & ~15;

    public DirectBoot {
        for (byte[] h : new byte[][] {kernelSha256, initrdSha256, cmdlineSha256}) {
            if (h == null || h.length != 32) throw new IllegalArgumentException("each direct-boot digest is a 32-byte SHA-256");
        }
        kernelSha256 = kernelSha256.clone();
        initrdSha256 = initrdSha256.clone();
        cmdlineSha256 = cmdlineSha256.clone();
    }

    /** From the bytes themselves; {@code initrd} and {@code cmdline} may be null (none). */
    public static DirectBoot of(byte[] kernel, byte[] initrd, String cmdline) {
        MessageDigest k = sha256();
        k.update(kernel);
        MessageDigest i = sha256();
        if (initrd != null) i.update(initrd);
        return new DirectBoot(k.digest(), i.digest(), cmdlineSha256(cmdline));
    }

    /** From files, streamed (kernels and initrds are large); {@code initrd} and {@code cmdline} may be null. */
    public static DirectBoot ofFiles(Path kernel, Path initrd, String cmdline) throws IOException {
        return new DirectBoot(fileSha256(kernel), initrd == null ? sha256().digest() : fileSha256(initrd), cmdlineSha256(cmdline));
    }

    private static byte[] cmdlineSha256(String cmdline) {
        MessageDigest c = sha256();
        if (cmdline != null) c.update(cmdline.getBytes(StandardCharsets.UTF_8));
        c.update((byte) 0);
        return c.digest();
    }

    private static byte[] fileSha256(Path file) throws IOException {
        MessageDigest d = sha256();
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            for (int r; (r = in.read(buf)) > 0; ) d.update(buf, 0, r);
        }
        return d.digest();
    }

    @Override
    public byte[] kernelSha256() {
        return kernelSha256.clone();
    }

    @Override
    public byte[] initrdSha256() {
        return initrdSha256.clone();
    }

    @Override
    public byte[] cmdlineSha256() {
        return cmdlineSha256.clone();
    }

    /**
     * The SEV hashes table, padded: a GUIDed table of three GUIDed entries (command line, initrd,
     * kernel, in that order), every length a little-endian u16, exactly as QEMU writes it.
     */
    public byte[] table() {
        ByteBuffer b = ByteBuffer.allocate(PADDED_TABLE_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        b.put(Guid.bytes(TABLE_GUID)).putShort((short) TABLE);
        entry(b, CMDLINE_GUID, cmdlineSha256);
        entry(b, INITRD_GUID, initrdSha256);
        entry(b, KERNEL_GUID, kernelSha256);
        return b.array();
    }

    private static void entry(ByteBuffer b, String guid, byte[] hash) {
        b.put(Guid.bytes(guid)).putShort((short) ENTRY).put(hash);
    }

    /** The 4 KiB page holding the table at {@code offset}, zero elsewhere. */
    byte[] page(int offset) {
        byte[] page = new byte[OvmfFirmware.PAGE];
        System.arraycopy(table(), 0, page, offset, PADDED_TABLE_LENGTH);
        return page;
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }
}
