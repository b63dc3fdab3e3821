package dev.coffer.attest.measure.snp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * An OVMF firmware image as the launch measures it: mapped so that it ends at 4 GiB, with the
 * GUIDed footer table QEMU reads (ending 32 bytes before the image's end) and the SEV metadata
 * sections that table points to. Parsed strictly: a table or section that does not fit, a bad
 * signature, overlapping sections or unknown section types are refused, never guessed at.
 */
public final class OvmfFirmware {
    static final String FOOTER_TABLE_GUID = "96b582de-1fb2-45f7-baea-a366c55a082d";
    /** The footer entry giving the SEV hashes table's GPA and size (kernel-hashes=on writes there). */
    public static final String SEV_HASH_TABLE_GUID = "7255371f-3a3b-4b04-927b-1da6efa8d454";
    static final String SEV_ES_RESET_BLOCK_GUID = "00f771de-1a7e-4fcb-890e-68c77e2fb44e";
    static final String SEV_METADATA_GUID = "dc886566-984a-4798-a75e-5585a7bf67cc";

    static final long FOUR_GIB = 1L << 32;
    static final int PAGE = 4096;
    /** Flash images QEMU maps below 4 GiB are a few MiB; a bound keeps a hostile file from exhausting memory. */
    static final int MAX_SIZE = 64 << 20;

    private static final int ENTRY_HEADER = 18; // u16 size, GUID
    private static final int FOOTER_FROM_END = 32;
    private static final int METADATA_HEADER = 16; // "ASEV", u32 size, u32 version, u32 items
    private static final int SECTION_DESC = 12; // u32 gpa, u32 size, u32 type
    /** OVMF declares fewer than ten; a bound keeps a hostile table from costing quadratic time. */
    static final int MAX_SECTIONS = 256;

    private final byte[] image;
    private final Map<String, byte[]> footerTable;
    private final List<MetadataSection> sections;

    private OvmfFirmware(byte[] image, Map<String, byte[]> footerTable, List<MetadataSection> sections) {
        this.image = image;
        this.footerTable = footerTable;
        this.sections = sections;
    }

    /** Reads and parses a firmware file (OVMF.fd of an AmdSev or OvmfX64 build). */
    public static OvmfFirmware read(Path file) throws IOException {
        long size;
        try {
            size = Files.size(file);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file.toString(), null, "firmware file does not exist");
        }
        if (size > MAX_SIZE) {
            throw new FirmwareFormatException("firmware " + file + " is " + size + " bytes; an OVMF image is a few MiB (at most "
                    + MAX_SIZE + " bytes accepted): pass OVMF.fd (the combined code image), not a disk image");
        }
        return parse(Files.readAllBytes(file));
    }

    /** Parses a firmware image held in memory; the array is copied. */
    public static OvmfFirmware parse(byte[] image) {
        byte[] data = image.clone();
        if (data.length == 0 || data.length % PAGE != 0 || data.length > MAX_SIZE) {
            throw new FirmwareFormatException("firmware is " + data.length + " bytes; expected a whole number of 4096-byte pages"
                    + " (up to " + MAX_SIZE + " bytes), as every OVMF build is: the file is truncated or is not an OVMF image");
        }
        Map<String, byte[]> table = parseFooterTable(data);
        List<MetadataSection> sections = parseMetadata(data, table);
        return new OvmfFirmware(data, table, sections);
    }

    private static Map<String, byte[]> parseFooterTable(byte[] data) {
        int footer = data.length - FOOTER_FROM_END - ENTRY_HEADER;
        if (!Guid.text(data, footer + 2).equals(FOOTER_TABLE_GUID)) return Map.of();
        int tableSize = u16(data, footer) - ENTRY_HEADER;
        if (tableSize < 0 || tableSize > footer) {
            throw new FirmwareFormatException("OVMF footer table at offset " + footer + " declares " + (tableSize + ENTRY_HEADER)
                    + " bytes, but " + ENTRY_HEADER + ".." + (footer + ENTRY_HEADER) + " are possible: the footer is corrupt");
        }
        // Entries are read backwards from the footer: each ends with its u16 size and GUID.
        Map<String, byte[]> entries = new LinkedHashMap<>();
        int end = footer;
        int start = footer - tableSize;
        while (end - start >= ENTRY_HEADER) {
            int size = u16(data, end - ENTRY_HEADER);
            String guid = Guid.text(data, end - ENTRY_HEADER + 2);
            if (size < ENTRY_HEADER || size > end - start) {
                throw new FirmwareFormatException("OVMF footer table entry " + guid + " (ending at offset " + end + ") declares "
                        + size + " bytes; expected " + ENTRY_HEADER + ".." + (end - start) + ": the footer table is corrupt");
            }
            byte[] body = java.util.Arrays.copyOfRange(data, end - size, end - ENTRY_HEADER);
            if (entries.putIfAbsent(guid, body) != null) {
                throw new FirmwareFormatException("OVMF footer table has entry " + guid + " twice; a firmware declares each once");
            }
            end -= size;
        }
        if (end != start) {
            throw new FirmwareFormatException("OVMF footer table leaves " + (end - start) + " bytes that are no entry; the table is corrupt");
        }
        return Collections.unmodifiableMap(entries);
    }

    private static List<MetadataSection> parseMetadata(byte[] data, Map<String, byte[]> table) {
        byte[] entry = table.get(SEV_METADATA_GUID);
        if (entry == null) return List.of();
        long fromEnd = u32(entry, 0, "SEV metadata offset entry");
        long start = data.length - fromEnd;
        if (fromEnd > data.length || start + METADATA_HEADER > data.length) {
            throw new FirmwareFormatException("SEV metadata offset " + fromEnd + " (from the end) points outside the "
                    + data.length + "-byte firmware; the footer table is corrupt");
        }
        int at = (int) start;
        String signature = new String(data, at, 4, java.nio.charset.StandardCharsets.ISO_8859_1);
        if (!signature.equals("ASEV")) {
            throw new FirmwareFormatException("SEV metadata at offset " + at + " has signature '" + printable(signature)
                    + "'; expected 'ASEV': the footer points at something else, or the image is damaged");
        }
        long size = u32(data, at + 4, "SEV metadata");
        long version = u32(data, at + 8, "SEV metadata");
        long items = u32(data, at + 12, "SEV metadata");
        if (version != 1) {
            throw new FirmwareFormatException("SEV metadata version is " + version + "; expected 1 (the only version OVMF writes)");
        }
        if (size < METADATA_HEADER + items * SECTION_DESC || start + size > data.length) {
            throw new FirmwareFormatException("SEV metadata declares " + size + " bytes and " + items + " sections (" + SECTION_DESC
                    + " bytes each after a " + METADATA_HEADER + "-byte header), which does not fit in the " + (data.length - start)
                    + " bytes from offset " + at + " to the end; the metadata is corrupt");
        }
        if (items > MAX_SECTIONS) {
            throw new FirmwareFormatException("SEV metadata declares " + items + " sections; OVMF declares fewer than ten (at most "
                    + MAX_SECTIONS + " accepted): the metadata is corrupt");
        }
        List<MetadataSection> sections = new ArrayList<>();
        for (int i = 0; i < items; i++) {
            int d = at + METADATA_HEADER + i * SECTION_DESC;
            long gpa = u32(data, d, "SEV metadata");
            long len = u32(data, d + 4, "SEV metadata");
            int code = (int) u32(data, d + 8, "SEV metadata");
            SectionType type = SectionType.ofCode(code);
            if (type == null) {
                throw new FirmwareFormatException("SEV metadata section " + i + " has type 0x" + Integer.toHexString(code)
                        + "; expected one of 1 (SEC memory), 2 (secrets), 3 (CPUID), 4 (SVSM CAA), 0x10 (kernel hashes)");
            }
            if (gpa % PAGE != 0 || len == 0 || len % PAGE != 0 || gpa + len > FOUR_GIB) {
                throw new FirmwareFormatException("SEV metadata section " + i + " (" + type + ") is [0x" + Long.toHexString(gpa)
                        + ", +0x" + Long.toHexString(len) + "); expected a non-empty, page-aligned range of whole pages below 4 GiB");
            }
            MetadataSection s = new MetadataSection(gpa, len, type);
            for (MetadataSection earlier : sections) {
                if (earlier.overlaps(s)) {
                    throw new FirmwareFormatException("SEV metadata sections overlap: " + earlier + " and " + s
                            + "; the secure processor would be asked to add the same page twice, so the launch would fail");
                }
            }
            sections.add(s);
        }
        return List.copyOf(sections);
    }

    /** The image's bytes (a copy). */
    public byte[] bytes() {
        return image.clone();
    }

    byte[] image() {
        return image;
    }

    public int size() {
        return image.length;
    }

    /** Guest-physical address of the image's first byte: the image ends at 4 GiB. */
    public long gpa() {
        return FOUR_GIB - image.length;
    }

    /** Whether the image carries OVMF's GUIDed footer table (every SEV-capable build does). */
    public boolean hasFooterTable() {
        return !footerTable.isEmpty();
    }

    /** The footer table's GUIDs, in the order found (from the footer backwards). */
    public List<String> footerGuids() {
        return List.copyOf(footerTable.keySet());
    }

    /** The SEV metadata sections, in declaration order (the order the VMM adds them). */
    public List<MetadataSection> sections() {
        return sections;
    }

    public Optional<MetadataSection> section(SectionType type) {
        return sections.stream().filter(s -> s.type() == type).findFirst();
    }

    /** The reset address application processors start at (the SEV-ES reset block), if the firmware has one. */
    public OptionalLong apResetEip() {
        byte[] e = footerTable.get(SEV_ES_RESET_BLOCK_GUID);
        return e == null ? OptionalLong.empty() : OptionalLong.of(u32(e, 0, "SEV-ES reset block entry"));
    }

    /** Guest-physical address of the SEV hashes table, or 0 when the build has none. */
    public long hashesTableGpa() {
        byte[] e = footerTable.get(SEV_HASH_TABLE_GUID);
        return e == null ? 0 : u32(e, 0, "SEV hash table entry");
    }

    /** Size in bytes of the SEV hashes table's area, or 0 when the build has none. */
    public long hashesTableSize() {
        byte[] e = footerTable.get(SEV_HASH_TABLE_GUID);
        return e == null || e.length < 8 ? 0 : u32(e, 4, "SEV hash table entry");
    }

    /** Whether this build can start an SNP guest at all: SEV metadata sections and an SEV-ES reset block (the APs' entry). */
    public boolean supportsSnp() {
        return !sections.isEmpty() && apResetEip().isPresent();
    }

    /**
     * Whether QEMU can measure a direct-boot kernel with this firmware: it must say where the
     * hashes table goes (AmdSev builds do; the generic OvmfX64 build does not).
     */
    public boolean supportsKernelHashes() {
        return hashesTableGpa() != 0;
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) b.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\x%02x", (int) c));
        return b.toString();
    }

    private static int u16(byte[] b, int at) {
        return ByteBuffer.wrap(b, at, 2).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xffff;
    }

    private static long u32(byte[] b, int at, String what) {
        if (at < 0 || at + 4 > b.length) {
            throw new FirmwareFormatException(what + " is " + b.length + " bytes; expected at least " + (at + 4));
        }
        return ByteBuffer.wrap(b, at, 4).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xffffffffL;
    }
}
