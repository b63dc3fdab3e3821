package dev.coffer.runtime.preflight;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * What an OVMF build offers an SEV-SNP launch, read from the GUIDed table at its end (the table
 * QEMU itself reads: {@code pc_system_ovmf_table_find}) and the SEV metadata it points to.
 *
 * <p>Layout, from the end of the image: the last 32 bytes are the reset vector area; before them
 * an 18-byte footer entry (uint16 size, GUID {@value #FOOTER_GUID}) whose size covers the whole
 * table; before that, entries laid out back to front, each {@code data, uint16 size, GUID} with
 * size counting data and its 18-byte header. GUIDs are stored in EFI (mixed-endian) byte order.
 *
 * @param entries    footer table entries by GUID, in table order from the end
 * @param sections   SEV metadata sections (SNP_SEC_MEM, SNP_SECRETS, CPUID, SNP_KERNEL_HASHES, ...), empty if none
 */
public record OvmfFirmware(Map<UUID, byte[]> entries, List<Section> sections) {
    public static final String FOOTER_GUID = "96b582de-1fb2-45f7-baea-a366c55a082d";
    /** The SEV hashes table: its GPA and size (both zero in a build without kernel hashes). */
    public static final UUID SEV_HASH_TABLE = UUID.fromString("7255371f-3a3b-4b04-927b-1da6efa8d454");
    /** The SEV-ES reset block: where application processors start (needed by SEV-ES and SNP guests). */
    public static final UUID SEV_ES_RESET_BLOCK = UUID.fromString("00f771de-1a7e-4fcb-890e-68c77e2fb44e");
    /** The SEV metadata: offset from the end of the image to the "ASEV" section list an SNP launch pre-validates. */
    public static final UUID SEV_METADATA = UUID.fromString("dc886566-984a-4798-a75e-5585a7bf67cc");
    /** Section type of the page the kernel hashes table lives in (the SEV metadata's SNP_KERNEL_HASHES). */
    public static final int SECTION_SNP_KERNEL_HASHES = 0x10;
    /** Bytes of the SEV hashes table QEMU writes (GUID, length, three entries of GUID, length, SHA-256). */
    static final int HASH_TABLE_BYTES = 16 + 2 + 3 * (16 + 2 + 32);
    private static final int ENTRY_HEADER = 18;
    private static final int RESET_AREA = 32;
    /** Real builds are 2-4 MiB; the bound keeps a wrong path (a disk image) from being read whole. */
    static final long MAX_BYTES = 64L << 20;

    /** One SEV metadata section: guest-physical base, size and type. */
    public record Section(long gpa, long size, int type) {}

    public OvmfFirmware {
        entries = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(entries));
        sections = List.copyOf(sections);
    }

    /** Reads the table of {@code file}. */
    public static OvmfFirmware read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > MAX_BYTES) {
                throw new IOException("expected an OVMF image of at most " + (MAX_BYTES >> 20) + " MiB, found " + size + " bytes in " + file);
            }
            ByteBuffer all = ByteBuffer.allocate((int) size);
            while (all.hasRemaining() && ch.read(all) >= 0) {
                // read it whole
            }
            return parse(all.array());
        }
    }

    /** Parses the footer table of a firmware image (or of its last pages: offsets count from the end). */
    public static OvmfFirmware parse(byte[] image) throws IOException {
        int footerAt = image.length - RESET_AREA - ENTRY_HEADER;
        if (footerAt < 0) {
            throw new IOException("expected an OVMF image with a GUIDed footer table, found only " + image.length + " bytes");
        }
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        int tableSize = Short.toUnsignedInt(b.getShort(footerAt));
        UUID footer = guid(image, footerAt + 2);
        if (!footer.toString().equals(FOOTER_GUID)) {
            throw new IOException("expected the OVMF footer table GUID " + FOOTER_GUID + " " + (RESET_AREA + ENTRY_HEADER)
                    + " bytes before the end, found " + footer + "; this is not an OVMF build with SEV support");
        }
        int remaining = tableSize - ENTRY_HEADER;
        if (remaining < 0 || remaining > footerAt) {
            throw new IOException("expected an OVMF footer table size between " + ENTRY_HEADER + " and " + (footerAt + ENTRY_HEADER)
                    + ", found " + tableSize);
        }
        Map<UUID, byte[]> entries = new LinkedHashMap<>();
        int end = footerAt;
        int start = footerAt - remaining;
        while (end - start >= ENTRY_HEADER) {
            int size = Short.toUnsignedInt(b.getShort(end - ENTRY_HEADER));
            UUID id = guid(image, end - ENTRY_HEADER + 2);
            if (size < ENTRY_HEADER || size > end - start) {
                throw new IOException("expected OVMF footer table entry " + id + " of " + ENTRY_HEADER + ".." + (end - start)
                        + " bytes, found " + size);
            }
            entries.putIfAbsent(id, java.util.Arrays.copyOfRange(image, end - size, end - ENTRY_HEADER));
            end -= size;
        }
        return new OvmfFirmware(entries, sections(image, entries.get(SEV_METADATA)));
    }

    /** The "ASEV" section list, at the offset (from the end of the image) the metadata entry gives. */
    private static List<Section> sections(byte[] image, byte[] metadataEntry) throws IOException {
        if (metadataEntry == null) return List.of();
        if (metadataEntry.length < 4) throw new IOException("expected a 4-byte SEV metadata offset, found " + metadataEntry.length + " bytes");
        long offset = Integer.toUnsignedLong(ByteBuffer.wrap(metadataEntry).order(ByteOrder.LITTLE_ENDIAN).getInt(0));
        long at = image.length - offset;
        if (offset < 16 || at < 0 || at + 16 > image.length) {
            throw new IOException("expected the SEV metadata inside the image, found its offset " + offset + " from the end of "
                    + image.length + " bytes");
        }
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        int p = (int) at;
        int signature = b.getInt(p);
        if (signature != 0x56455341) { // "ASEV"
            throw new IOException("expected the SEV metadata signature ASEV at " + offset + " bytes from the end, found 0x"
                    + Integer.toHexString(signature));
        }
        long length = Integer.toUnsignedLong(b.getInt(p + 4));
        long count = Integer.toUnsignedLong(b.getInt(p + 12));
        if (length != 16 + 12 * count || at + length > image.length) {
            throw new IOException("expected SEV metadata of 16 + 12 x " + count + " bytes inside the image, found length " + length);
        }
        List<Section> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int s = p + 16 + 12 * i;
            out.add(new Section(Integer.toUnsignedLong(b.getInt(s)), Integer.toUnsignedLong(b.getInt(s + 4)), b.getInt(s + 8)));
        }
        return out;
    }

    /** An EFI GUID: the first three fields little-endian, the last eight bytes as they are. */
    private static UUID guid(byte[] d, int at) {
        ByteBuffer le = ByteBuffer.wrap(d, at, 16).order(ByteOrder.LITTLE_ENDIAN);
        long d1 = Integer.toUnsignedLong(le.getInt());
        long d2 = Short.toUnsignedLong(le.getShort());
        long d3 = Short.toUnsignedLong(le.getShort());
        long hi = (d1 << 32) | (d2 << 16) | d3;
        long lo = ByteBuffer.wrap(d, at + 8, 8).order(ByteOrder.BIG_ENDIAN).getLong();
        return new UUID(hi, lo);
    }

    /** Whether SEV-SNP can start this firmware: the SEV metadata sections and the SEV-ES reset block are there. */
    public boolean supportsSnp() {
        return !sections.isEmpty() && entries.containsKey(SEV_ES_RESET_BLOCK);
    }

    /**
     * The SEV hashes table's GPA and size, when the build has one: {@code kernel-hashes=on} makes
     * QEMU write the hashes of kernel, initrd and command line there, and OVMF refuses to boot a
     * kernel that does not match them. A build without it (OvmfPkgX64) has the entry with zeros.
     */
    public Optional<long[]> hashTable() {
        byte[] e = entries.get(SEV_HASH_TABLE);
        if (e == null || e.length < 8) return Optional.empty();
        ByteBuffer b = ByteBuffer.wrap(e).order(ByteOrder.LITTLE_ENDIAN);
        long gpa = Integer.toUnsignedLong(b.getInt(0));
        long size = Integer.toUnsignedLong(b.getInt(4));
        return gpa == 0 || size < HASH_TABLE_BYTES ? Optional.empty() : Optional.of(new long[] {gpa, size});
    }

    /** Whether an SNP launch can measure a kernel through this firmware: a hashes table, in an SNP_KERNEL_HASHES page. */
    public boolean supportsKernelHashes() {
        return hashTable().isPresent() && sections.stream().anyMatch(s -> s.type() == SECTION_SNP_KERNEL_HASHES);
    }
}
