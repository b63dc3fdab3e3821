package dev.coffer.cli.image;

import dev.coffer.cli.CliRun;
import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.cli.Json;
import dev.coffer.cli.Main;
import dev.coffer.oci.layout.ImageBuilder;
import dev.coffer.oci.layout.TarLayer;
import dev.coffer.oci.store.ImageConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

class ImageCommandTest {
    @TempDir
    Path tmp;

    private CliRun run(String... args) {
        return run(null, args);
    }

    private CliRun run(Map<String, String> env, String... args) {
        CommandLine cli = Main.commandLine();
        if (cli.getSubcommands().containsKey("image")) {
            cli.getCommandSpec().removeSubcommand("image");
        }
        ImageCommand image = new ImageCommand(() -> tmp.resolve("home"));
        cli.addSubcommand(image);
        if (env != null) {
            CommandLine pull = cli.getSubcommands().get("image").getSubcommands().get("pull");
            ((PullCommand) pull.getCommand()).environment = env;
        }
        return CliRun.execute(cli, args);
    }

    private static ImageBuilder sample() {
        return new ImageBuilder()
                .layer(new TarLayer().dir("bin").file("bin/hello", "#!/bin/sh\necho hi\n", 0755))
                .config(ImageConfig.of(List.of("/bin/hello")).withLabels(Map.of("purpose", "test")));
    }

    @Test
    void importListInspectRemove() throws Exception {
        Path tar = sample().writeLayoutTar(tmp.resolve("img.tar"), "coffer.local/hello:1");
        CliRun imported = run("image", "import", tar.toString());
        assertEquals(0, imported.exit(), imported.err());
        assertTrue(imported.out().startsWith("Imported coffer.local/hello:1 (id "), imported.out());

        CliRun ls = run("image", "ls");
        assertEquals(0, ls.exit());
        assertTrue(ls.out().contains("REFERENCE") && ls.out().contains("coffer.local/hello:1"), ls.out());

        JsonNode list = Json.MAPPER.readTree(run("image", "ls", "-o", "json").out());
        assertEquals(1, list.size());
        String id = list.get(0).get("id").asText();
        assertEquals(12, id.length());

        CliRun inspect = run("image", "inspect", id.substring(0, 6), "-o", "json");
        assertEquals(0, inspect.exit(), inspect.err());
        JsonNode detail = Json.MAPPER.readTree(inspect.out());
        assertEquals("coffer.local/hello:1", detail.get("reference").asText());
        assertEquals("/bin/hello", detail.at("/config/cmd/0").asText());
        assertEquals("test", detail.at("/config/labels/purpose").asText());
        assertTrue(detail.at("/layers/0/digest").asText().startsWith("sha256:"));
        assertTrue(run("image", "inspect", "coffer.local/hello:1").out().contains("Cmd:          [/bin/hello]"));

        CliRun rm = run("image", "rm", "coffer.local/hello:1");
        assertEquals(0, rm.exit(), rm.err());
        assertTrue(rm.out().contains("Removed coffer.local/hello:1"));
        assertEquals("[ ]", run("image", "ls", "-o", "json").out().strip());
        assertTrue(run("image", "ls").out().contains("No images"));
    }

    @Test
    void tamperedImageIsShownBrokenRefusedAndRemovable() throws Exception {
        Path tar = sample().writeLayoutTar(tmp.resolve("img.tar"), "coffer.local/hello:1");
        assertEquals(0, run("image", "import", tar.toString()).exit());
        JsonNode detail = Json.MAPPER.readTree(run("image", "inspect", "coffer.local/hello:1", "-o", "json").out());
        String config = detail.get("configDigest").asText().substring("sha256:".length());
        Files.writeString(tmp.resolve("home/oci/blobs/sha256/" + config), "{\"tampered\": true}");

        CliRun ls = run("image", "ls");
        assertEquals(0, ls.exit(), ls.err());
        assertTrue(ls.out().contains("BROKEN") && ls.out().contains("tampered"), ls.out());
        JsonNode json = Json.MAPPER.readTree(run("image", "ls", "-o", "json").out());
        assertTrue(json.get(0).get("problem").asText().contains("tampered"));

        CliRun inspect = run("image", "inspect", "coffer.local/hello:1");
        assertEquals(1, inspect.exit());
        assertTrue(inspect.err().contains("is tampered") && inspect.err().contains("coffer image rm"), inspect.err());

        assertEquals(0, run("image", "rm", "coffer.local/hello:1").exit());
        assertEquals("[ ]", run("image", "ls", "-o", "json").out().strip());
    }

    @Test
    void importsDockerSaveWithName() throws Exception {
        Path tar = sample().writeDockerArchive(tmp.resolve("d.tar"), "hello:2");
        CliRun r = run("image", "import", tar.toString(), "--name", "coffer.local/renamed:3", "-o", "json");
        assertEquals(0, r.exit(), r.err());
        assertEquals("coffer.local/renamed:3", Json.MAPPER.readTree(r.out()).get(0).get("reference").asText());
    }

    @Test
    void errorsAreOneLineWithExitCodes() throws Exception {
        CliRun missing = run("image", "inspect", "nothing:here");
        assertEquals(1, missing.exit());
        assertTrue(missing.err().startsWith("coffer: no local image 'nothing:here'"), missing.err());
        assertTrue(missing.err().contains("coffer image pull"), missing.err());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());

