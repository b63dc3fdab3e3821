package dev.coffer.cli.k8s;

import dev.coffer.cli.CliRun;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import dev.coffer.cli.Json;
import dev.coffer.cli.Main;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code coffer k8s install/uninstall} on temp dirs with real containerd configs: the output of
 * containerd 1.6.20's {@code containerd config default} (Debian 12's containerd package) and
 * Debian's shipped /etc/containerd/config.toml, plus one with operator-defined runtimes.
 */
class K8sInstallTest {

    @TempDir
    Path tmp;
    Path bin;
    Path config;
    Path java;
    Path launcher;

    static final String CP = "/opt/coffer/lib/*:/opt/it's here/coffer-shim.jar";

    /** Existing runtimes an operator configured (runc with options, Kata), comments and all. */
    static final String WITH_RUNTIMES = """
            version = 2
            # our cluster's containerd
            [plugins."io.containerd.grpc.v1.cri"]
              sandbox_image = "registry.k8s.io/pause:3.9"
              [plugins."io.containerd.grpc.v1.cri".containerd]
                default_runtime_name = "runc"
                [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
                  runtime_type = "io.containerd.runc.v2"
                  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
                    SystemdCgroup = true
                [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]
                  runtime_type = "io.containerd.kata.v2"
                  pod_annotations = ["io.katacontainers.*"]
            [metrics]
              address = "127.0.0.1:1338"
            """;

