package dev.coffer.agent;

import dev.coffer.agent.container.Mounts;
import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Response;
import dev.coffer.agent.protocol.Result;
import dev.coffer.layer.LayerDisk;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.policy.gen.ResolvedImage;
import dev.coffer.policy.k8s.KubernetesManifest;
import dev.coffer.policy.k8s.PodPolicyGenerator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A pod's ConfigMap volume through a real agent process enforcing the policy `coffer policy gen`
 * writes for the pod: the host sends the files with create_container, the agent's policy checks
 * their digests (computed by the agent) against the pinned ones, and the container reads its
 * copy, read-only. Changed content is refused naming the file, hostile file lists are refused
 * before the policy is asked, and no refusal leaves a copy behind.
 */
class ContentVolumeAgentTest {
    static final String POD = """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: web-config}
            data:
              greeting.txt: "hello from the ConfigMap\\n"
              nested: "not mounted"
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: web}
            spec:
              automountServiceAccountToken: false
              containers:
                - name: web
                  image: coffer.test/busybox:1
                  command: [sh, -c, "cat /etc/web/greeting.txt /etc/web/conf/more.txt; if echo x > /etc/web/greeting.txt; then echo WROTE; else echo READ-ONLY; fi"]
                  volumeMounts:
                    - {name: config, mountPath: /etc/web}
                    - {name: config, mountPath: /etc/web-again}
              volumes:
                - name: config
                  configMap:
                    name: web-config
                    items:
                      - {key: greeting.txt, path: greeting.txt}
                      - {key: nested, path: conf/more.txt}
            """;

    @TempDir
    Path dir;
    AgentProcess agent;

    @AfterEach
    void cleanUp() throws Exception {
        AgentProcess.cleanUp(agent, dir);
    }

    private static GeneratedPolicy policyFor(LayerDisk layer) throws Exception {
        KubernetesManifest m = KubernetesManifest.parse(POD, "pod.yaml");
        PodPolicyGenerator generator = new PodPolicyGenerator(ref -> new ResolvedImage(ref, List.of(layer.rootHash()), List.of(),
                List.of("sh"), List.of("PATH=/bin"), "/", ""));
        // this host has no device-mapper, so the process sandbox's scratch is unencrypted: said here, not assumed
        return generator.generate(m, m.workloads().getFirst(), new PodPolicyGenerator.Options(false, false, null, true)).policy();
    }

    private static Request.MountFile file(String path, String content) {
        return new Request.MountFile(path, content.getBytes(StandardCharsets.UTF_8));
    }

    private static Request.Mount config(List<Request.MountFile> files) {
        return new Request.Mount("/etc/web", "sandbox:///files/configmap/config", "bind", List.of("rbind", "rshared", "ro"), files);
    }

    /** The same volume at a second destination. */
    private static Request.Mount again(List<Request.MountFile> files) {
        return new Request.Mount("/etc/web-again", "sandbox:///files/configmap/config", "bind", List.of("rbind", "rshared", "ro"), files);
    }

    private Request.CreateContainer create(List<Request.Mount> mounts) {
        return new Request.CreateContainer("web", agent.state.resolve("containers/web/rootfs").toString(), List.of("sh", "-c",
                "cat /etc/web/greeting.txt /etc/web/conf/more.txt; if echo x > /etc/web/greeting.txt; then echo WROTE; else echo READ-ONLY; fi"),
                List.of("PATH=/bin"), "/", null, null, mounts, null, false, "web");
    }

    private void assertRefusedWithoutCopy(AgentClient c, Request.CreateContainer r, String code, String... reasonParts)
            throws Exception {
        Response resp = c.exchange(r);
        assertFalse(resp.ok(), "expected a refusal, found success");
        assertEquals(code, resp.error().code(), resp.error().reason());
        for (String part : reasonParts) assertTrue(resp.error().reason().contains(part), "expected '" + part + "' in: " + resp.error().reason());
        assertFalse(Files.exists(agent.state.resolve("containers/web/files")), "a refused create left a copy of the files");
        assertFalse(Files.exists(agent.state.resolve("containers/web/bundle")), "a refused create left a bundle");
    }

