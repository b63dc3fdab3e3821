package dev.coffer.attest.measure.snp;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;

/**
 * The secure processor's launch digest as SNP_LAUNCH_UPDATE extends it: for each page,
 * digest = SHA-384(PAGE_INFO), where PAGE_INFO (0x70 bytes, SEV-SNP ABI specification) is the
 * digest so far, the page contents' SHA-384, length 0x70, page type, IMI flag, VMPL 3/2/1
 * permissions, a reserved byte and the page's GPA.
 */
final class PageInfoChain {
    static final int DIGEST = 48;
    private static final int PAGE_INFO = 0x70;
    /** VMSA pages have no GPA; the secure processor records them at (u64)-1, page-aligned and cut to 52 bits. */
    static final long VMSA_GPA = 0xFFFFFFFFF000L;

    private byte[] digest;
    private final List<MeasuredStep> log;

    PageInfoChain(byte[] seed, boolean keepLog) {
        if (seed.length != DIGEST) throw new IllegalArgumentException("a launch digest seed is 48 bytes, found " + seed.length);
        this.digest = seed.clone();
        this.log = keepLog ? new ArrayList<>() : null;
    }

    byte[] digest() {
        return digest.clone();
    }

    List<MeasuredStep> log() {
        return log == null ? List.of() : log;
    }

    void normalPages(long gpa, byte[] data, int from, int length) {
        MessageDigest sha = sha384();
        for (int off = 0; off < length; off += OvmfFirmware.PAGE) {
            sha.update(data, from + off, OvmfFirmware.PAGE);
            update(PageType.NORMAL, gpa + off, sha.digest());
        }
    }

    void vmsaPage(byte[] page) {
        update(PageType.VMSA, VMSA_GPA, sha384().digest(page));
    }

    /** ZERO, UNMEASURED, SECRETS and CPUID pages: their contents are not measured, 48 zero bytes stand in. */
    void unmeasuredContents(PageType type, long gpa, long length) {
        for (long off = 0; off < length; off += OvmfFirmware.PAGE) update(type, gpa + off, new byte[DIGEST]);
    }

    private void update(PageType type, long gpa, byte[] contents) {
        ByteBuffer info = ByteBuffer.allocate(PAGE_INFO).order(ByteOrder.LITTLE_ENDIAN);
        info.put(digest).put(contents)
                .putShort((short) PAGE_INFO).put((byte) type.code())
                .put((byte) 0)                         // IMI_PAGE: not an incoming-migration image
                .put((byte) 0).put((byte) 0).put((byte) 0) // VMPL3, VMPL2, VMPL1 permissions
                .put((byte) 0)                         // reserved
                .putLong(gpa);
        digest = sha384().digest(info.array());
        if (log != null) log.add(new MeasuredStep.Page(type, gpa, contents, digest));
    }

    static MessageDigest sha384() {
        try {
            return MessageDigest.getInstance("SHA-384");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-384", e);
        }
    }
}