        CliRun badRef = run("image", "pull", "Not A Ref");
        assertEquals(2, badRef.exit());
        assertTrue(badRef.err().contains("expected an image reference"), badRef.err());

        CliRun badFile = run("image", "import", tmp.resolve("nope.tar").toString());
        assertEquals(1, badFile.exit());
        assertTrue(badFile.err().contains("found no file at"), badFile.err());

        Path junk = Files.writeString(tmp.resolve("junk.tar"), "not a tar".repeat(100));
        CliRun junkResult = run("image", "import", junk.toString());
        assertEquals(1, junkResult.exit());
        assertFalse(junkResult.err().contains("\tat "), "no stack trace without --verbose");
        CliRun verbose = run("image", "import", junk.toString(), "--verbose");
        assertTrue(verbose.err().contains("\tat "), "stack trace with --verbose");

        CliRun rm = run("image", "rm", "nothing:here");
        assertEquals(1, rm.exit());

        assertEquals(2, run("image", "pull").exit());
        assertEquals(2, run("image", "pull", "x:1", "--retries", "0").exit());
    }

    @Test
    void helpExplainsWithExamples() {
        for (String sub : List.of("import", "pull", "ls", "inspect", "rm")) {
            CliRun help = run("image", sub, "--help");
            assertEquals(0, help.exit(), sub);
            assertTrue(help.out().contains("Examples:"), sub + ": " + help.out());
            assertTrue(help.out().contains("coffer image " + sub), sub + ": " + help.out());
        }
        assertTrue(run("image", "--help").out().contains("pull"));
    }

    @Test
    void pullsFromARealRegistryWithCredentialsFromTheEnvironment() throws Exception {
        Path registryBinary = Path.of("/usr/bin/docker-registry");
        assertTrue(Files.isExecutable(registryBinary),
                "expected /usr/bin/docker-registry; install it with 'apt-get install --no-install-recommends docker-registry'");
        ImageBuilder.BuiltImage img = sample().build();
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Path dir = Files.createDirectories(tmp.resolve("registry"));
        Files.writeString(dir.resolve("config.yml"), """
                version: 0.1
                log:
                  level: error
                storage:
                  filesystem:
                    rootdirectory: %s
                http:
                  addr: 127.0.0.1:%d
                  secret: test
                """.formatted(dir.resolve("storage"), port));
        Process registry = new ProcessBuilder(registryBinary.toString(), "serve", dir.resolve("config.yml").toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("log").toFile()).start();
        URI base = URI.create("http://127.0.0.1:" + port + "/v2/");
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build()) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                try {
                    if (http.send(HttpRequest.newBuilder(base).build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200) break;
                } catch (java.io.IOException notYet) {
                    assertTrue(System.nanoTime() < deadline && registry.isAlive(), "registry did not start: "
                            + Files.readString(dir.resolve("log")));
                    Thread.sleep(50);
                }
            }
            for (ImageBuilder.Blob b : img.blobs()) {
                if (b == img.manifest()) continue;
                HttpResponse<String> start = http.send(HttpRequest.newBuilder(base.resolve("cli/hello/blobs/uploads/"))
                        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(202, start.statusCode(), start.body());
                URI loc = base.resolve(start.headers().firstValue("Location").orElseThrow());
                URI put = URI.create(loc + (loc.getQuery() == null ? "?" : "&") + "digest=" + b.digest());
                assertEquals(201, http.send(HttpRequest.newBuilder(put).PUT(HttpRequest.BodyPublishers.ofByteArray(b.bytes()))
                        .build(), HttpResponse.BodyHandlers.ofString()).statusCode());
            }
            assertEquals(201, http.send(HttpRequest.newBuilder(base.resolve("cli/hello/manifests/7"))
                    .header("Content-Type", img.manifest().mediaType())
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(img.manifest().bytes())).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode());

            // An open registry ignores credentials; they must still not show up anywhere.
            Map<String, String> env = Map.of("COFFER_REGISTRY_USER", "carol", "COFFER_REGISTRY_PASSWORD", "pw-do-not-print");
            CliRun pulled = run(env, "image", "pull", "127.0.0.1:" + port + "/cli/hello:7");
            assertEquals(0, pulled.exit(), pulled.err());
            assertTrue(pulled.out().contains("Pulled 127.0.0.1:" + port + "/cli/hello:7"), pulled.out());
            assertTrue(pulled.out().contains(img.manifestDigest().toString()), pulled.out());
            assertFalse((pulled.out() + pulled.err()).contains("pw-do-not-print"));

            CliRun notFound = run(env, "image", "pull", "127.0.0.1:" + port + "/cli/hello:8", "--retries", "1");
            assertEquals(1, notFound.exit());
            assertTrue(notFound.err().contains("not found"), notFound.err());
            assertFalse(notFound.err().contains("pw-do-not-print"));
            assertEquals(1, Json.MAPPER.readTree(run("image", "ls", "-o", "json").out()).size());
        } finally {
            registry.destroy();
            if (!registry.waitFor(10, TimeUnit.SECONDS)) registry.destroyForcibly();
        }
    }
}
