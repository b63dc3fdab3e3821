package dev.coffer.policy.spec;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EncryptedVolumeSpecTest {
    static String spec(String volume, String mount) {
        return """
                name: vault-app
                containers:
                  - name: app
                    image: demo:latest
                    volumeMounts:
                %s
                volumes:
                %s
                """.formatted(mount.indent(6).stripTrailing(), volume.indent(2).stripTrailing());
    }

    static final String FILE_VOLUME = """
            - name: data
              encrypted:
                source: data.img
                key: data-key
                authority: http://127.0.0.1:8443
                vault: http://127.0.0.1:8443
            """;
    static final String MOUNT = "- {name: data, mountPath: /data}";

    private static SpecException bad(String volume, String mount) {
        return assertThrows(SpecException.class, () -> GroupSpecParser.parse(spec(volume, mount), "g.yaml"));
    }

    @Test
    void parsesAFileVolumeReadWriteByDefault() throws Exception {
        GroupSpec g = GroupSpecParser.parse(spec(FILE_VOLUME, MOUNT), "g.yaml");
        GroupSpec.VolumeSpec v = g.volumes().getFirst();
        assertEquals(GroupSpec.VolumeSpec.Kind.ENCRYPTED, v.kind());
        assertEquals(new GroupSpec.Encrypted("data.img", "data-key", "http://127.0.0.1:8443", "http://127.0.0.1:8443", false),
                v.encrypted());
        assertFalse(v.encrypted().remote());
        assertEquals(List.of(new GroupSpec.VolumeMount("data", "/data", false)), g.containers().getFirst().volumeMounts());
    }

    @Test
    void urlVolumesAreReadOnlyAndEndpointsMayComeFromTheRuntime() throws Exception {
        GroupSpec g = GroupSpecParser.parse(spec("""
                - name: data
                  encrypted: {source: "https://files.example/data.img", key: data-key}
                """, "- {name: data, mountPath: /data, readOnly: true}"), "g.yaml");
        GroupSpec.Encrypted e = g.volumes().getFirst().encrypted();
        assertTrue(e.readOnly());
        assertTrue(e.remote());
        assertEquals("", e.authority());
        assertEquals("", e.vault());
        assertNull(GroupSpecParser.parse(spec("- {name: data, emptyDir: {}}", MOUNT), "g.yaml").volumes().getFirst().encrypted());
    }

    @Test
    void aUrlVolumeCannotBeWritable() {
        SpecException e = bad("""
                - name: data
                  encrypted: {source: "https://files.example/data.img", key: k, readOnly: false}
                """, MOUNT);
        assertTrue(e.getMessage().contains("volumes[0].encrypted.readOnly"), e.getMessage());
        assertTrue(e.getMessage().contains("expected readOnly: true"), e.getMessage());
        assertEquals(9, e.line(), e.getMessage());
    }

    @Test
    void aReadOnlyVolumeMountedWritableIsAnError() {
        SpecException e = bad("""
                - name: data
                  encrypted: {source: data.img, key: k, readOnly: true}
                """, MOUNT);
        assertTrue(e.getMessage().contains("containers[0].volumeMounts[0].readOnly"), e.getMessage());
        assertTrue(e.getMessage().contains("opened read-only"), e.getMessage());
    }

    @Test
    void missingAndMalformedFieldsAreNamedWithTheirLine() {
        SpecException noKey = bad("""
                - name: data
                  encrypted:
                    source: data.img
                """, MOUNT);
        assertTrue(noKey.getMessage().contains("volumes[0].encrypted.key"), noKey.getMessage());
        assertEquals(10, noKey.line(), noKey.getMessage());

        SpecException badKey = bad("""
                - name: data
                  encrypted: {source: data.img, key: "my key!"}
                """, MOUNT);
        assertTrue(badKey.getMessage().contains("expected a vault key name"), badKey.getMessage());

        SpecException badUrl = bad("""
                - name: data
                  encrypted: {source: data.img, key: k, vault: "ftp://vault"}
                """, MOUNT);
        assertTrue(badUrl.getMessage().contains("volumes[0].encrypted.vault"), badUrl.getMessage());
        assertTrue(badUrl.getMessage().contains("expected an http(s) URL"), badUrl.getMessage());

        SpecException badSource = bad("""
                - name: data
                  encrypted: {source: "s3://bucket/data.img", key: k}
                """, MOUNT);
        assertTrue(badSource.getMessage().contains("expected a volume file path"), badSource.getMessage());

        SpecException unknown = bad("""
                - name: data
                  encrypted: {source: data.img, key: k, cipher: aes}
                """, MOUNT);
        assertTrue(unknown.getMessage().contains("unknown field \"cipher\""), unknown.getMessage());

        SpecException both = bad("""
                - name: data
                  emptyDir: {}
                  encrypted: {source: data.img, key: k}
                """, MOUNT);
        assertTrue(both.getMessage().contains("found both emptyDir and encrypted"), both.getMessage());

        SpecException otherKind = bad("""
                - name: data
                  hostPath: {path: /etc}
                """, MOUNT);
        assertTrue(otherKind.getMessage().contains("expected a volume kind, emptyDir or encrypted, found \"hostPath\""),
                otherKind.getMessage());

        SpecException notMapping = bad("""
                - name: data
                  encrypted: data.img
                """, MOUNT);
        assertTrue(notMapping.getMessage().contains("expected a mapping"), notMapping.getMessage());
    }

    @Test
    void theExampleGroupParses() throws Exception {
        GroupSpec g = GroupSpecParser.parse(java.nio.file.Path.of("..", "examples", "encrypted-volume", "group.yaml"));
        GroupSpec.Encrypted e = g.volumes().getFirst().encrypted();
        assertEquals("counter-key", e.key());
        assertEquals("http://127.0.0.1:8400", e.vault());
        assertFalse(e.readOnly());
    }
}