    @BeforeEach
    void node() throws Exception {
        bin = Files.createDirectories(tmp.resolve("usr/local/bin"));
        config = Files.createDirectories(tmp.resolve("etc/containerd")).resolve("config.toml");
        java = Path.of(System.getProperty("java.home"), "bin", "java");
        launcher = tmp.resolve("coffer/shim/src/main/sh/containerd-shim-coffer-v2");
        Files.createDirectories(launcher.getParent());
        Files.copy(Path.of("../shim/src/main/sh/containerd-shim-coffer-v2"), launcher);
        Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    static String resource(String name) throws Exception {
        try (InputStream in = K8sInstallTest.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    CliRun k8s(String... args) {
        List<String> all = new ArrayList<>(List.of("k8s"));
        all.addAll(List.of(args));
        if (args[0].equals("install") || args[0].equals("uninstall")) {
            all.addAll(List.of("--config", config.toString(), "--bin-dir", bin.toString()));
        }
        if (args[0].equals("install")) all.addAll(List.of("--java", java.toString(), "--shim-launcher", launcher.toString(), "--shim-classpath", CP));
        CommandLine cli = Main.commandLine();
        return CliRun.execute(cli, all.toArray(String[]::new));
    }

    static JsonNode toml(String text) throws Exception {
        return new TomlMapper().readTree(text);
    }

    static JsonNode runtimes(JsonNode tree) {
        return tree.path("plugins").path("io.containerd.grpc.v1.cri").path("containerd").path("runtimes");
    }

    @Test
    void debianDefaultConfigInstallIsIdempotentAndUninstallRestoresTheBytes() throws Exception {
        String original = resource("containerd-1.6.20-default.toml");
        Files.writeString(config, original);
        Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-------"));

        CliRun dry = k8s("install", "--dry-run");
        assertEquals(0, dry.exit(), dry.err());
        assertEquals(original, Files.readString(config), "a dry run writes nothing");
        assertFalse(Files.exists(bin.resolve("containerd-shim-coffer-v2")));
        assertTrue(dry.out().contains("would add containerd's runtime 'coffer'"), dry.out());
        assertTrue(dry.out().contains("+ [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.coffer]"), dry.out());
        assertTrue(dry.out().contains("+   runtime_type = \"io.containerd.coffer.v2\""), dry.out());
        assertTrue(dry.out().contains("would create the shim launcher"), dry.out());

        CliRun r = k8s("install");
        assertEquals(0, r.exit(), r.err());
        String installed = Files.readString(config);
        assertTrue(installed.startsWith(original), "the operator's file stays as it was, the runtime appended");
        JsonNode tree = toml(installed);
        assertEquals("io.containerd.coffer.v2", runtimes(tree).path("coffer").path("runtime_type").asText());
        assertEquals("io.containerd.runc.v2", runtimes(tree).path("runc").path("runtime_type").asText(), "runc untouched");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(config)), "the config's mode kept");
        assertTrue(r.out().contains("kind: RuntimeClass") && r.out().contains("handler: coffer"), r.out());
        assertTrue(r.out().contains("now restart containerd"), r.out());

        Path shim = bin.resolve("containerd-shim-coffer-v2");
        assertTrue(Files.isExecutable(shim));
        String script = Files.readString(shim);
        assertTrue(script.contains("exec '" + launcher + "' \"$@\""), script);
        assertTrue(script.contains("COFFER_SHIM_CLASSPATH=${COFFER_SHIM_CLASSPATH:-'/opt/coffer/lib/*:/opt/it'\\''s here/coffer-shim.jar'}"), script);

        CliRun again = k8s("install", "-o", "json");
        assertEquals(0, again.exit(), again.err());
        JsonNode j = Json.MAPPER.readTree(again.out());
        assertEquals(0, j.path("changes").size(), "install twice: nothing to do");
        assertFalse(j.path("changed").asBoolean());
        assertEquals(installed, Files.readString(config));

        CliRun dryOff = k8s("uninstall", "--dry-run", "-o", "json");
        assertEquals(0, dryOff.exit(), dryOff.err());
        JsonNode off = Json.MAPPER.readTree(dryOff.out());
        assertEquals(List.of("delete", "write"), List.of(off.path("changes").get(0).path("kind").asText(), off.path("changes").get(1).path("kind").asText()));
        assertTrue(off.path("dryRun").asBoolean());
        assertEquals(installed, Files.readString(config));

        CliRun u = k8s("uninstall");
        assertEquals(0, u.exit(), u.err());
        assertEquals(original, Files.readString(config), "uninstall restores the file byte for byte");
        assertFalse(Files.exists(shim));
        CliRun u2 = k8s("uninstall");
        assertEquals(0, u2.exit(), u2.err());
        assertTrue(u2.out().contains("nothing to do"), u2.out());
    }

    @Test
    void containerdItselfReadsTheEditedConfig() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/containerd")), "needs Debian's containerd package (apt-get install containerd)");
        Files.writeString(config, resource("containerd-1.6.20-default.toml"));
        assertEquals(0, k8s("install").exit());
        // `containerd config dump` loads the file as containerd does at start and prints the merged config
        Process p = new ProcessBuilder("/usr/bin/containerd", "--config", config.toString(), "config", "dump")
                .redirectErrorStream(true).start();
        String dump = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), dump);
        JsonNode coffer = runtimes(toml(dump)).path("coffer");
        assertEquals(ContainerdConfig.RUNTIME_TYPE, coffer.path("runtime_type").asText(), dump);
        assertEquals(ContainerdConfig.POD_ANNOTATIONS, iterate(coffer.path("pod_annotations").elements()).stream().toList());
        assertEquals("io.containerd.runc.v2", runtimes(toml(dump)).path("runc").path("runtime_type").asText());
    }

    @Test
    void existingRuntimesKeptAndCommentsStay() throws Exception {
        Files.writeString(config, WITH_RUNTIMES);
        CliRun r = k8s("install");
        assertEquals(0, r.exit(), r.err());
        String installed = Files.readString(config);
        assertTrue(installed.contains("# our cluster's containerd"));
        JsonNode rt = runtimes(toml(installed));
        assertEquals(List.of("runc", "kata", "coffer"), iterate(rt.fieldNames()));
        assertTrue(rt.path("runc").path("options").path("SystemdCgroup").asBoolean());
        assertEquals("io.katacontainers.config.agent.policy", rt.path("coffer").path("pod_annotations").get(0).asText(),
                "the pod policy annotation reaches the shim");
        assertEquals(0, k8s("uninstall").exit());
        assertEquals(WITH_RUNTIMES, Files.readString(config));
    }

    @Test
    void debianShippedConfigAndContainerd2() throws Exception {
        String shipped = resource("debian-12-etc-config.toml");
        Files.writeString(config, shipped);
        assertEquals(0, k8s("install").exit());
        assertEquals("io.containerd.coffer.v2", runtimes(toml(Files.readString(config))).path("coffer").path("runtime_type").asText());
        assertEquals(0, k8s("uninstall").exit());
        assertEquals(shipped, Files.readString(config));

        Files.writeString(config, "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd]\n  default_runtime_name = \"runc\"\n");
        CliRun r = k8s("install");
        assertEquals(0, r.exit(), r.err());
        assertEquals("io.containerd.coffer.v2", toml(Files.readString(config)).path("plugins").path("io.containerd.cri.v1.runtime")
                .path("containerd").path("runtimes").path("coffer").path("runtime_type").asText());
    }

    @Test
    void refusalsWriteNothing() throws Exception {
        // a coffer runtime the operator wrote: not overwritten, not removed
        String theirs = WITH_RUNTIMES + "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.coffer]\n  runtime_type = \"io.containerd.runc.v2\"\n";
        Files.writeString(config, theirs);
        CliRun r = k8s("install");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("already has a runtime named 'coffer'") && r.err().contains("that coffer k8s install did not write"), r.err());
        assertFalse(Files.exists(bin.resolve("containerd-shim-coffer-v2")), "nothing installed: the launcher is not written either");
        CliRun u = k8s("uninstall");
        assertEquals(1, u.exit());
        assertTrue(u.err().contains("did not write"), u.err());
        assertEquals(theirs, Files.readString(config));

        // not TOML, version 1, missing
        Files.writeString(config, "version = 2\n[plugins\n");
        CliRun bad = k8s("install");
        assertEquals(1, bad.exit());
        assertTrue(bad.err().contains("not valid TOML"), bad.err());
        Files.writeString(config, "[plugins.cri]\n  sandbox_image = \"x\"\n");
        CliRun v1 = k8s("install");
        assertEquals(1, v1.exit());
        assertTrue(v1.err().contains("expected containerd config version 2 (containerd 1.x) or 3 (containerd 2.x), found none (version 1)"), v1.err());
        Files.delete(config);
        CliRun missing = k8s("install");
        assertEquals(1, missing.exit());
        assertTrue(missing.err().contains("`containerd config default > " + config + "`"), missing.err());

        // the runtimes table as an inline table cannot take another table: refused, not mangled
        String inline = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n  runtimes = { runc = { runtime_type = \"io.containerd.runc.v2\" } }\n";
        Files.writeString(config, inline);
        CliRun inl = k8s("install");
        assertEquals(1, inl.exit());
        assertTrue(inl.err().contains("nothing installed"), inl.err());
        assertEquals(inline, Files.readString(config));

        // a launcher someone else put there is neither replaced nor removed
        Files.writeString(config, WITH_RUNTIMES);
        Files.writeString(bin.resolve("containerd-shim-coffer-v2"), "#!/bin/sh\necho theirs\n");
        CliRun foreign = k8s("install");
        assertEquals(1, foreign.exit());
        assertTrue(foreign.err().contains("was not written by coffer k8s install"), foreign.err());
        assertEquals(WITH_RUNTIMES, Files.readString(config));
        assertEquals(1, k8s("uninstall").exit());
        assertEquals("#!/bin/sh\necho theirs\n", Files.readString(bin.resolve("containerd-shim-coffer-v2")));

        // settings an operator moved inside Coffer's markers are not deleted with them
        Files.delete(bin.resolve("containerd-shim-coffer-v2"));
        assertEquals(0, k8s("install").exit());
        String edited = Files.readString(config).replace(ContainerdConfig.END, "[debug]\n  level = \"debug\"\n" + ContainerdConfig.END);
        Files.writeString(config, edited);
        CliRun moved = k8s("uninstall");
        assertEquals(1, moved.exit());
        assertTrue(moved.err().contains("hold more than its runtime table"), moved.err());
        assertEquals(edited, Files.readString(config));
    }

    @Test
    void missingInputsAreNamedAndNothingIsWritten() throws Exception {
        Files.writeString(config, WITH_RUNTIMES);
        K8sException noJava = org.junit.jupiter.api.Assertions.assertThrows(K8sException.class,
                () -> new NodeSetup(bin, config, tmp.resolve("nojava"), launcher, CP).installPlan());
        assertTrue(noJava.getMessage().startsWith("expected --java " + tmp.resolve("nojava")), noJava.getMessage());
        K8sException newline = org.junit.jupiter.api.Assertions.assertThrows(K8sException.class,
                () -> new NodeSetup(bin, config, java, launcher, "/a.jar\nrm -rf /").installPlan());
        assertTrue(newline.getMessage().contains("found a line break"), newline.getMessage());
        K8sException noBin = org.junit.jupiter.api.Assertions.assertThrows(K8sException.class,
                () -> new NodeSetup(tmp.resolve("nobin"), config, java, launcher, CP).installPlan());
        assertTrue(noBin.getMessage().contains("to be a directory on containerd's PATH, found nothing"), noBin.getMessage());
        Files.delete(launcher);
        CliRun noLauncher = k8s("install");
        assertEquals(1, noLauncher.exit());
        assertTrue(noLauncher.err().contains("expected --shim-launcher " + launcher), noLauncher.err());
        assertEquals(WITH_RUNTIMES, Files.readString(config));
        assertFalse(Files.exists(bin.resolve("containerd-shim-coffer-v2")));
    }

    @Test
    void runtimeClassCommandPrintsTheManifest() {
        CliRun r = k8s("runtimeclass");
        assertEquals(0, r.exit(), r.err());
        assertEquals(RuntimeClassManifest.yaml(), r.out());
    }

    static List<String> iterate(java.util.Iterator<?> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(x -> out.add(x instanceof JsonNode n ? n.asText() : x.toString()));
        return out;
    }
}
