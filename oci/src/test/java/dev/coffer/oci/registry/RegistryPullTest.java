package dev.coffer.oci.registry;

import dev.coffer.oci.OciException;
import dev.coffer.oci.digest.Digest;
import dev.coffer.oci.layout.ImageBuilder;
import dev.coffer.oci.layout.TarLayer;
import dev.coffer.oci.reference.ImageReference;
import dev.coffer.oci.store.BlobTamperedException;
import dev.coffer.oci.store.ImageConfig;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.oci.store.LocalImage;
import dev.coffer.oci.store.ProgressListener;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.*;

/** Pulls from a real registry (docker-registry on 127.0.0.1) filled with images the test builds and pushes. */
class RegistryPullTest {
    static final RegistryClient.Options FAST = RegistryClient.Options.defaults().withRetries(3, Duration.ofMillis(10));

    @TempDir
    static Path shared;
    static LocalRegistry registry;
    static ImageBuilder.BuiltImage app;
    static ImageBuilder.BuiltImage dockerTyped;
    static ImageBuilder.BuiltImage amd64;
    static ImageBuilder.BuiltImage arm64;
    static ImageBuilder.Blob index;

    @TempDir
    Path tmp;

    static ImageBuilder image(String marker, int fileSize) {
        byte[] big = new byte[fileSize];
        new java.util.Random(marker.hashCode()).nextBytes(big); // incompressible: the blob stays big
        return new ImageBuilder()
                .layer(new TarLayer().dir("bin").file("bin/tool", "#!/bin/sh\necho " + marker + "\n", 0755))
                .layer(new TarLayer().dir("data").file("data/blob.bin", big, 0644))
                .config(ImageConfig.of(List.of("/bin/tool")).withEnv(List.of("MARKER=" + marker)));
    }

    @BeforeAll
    static void startRegistry() throws Exception {
        registry = LocalRegistry.anonymous(shared.resolve("registry"));
        app = image("app", 300_000).build();
        dockerTyped = image("docker", 1000).dockerMediaTypes().build();
        amd64 = image("amd", 2000).build();
        arm64 = image("arm", 2000).config(ImageConfig.of(List.of("/arm")).withPlatform("linux", "arm64")).build();
        index = ImageBuilder.platformIndex(List.of(arm64, amd64));
        try (RegistryPusher push = new RegistryPusher(registry.base(), null)) {
            push.push("team/app", "1", app);
            push.push("docker-typed", "v2", dockerTyped);
            push.push("multi", "amd", amd64);
            push.push("multi", "arm", arm64);
            push.pushManifest("multi", "latest", index);
        }
    }

    @AfterAll
    static void stopRegistry() {
        if (registry != null) registry.close();
    }

    private ImageStore store() throws IOException {
        return ImageStore.open(tmp.resolve("home"));
    }

    private static void assertNothingLeft(ImageStore store) throws IOException {
        assertTrue(store.list().isEmpty(), "no image entry");
        assertTrue(store.blobs().all().isEmpty(), "no blobs left: " + store.blobs().all());
        assertTrue(store.blobs().temporaryFiles().isEmpty(), "no temp files: " + store.blobs().temporaryFiles());
    }

    @Test
    void pullsAnOciImageAndItsLayersVerify() throws Exception {
        AtomicLong last = new AtomicLong();
        List<Long> totals = new ArrayList<>();
        try (ImageStore store = store(); RegistryClient client = new RegistryClient(FAST)) {
            LocalImage img = store.pull(ImageReference.parse(registry.host() + "/team/app:1"), RegistryCredentials.anonymous(),
                    (phase, done, total) -> { last.set(done); totals.add(total); }, client);
            assertEquals(app.manifestDigest(), img.manifestDigest());
            assertEquals(registry.host() + "/team/app:1", img.reference().toString());
            assertEquals(List.of("/bin/tool"), img.config().cmd());
            assertTrue(img.config().env().contains("MARKER=app"));
            long expectedTotal = app.config().bytes().length + app.layers().stream().mapToLong(b -> b.bytes().length).sum();
            assertEquals(expectedTotal, last.get());
            assertEquals(expectedTotal, (long) totals.getLast());
            try (InputStream in = store.openLayer(img.layers().get(1))) {
                TarArchiveInputStream tin = new TarArchiveInputStream(in);
                TarArchiveEntry e;
                List<String> names = new ArrayList<>();
                while ((e = tin.getNextEntry()) != null) names.add(e.getName());
                assertEquals(List.of("data/", "data/blob.bin"), names);
            }
            assertEquals(img, store.resolve(registry.host() + "/team/app:1"));
            // Pulling again reuses verified blobs and gives the same image.
            assertEquals(img.manifestDigest(), store.pull(img.reference(), null, ProgressListener.NONE, client).manifestDigest());
        }
    }

