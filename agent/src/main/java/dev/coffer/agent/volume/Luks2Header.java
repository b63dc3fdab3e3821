package dev.coffer.agent.volume;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Set;
import java.util.TreeSet;

/**
 * A LUKS2 header read and checked by Coffer itself, before cryptsetup or the key sees it. The host
 * owns the disk, and LUKS2 metadata is not authenticated by the key (its checksum is unkeyed): a
 * host can keep the genuine keyslot and rewrite the data segment's cipher to {@code cipher_null}
 * (CVE-2025-59054, CVE-2025-58356), so the real key unlocks a mapping that writes plain text.
 * This class therefore accepts exactly the header {@code coffer volume create} writes and nothing
 * else: both binary headers intact and identical, and metadata with one keyslot, one
 * {@code aes-xts-plain64} segment with 4 KiB sectors at 16 MiB (with the expected integrity), one
 * digest, no tokens, no flags, no requirements (so no reencryption).
 *
 * <p>{@link #digest()} is the SHA-256 of the primary header area (binary header and JSON metadata,
 * {@value #HEADER_SIZE} bytes): what {@code coffer volume create} prints and the policy pins. It
 * covers the UUID, the keyslot's salt and the volume key's digest, so a header is pinned to one
 * volume key. The keyslot area (the wrapped key) is not covered: changing it only makes the key
 * fail to unlock.
 *
 * <p>The bytes checked are kept ({@link #bytes()}) and handed to cryptsetup as a detached header,
 * so the host cannot swap the header between this check and cryptsetup's read.
 */
public final class Luks2Header {
    /** Binary header and JSON area of one copy: cryptsetup's default, the only size Coffer makes. */
    public static final int HEADER_SIZE = 16384;
    /** Where the keyslot area starts: after both header copies. */
    static final long KEYSLOTS_OFFSET = 2L * HEADER_SIZE;
    /** The keyslot area's size, cryptsetup's default for a 16 MiB data offset. */
    static final long KEYSLOTS_SIZE = 16744448L;
    /** Where the encrypted data starts: the header copies and keyslot area take 16 MiB. */
    public static final long DATA_OFFSET = KEYSLOTS_OFFSET + KEYSLOTS_SIZE;
    static final String CIPHER = EncryptedVolume.CIPHER;
    static final int AF_STRIPES = 4000;
    static final int MIN_ITERATIONS = 1000;

    private static final byte[] MAGIC_PRIMARY = {'L', 'U', 'K', 'S', (byte) 0xba, (byte) 0xbe};
    private static final byte[] MAGIC_SECONDARY = {'S', 'K', 'U', 'L', (byte) 0xba, (byte) 0xbe};
    private static final int OFF_VERSION = 6, OFF_HDR_SIZE = 8, OFF_SEQID = 16, OFF_LABEL = 24, OFF_CSUM_ALG = 72,
            OFF_UUID = 168, OFF_SUBSYSTEM = 208, OFF_HDR_OFFSET = 256, OFF_PADDING = 264, OFF_CSUM = 448, OFF_PADDING4096 = 512,
            OFF_JSON = 4096;
    private static final int CSUM_LEN = 64, SHA256_LEN = 32;
    private static final java.util.regex.Pattern UUID = java.util.regex.Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
    // json-c (cryptsetup's parser) keeps the last of duplicate keys; refusing them leaves no room for the two parsers to disagree
    private static final ObjectMapper JSON = JsonMapper.builder().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

    private final String source;
    private final byte[] bytes;
    private final String uuid;
    private final long seqid;
    private final ObjectNode metadata;
    private final String digest;

    private Luks2Header(String source, byte[] bytes, String uuid, long seqid, ObjectNode metadata, String digest) {
        this.source = source;
        this.bytes = bytes;
        this.uuid = uuid;
        this.seqid = seqid;
        this.metadata = metadata;
        this.digest = digest;
    }