    @Test
    void pinnedConfigMapIsCopiedReadOnlyAndChangedOrHostileContentIsRefused() throws Exception {
        LayerDisk layer = BusyboxRootfs.disk(dir.resolve("layers"));
        GeneratedPolicy policy = policyFor(layer);
        Path policyFile = dir.resolve("policy.rego");
        Files.write(policyFile, policy.bytes());
        agent = AgentProcess.start(dir, "web", "--policy", policyFile.toString(), "--host-data", policy.sha256(),
                "--layer-disk", layer.file().toAbsolutePath().toString());
        assertTrue(agent.output().contains("enforcer=policy"), agent.output());
        List<Request.MountFile> honest = List.of(file("greeting.txt", "hello from the ConfigMap\n"), file("conf/more.txt", "not mounted"));
        try (AgentClient c = agent.client()) {
            agent.unencryptedScratch(c);
            String l0 = agent.state.resolve("devices/l0").toString();
            c.call(new Request.MountDevice(layer.file().toString(), l0, layer.rootHash()), Result.Done.class);
            c.call(new Request.MountOverlay("web", List.of(l0), agent.state.resolve("containers/web/rootfs").toString()),
                    Result.Done.class);

            // one byte changed: the policy refuses, naming the file and both digests
            assertRefusedWithoutCopy(c, create(List.of(config(List.of(file("greeting.txt", "hello from the ConfigMaq\n"),
                    honest.get(1))))), Response.Failure.DENIED, "create_container denied", "greeting.txt", "its content changed");
            // a file more, a file fewer
            List<Request.MountFile> more = new ArrayList<>(honest);
            more.add(file("evil.sh", "rm -rf /"));
            assertRefusedWithoutCopy(c, create(List.of(config(more))), Response.Failure.DENIED, "evil.sh");
            assertRefusedWithoutCopy(c, create(List.of(config(honest.subList(0, 1)))), Response.Failure.DENIED, "conf/more.txt");
            // what the host sends that no kubelet volume holds: refused before the policy is asked
            Map<String, Request.CreateContainer> hostile = new java.util.LinkedHashMap<>();
            hostile.put("../", create(List.of(config(List.of(file("../../../etc/cron.d/x", "* * * * * root sh"))))));
            hostile.put("'..'", create(List.of(config(List.of(file("..data/greeting.txt", "x"))))));
            hostile.put("twice", create(List.of(config(List.of(honest.get(0), honest.get(0))))));
            hostile.put("a directory", create(List.of(config(List.of(file("conf", "x"), honest.get(1))))));
            hostile.put("at most 1048576 bytes", create(List.of(config(List.of(
                    new Request.MountFile("big", new byte[1024 * 1024 + 1]))))));
            List<Request.MountFile> many = new ArrayList<>();
            for (int i = 0; i < 1025; i++) many.add(file("f" + i, ""));
            hostile.put("at most 1024 files", create(List.of(config(many))));
            hostile.put("read-only", create(List.of(new Request.Mount("/etc/web", "sandbox:///files/configmap/config", "bind",
                    List.of("rbind", "rshared", "rw"), honest))));
            hostile.put("KIND one of", create(List.of(new Request.Mount("/etc/web", "sandbox:///files/hostpath/config", "bind",
                    List.of("rbind", "ro"), honest))));
            hostile.put("NAME a DNS label", create(List.of(new Request.Mount("/etc/web", "sandbox:///files/configmap/../../x", "bind",
                    List.of("rbind", "ro"), honest))));
            hostile.put("files only with", create(List.of(new Request.Mount("/etc/web", "sandbox:///volumes/config", "bind",
                    List.of("rbind", "ro"), honest))));
            hostile.put("expected the files", create(List.of(config(null))));
            hostile.put("the same files each time", create(List.of(config(honest), again(honest.subList(0, 1)))));
            for (Map.Entry<String, Request.CreateContainer> h : hostile.entrySet()) {
                assertRefusedWithoutCopy(c, h.getValue(), Response.Failure.INVALID_REQUEST, h.getKey());
            }

            // the kubelet's content (the volume at both its destinations): allowed, copied into the sandbox once, read by the
            // container, read-only there
            c.call(create(List.of(config(honest), again(honest))), Result.ContainerStatus.class);
            Path copy = agent.state.resolve("containers/web/files/configmap/config");
            assertEquals("hello from the ConfigMap\n", Files.readString(copy.resolve("greeting.txt")));
            // in the kubelet's layout, as on any node: KEY -> ..data/KEY, ..data -> the timestamped directory
            assertEquals(Path.of("..data/greeting.txt"), Files.readSymbolicLink(copy.resolve("greeting.txt")));
            assertEquals(Path.of("..data/conf"), Files.readSymbolicLink(copy.resolve("conf")));
            assertTrue(Files.readSymbolicLink(copy.resolve("..data")).toString().matches("\\.\\.\\d{4}(_\\d\\d){5}\\.\\d{9}"),
                    Files.readSymbolicLink(copy.resolve("..data")).toString());
            c.call(new Request.StartContainer("web"), Result.ContainerStatus.class);
            Result.ContainerStatus done = c.call(new Request.WaitContainer("web", 30_000), Result.ContainerStatus.class);
            String log = Files.readString(Path.of(done.logPath()));
            // stdout and sh's complaint about the read-only file system interleave in the log
            assertTrue(log.contains("hello from the ConfigMap\n") && log.contains("not mounted") && log.contains("READ-ONLY\n")
                    && log.contains("Read-only file system") && !log.contains("WROTE"), log);
            assertEquals("hello from the ConfigMap\n", Files.readString(copy.resolve("greeting.txt")), "the container changed its copy");

            c.call(new Request.ShutdownContainer("web", 0), Result.ContainerStatus.class);
            assertFalse(Files.exists(copy), "the copy outlived its container");
            c.exchange(new Request.ShutdownSandbox(2000));
        }
        agent.waitExit();
        assertEquals(List.of(), Mounts.mountedUnder(dir), "mounts left behind");
    }
}
