package dev.coffer.layer.tar;

import java.util.Map;

/**
 * One tar header after PAX and GNU long-name records have been merged into it.
 *
 * <p>Strings hold the raw header bytes one char per byte (ISO-8859-1), never decoded: layer
 * hashes are computed over the exact bytes of names, link targets and xattr values, whatever
 * their encoding, and Go's {@code archive/tar} (which Azure's tooling uses) compares them as
 * bytes too. Times are seconds plus nanoseconds; {@code hasAccessTime}/{@code hasChangeTime}
 * are false when the archive carries none.
 *
 * @param pax the PAX records that applied to this entry, in the order they appeared
 */
public record TarEntry(
        String name,
        char typeflag,
        long mode,
        long uid,
        long gid,
        long size,
        String linkname,
        long devMajor,
        long devMinor,
        long mtimeSeconds,
        int mtimeNanos,
        boolean hasAccessTime,
        long atimeSeconds,
        int atimeNanos,
        boolean hasChangeTime,
        long ctimeSeconds,
        int ctimeNanos,
        Map<String, String> pax) {

    public static final char TYPE_REG = '0';
    public static final char TYPE_LINK = '1';
    public static final char TYPE_SYMLINK = '2';
    public static final char TYPE_CHAR = '3';
    public static final char TYPE_BLOCK = '4';
    public static final char TYPE_DIR = '5';
    public static final char TYPE_FIFO = '6';
    public static final char TYPE_GLOBAL_PAX = 'g';

    /** Types whose header is all there is: their size field never announces data. */
    public boolean headerOnly() {
        return switch (typeflag) {
            case TYPE_LINK, TYPE_SYMLINK, TYPE_CHAR, TYPE_BLOCK, TYPE_DIR, TYPE_FIFO -> true;
            default -> false;
        };
    }
}
