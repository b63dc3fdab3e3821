package dev.coffer.runtime.sandbox;

import dev.coffer.agent.container.Mounts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The agent's ahead-of-time cache: what it does to the launch measurement, and when it is not used
 * (stale, edited, replaced, unsealed), in which case the launch is a normal one and measures as one.
 */
class AgentAotCacheTest {
    @TempDir
    Path dir;

    @AfterEach
    void unmount() {
        for (Path m : Mounts.mountedUnder(dir)) Mounts.unmount(m);
    }

    private Path jar(String name, String content) throws IOException {
        Path jar = dir.resolve(name);
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out)) {
            j.putNextEntry(new JarEntry("content.txt"));
            j.write(content.getBytes(StandardCharsets.UTF_8));
            j.closeEntry();
        }
        return jar;
    }

    private String classpath() throws IOException {
        return jar("a.jar", "agent code") + File.pathSeparator + jar("b.jar", "its library");
    }

    /** A sealed cache of {@code bytes} at dir/agent.aot, as the training run leaves it. */
    private Path sealedCache(byte[] bytes, String classpath) throws IOException {
        Path made = Files.createDirectories(dir.resolve("training")).resolve("agent.aot");
        Files.write(made, bytes);
        Path cache = dir.resolve("agent.aot");
        AgentAotCache.seal(made, cache, classpath);
        return cache;
    }

    private static Map<String, String> naming(Path cache) {
        return Map.of(AgentAotCache.ENVIRONMENT, cache.toString());
    }

    private static String sha384(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-384").digest(bytes));
    }

    private static String measurement(String classpath, AgentAot aot) throws IOException {
        List<String> behaviour = ProcessSandboxBackend.behaviourFlags("auto", "sim", null, List.of(), List.of());
        return HexFormat.of().formatHex(SimTeeLaunch.measurement(classpath,
                ProcessSandboxBackend.measuredParameters(behaviour, aot)).compute());
    }

    @Test
    void aLaunchFromACacheMeasuresTheCachesDigest() throws Exception {
        String cp = classpath();
        byte[] bytes = "a cache the training run wrote".getBytes(StandardCharsets.UTF_8);
        Path cache = sealedCache(bytes, cp);

        AgentAot aot = AgentAotCache.forLaunch(naming(cache), cp);
        AgentAot.Use use = assertInstanceOf(AgentAot.Use.class, aot, "a sealed cache of this class path is used");
        assertEquals(sha384(bytes), use.sha384Hex(), "the seal carries the cache's own SHA-384");
        assertEquals(List.of("-XX:AOTCache=" + cache.toAbsolutePath()), use.jvmOptions());
        List<String> behaviour = ProcessSandboxBackend.behaviourFlags("auto", "sim", null, List.of(), List.of());
        assertTrue(ProcessSandboxBackend.measuredParameters(behaviour, aot).contains("-XX:AOTCache sha384:" + sha384(bytes)));

        // with a cache, another MEASUREMENT; without one, the MEASUREMENT launches had before caches existed
        String plain = HexFormat.of().formatHex(SimTeeLaunch.measurement(cp, ProcessSandboxBackend.measuredParameters(behaviour)).compute());
        assertEquals(plain, measurement(cp, new AgentAot.None()));
        assertNotEquals(plain, measurement(cp, aot), "a launch from a cache must not claim a launch without one");
        // another cache (a rebuild, or someone else's): another MEASUREMENT
        Files.delete(cache);
        Path other = sealedCache("another cache".getBytes(StandardCharsets.UTF_8), cp);
        assertNotEquals(measurement(cp, aot), measurement(cp, AgentAotCache.forLaunch(naming(other), cp)));
    }

    @Test
    void aJarChangedAfterTheCacheWasMadeMakesItStale() throws Exception {
        String cp = classpath();
        Path cache = sealedCache(new byte[] {1, 2, 3}, cp);
        assertInstanceOf(AgentAot.Use.class, AgentAotCache.forLaunch(naming(cache), cp));
        // the same size and the old modification time: what the JVM's own check would miss
        Path a = dir.resolve("a.jar");
        FileTime mtime = Files.getLastModifiedTime(a);
        byte[] old = Files.readAllBytes(a);
        byte[] changed = old.clone();
        changed[changed.length / 2] ^= 1;
        Thread.sleep(20); // a change time distinct from the seal's, whatever the file system's granularity
        Files.write(a, changed);
        Files.setLastModifiedTime(a, mtime);
        assertEquals(old.length, Files.size(a));
        assertInstanceOf(AgentAot.None.class, AgentAotCache.forLaunch(naming(cache), cp), "a changed jar: a normal start");
    }

    @Test
    void anEditedOrReplacedCacheIsNotUsed() throws Exception {
        String cp = classpath();
        Path cache = sealedCache(new byte[] {1, 2, 3, 4}, cp);
        FileTime mtime = Files.getLastModifiedTime(cache);
        Thread.sleep(20);
        Files.write(cache, new byte[] {9, 9, 9, 9});
        Files.setLastModifiedTime(cache, mtime);
        assertInstanceOf(AgentAot.None.class, AgentAotCache.forLaunch(naming(cache), cp), "edited in place");

        Path replacement = dir.resolve("replacement");
        Files.write(replacement, new byte[] {1, 2, 3, 4});
        Files.setLastModifiedTime(replacement, mtime);
        Files.move(replacement, cache, StandardCopyOption.REPLACE_EXISTING);
        assertInstanceOf(AgentAot.None.class, AgentAotCache.forLaunch(naming(cache), cp), "replaced by another file");
    }

    @Test
    void withoutACacheOrItsSealTheLaunchIsANormalOne() throws Exception {
        String cp = classpath();
        assertInstanceOf(AgentAot.None.class, AgentAotCache.forLaunch(Map.of(), cp), "no cache named");
        assertInstanceOf(AgentAot.None.class, AgentAotCache.forLaunch(naming(dir.resolve("missing.aot")), cp), "no such file");
        Path cache = sealedCache(new byte[] {5}, cp);
        // another class path (the same jars in another order): the cache was not made for it
        String reordered = dir.resolve("b.jar") + File.pathSeparator + dir.resolve("a.jar");
        assertInstanceOf(AgentAot.None.class, AgentAotCache.forLaunch(naming(cache), reordered));
        // a seal that is not one
        Files.writeString(AgentAotCache.sealFile(cache), "coffer-agent-aot-cache/v1\nsha384 zz\n");
        assertInstanceOf(AgentAot.None.class, AgentAotCache.forLaunch(naming(cache), cp), "a damaged seal");
        Files.delete(AgentAotCache.sealFile(cache));
        assertInstanceOf(AgentAot.None.class, AgentAotCache.forLaunch(naming(cache), cp), "no seal");
    }

    @Test
    void aClassDirectoryCannotBeSealed() throws Exception {
        Path classes = Files.createDirectories(dir.resolve("classes"));
        Path made = dir.resolve("made.aot");
        Files.write(made, new byte[] {1});
        IOException e = assertThrows(IOException.class, () -> AgentAotCache.seal(made, dir.resolve("agent.aot"),
                jar("a.jar", "x") + File.pathSeparator + classes));
        assertTrue(e.getMessage().contains("expected a class path of jar files"), e.getMessage());
        assertInstanceOf(AgentAot.None.class, AgentAotCache.forLaunch(naming(dir.resolve("agent.aot")), classes.toString()));
    }

    @Test
    void anUnusableCacheFallsBackToANormalStartAndTheReportNamesTheCacheOffered() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "the agent's network namespace needs root");
        assumeTrue(Files.isExecutable(Path.of("/usr/sbin/runc")) || Files.isExecutable(Path.of("/usr/bin/runc"))
                || Files.isExecutable(Path.of("/usr/bin/crun")), "the agent probes an OCI runtime");
        Path garbage = dir.resolve("garbage.aot");
        Files.write(garbage, "not an AOT cache".getBytes(StandardCharsets.UTF_8));
        AgentAot offered = new AgentAot.Use(garbage, sha384(Files.readAllBytes(garbage)));
        var request = new SandboxBackend.LaunchRequest("aot-fallback", dir.resolve("group"), "auto", "allow-all", Map.of(),
                List.of(), "sim", dir.resolve("home").resolve("sim-tee"), null, List.of(), List.of());
        Sandbox sandbox = new ProcessSandboxBackend().launch(request, offered);
        try (var client = sandbox.connect()) {
            client.exchange(new dev.coffer.agent.protocol.Request.Ping(), java.time.Duration.ofSeconds(30));
            String log = Files.readString(dir.resolve("group").resolve("agent.log"));
            assertTrue(log.contains("READY "), log);
            assertTrue(log.contains("AOT cache"), "the JVM says why it did not use the cache: " + log);
            // the launch's MEASUREMENT is the one with the cache offered, as the simulated chip reports it
            String expected = measurement(AgentClasspath.current(), offered);
            assertEquals(expected, sandbox.record().measurement());
            assertNotEquals(measurement(AgentClasspath.current(), new AgentAot.None()), expected);
            var report = client.call(new dev.coffer.agent.protocol.Request.GetReport("01"),
                    dev.coffer.agent.protocol.Result.Report.class, java.time.Duration.ofSeconds(30));
            var parsed = dev.coffer.attest.snp.SnpReport.parse(HexFormat.of().parseHex(report.reportHex()));
            assertEquals(expected, HexFormat.of().formatHex(parsed.measurement()), "the agent's own report names the cache offered");
            client.exchange(new dev.coffer.agent.protocol.Request.ShutdownSandbox(1000), java.time.Duration.ofSeconds(30));
        } finally {
            sandbox.destroy(10_000);
        }
    }
}
