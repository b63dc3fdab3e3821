package dev.coffer.oci.reference;

import dev.coffer.oci.digest.Digest;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class ImageReferenceTest {
    static final String HEX = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    private static void check(String input, String registry, String repository, String tag, String digest, String canonical) {
        ImageReference r = ImageReference.parse(input);
        assertEquals(registry, r.registry(), input);
        assertEquals(repository, r.repository(), input);
        assertEquals(tag, r.tag(), input);
        assertEquals(digest == null ? null : Digest.parse(digest), r.digest(), input);
        assertEquals(canonical, r.toString(), input);
        assertEquals(r, ImageReference.parse(r.toString()), "canonical form parses back");
        assertEquals(r, ImageReference.parse(r.familiar()), "familiar form parses back");
    }

    @Test
    void dockerDefaults() {
        check("busybox", "docker.io", "library/busybox", "latest", null, "docker.io/library/busybox:latest");
        check("busybox:1.36", "docker.io", "library/busybox", "1.36", null, "docker.io/library/busybox:1.36");
        check("team/app", "docker.io", "team/app", "latest", null, "docker.io/team/app:latest");
        check("index.docker.io/library/alpine:3", "docker.io", "library/alpine", "3", null, "docker.io/library/alpine:3");
        check("docker.io/alpine", "docker.io", "library/alpine", "latest", null, "docker.io/library/alpine:latest");
        assertEquals("busybox:1.36", ImageReference.parse("docker.io/library/busybox:1.36").familiar());
    }

    @Test
    void registriesPortsAndDigests() {
        check("127.0.0.1:5000/app:1", "127.0.0.1:5000", "app", "1", null, "127.0.0.1:5000/app:1");
        check("localhost/a/b/c", "localhost", "a/b/c", "latest", null, "localhost/a/b/c:latest");
        check("localhost:5000/app", "localhost:5000", "app", "latest", null, "localhost:5000/app:latest");
        check("ghcr.io/org/tool@sha256:" + HEX, "ghcr.io", "org/tool", null, "sha256:" + HEX, "ghcr.io/org/tool@sha256:" + HEX);
        check("reg.example:443/x/y:v1.2-rc_3@sha256:" + HEX, "reg.example:443", "x/y", "v1.2-rc_3", "sha256:" + HEX,
                "reg.example:443/x/y:v1.2-rc_3@sha256:" + HEX);
        check("my-registry.local/a.b__c-d/e", "my-registry.local", "a.b__c-d/e", "latest", null, "my-registry.local/a.b__c-d/e:latest");
        assertEquals("sha256:" + HEX, ImageReference.parse("app@sha256:" + HEX).manifestSelector());
        assertEquals("1", ImageReference.parse("app:1").manifestSelector());
    }

    @Test
    void refusesMalformed() {
        for (String bad : new String[] {"", " ", "app/UPPER", "Upper", "app:", "app:-bad", "app@sha256:123", "app@md5:" + HEX,
                "a//b", "/app", "app/", "app:tag:tag", "a b", "app:" + "x".repeat(129), "-app", "app__", "x/" + "a".repeat(260)}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ImageReference.parse(bad), bad);
            assertNotNull(e.getMessage());
            assertTrue(e.getMessage().startsWith("expected") || e.getMessage().contains("'" + bad + "'"), e.getMessage());
        }
    }
}
