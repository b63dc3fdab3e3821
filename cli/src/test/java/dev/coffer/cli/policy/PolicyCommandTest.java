package dev.coffer.cli.policy;

import dev.coffer.cli.CliRun;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.coffer.cli.CofferCommand;
import dev.coffer.cli.Main;
import dev.coffer.oci.layout.ImageBuilder;
import dev.coffer.oci.layout.TarLayer;
import dev.coffer.oci.store.ImageConfig;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.policy.gen.GeneratedPolicy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class PolicyCommandTest {

    @TempDir
    Path tmp;
    private String savedUserHome;

    @BeforeEach
    void isolateHome() {
        // CofferHome falls back to ~/.local/share/coffer; point ~ at a temp dir so tests own the store
        assumeTrue(System.getenv("COFFER_HOME") == null, "COFFER_HOME is set; these tests need their own store");
        savedUserHome = System.getProperty("user.home");
        System.setProperty("user.home", tmp.resolve("user").toString());
    }

    @AfterEach
    void restoreHome() {
        if (savedUserHome != null) System.setProperty("user.home", savedUserHome);
    }

    static CliRun run(String... args) {
        CommandLine cli = Main.commandLine();
        if (!cli.getSubcommands().containsKey("policy")) {
            cli = new CommandLine(new CofferCommand()).addSubcommand(new PolicyCommand());
            CommandLine reference = Main.commandLine();
            cli.setExecutionExceptionHandler(reference.getExecutionExceptionHandler());
            cli.setParameterExceptionHandler(reference.getParameterExceptionHandler());
            cli.setExitCodeExceptionMapper(reference.getExitCodeExceptionMapper());
        }
        return CliRun.execute(cli, args);
    }

    Path home() {
        return tmp.resolve("user").resolve(".local/share/coffer");
    }

    void importImage() throws Exception {
        Path layout = new ImageBuilder()
                .layer(new TarLayer().dir("bin").file("bin/app", "#!/bin/sh\necho hi\n", 0755))
                .config(ImageConfig.of(List.of("/bin/app")))
                .writeLayout(tmp.resolve("layout"), "coffer.local/cli-policy:1");
        try (ImageStore store = ImageStore.open(home())) {
            store.importArchive(layout);
        }
    }

    Path spec(String image) throws Exception {
        Path spec = tmp.resolve("group.yaml");
        Files.writeString(spec, "name: g\ncontainers:\n  - name: app\n    image: " + image + "\n");
        return spec;
    }

    @Test
    void genWritesPolicyAndPrintsItsHash() throws Exception {
        importImage();
        Path out = tmp.resolve("out/policy.rego");
        CliRun r = run("policy", "gen", spec("coffer.local/cli-policy:1").toString(), "-o", out.toString());
        assertEquals(0, r.exit(), r.err());
        String text = Files.readString(out, StandardCharsets.UTF_8);
        String hash = GeneratedPolicy.sha256Hex(text);
        assertTrue(r.out().contains("HOST_DATA (sha256 of the policy): " + hash), r.out());
        CliRun again = run("policy", "gen", spec("coffer.local/cli-policy:1").toString(), "-o", tmp.resolve("again.rego").toString());
        assertEquals(0, again.exit());
        assertEquals(text, Files.readString(tmp.resolve("again.rego")), "byte-identical on every run");
        CliRun hashCmd = run("policy", "hash", out.toString());
        assertEquals(hash + "\n", hashCmd.out());
        CliRun stdout = run("policy", "gen", spec("coffer.local/cli-policy:1").toString());
        assertEquals(text, stdout.out());
        assertTrue(stdout.err().contains(hash));
    }

    static final String ARM = """
            {"parameters": {"image": {"type": "string", "defaultValue": "coffer.local/cli-policy:1"}},
             "resources": [{"type": "Microsoft.ContainerInstance/containerGroups", "name": "aci-group",
               "properties": {"containers": [{"name": "app", "properties": {"image": "[parameters('image')]",
                 "environmentVariables": [{"name": "MODE", "value": "prod"}]}}]}}]}
            """;

    @Test
    void genWritesAcipolicygensPolicyForAnArmTemplate() throws Exception {
        importImage();
        Path template = tmp.resolve("template.json");
        Files.writeString(template, ARM);
        Path out = tmp.resolve("aci.rego");
        CliRun r = run("policy", "gen", template.toString(), "-o", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("policy for ACI container group 'aci-group' (1 container) written to"), r.out());
        String policy = Files.readString(out);
        assertTrue(policy.contains("framework_version := \"0.2.3\""), policy);
        assertTrue(policy.contains("{\"pattern\":\"MODE=prod\",\"required\":false,\"strategy\":\"string\"}"), policy);
        assertTrue(policy.contains("\"command\":[\"/bin/app\"]"), policy);
        assertTrue(r.out().contains("HOST_DATA (sha256 of the policy): " + GeneratedPolicy.sha256Hex(policy)), r.out());

        Path params = tmp.resolve("params.json");
        Files.writeString(params, "{\"parameters\": {\"image\": {\"value\": \"coffer.local/missing:9\"}}}");
        CliRun missing = run("policy", "gen", template.toString(), "-p", params.toString(), "-o", tmp.resolve("never.rego").toString());
        assertEquals(1, missing.exit());
        assertTrue(missing.err().startsWith("coffer: policy not generated: ") && missing.err().contains("coffer.local/missing:9"), missing.err());
        assertFalse(Files.exists(tmp.resolve("never.rego")));

        Files.writeString(template, ARM.replace("[parameters('image')]", "[parameters('imag')]"));
        CliRun bad = run("policy", "gen", template.toString(), "-o", tmp.resolve("never.rego").toString());
        assertEquals(1, bad.exit());
        assertTrue(bad.err().contains("resources[0].properties.containers[0].properties.image")
                && bad.err().contains("no parameter 'imag'"), bad.err());
        assertFalse(Files.exists(tmp.resolve("never.rego")));

        CliRun armOnly = run("policy", "gen", spec("coffer.local/cli-policy:1").toString(), "--disable-stdio");
        assertEquals(1, armOnly.exit());
        assertTrue(armOnly.err().contains("--disable-stdio applies to ARM templates only"), armOnly.err());
    }

    /**
     * Unencrypted scratch is refused by default and allowed only when asked: by the flag or by the
     * spec's scratch section, which give the same policy (so the same HOST_DATA); an ARM template
     * cannot ask (acipolicygen's policies never allow it).
     */
    @Test
    void genAllowsUnencryptedScratchOnlyWhenAsked() throws Exception {
        importImage();
        CliRun plain = run("policy", "gen", spec("coffer.local/cli-policy:1").toString(), "-o", tmp.resolve("default.rego").toString());
        assertEquals(0, plain.exit(), plain.err());
        assertTrue(Files.readString(tmp.resolve("default.rego")).contains("allow_unencrypted_scratch := false"));
        assertFalse(plain.out().contains("allows unencrypted scratch"), plain.out());

        CliRun flag = run("policy", "gen", spec("coffer.local/cli-policy:1").toString(), "--allow-unencrypted-scratch",
                "-o", tmp.resolve("flag.rego").toString());
        assertEquals(0, flag.exit(), flag.err());
        String byFlag = Files.readString(tmp.resolve("flag.rego"));
        assertTrue(byFlag.contains("allow_unencrypted_scratch := true"), byFlag);
        assertTrue(flag.out().contains("note: this policy allows unencrypted scratch"), flag.out());

        Path withSection = tmp.resolve("scratch.yaml");
        Files.writeString(withSection, Files.readString(spec("coffer.local/cli-policy:1")) + "scratch: {allowUnencrypted: true}\n");
        CliRun section = run("policy", "gen", withSection.toString(), "-o", tmp.resolve("section.rego").toString());
        assertEquals(0, section.exit(), section.err());
        assertEquals(byFlag, Files.readString(tmp.resolve("section.rego")), "the flag and the spec field make one policy");

        Files.writeString(withSection, Files.readString(spec("coffer.local/cli-policy:1")) + "scratch: {allowUnencrypted: maybe}\n");
        CliRun bad = run("policy", "gen", withSection.toString(), "-o", tmp.resolve("never.rego").toString());
        assertEquals(1, bad.exit(), bad.out());
        assertTrue(bad.err().contains("allowUnencrypted"), bad.err());
        assertFalse(Files.exists(tmp.resolve("never.rego")));

        Path template = tmp.resolve("template.json");
        Files.writeString(template, ARM);
        CliRun arm = run("policy", "gen", template.toString(), "--allow-unencrypted-scratch", "-o", tmp.resolve("never.rego").toString());
        assertEquals(1, arm.exit(), arm.out());
        assertTrue(arm.err().contains("--allow-unencrypted-scratch applies to group specs and Kubernetes manifests only"), arm.err());
        assertFalse(Files.exists(tmp.resolve("never.rego")));
    }

    /**
     * Stdin is refused by default and allowed only when asked, by the flag or by the spec's stdin
     * section, which give the same policy; an ARM template cannot ask.
     */
    @Test
    void genAllowsStdinOnlyWhenAsked() throws Exception {
        importImage();
        CliRun plain = run("policy", "gen", spec("coffer.local/cli-policy:1").toString(), "-o", tmp.resolve("default.rego").toString());
        assertEquals(0, plain.exit(), plain.err());
        assertTrue(Files.readString(tmp.resolve("default.rego")).contains("allow_stdin := false"));

        CliRun flag = run("policy", "gen", spec("coffer.local/cli-policy:1").toString(), "--allow-stdin",
                "-o", tmp.resolve("flag.rego").toString());
        assertEquals(0, flag.exit(), flag.err());
        String byFlag = Files.readString(tmp.resolve("flag.rego"));
        assertTrue(byFlag.contains("allow_stdin := true"), byFlag);

        Path withSection = tmp.resolve("stdin.yaml");
        Files.writeString(withSection, Files.readString(spec("coffer.local/cli-policy:1")) + "stdin: {allow: true}\n");
        CliRun section = run("policy", "gen", withSection.toString(), "-o", tmp.resolve("section.rego").toString());
        assertEquals(0, section.exit(), section.err());
        assertEquals(byFlag, Files.readString(tmp.resolve("section.rego")), "the flag and the spec field make one policy");

        Path template = tmp.resolve("template.json");
        Files.writeString(template, ARM);
        CliRun arm = run("policy", "gen", template.toString(), "--allow-stdin", "-o", tmp.resolve("never.rego").toString());
        assertEquals(1, arm.exit(), arm.out());
        assertTrue(arm.err().contains("--allow-stdin applies to group specs and Kubernetes manifests only"), arm.err());
        assertFalse(Files.exists(tmp.resolve("never.rego")));
    }

    @Test
    void genDebugModeWarns() throws Exception {
        importImage();
        Path out = tmp.resolve("debug.rego");
        CliRun r = run("policy", "gen", spec("coffer.local/cli-policy:1").toString(), "--debug-mode", "-o", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("debuggable"), r.out());
        assertTrue(Files.readString(out).contains("debug_mode := true"));
    }

    @Test
    void genFailsLoudlyAndWritesNothing() throws Exception {
        importImage();
        Path out = tmp.resolve("never.rego");
        CliRun r = run("policy", "gen", spec("coffer.local/missing:1").toString(), "-o", out.toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().startsWith("coffer: policy not generated: "), r.err());
        assertFalse(Files.exists(out));
        try (var files = Files.list(tmp)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temp file left");
        }
        CliRun bad = run("policy", "gen", tmp.resolve("nope.yaml").toString(), "-o", out.toString());
        assertEquals(1, bad.exit());
        assertTrue(bad.err().contains("nope.yaml") && bad.err().contains("found no such file"), bad.err());
        Files.writeString(tmp.resolve("broken.yaml"), "name: g\ncontainers: [\n");
        CliRun broken = run("policy", "gen", tmp.resolve("broken.yaml").toString(), "-o", out.toString());
        assertEquals(1, broken.exit());
        assertTrue(broken.err().contains("broken.yaml:"), broken.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void genRefusesATamperedLayerAndWritesNothing() throws Exception {
        importImage();
        try (ImageStore store = ImageStore.open(home())) {
            Path blob = store.blobPath(store.resolve("coffer.local/cli-policy:1").layers().getFirst().digest());
            byte[] bytes = Files.readAllBytes(blob);
            bytes[bytes.length - 9] ^= 0x01;
            blob.toFile().setWritable(true);
            Files.write(blob, bytes);
        }
        Path out = tmp.resolve("tampered.rego");
        CliRun r = run("policy", "gen", spec("coffer.local/cli-policy:1").toString(), "-o", out.toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("layer 1/1"), r.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void hashOfMissingFileIsAClearError() {
        CliRun r = run("policy", "hash", tmp.resolve("x.rego").toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("does not exist"), r.err());
    }

    @Test
    void hashJson() throws Exception {
        Path p = tmp.resolve("p.rego");
        Files.writeString(p, "package policy\n");
        JsonNode n = new ObjectMapper().readTree(run("policy", "hash", p.toString(), "-o", "json").out());
        assertEquals(GeneratedPolicy.sha256Hex("package policy\n"), n.path("sha256").asText());
    }

    static final String L = "7".repeat(64);

    Path simulationFiles() throws Exception {
        importImage();
        Path policy = tmp.resolve("p.rego");
        assertEquals(0, run("policy", "gen", spec("coffer.local/cli-policy:1").toString(), "-o", policy.toString()).exit());
        return policy;
    }

    @Test
    void simulatePrintsEachDecisionAndState() throws Exception {
        Path policy = simulationFiles();
        Path commands = tmp.resolve("commands.json");
        Files.writeString(commands, """
                [{"rule": "mount_device", "input": {"target": "/run/coffer/layers/x", "deviceHash": "%s"}},
                 {"rule": "get_properties"},
                 {"rule": "set_policy", "input": {"policyText": "package policy"}}]
                """.formatted(L));
        CliRun r = run("policy", "simulate", policy.toString(), commands.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("#1 mount_device DENIED (denied)"), r.out());
        assertTrue(r.out().contains("deviceHash not found"), r.out());
        assertTrue(r.out().contains("#2 get_properties ALLOWED (committed)"), r.out());
        assertTrue(r.out().contains("#3 set_policy DENIED"), r.out());
        assertTrue(r.out().contains("3 requests: 1 allowed, 2 denied"), r.out());

        JsonNode json = new ObjectMapper().readTree(run("policy", "simulate", policy.toString(), commands.toString(), "-o", "json").out());
        assertEquals(3, json.size());
        assertEquals("deviceHash", json.get(0).path("explanation").path("field").asText());
        assertTrue(json.get(1).path("state").has("devices"));
    }

    @Test
    void simulateRejectsMalformedCommands() throws Exception {
        Path policy = simulationFiles();
        Path commands = tmp.resolve("bad.json");
        Files.writeString(commands, "[{\"rule\": \"mount_device\"}]");
        CliRun r = run("policy", "simulate", policy.toString(), commands.toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("step 1: invalid mount_device input"), r.err());
        Files.writeString(commands, "[{");
        assertEquals(1, run("policy", "simulate", policy.toString(), commands.toString()).exit());
        Path notPolicy = tmp.resolve("np.rego");
        Files.writeString(notPolicy, "package other\n");
        Files.writeString(commands, "[]");
        CliRun np = run("policy", "simulate", notPolicy.toString(), commands.toString());
        assertEquals(1, np.exit());
        assertTrue(np.err().contains("cannot be enforced"), np.err());
    }

    @Test
    void benchPrintsFigures() {
        CliRun r = run("policy", "bench", "--containers", "3", "--layers", "2", "--env-rules", "4", "--mounts", "1",
                "--warmup", "0", "--seconds", "0.3");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("decisions/s"), r.out());
        assertEquals(2, run("policy", "bench", "--containers", "0").exit());
    }

    @Test
    void benchMeasuresMicrosoftsFrameworkOnAnAciPolicy() {
        Path aci = Path.of(System.getProperty("coffer.shared", "../../shared")).resolve("testdata/aci");
        CliRun r = run("policy", "bench", "--framework", aci.resolve("hcsshim-v0.14.0").toString(), "--policy",
                aci.resolve("confcom-samples/environment_variables/policy.rego").toString(), "--iterations", "100");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("create_container allow") && r.out().contains("allowed=true"), r.out());
        assertTrue(r.out().contains("create_container deny (args)") && r.out().contains("allowed=false"), r.out());
        CliRun alone = run("policy", "bench", "--framework", aci.resolve("hcsshim-v0.14.0").toString());
        assertEquals(2, alone.exit());
        assertTrue(alone.err().contains("--framework DIR and --policy FILE go together"), alone.err());
        CliRun wrongDir = run("policy", "bench", "--framework", aci.toString(), "--policy", "p.rego");
        assertEquals(2, wrongDir.exit());
        assertTrue(wrongDir.err().contains("has no framework.rego"), wrongDir.err());
    }
}
