package dev.coffer.oci.manifest;

import dev.coffer.oci.OciException;
import dev.coffer.oci.digest.Digest;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The linux/amd64 entry of an image index, picked as containerd's platform matcher picks it,
 * from index JSON as registries publish it (parsed, not built in memory, so the spellings of
 * platform fields go through the same parser a pulled index does).
 */
class ImageIndexSelectTest {
    private static final String MANIFEST = MediaTypes.OCI_MANIFEST;

    /** One index entry: its manifest's digest is derived from the label, so each entry is a distinct image. */
    private static String entry(String label, String platformJson) {
        Digest d = Digest.sha256(label.getBytes(StandardCharsets.UTF_8));
        return "{\"mediaType\":\"" + MANIFEST + "\",\"digest\":\"" + d + "\",\"size\":" + (100 + label.length())
                + (platformJson == null ? "" : ",\"platform\":" + platformJson) + "}";
    }

    private static Digest digestOf(String label) {
        return Digest.sha256(label.getBytes(StandardCharsets.UTF_8));
    }

    private static ImageIndex index(String... entries) throws OciException {
        String json = "{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypes.OCI_INDEX + "\",\"manifests\":["
                + String.join(",", entries) + "]}";
        return (ImageIndex) ManifestDocument.parse(json.getBytes(StandardCharsets.UTF_8), MediaTypes.OCI_INDEX, "index");
    }

    private static Digest pick(ImageIndex index) throws OciException {
        return index.select(Platform.LINUX_AMD64, "index").digest();
    }

    @Test
    void picksTheLinuxAmd64EntryAmongOthers() throws Exception {
        ImageIndex index = index(
                entry("arm64", "{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}"),
                entry("amd64", "{\"os\":\"linux\",\"architecture\":\"amd64\"}"),
                entry("s390x", "{\"os\":\"linux\",\"architecture\":\"s390x\"}"),
                // what docker buildx adds beside each image: an attestation manifest for unknown/unknown
                entry("attestation", "{\"os\":\"unknown\",\"architecture\":\"unknown\"}"));
        assertEquals(digestOf("amd64"), pick(index));
    }

    @Test
    void spellingsContainerdNormalisesAreTheSamePlatform() throws Exception {
        assertEquals(digestOf("x86_64"), pick(index(entry("arm", "{\"os\":\"linux\",\"architecture\":\"arm\"}"),
                entry("x86_64", "{\"os\":\"Linux\",\"architecture\":\"x86_64\"}"))));
        assertEquals(digestOf("v1"), pick(index(entry("v1", "{\"os\":\"linux\",\"architecture\":\"amd64\",\"variant\":\"v1\"}"))));
    }

    @Test
    void aHigherAmd64LevelIsNotTheBaselineButBreaksNoTie() throws Exception {
        // containerd on a baseline host does not run an amd64/v3 image; the v3 entry is no rival of the plain one
        ImageIndex index = index(
                entry("v3", "{\"os\":\"linux\",\"architecture\":\"amd64\",\"variant\":\"v3\"}"),
                entry("plain", "{\"os\":\"linux\",\"architecture\":\"amd64\"}"));
        assertEquals(digestOf("plain"), pick(index));
        OciException onlyV3 = assertThrows(OciException.class,
                () -> pick(index(entry("v3", "{\"os\":\"linux\",\"architecture\":\"amd64\",\"variant\":\"v3\"}"))));
        assertTrue(onlyV3.getMessage().contains("has no manifest for linux/amd64 (it offers: linux/amd64/v3)"), onlyV3.getMessage());
    }

    @Test
    void a386EntryRunsWhenThereIsNoAmd64OneAndLosesToIt() throws Exception {
        assertEquals(digestOf("386"), pick(index(entry("arm", "{\"os\":\"linux\",\"architecture\":\"arm64\"}"),
                entry("386", "{\"os\":\"linux\",\"architecture\":\"386\"}"))));
        assertEquals(digestOf("amd64"), pick(index(entry("386", "{\"os\":\"linux\",\"architecture\":\"i386\"}"),
                entry("amd64", "{\"os\":\"linux\",\"architecture\":\"amd64\"}"))));
    }

    @Test
    void noLinuxAmd64EntryNamesWhatTheIndexOffers() {
        OciException e = assertThrows(OciException.class, () -> pick(index(
                entry("arm64", "{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}"),
                entry("win", "{\"os\":\"windows\",\"architecture\":\"amd64\",\"os.version\":\"10.0.20348.2340\"}"),
                entry("bare", null))));
        assertEquals("index has no manifest for linux/amd64 (it offers: linux/arm64/v8, windows/amd64 (os.version"
                + " 10.0.20348.2340), no platform); use an image built for linux/amd64", e.getMessage());
    }

    @Test
    void twoLinuxAmd64EntriesAreAmbiguousAndNamed() {
        OciException e = assertThrows(OciException.class, () -> pick(index(
                entry("first", "{\"os\":\"linux\",\"architecture\":\"amd64\"}"),
                entry("arm", "{\"os\":\"linux\",\"architecture\":\"arm64\"}"),
                entry("second", "{\"os\":\"linux\",\"architecture\":\"x86_64\",\"variant\":\"v1\"}"))));
        assertTrue(e.getMessage().startsWith("index is ambiguous: 2 entries are for linux/amd64: " + digestOf("first")
                + " (linux/amd64), " + digestOf("second") + " (linux/x86_64/v1)"), e.getMessage());
    }

    @Test
    void osVersionDoesNotTellLinuxEntriesApart() {
        // containerd compares os.version only for Windows images: on Linux these two are the same platform
        OciException e = assertThrows(OciException.class, () -> pick(index(
                entry("a", "{\"os\":\"linux\",\"architecture\":\"amd64\",\"os.version\":\"6.1\"}"),
                entry("b", "{\"os\":\"linux\",\"architecture\":\"amd64\",\"os.version\":\"5.10\"}"))));
        assertTrue(e.getMessage().contains("(linux/amd64 (os.version 6.1)), ") && e.getMessage().contains("os.version counts only for Windows"),
                e.getMessage());
    }

    @Test
    void platformFieldsSurviveAWriteAndReadOfTheIndex() throws Exception {
        ImageIndex index = index(entry("w", "{\"os\":\"windows\",\"architecture\":\"amd64\",\"os.version\":\"10.0.1\"}"));
        ImageIndex again = (ImageIndex) ManifestDocument.parse(index.toJson(), MediaTypes.OCI_INDEX, "rewritten");
        assertEquals(new Platform("windows", "amd64", "", "10.0.1"), again.manifests().getFirst().platform());
    }

    @Test
    void preferenceFollowsContainerdsOrder() {
        assertEquals(List.of("linux/amd64", "linux/386"), names(Platform.LINUX_AMD64.preference()));
        assertEquals(List.of("linux/amd64/v3", "linux/amd64/v2", "linux/amd64", "linux/386"),
                names(new Platform("linux", "x86_64", "v3").preference()));
    }

    private static List<String> names(List<Platform> ps) {
        List<String> out = new ArrayList<>();
        ps.forEach(p -> out.add(p.toString()));
        return out;
    }
}
