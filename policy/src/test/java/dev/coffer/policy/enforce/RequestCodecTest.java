package dev.coffer.policy.enforce;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RequestCodecTest {
    @Test
    void everyCatalogueRequestRoundTripsThroughAzureInputJson() {
        int n = 0;
        for (HostileHostCatalogueTest.Hostile h : HostileHostCatalogueTest.catalogue()) {
            JsonNode json = RequestCodec.toJson(h.request());
            assertEquals(h.request(), RequestCodec.fromJson(json), h.name());
            n++;
        }
        assertTrue(n >= 40);
        EnforcementRequest create = Fixtures.webCreate("c1");
        assertEquals(create, RequestCodec.fromJson(RequestCodec.toJson(create)));
    }

    @Test
    void inputUsesAzureFieldNames() {
        JsonNode in = RequestCodec.toInput(Fixtures.webCreate("c1"));
        for (String f : List.of("containerID", "argList", "envList", "workingDir", "mounts", "privileged", "noNewPrivileges",
                "user", "groups", "umask", "capabilities", "seccompProfileSHA256")) {
            assertTrue(in.has(f), f);
        }
        JsonNode sig = RequestCodec.toInput(new EnforcementRequest.SignalContainerProcess("c", 15, true, List.of()));
        assertTrue(sig.path("isInitProcess").asBoolean());
        JsonNode frag = RequestCodec.toInput(new EnforcementRequest.LoadFragment("i", "f", "n", true));
        assertTrue(frag.path("fragment_loaded").asBoolean());
    }

    @Test
    void malformedRequestsAreRefusedWithTheField() throws Exception {
        var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        var e = assertThrows(IllegalArgumentException.class, () -> RequestCodec.fromJson(mapper.readTree(
                "{\"rule\": \"create_container\", \"input\": {\"containerID\": \"c\"}}")));
        assertTrue(e.getMessage().startsWith("invalid create_container input: missing field"), e.getMessage());
        var nulls = assertThrows(IllegalArgumentException.class, () -> RequestCodec.fromJson(mapper.readTree(
                "{\"rule\": \"mount_overlay\", \"input\": {\"containerID\": \"c\", \"target\": \"t\", \"layerPaths\": [null]}}")));
        assertTrue(nulls.getMessage().contains("layerPaths"), nulls.getMessage());
        var type = assertThrows(IllegalArgumentException.class, () -> RequestCodec.fromJson(mapper.readTree(
                "{\"rule\": \"signal_container_process\", \"input\": {\"containerID\": \"c\", \"signal\": \"KILL\", \"isInitProcess\": true}}")));
        assertTrue(type.getMessage().startsWith("invalid signal_container_process input"), type.getMessage());
        assertThrows(IllegalArgumentException.class, () -> RequestCodec.fromJson(mapper.readTree("{\"input\": {}}")));
        assertThrows(IllegalArgumentException.class, () -> RequestCodec.fromJson(mapper.readTree("[1]")));
        assertThrows(IllegalArgumentException.class, () -> RequestCodec.fromJson("mount_device", mapper.readTree("[]")));
    }
}
