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

    static final String DIGEST = "ab".repeat(32);
    /** The pinned fields every encrypted volume needs, for the flow-style specs below. */
    static final String PINS = "authority: \"http://127.0.0.1:8443\", vault: \"http://127.0.0.1:8443\", headerDigest: " + DIGEST;
    static final String FILE_VOLUME = """
            - name: data
              encrypted:
                source: data.img
                key: data-key
                authority: http://127.0.0.1:8443
                vault: http://127.0.0.1:8443
                headerDigest: %s
            """.formatted(DIGEST);
    static final String MOUNT = "- {name: data, mountPath: /data}";

    private static SpecException bad(String volume, String mount) {
        return assertThrows(SpecException.class, () -> GroupSpecParser.parse(spec(volume, mount), "g.yaml"));
    }

    @Test
    void parsesAFileVolumeReadWriteByDefault() throws Exception {
        GroupSpec g = GroupSpecParser.parse(spec(FILE_VOLUME, MOUNT), "g.yaml");
        GroupSpec.VolumeSpec v = g.volumes().getFirst();
        assertEquals(GroupSpec.VolumeSpec.Kind.ENCRYPTED, v.kind());
        assertEquals(new GroupSpec.Encrypted("data.img", "data-key", "http://127.0.0.1:8443", "http://127.0.0.1:8443", false,
                DIGEST, "hmac-sha256"), v.encrypted());
        assertFalse(v.encrypted().remote());
        assertEquals(List.of(new GroupSpec.VolumeMount("data", "/data", false)), g.containers().getFirst().volumeMounts());
    }

    @Test
    void urlVolumesAreReadOnlyAndPlainXtsIsExplicit() throws Exception {
        GroupSpec g = GroupSpecParser.parse(spec("""
                - name: data
                  encrypted: {source: "https://files.example/data.img", key: data-key, integrity: none, %s}
                """.formatted(PINS), "- {name: data, mountPath: /data, readOnly: true}"), "g.yaml");
        GroupSpec.Encrypted e = g.volumes().getFirst().encrypted();
        assertTrue(e.readOnly());
        assertTrue(e.remote());
        assertEquals("none", e.integrity());
        assertEquals("http://127.0.0.1:8443", e.vault());
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
                  encrypted: {source: data.img, key: k, readOnly: true, %s}
                """.formatted(PINS), MOUNT);
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
                  encrypted: {source: data.img, key: k, authority: "http://127.0.0.1:8443", vault: "ftp://vault"}
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

    /** Endpoints and the header are always pinned: each missing one is named with the field to add. */
    @Test
    void aVolumeWithoutEndpointsOrHeaderDigestIsRefused() {
        SpecException noAuthority = bad("""
                - name: data
                  encrypted: {source: data.img, key: k, vault: "http://127.0.0.1:8443", headerDigest: %s}
                """.formatted(DIGEST), MOUNT);
        assertTrue(noAuthority.getMessage().contains("volumes[0].encrypted.authority"), noAuthority.getMessage());
        assertTrue(noAuthority.getMessage().contains("expected the attestation service"), noAuthority.getMessage());

        SpecException noVault = bad("""
                - name: data
                  encrypted: {source: data.img, key: k, authority: "http://127.0.0.1:8443", headerDigest: %s}
                """.formatted(DIGEST), MOUNT);
        assertTrue(noVault.getMessage().contains("volumes[0].encrypted.vault"), noVault.getMessage());
        assertTrue(noVault.getMessage().contains("expected the key vault holding key k"), noVault.getMessage());

        SpecException noDigest = bad("""
                - name: data
                  encrypted: {source: data.img, key: k, authority: "http://127.0.0.1:8443", vault: "http://127.0.0.1:8443"}
                """, MOUNT);
        assertTrue(noDigest.getMessage().contains("volumes[0].encrypted.headerDigest"), noDigest.getMessage());
        assertTrue(noDigest.getMessage().contains("printed by coffer volume create"), noDigest.getMessage());

        SpecException shortDigest = bad("""
                - name: data
                  encrypted: {source: data.img, key: k, authority: "http://127.0.0.1:8443", vault: "http://127.0.0.1:8443", headerDigest: abc}
                """, MOUNT);
        assertTrue(shortDigest.getMessage().contains("found \"abc\""), shortDigest.getMessage());

        SpecException badMode = bad("""
                - name: data
                  encrypted: {source: data.img, key: k, integrity: crc32c, %s}
                """.formatted(PINS), MOUNT);
        assertTrue(badMode.getMessage().contains("volumes[0].encrypted.integrity"), badMode.getMessage());
        assertTrue(badMode.getMessage().contains("[hmac-sha256, none]"), badMode.getMessage());
    }

    @Test
    void theExampleGroupParses() throws Exception {
        GroupSpec g = GroupSpecParser.parse(java.nio.file.Path.of("..", "examples", "encrypted-volume", "group.yaml"));
        GroupSpec.Encrypted e = g.volumes().getFirst().encrypted();
        assertEquals("counter-key", e.key());
        assertEquals("https://127.0.0.1:8400", e.vault());
        assertFalse(e.readOnly());
    }
}