    /**
     * Reads both header copies of {@code device} (an image file or a block device: its first
     * {@value #KEYSLOTS_OFFSET} bytes) and checks their binary form. Only 32 KiB are held: the
     * agent runs in a small guest.
     */
    public static Luks2Header read(Path device) {
        byte[] b = new byte[(int) KEYSLOTS_OFFSET];
        try (FileChannel ch = FileChannel.open(device, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.wrap(b);
            while (buf.hasRemaining()) {
                if (ch.read(buf, buf.position()) < 0) {
                    throw invalid(device.toString(), "expected at least " + b.length + " bytes of LUKS2 headers, found " + buf.position()
                            + "; this is not a volume made by coffer volume create");
                }
            }
        } catch (IOException e) {
            throw new VolumeException(VolumeException.Reason.FAILED, "cannot read the LUKS2 header of " + device + ": " + e.getMessage());
        }
        return parse(device.toString(), b);
    }

    /** Checks the binary form of both copies in {@code b} (the first {@value #KEYSLOTS_OFFSET} bytes) and parses the metadata. */
    static Luks2Header parse(String source, byte[] b) {
        if (b.length < KEYSLOTS_OFFSET) throw invalid(source, "expected " + KEYSLOTS_OFFSET + " header bytes, found " + b.length);
        byte[] primary = Arrays.copyOfRange(b, 0, HEADER_SIZE);
        byte[] secondary = Arrays.copyOfRange(b, HEADER_SIZE, (int) KEYSLOTS_OFFSET);
        String json = checkCopy(source, "primary", primary, MAGIC_PRIMARY, 0);
        String json2 = checkCopy(source, "secondary", secondary, MAGIC_SECONDARY, HEADER_SIZE);
        long seqid = ByteBuffer.wrap(primary).getLong(OFF_SEQID);
        long seqid2 = ByteBuffer.wrap(secondary).getLong(OFF_SEQID);
        String uuid = cString(source, primary, OFF_UUID, 40, "uuid");
        // cryptsetup "repairs" a copy that differs from the other by writing to the disk; two copies that disagree are refused instead
        // (each copy has a salt of its own: the spec makes them differ)
        String uuid2 = cString(source, secondary, OFF_UUID, 40, "uuid");
        if (seqid != seqid2 || !uuid.equals(uuid2) || !json.equals(json2)) {
            String differs = seqid != seqid2 ? "seqid " + seqid + " and " + seqid2 : !uuid.equals(uuid2) ? "uuid " + uuid + " and " + uuid2
                    : "their JSON metadata";
            throw invalid(source, "expected the primary and secondary header copies to agree (seqid, uuid and metadata),"
                    + " found different " + differs + "; the header was tampered with or damaged");
        }
        if (!UUID.matcher(uuid).matches()) throw invalid(source, "expected a lowercase UUID in the header, found \"" + uuid + "\"");
        JsonNode node;
        try {
            node = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw invalid(source, "expected JSON metadata, found text that does not parse (or repeats a key): "
                    + e.getOriginalMessage());
        }
        if (!(node instanceof ObjectNode metadata)) throw invalid(source, "expected a JSON object as metadata, found " + node.getNodeType());
        return new Luks2Header(source, Arrays.copyOf(b, (int) KEYSLOTS_OFFSET), uuid, seqid, metadata, HexFormat.of().formatHex(sha256(primary)));
    }

    /** The binary checks of one copy; returns its JSON text. */
    private static String checkCopy(String source, String which, byte[] h, byte[] magic, long expectedOffset) {
        ByteBuffer bb = ByteBuffer.wrap(h);
        if (!Arrays.equals(h, 0, magic.length, magic, 0, magic.length)) {
            throw invalid(source, "expected the " + which + " header's LUKS2 magic, found "
                    + HexFormat.of().formatHex(h, 0, magic.length) + "; this is not a LUKS2 volume");
        }
        int version = bb.getShort(OFF_VERSION) & 0xffff;
        if (version != 2) throw invalid(source, "expected LUKS version 2 in the " + which + " header, found " + version);
        long hdrSize = bb.getLong(OFF_HDR_SIZE);
        if (hdrSize != HEADER_SIZE) {
            throw invalid(source, "expected a " + HEADER_SIZE + "-byte " + which + " header (what coffer volume create makes), found "
                    + hdrSize);
        }
        long offset = bb.getLong(OFF_HDR_OFFSET);
        if (offset != expectedOffset) throw invalid(source, "expected the " + which + " header at offset " + expectedOffset + ", found " + offset);
        String alg = cString(source, h, OFF_CSUM_ALG, 32, "checksum_alg");
        if (!alg.equals("sha256")) throw invalid(source, "expected checksum algorithm sha256 in the " + which + " header, found \"" + alg + "\"");
        requireZero(source, which, "label", h, OFF_LABEL, OFF_CSUM_ALG);
        requireZero(source, which, "subsystem", h, OFF_SUBSYSTEM, OFF_HDR_OFFSET);
        requireZero(source, which, "padding", h, OFF_PADDING, OFF_CSUM);
        requireZero(source, which, "checksum tail", h, OFF_CSUM + SHA256_LEN, OFF_CSUM + CSUM_LEN);
        requireZero(source, which, "padding", h, OFF_PADDING4096, OFF_JSON);
        byte[] stored = Arrays.copyOfRange(h, OFF_CSUM, OFF_CSUM + SHA256_LEN);
        byte[] zeroed = h.clone();
        Arrays.fill(zeroed, OFF_CSUM, OFF_CSUM + CSUM_LEN, (byte) 0);
        byte[] computed = sha256(zeroed);
        if (!MessageDigest.isEqual(stored, computed)) {
            throw invalid(source, "expected the " + which + " header's checksum " + HexFormat.of().formatHex(computed) + ", found "
                    + HexFormat.of().formatHex(stored) + "; the header is damaged or was edited");
        }
        int end = OFF_JSON;
        while (end < h.length && h[end] != 0) end++;
        if (end == OFF_JSON) throw invalid(source, "expected JSON metadata in the " + which + " header, found none");
        requireZero(source, which, "JSON area after the metadata", h, end, h.length);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(h, OFF_JSON, end - OFF_JSON)).toString();
        } catch (CharacterCodingException e) {
            throw invalid(source, "expected UTF-8 JSON metadata in the " + which + " header, found other bytes");
        }
    }

    /**
     * Fails unless the metadata is exactly the shape {@code coffer volume create} writes with
     * {@code integrity}, and (when {@code pinnedDigest} is not null) the header is the pinned one.
     * Every check names the field, what was expected and what was found.
     */
    public void requireCofferShape(VolumeIntegrity integrity, String pinnedDigest) {
        if (pinnedDigest != null && !pinnedDigest.equals(digest)) {
            throw invalid(source, "expected the header the policy pins (sha256 " + pinnedDigest + "), found sha256 " + digest
                    + "; this is not the volume the policy names, or its header was changed");
        }
        exactKeys(metadata, "", "keyslots", "tokens", "segments", "digests", "config");
        ObjectNode tokens = object(metadata, "tokens");
        if (!tokens.isEmpty()) throw invalid(source, "expected no tokens, found " + names(tokens) + "; coffer volume create adds none");

        ObjectNode config = object(metadata, "config");
        // no "flags" and no "requirements": a pending reencryption is a mandatory requirement there
        exactKeys(config, "config", "json_size", "keyslots_size");
        requireText(config, "config", "json_size", String.valueOf(HEADER_SIZE - OFF_JSON));
        requireText(config, "config", "keyslots_size", String.valueOf(KEYSLOTS_SIZE));

        ObjectNode segment = only(object(metadata, "segments"), "segments");
        String s = "segments.0";
        if (integrity.luksType() == null) {
            exactKeys(segment, s, "type", "offset", "size", "iv_tweak", "encryption", "sector_size");
        } else {
            exactKeys(segment, s, "type", "offset", "size", "iv_tweak", "encryption", "sector_size", "integrity");
            ObjectNode in = object(segment, s, "integrity");
            exactKeys(in, s + ".integrity", "type", "journal_encryption", "journal_integrity");
            requireText(in, s + ".integrity", "type", integrity.luksType());
            requireText(in, s + ".integrity", "journal_encryption", "none");
            requireText(in, s + ".integrity", "journal_integrity", "none");
        }
        requireText(segment, s, "type", "crypt");
        requireText(segment, s, "offset", String.valueOf(DATA_OFFSET));
        requireText(segment, s, "size", "dynamic");
        requireText(segment, s, "iv_tweak", "0");
        requireText(segment, s, "encryption", CIPHER);
        requireInt(segment, s, "sector_size", EncryptedVolume.SECTOR_SIZE);

        ObjectNode keyslot = only(object(metadata, "keyslots"), "keyslots");
        String k = "keyslots.0";
        exactKeys(keyslot, k, "type", "key_size", "af", "area", "kdf");
        requireText(keyslot, k, "type", "luks2");
        requireInt(keyslot, k, "key_size", integrity.volumeKeyBytes());
        ObjectNode af = object(keyslot, k, "af");
        exactKeys(af, k + ".af", "type", "stripes", "hash");
        requireText(af, k + ".af", "type", "luks1");
        requireInt(af, k + ".af", "stripes", AF_STRIPES);
        requireText(af, k + ".af", "hash", "sha256");
        ObjectNode area = object(keyslot, k, "area");
        exactKeys(area, k + ".area", "type", "offset", "size", "encryption", "key_size");
        requireText(area, k + ".area", "type", "raw");
        requireText(area, k + ".area", "encryption", CIPHER);
        requireInt(area, k + ".area", "key_size", EncryptedVolume.VOLUME_KEY_BITS / 8);
        requireText(area, k + ".area", "offset", String.valueOf(KEYSLOTS_OFFSET));
        long areaSize = decimal(area, k + ".area", "size");
        long needed = (long) integrity.volumeKeyBytes() * AF_STRIPES;
        if (areaSize < needed || areaSize > KEYSLOTS_SIZE || areaSize % 4096 != 0) {
            throw invalid(source, "expected " + k + ".area.size a multiple of 4096 between " + needed + " and " + KEYSLOTS_SIZE
                    + ", found " + areaSize);
        }
        ObjectNode kdf = object(keyslot, k, "kdf");
        exactKeys(kdf, k + ".kdf", "type", "hash", "iterations", "salt");
        requireText(kdf, k + ".kdf", "type", "pbkdf2");
        requireText(kdf, k + ".kdf", "hash", "sha256");
        requireIterations(kdf, k + ".kdf");
        requireBase64(kdf, k + ".kdf", "salt", SHA256_LEN);

        ObjectNode digestNode = only(object(metadata, "digests"), "digests");
        String d = "digests.0";
        exactKeys(digestNode, d, "type", "keyslots", "segments", "hash", "iterations", "salt", "digest");
        requireText(digestNode, d, "type", "pbkdf2");
        requireText(digestNode, d, "hash", "sha256");
        requireOnlyZero(digestNode, d, "keyslots");
        requireOnlyZero(digestNode, d, "segments");
        requireIterations(digestNode, d);
        requireBase64(digestNode, d, "salt", SHA256_LEN);
        requireBase64(digestNode, d, "digest", SHA256_LEN);
    }

    /** SHA-256 of the primary header area, lowercase hex: what the policy pins. */
    public String digest() {
        return digest;
    }

    public String uuid() {
        return uuid;
    }

    public long seqid() {
        return seqid;
    }

    /** Both header copies as read and checked (a copy). */
    byte[] bytes() {
        return bytes.clone();
    }

    /**
     * Where keyslot 0's area lies: {offset, size} in bytes. Only for a header that passed
     * {@link #requireCofferShape} (which bounds both within the keyslot area).
     */
    long[] keyslotArea() {
        JsonNode area = metadata.path("keyslots").path("0").path("area");
        return new long[] {Long.parseLong(area.path("offset").asText()), Long.parseLong(area.path("size").asText())};
    }

    /** The integrity the metadata declares, whatever else it holds; for messages and {@code volume create}'s output. */
    public String integrityType() {
        JsonNode t = metadata.path("segments").path("0").path("integrity").path("type");
        return t.isTextual() ? t.asText() : "none";
    }

    // ---- checks ---------------------------------------------------------------------------

    private void exactKeys(ObjectNode o, String path, String... keys) {
        Set<String> expected = new TreeSet<>(Arrays.asList(keys));
        Set<String> found = new TreeSet<>();
        o.fieldNames().forEachRemaining(found::add);
        if (!found.equals(expected)) {
            Set<String> extra = new TreeSet<>(found);
            extra.removeAll(expected);
            Set<String> missing = new TreeSet<>(expected);
            missing.removeAll(found);
            throw invalid(source, "expected " + (path.isEmpty() ? "the metadata" : path) + " to hold exactly " + expected + ", found "
                    + (extra.isEmpty() ? "" : "also " + extra) + (extra.isEmpty() || missing.isEmpty() ? "" : " and ")
                    + (missing.isEmpty() ? "" : "no " + missing));
        }
    }

    private ObjectNode object(ObjectNode parent, String field) {
        return object(parent, "", field);
    }

    private ObjectNode object(ObjectNode parent, String path, String field) {
        JsonNode n = parent.get(field);
        if (!(n instanceof ObjectNode o)) throw invalid(source, "expected " + join(path, field) + " to be an object, found " + kind(n));
        return o;
    }

    /** The single entry "0" of {@code o}: Coffer's volumes have one keyslot, one segment and one digest. */
    private ObjectNode only(ObjectNode o, String path) {
        if (o.size() != 1 || !o.has("0")) {
            throw invalid(source, "expected exactly one entry \"0\" in " + path + ", found " + names(o)
                    + (path.equals("keyslots") ? "; an extra keyslot is a second way to the volume key that Coffer did not make" : ""));
        }
        return object(o, path, "0");
    }

    private void requireText(ObjectNode o, String path, String field, String expected) {
        JsonNode n = o.get(field);
        if (n == null || !n.isTextual() || !n.asText().equals(expected)) {
            throw invalid(source, "expected " + join(path, field) + " \"" + expected + "\", found " + shown(n));
        }
    }

    private void requireInt(ObjectNode o, String path, String field, int expected) {
        JsonNode n = o.get(field);
        if (n == null || !n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() != expected) {
            throw invalid(source, "expected " + join(path, field) + " " + expected + ", found " + shown(n));
        }
    }

    private void requireIterations(ObjectNode o, String path) {
        JsonNode n = o.get("iterations");
        if (n == null || !n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() < MIN_ITERATIONS) {
            throw invalid(source, "expected " + join(path, "iterations") + " an integer of at least " + MIN_ITERATIONS + ", found " + shown(n));
        }
    }

    private long decimal(ObjectNode o, String path, String field) {
        JsonNode n = o.get(field);
        if (n == null || !n.isTextual() || !n.asText().matches("[1-9][0-9]{0,17}")) {
            throw invalid(source, "expected " + join(path, field) + " a decimal string, found " + shown(n));
        }
        return Long.parseLong(n.asText());
    }

    private void requireBase64(ObjectNode o, String path, String field, int bytes) {
        JsonNode n = o.get(field);
        byte[] decoded = null;
        if (n != null && n.isTextual()) {
            try {
                decoded = Base64.getDecoder().decode(n.asText());
            } catch (IllegalArgumentException e) {
                decoded = null;
            }
        }
        if (decoded == null || decoded.length != bytes) {
            throw invalid(source, "expected " + join(path, field) + " " + bytes + " bytes in base64, found " + shown(n));
        }
    }

    private void requireOnlyZero(ObjectNode o, String path, String field) {
        JsonNode n = o.get(field);
        if (n == null || !n.isArray() || n.size() != 1 || !n.get(0).isTextual() || !n.get(0).asText().equals("0")) {
            throw invalid(source, "expected " + join(path, field) + " [\"0\"], found " + shown(n));
        }
    }

    private static void requireZero(String source, String which, String what, byte[] h, int from, int to) {
        for (int i = from; i < to; i++) {
            if (h[i] != 0) {
                throw invalid(source, "expected the " + which + " header's " + what + " (bytes " + from + "-" + (to - 1)
                        + ") to be zero, found data at byte " + i + "; coffer volume create writes none there");
            }
        }
    }

    private static String cString(String source, byte[] h, int off, int len, String field) {
        int end = off;
        while (end < off + len && h[end] != 0) end++;
        requireZero(source, "LUKS2", field + " tail", h, end, off + len);
        return new String(h, off, end - off, StandardCharsets.US_ASCII);
    }

    private static String names(ObjectNode o) {
        Set<String> n = new TreeSet<>();
        for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) n.add(it.next());
        return n.isEmpty() ? "none" : n.toString();
    }

    private static String join(String path, String field) {
        return path.isEmpty() ? field : path + "." + field;
    }

    private static String kind(JsonNode n) {
        return n == null ? "nothing" : n.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
    }

    private static String shown(JsonNode n) {
        if (n == null) return "nothing";
        String t = n.toString();
        return t.length() > 80 ? t.substring(0, 80) + "…" : t;
    }

    private static VolumeException invalid(String source, String message) {
        return new VolumeException(VolumeException.Reason.INVALID, "LUKS2 header of " + source + ": " + message);
    }

    static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