    @Test
    void pullsDockerMediaTypesByDigest() throws Exception {
        try (ImageStore store = store(); RegistryClient client = new RegistryClient(FAST)) {
            ImageReference ref = ImageReference.parse(registry.host() + "/docker-typed@" + dockerTyped.manifestDigest());
            LocalImage img = store.pull(ref, null, ProgressListener.NONE, client);
            assertEquals(dockerTyped.manifestDigest(), img.manifestDigest());
            assertTrue(img.layers().getFirst().mediaType().contains("docker"), img.layers().getFirst().mediaType());
            assertEquals(img, store.resolve(ref.toString()));
        }
    }

    @Test
    void multiArchIndexResolvesToLinuxAmd64() throws Exception {
        try (ImageStore store = store(); RegistryClient client = new RegistryClient(FAST)) {
            LocalImage img = store.pull(ImageReference.parse(registry.host() + "/multi"), null, ProgressListener.NONE, client);
            assertEquals(amd64.manifestDigest(), img.manifestDigest());
            assertEquals("amd64", img.config().architecture());
            // Only the amd64 image's blobs were fetched.
            assertFalse(store.blobs().has(arm64.config().digest()));

            // Pinned to the index digest: resolves the same way.
            LocalImage pinned = store.pull(ImageReference.parse(registry.host() + "/multi@" + index.digest()),
                    null, ProgressListener.NONE, client);
            assertEquals(amd64.manifestDigest(), pinned.manifestDigest());
            assertEquals(pinned, store.resolve(registry.host() + "/multi@" + index.digest()));
            assertEquals(pinned.manifestDigest(), store.resolve(registry.host() + "/multi@" + amd64.manifestDigest()).manifestDigest());
        }
    }

    @Test
    void unknownTagOrRepositoryIs404AndLeavesNothing() throws Exception {
        try (ImageStore store = store(); RegistryClient client = new RegistryClient(FAST)) {
            RegistryException tag = assertThrows(RegistryException.class, () -> store.pull(
                    ImageReference.parse(registry.host() + "/team/app:nope"), null, ProgressListener.NONE, client));
            assertEquals(404, tag.status());
            assertTrue(tag.getMessage().contains("not found") && tag.getMessage().contains("'nope'"), tag.getMessage());
            assertTrue(tag.getMessage().contains("MANIFEST_UNKNOWN"), tag.getMessage());
            RegistryException repo = assertThrows(RegistryException.class, () -> store.pull(
                    ImageReference.parse(registry.host() + "/no/such/repo:1"), null, ProgressListener.NONE, client));
            assertEquals(404, repo.status());
            assertNothingLeft(store);
        }
    }

    @Test
    void unreachableRegistryFailsAfterBoundedRetries() throws Exception {
        int port = LocalRegistry.freePort();
        try (ImageStore store = store(); RegistryClient client = new RegistryClient(FAST)) {
            RegistryException e = assertThrows(RegistryException.class, () -> store.pull(
                    ImageReference.parse("127.0.0.1:" + port + "/x:1"), null, ProgressListener.NONE, client));
            assertEquals(-1, e.status());
            assertTrue(e.getMessage().contains("cannot reach registry 127.0.0.1:" + port), e.getMessage());
            assertTrue(e.getMessage().contains("after 3 attempts"), e.getMessage());
            assertNothingLeft(store);
        }
    }

    // ---- faults injected by a proxy in front of the real registry ----

    private ImageReference viaProxy(FaultProxy proxy, String repoTag) {
        return ImageReference.parse(proxy.host() + "/" + repoTag);
    }

    private static String layerPath(ImageBuilder.BuiltImage img, int i) {
        return "/blobs/" + img.layers().get(i).digest();
    }

    @Test
    void transientServerErrorsAreRetried() throws Exception {
        try (FaultProxy proxy = new FaultProxy(registry); ImageStore store = store(); RegistryClient client = new RegistryClient(FAST)) {
            proxy.rule = (m, p, n) -> n < 2 && (p.contains("/manifests/") || p.endsWith(layerPath(app, 1)))
                    ? new FaultProxy.Status(503, "UNAVAILABLE") : new FaultProxy.Pass();
            LocalImage img = store.pull(viaProxy(proxy, "team/app:1"), null, ProgressListener.NONE, client);
            assertEquals(app.manifestDigest(), img.manifestDigest());
            assertEquals(3, proxy.count("/manifests/1"));
            assertEquals(3, proxy.count(layerPath(app, 1)));
        }
    }

