package dev.coffer.channel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The generation claim as both ends read it: what the vault writes reads back, anything else is refused by name. */
class VolumeGenerationTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode payload(Object claim) {
        return JSON.valueToTree(Map.of(VolumeGeneration.CLAIM, claim));
    }

    private static String refused(String claimJson, String key) throws Exception {
        JsonNode p = JSON.readTree("{\"" + VolumeGeneration.CLAIM + "\": " + claimJson + "}");
        return assertThrows(ChannelFormatException.class, () -> VolumeGeneration.read(p, key, "the answer")).getMessage();
    }

    @Test
    void whatTheVaultWritesReadsBack() {
        VolumeGeneration current = VolumeGeneration.current("vol", 7);
        assertEquals(current, VolumeGeneration.read(payload(current.toJson()), "vol", "the release"));
        VolumeGeneration advanced = VolumeGeneration.advanced("vol", 7, 8, "a.b.c");
        assertEquals(advanced, VolumeGeneration.read(payload(advanced.toJson()), "vol/0123abcd", "the answer"),
                "a versioned kid names the same volume key: the generation is per key name");
        assertEquals(64, advanced.targetSha256().length());
        assertNotEquals(advanced.targetSha256(), VolumeGeneration.targetDigest("a.b.d"));
    }

    @Test
    void malformedOrForeignGenerationsAreRefusedByName() throws Exception {
        assertTrue(assertThrows(ChannelFormatException.class, () -> VolumeGeneration.read(JSON.readTree("{}"), "vol", "the release"))
                .getMessage().contains("upgrade coffer server"));
        assertTrue(refused("\"7\"", "vol").contains("found none"), "not an object");
        assertTrue(refused("{\"key\": \"other\", \"generation\": 1}", "vol").contains("expected the generation of key 'vol'"));
        assertTrue(refused("{\"key\": \"vol\", \"generation\": -1}", "vol").contains("non-negative integer generation"));
        assertTrue(refused("{\"key\": \"vol\", \"generation\": 1.5}", "vol").contains("found 1.5"));
        assertTrue(refused("{\"key\": \"vol\", \"generation\": \"3\"}", "vol").contains("non-negative integer generation"));
        assertTrue(refused("{\"key\": \"vol\", \"generation\": 99999999999999999999999}", "vol").contains("non-negative integer"));
        assertTrue(refused("{\"key\": \"vol\", \"generation\": 2, \"previous\": -1}", "vol").contains("previous generation"));
        assertTrue(refused("{\"key\": \"vol\", \"generation\": 2, \"previous\": \"1\"}", "vol").contains("previous generation"));
        assertThrows(IllegalArgumentException.class, () -> VolumeGeneration.current("vol", -1));
    }
}
