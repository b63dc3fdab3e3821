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
    void mountFilesRoundTripSortedByPathAndHostileOnesAreRefused() throws Exception {
        EnforcementRequest.CreateContainer web = (EnforcementRequest.CreateContainer) Fixtures.webCreate("c1");
        List<FileDigest> files = List.of(new FileDigest("z.conf", "b".repeat(64)), new FileDigest("conf/a.yaml", "a".repeat(64)));
        EnforcementRequest.CreateContainer create = new EnforcementRequest.CreateContainer(web.containerID(), web.argList(),
                web.envList(), web.workingDir(), List.of(new EnforcementRequest.Mount("/etc/app", "/run/c/files/configmap/app", "bind",
                List.of("rbind", "ro"), files)), web.privileged(), web.noNewPrivileges(), web.user(), web.groups(), web.umask(),
                web.capabilities(), web.seccompProfileSHA256(), web.devices(), web.hostname());
        JsonNode mount = RequestCodec.toInput(create).path("mounts").get(0);
        assertEquals("conf/a.yaml", mount.path("files").get(0).path("path").asText(), "sorted by path: " + mount);
        assertEquals(create, RequestCodec.fromJson(RequestCodec.toJson(create)));
        // Azure's input has no files: none; a path escaping the volume, a digest that is not one, a file twice: refused
        assertEquals(List.of(), ((EnforcementRequest.CreateContainer) RequestCodec.fromJson(RequestCodec.toJson(web))).mounts()
                .stream().flatMap(m -> m.files().stream()).toList());
        for (String bad : List.of("{\"path\": \"../etc/shadow\", \"sha256\": \"" + "a".repeat(64) + "\"}",
                "{\"path\": \"a\", \"sha256\": \"ABC\"}",
                "{\"path\": \"a\", \"sha256\": \"" + "a".repeat(64) + "\"}, {\"path\": \"a\", \"sha256\": \"" + "b".repeat(64) + "\"}")) {
            var json = (com.fasterxml.jackson.databind.node.ObjectNode) RequestCodec.toJson(create);
            ((com.fasterxml.jackson.databind.node.ObjectNode) json.path("input").path("mounts").get(0))
                    .set("files", new com.fasterxml.jackson.databind.ObjectMapper().readTree("[" + bad + "]"));
            assertThrows(IllegalArgumentException.class, () -> RequestCodec.fromJson(json), bad);
        }
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