    @Test
    void persistentServerErrorGivesPreciseErrorAndNoPartialImage() throws Exception {
        try (FaultProxy proxy = new FaultProxy(registry); ImageStore store = store(); RegistryClient client = new RegistryClient(FAST)) {
            proxy.rule = (m, p, n) -> p.endsWith(layerPath(app, 1)) ? new FaultProxy.Status(500, "INTERNAL") : new FaultProxy.Pass();
            RegistryException e = assertThrows(RegistryException.class, () ->
                    store.pull(viaProxy(proxy, "team/app:1"), null, ProgressListener.NONE, client));
            assertEquals(500, e.status());
            assertTrue(e.getMessage().contains("answered 500") && e.getMessage().contains("3 attempts"), e.getMessage());
            assertEquals(3, proxy.count(layerPath(app, 1)));
            assertNothingLeft(store);
        }
    }

    @Test
    void truncatedBlobIsResumedWithRange() throws Exception {
        try (FaultProxy proxy = new FaultProxy(registry); ImageStore store = store(); RegistryClient client = new RegistryClient(FAST)) {
            proxy.rule = (m, p, n) -> n == 0 && p.endsWith(layerPath(app, 1)) ? new FaultProxy.Truncate(100_000) : new FaultProxy.Pass();
            LocalImage img = store.pull(viaProxy(proxy, "team/app:1"), null, ProgressListener.NONE, client);
            assertEquals(app.manifestDigest(), img.manifestDigest());
            List<FaultProxy.Seen> layerRequests = proxy.seen.stream().filter(s -> s.path().endsWith(layerPath(app, 1))).toList();
            assertEquals(2, layerRequests.size());
            assertNull(layerRequests.get(0).range());
            assertEquals("bytes=100000-", layerRequests.get(1).range());
            assertEquals(206, layerRequests.get(1).status());
            try (InputStream in = store.openLayer(img.layers().get(1))) {
                in.readAllBytes();
            }
        }
    }

    @Test
    void stalledTransferIsAbandonedAndResumed() throws Exception {
        RegistryClient.Options impatient = FAST.withRequestTimeout(Duration.ofSeconds(3));
        try (FaultProxy proxy = new FaultProxy(registry); ImageStore store = store(); RegistryClient client = new RegistryClient(impatient)) {
            proxy.rule = (m, p, n) -> n == 0 && p.endsWith(layerPath(app, 1)) ? new FaultProxy.Stall(50_000, 30_000) : new FaultProxy.Pass();
            LocalImage img = store.pull(viaProxy(proxy, "team/app:1"), null, ProgressListener.NONE, client);
            assertEquals(app.manifestDigest(), img.manifestDigest());
            List<FaultProxy.Seen> layerRequests = proxy.seen.stream().filter(s -> s.path().endsWith(layerPath(app, 1))).toList();
            assertEquals(2, layerRequests.size());
            assertEquals("bytes=50000-", layerRequests.get(1).range());
        }
    }

    @Test
    void blobTruncatedOnEveryAttemptFails() throws Exception {
        try (FaultProxy proxy = new FaultProxy(registry); ImageStore store = store(); RegistryClient client = new RegistryClient(FAST)) {
            // Each answer stops 1000 bytes further: progress, but never the whole blob.
            proxy.rule = (m, p, n) -> p.endsWith(layerPath(app, 1)) ? new FaultProxy.Truncate(1000) : new FaultProxy.Pass();
            RegistryException e = assertThrows(RegistryException.class, () ->
                    store.pull(viaProxy(proxy, "team/app:1"), null, ProgressListener.NONE, client));
            assertTrue(e.getMessage().contains("truncated"), e.getMessage());
            assertTrue(e.getMessage().contains(app.layers().get(1).digest().toString()), e.getMessage());
            assertNothingLeft(store);
        }
    }

    @Test
    void wrongDigestIsRefused() throws Exception {
        try (FaultProxy proxy = new FaultProxy(registry); ImageStore store = store(); RegistryClient client = new RegistryClient(FAST)) {
            proxy.rule = (m, p, n) -> p.endsWith(layerPath(app, 1)) ? new FaultProxy.Corrupt() : new FaultProxy.Pass();
            BlobTamperedException e = assertThrows(BlobTamperedException.class, () ->
                    store.pull(viaProxy(proxy, "team/app:1"), null, ProgressListener.NONE, client));
            assertTrue(e.getMessage().contains("expected content with digest " + app.layers().get(1).digest()), e.getMessage());
            assertNothingLeft(store);

            // A corrupted manifest fetched by digest is refused too.
            proxy.rule = (m, p, n) -> p.contains("/manifests/") ? new FaultProxy.Corrupt() : new FaultProxy.Pass();
            OciException m = assertThrows(OciException.class, () -> store.pull(
                    ImageReference.parse(proxy.host() + "/team/app@" + app.manifestDigest()), null, ProgressListener.NONE, client));
            assertNotNull(m.getMessage());
            assertNothingLeft(store);
        }
    }

