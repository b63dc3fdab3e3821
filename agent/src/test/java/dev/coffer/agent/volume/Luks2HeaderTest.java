package dev.coffer.agent.volume;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Header validation with volumes made by the real {@code cryptsetup luksFormat} (through
 * {@link EncryptedVolume#create}), then edited as an attacker on the host would: with cryptsetup
 * itself where it can (an extra keyslot, a token), else by rewriting the JSON metadata and
 * recomputing the unkeyed checksums, which is all the null-cipher attack needs. No device-mapper
 * is needed: nothing here is opened.
 */
public class Luks2HeaderTest {
    @TempDir
    static Path dir;
    static Path genuine;
    static byte[] key;

    @BeforeAll
    static void makeVolume() {
        key = new byte[32];
        new SecureRandom().nextBytes(key);
        genuine = dir.resolve("genuine.img");
        // plain XTS: the one format this host (no device-mapper) can make; the authenticated shape is checked below
        EncryptedVolume.create(genuine, 32L << 20, key, VolumeIntegrity.NONE);
    }

    private static Path copy(String name) throws Exception {
        Path p = dir.resolve(name);
        Files.deleteIfExists(p);
        Files.copy(genuine, p);
        return p;
    }

    private static String json(byte[] headers, int copy) {
        int start = copy * Luks2Header.HEADER_SIZE + 4096;
        int end = start;
        while (headers[end] != 0) end++;
        return new String(headers, start, end - start, StandardCharsets.UTF_8);
    }

    /** Rewrites the JSON of the chosen copies and recomputes their checksums, as cryptsetup's own writer would. */
    public static void editJson(Path file, UnaryOperator<String> edit, boolean primary, boolean secondary) throws Exception {
        byte[] h = new byte[2 * Luks2Header.HEADER_SIZE];
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ch.read(ByteBuffer.wrap(h), 0);
            for (int copy = 0; copy < 2; copy++) {
                if ((copy == 0 && !primary) || (copy == 1 && !secondary)) continue;
                int base = copy * Luks2Header.HEADER_SIZE;
                byte[] text = edit.apply(json(h, copy)).getBytes(StandardCharsets.UTF_8);
                assertTrue(text.length < Luks2Header.HEADER_SIZE - 4096, "edited metadata fits the JSON area");
                Arrays.fill(h, base + 4096, base + Luks2Header.HEADER_SIZE, (byte) 0);
                System.arraycopy(text, 0, h, base + 4096, text.length);
                Arrays.fill(h, base + 448, base + 512, (byte) 0);
                byte[] sum = Luks2Header.sha256(Arrays.copyOfRange(h, base, base + Luks2Header.HEADER_SIZE));
                System.arraycopy(sum, 0, h, base + 448, sum.length);
            }
            ch.write(ByteBuffer.wrap(h), 0);
        }
    }

    private static VolumeException refused(Path file, VolumeIntegrity integrity, String pinned) {
        return assertThrows(VolumeException.class, () -> Luks2Header.read(file).requireCofferShape(integrity, pinned));
    }

    private static void assertUnchangedAndRefused(Path file, VolumeIntegrity integrity, String pinned, String... phrases) throws Exception {
        byte[] before = Files.readAllBytes(file);
        VolumeException e = refused(file, integrity, pinned);
        assertEquals(VolumeException.Reason.INVALID, e.reason());
        for (String p : phrases) assertTrue(e.getMessage().contains(p), e.getMessage());
        assertTrue(e.getMessage().startsWith("LUKS2 header of " + file), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(file), "checking a header writes nothing");
    }

    @Test
    void theGenuineHeaderHasCofferShapeAndAStableDigest() {
        Luks2Header h = Luks2Header.read(genuine);
        h.requireCofferShape(VolumeIntegrity.NONE, h.digest());
        assertTrue(h.digest().matches("[0-9a-f]{64}"), h.digest());
        assertEquals(h.digest(), Luks2Header.read(genuine).digest());
        assertEquals("none", h.integrityType());
        String dump = Tool.require(List.of("cryptsetup", "luksDump", genuine.toString()), null, 60, "dump").out();
        assertTrue(dump.contains(h.uuid()), dump);
        // the digest is of the primary header area: the same bytes sha256sum sees
        String sum = Tool.require(List.of("sh", "-c", "head -c " + Luks2Header.HEADER_SIZE + " '" + genuine + "' | sha256sum"), null, 30, "sha256sum").out();
        assertEquals(h.digest(), sum.substring(0, 64));
    }

    /** CVE-2025-59054: the genuine keyslot kept, the segment switched to cipher_null, the unkeyed checksum fixed. */
    @Test
    void theNullCipherHeaderIsRefusedThoughCryptsetupAcceptsIt() throws Exception {
        Path evil = copy("null-cipher.img");
        String pinned = Luks2Header.read(evil).digest();
        editJson(evil, j -> j.replace("\"encryption\":\"aes-xts-plain64\",\"sector_size\"", "\"encryption\":\"cipher_null-ecb\",\"sector_size\""), true, true);
        assertTrue(json(Files.readAllBytes(evil), 0).contains("cipher_null-ecb"));
        // the attack is real: stock cryptsetup takes the edited header and the genuine key unlocks it
        String dump = Tool.require(List.of("cryptsetup", "luksDump", evil.toString()), null, 60, "dump").out();
        assertTrue(dump.contains("cipher_null-ecb"), dump);
        EncryptedVolume.checkKey(evil, key);
        // Coffer refuses it by shape, and by the pinned digest
        assertUnchangedAndRefused(evil, VolumeIntegrity.NONE, null, "expected segments.0.encryption \"aes-xts-plain64\", found \"cipher_null-ecb\"");
        assertUnchangedAndRefused(evil, VolumeIntegrity.NONE, pinned, "expected the header the policy pins (sha256 " + pinned + ")");
    }

    @Test
    void anExtraKeyslotMadeByCryptsetupIsRefused() throws Exception {
        Path two = copy("two-keyslots.img");
        Path other = dir.resolve("other-passphrase");
        Files.writeString(other, "the host knows this one");
        Tool.require(List.of("cryptsetup", "luksAddKey", "--batch-mode", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000",
                "--key-file=-", two.toString(), other.toString()), key, 120, "luksAddKey");
        assertUnchangedAndRefused(two, VolumeIntegrity.NONE, null, "expected exactly one entry \"0\" in keyslots, found [0, 1]",
                "a second way to the volume key");
    }

    @Test
    void aTokenImportedByCryptsetupIsRefused() throws Exception {
        Path tokened = copy("token.img");
        Tool.require(List.of("cryptsetup", "token", "import", "--json-file=-", tokened.toString()),
                "{\"type\":\"host-helper\",\"keyslots\":[]}".getBytes(StandardCharsets.UTF_8), 60, "token import");
        assertUnchangedAndRefused(tokened, VolumeIntegrity.NONE, null, "expected no tokens, found [0]");
    }

    @Test
    void anotherVolumesHeaderDiffersFromThePinnedDigest() throws Exception {
        Path other = dir.resolve("other.img");
        Files.deleteIfExists(other);
        EncryptedVolume.create(other, 32L << 20, key, VolumeIntegrity.NONE);
        String pinned = Luks2Header.read(genuine).digest();
        Luks2Header o = Luks2Header.read(other);
        o.requireCofferShape(VolumeIntegrity.NONE, null);
        assertNotEquals(pinned, o.digest());
        assertUnchangedAndRefused(other, VolumeIntegrity.NONE, pinned, "expected the header the policy pins (sha256 " + pinned
                + "), found sha256 " + o.digest());
    }

    @Test
    void metadataEditsEachNameTheField() throws Exception {
        record Case(String name, UnaryOperator<String> edit, String phrase) {}
        List<Case> cases = List.of(
                new Case("sector", j -> j.replace("\"sector_size\":4096", "\"sector_size\":512"), "expected segments.0.sector_size 4096, found 512"),
                new Case("offset", j -> j.replace("\"offset\":\"16777216\"", "\"offset\":\"4194304\""), "expected segments.0.offset \"16777216\", found \"4194304\""),
                new Case("reencrypt", j -> j.replace("\"keyslots_size\":\"16744448\"}", "\"keyslots_size\":\"16744448\",\"requirements\":{\"mandatory\":[\"online-reencrypt-v2\"]}}"),
                        "expected config to hold exactly [json_size, keyslots_size], found also [requirements]"),
                new Case("flags", j -> j.replace("\"keyslots_size\":\"16744448\"}", "\"keyslots_size\":\"16744448\",\"flags\":[\"allow-discards\"]}"),
                        "found also [flags]"),
                new Case("kdf", j -> j.replace("\"type\":\"pbkdf2\",\"hash\":\"sha256\",\"iterations\":1000", "\"type\":\"pbkdf2\",\"hash\":\"sha1\",\"iterations\":1000"),
                        "expected keyslots.0.kdf.hash \"sha256\", found \"sha1\""),
                new Case("area", j -> j.replace("\"encryption\":\"aes-xts-plain64\",\"key_size\":64", "\"encryption\":\"aes-cbc-plain64\",\"key_size\":64"),
                        "expected keyslots.0.area.encryption \"aes-xts-plain64\", found \"aes-cbc-plain64\""),
                new Case("priority", j -> j.replace("\"type\":\"luks2\",\"key_size\":64", "\"type\":\"luks2\",\"priority\":2,\"key_size\":64"),
                        "expected keyslots.0 to hold exactly"),
                // json-c keeps the last of two equal keys; refusing duplicates leaves nothing for the parsers to disagree on
                new Case("duplicate", j -> j.replace("\"encryption\":\"aes-xts-plain64\",\"sector_size\"",
                        "\"encryption\":\"aes-xts-plain64\",\"encryption\":\"cipher_null-ecb\",\"sector_size\""), "repeats a key"),
                new Case("not-json", j -> j.substring(0, j.length() - 1), "does not parse"));
        for (Case c : cases) {
            Path p = copy("edit-" + c.name() + ".img");
            String before = json(Files.readAllBytes(p), 0);
            editJson(p, c.edit(), true, true);
            assertNotEquals(before, json(Files.readAllBytes(p), 0), c.name() + ": the edit applies to cryptsetup's JSON");
            assertUnchangedAndRefused(p, VolumeIntegrity.NONE, null, c.phrase());
        }
    }

    @Test
    void binaryDamageIsRefused() throws Exception {
        Path primaryOnly = copy("primary-only.img");
        editJson(primaryOnly, j -> j.replace("\"iterations\":1000,\"salt\"", "\"iterations\":1001,\"salt\""), true, false);
        assertUnchangedAndRefused(primaryOnly, VolumeIntegrity.NONE, null, "expected the primary and secondary header copies to agree");

        Path badSum = copy("bad-checksum.img");
        try (FileChannel ch = FileChannel.open(badSum, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {' '}), 4096 + 2); // inside the JSON text, checksum left as it was
        }
        assertUnchangedAndRefused(badSum, VolumeIntegrity.NONE, null, "expected the primary header's checksum");

        Path label = copy("label.img");
        Tool.require(List.of("cryptsetup", "config", "--label", "hello", label.toString()), null, 60, "label");
        assertUnchangedAndRefused(label, VolumeIntegrity.NONE, null, "header's label", "to be zero");

        Path luks1 = dir.resolve("luks1.img");
        Files.deleteIfExists(luks1);
        try (FileChannel ch = FileChannel.open(luks1, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[1]), (20L << 20) - 1);
        }
        Tool.require(List.of("cryptsetup", "luksFormat", "--batch-mode", "--type", "luks1", "--pbkdf-force-iterations", "1000",
                "--key-file=-", luks1.toString()), key, 120, "luks1");
        assertUnchangedAndRefused(luks1, VolumeIntegrity.NONE, null, "expected LUKS version 2 in the primary header, found 1");

        Path notLuks = dir.resolve("zeros.img");
        Files.write(notLuks, new byte[(int) Luks2Header.DATA_OFFSET]);
        assertUnchangedAndRefused(notLuks, VolumeIntegrity.NONE, null, "this is not a LUKS2 volume");

        Path tiny = dir.resolve("tiny.img");
        Files.write(tiny, new byte[4096]);
        assertUnchangedAndRefused(tiny, VolumeIntegrity.NONE, null, "expected at least 32768 bytes of LUKS2 headers, found 4096");
    }

    /**
     * The authenticated shape: what luksFormat --integrity hmac-sha256 writes (segment integrity
     * object, a 96-byte volume key: XTS and HMAC keys). This host has no device-mapper to make one,
     * so it is built from the genuine header as cryptsetup 2.6 lays it out; the microVM test makes
     * real ones.
     */
    @Test
    void theAuthenticatedShapeAndTheModePinnedByThePolicy() throws Exception {
        Path auth = copy("auth-shape.img");
        editJson(auth, j -> j.replace("\"type\":\"luks2\",\"key_size\":64", "\"type\":\"luks2\",\"key_size\":96")
                .replace("\"encryption\":\"aes-xts-plain64\",\"sector_size\":4096}",
                        "\"encryption\":\"aes-xts-plain64\",\"sector_size\":4096,\"integrity\":{\"type\":\"hmac(sha256)\","
                                + "\"journal_encryption\":\"none\",\"journal_integrity\":\"none\"}}")
                .replaceFirst("\"size\":\"258048\"", "\"size\":\"385024\""), true, true);
        Luks2Header h = Luks2Header.read(auth);
        h.requireCofferShape(VolumeIntegrity.HMAC_SHA256, h.digest());
        assertEquals("hmac(sha256)", h.integrityType());
        // the policy's mode decides: plain XTS where it pins hmac-sha256 is refused, and the other way round
        assertUnchangedAndRefused(genuine, VolumeIntegrity.HMAC_SHA256, null, "expected segments.0 to hold exactly", "no [integrity]");
        assertUnchangedAndRefused(auth, VolumeIntegrity.NONE, null, "found also [integrity]");
        // a weaker integrity algorithm in the same place
        Path crc = copy("auth-crc.img");
        Files.copy(auth, crc, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        editJson(crc, j -> j.replace("hmac(sha256)", "crc32c"), true, true);
        assertUnchangedAndRefused(crc, VolumeIntegrity.HMAC_SHA256, null, "expected segments.0.integrity.type \"hmac(sha256)\", found \"crc32c\"");
    }

    @Test
    void integrityModesAreNamedPrecisely() {
        assertEquals(VolumeIntegrity.HMAC_SHA256, VolumeIntegrity.of("hmac-sha256"));
        assertEquals(VolumeIntegrity.NONE, VolumeIntegrity.of("none"));
        VolumeException e = assertThrows(VolumeException.class, () -> VolumeIntegrity.of("crc32c"));
        assertTrue(e.getMessage().contains("\"hmac-sha256\" or \"none\", found \"crc32c\""), e.getMessage());
        // the policy module's list of modes is this enum's, declared where the spec is parsed
        assertEquals(dev.coffer.policy.spec.GroupSpec.Encrypted.INTEGRITY_MODES,
                Arrays.stream(VolumeIntegrity.values()).map(VolumeIntegrity::id).toList());
    }
}