    @Test
    void forbiddenAndMissingBlob() throws Exception {
        try (FaultProxy proxy = new FaultProxy(registry); ImageStore store = store(); RegistryClient client = new RegistryClient(FAST)) {
            proxy.rule = (m, p, n) -> p.contains("/manifests/") ? new FaultProxy.Status(403, "DENIED") : new FaultProxy.Pass();
            RegistryException f = assertThrows(RegistryException.class, () ->
                    store.pull(viaProxy(proxy, "team/app:1"), null, ProgressListener.NONE, client));
            assertEquals(403, f.status());
            assertTrue(f.getMessage().contains("denied access") && f.getMessage().contains("DENIED"), f.getMessage());

            proxy.rule = (m, p, n) -> p.endsWith(layerPath(app, 0)) ? new FaultProxy.Status(404, "BLOB_UNKNOWN") : new FaultProxy.Pass();
            RegistryException b = assertThrows(RegistryException.class, () ->
                    store.pull(viaProxy(proxy, "team/app:1"), null, ProgressListener.NONE, client));
            assertEquals(404, b.status());
            assertTrue(b.getMessage().contains("has no blob " + app.layers().get(0).digest()), b.getMessage());
            assertNothingLeft(store);
        }
    }

    // ---- authentication ----

    @Test
    void basicAuthWithCredentialsFromFileAndEnvironment() throws Exception {
        String password = "s3cret-pa55word";
        try (LocalRegistry secured = LocalRegistry.withBasicAuth(tmp.resolve("basic"), "alice", password);
             ImageStore store = store(); RegistryClient client = new RegistryClient(FAST)) {
            String basic = "Basic " + java.util.Base64.getEncoder().encodeToString(("alice:" + password).getBytes(StandardCharsets.UTF_8));
            try (RegistryPusher push = new RegistryPusher(secured.base(), basic)) {
                push.push("private/app", "1", app);
            }
            ImageReference ref = ImageReference.parse(secured.host() + "/private/app:1");

            RegistryException anonymous = assertThrows(RegistryException.class,
                    () -> store.pull(ref, RegistryCredentials.anonymous(), ProgressListener.NONE, client));
            assertEquals(401, anonymous.status());
            assertTrue(anonymous.getMessage().contains("requires authentication")
                    && anonymous.getMessage().contains("COFFER_REGISTRY_USER"), anonymous.getMessage());

            RegistryCredentials wrong = RegistryCredentials.resolve(secured.host(), null,
                    Map.of(RegistryCredentials.ENV_USER, "alice", RegistryCredentials.ENV_PASSWORD, "not-" + password));
            RegistryException rejected = assertThrows(RegistryException.class,
                    () -> store.pull(ref, wrong, ProgressListener.NONE, client));
            assertEquals(401, rejected.status());
            assertTrue(rejected.getMessage().contains("rejected the credentials from environment"), rejected.getMessage());
            assertFalse(rejected.getMessage().contains(password), "no password in messages");
            assertFalse(wrong.toString().contains(password));
            assertNothingLeft(store);

            Path authFile = tmp.resolve("auth.json");
            Files.writeString(authFile, "{\"auths\":{\"http://" + secured.host() + "\":{\"auth\":\""
                    + java.util.Base64.getEncoder().encodeToString(("alice:" + password).getBytes(StandardCharsets.UTF_8)) + "\"}}}");
            RegistryCredentials fromFile = RegistryCredentials.resolve(secured.host(), authFile, Map.of());
            assertEquals("alice", fromFile.username());
            assertEquals(app.manifestDigest(), store.pull(ref, fromFile, ProgressListener.NONE, client).manifestDigest());

            store.remove(ref.toString());
            RegistryCredentials fromEnvFile = RegistryCredentials.resolve(secured.host(), null,
                    Map.of(RegistryCredentials.ENV_AUTH_FILE, authFile.toString()));
            assertEquals("alice", fromEnvFile.username());
            RegistryCredentials fromEnv = RegistryCredentials.resolve(secured.host(), null,
                    Map.of(RegistryCredentials.ENV_USER, "alice", RegistryCredentials.ENV_PASSWORD, password));
            assertEquals(app.manifestDigest(), store.pull(ref, fromEnv, ProgressListener.NONE, client).manifestDigest());
            assertFalse(secured.log().contains(password), "the registry log does not see the password either");
        }
    }

    @Test
    void bearerTokenFlowAnonymousAndWithCredentials() throws Exception {
        try (TokenServer tokens = new TokenServer("bob", "tok-pass");
             LocalRegistry secured = LocalRegistry.withTokenAuth(tmp.resolve("token"), tokens);
             ImageStore store = store(); RegistryClient client = new RegistryClient(FAST)) {
            try (RegistryPusher push = new RegistryPusher(secured.base(),
                    "Bearer " + tokens.token("public/app", List.of("pull", "push")))) {
                push.push("public/app", "1", app);
            }
            try (RegistryPusher push = new RegistryPusher(secured.base(),
                    "Bearer " + tokens.token("private/app", List.of("pull", "push")))) {
                push.push("private/app", "1", dockerTyped);
            }
            // Anonymous: the registry challenges, the token service hands out a pull token.
            LocalImage pub = store.pull(ImageReference.parse(secured.host() + "/public/app:1"),
                    RegistryCredentials.anonymous(), ProgressListener.NONE, client);
            assertEquals(app.manifestDigest(), pub.manifestDigest());
            assertTrue(tokens.requests.stream().anyMatch(q -> q.contains("scope=repository%3Apublic%2Fapp%3Apull")
                    && !q.endsWith("+auth")), tokens.requests.toString());

            ImageReference priv = ImageReference.parse(secured.host() + "/private/app:1");
            RegistryException denied = assertThrows(RegistryException.class,
                    () -> store.pull(priv, RegistryCredentials.anonymous(), ProgressListener.NONE, client));
            assertEquals(401, denied.status());
            assertTrue(denied.getMessage().contains("requires authentication"), denied.getMessage());

            RegistryException bad = assertThrows(RegistryException.class,
                    () -> store.pull(priv, RegistryCredentials.of("bob", "wrong"), ProgressListener.NONE, client));
            assertTrue(bad.getMessage().contains("rejected the credentials"), bad.getMessage());
            assertFalse(bad.getMessage().contains("wrong"));

            LocalImage p = store.pull(priv, RegistryCredentials.of("bob", "tok-pass"), ProgressListener.NONE, client);
            assertEquals(dockerTyped.manifestDigest(), p.manifestDigest());
            assertEquals(2, store.list().size());
        }
    }

    @Test
    void credentialFilesAreParsedStrictly() throws Exception {
        Path f = tmp.resolve("c.json");
        Files.writeString(f, "{\"auths\":{\"https://index.docker.io/v1/\":{\"username\":\"u\",\"password\":\"p\"}}}");
        assertEquals("u", RegistryCredentials.resolve("docker.io", f, Map.of()).username());
        assertTrue(RegistryCredentials.resolve("other:5000", f, Map.of()).isAnonymous());
        Files.writeString(f, "{\"auths\": {\"h:1\": {\"auth\": \"!!notbase64\"}}}");
        OciException e = assertThrows(OciException.class, () -> RegistryCredentials.resolve("h:1", f, Map.of()));
        assertTrue(e.getMessage().contains("not base64"), e.getMessage());
        Files.writeString(f, "{\"password\": \"hunter2\" broken");
        OciException j = assertThrows(OciException.class, () -> RegistryCredentials.resolve("h:1", f, Map.of()));
        assertFalse(j.getMessage().contains("hunter2"), j.getMessage());
        assertThrows(OciException.class, () -> RegistryCredentials.resolve("h:1", tmp.resolve("missing.json"), Map.of()));
        OciException half = assertThrows(OciException.class, () -> RegistryCredentials.resolve("h:1", null,
                Map.of(RegistryCredentials.ENV_USER, "u")));
        assertTrue(half.getMessage().contains(RegistryCredentials.ENV_PASSWORD), half.getMessage());
    }

    @Test
    void challengeParsing() {
        AuthChallenge c = AuthChallenge.parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/busybox:pull\"");
        assertTrue(c.isBearer());
        assertEquals("https://auth.docker.io/token", c.params().get("realm"));
        assertEquals("repository:library/busybox:pull", c.params().get("scope"));
        assertTrue(AuthChallenge.parse("Basic realm=\"x\"").isBasic());
        assertTrue(RegistryClient.isLocal("localhost:5000"));
        assertTrue(RegistryClient.isLocal("127.0.0.1"));
        assertFalse(RegistryClient.isLocal("registry.example:5000"));
        assertEquals(Digest.sha256(new byte[0]).toString().length(), 71);
    }
}
