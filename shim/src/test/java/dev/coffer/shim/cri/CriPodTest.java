package dev.coffer.shim.cri;

import dev.coffer.layer.LayerDisk;
import dev.coffer.layer.LayerDiskCache;
import dev.coffer.oci.layout.ImageBuilder;
import dev.coffer.oci.layout.TarLayer;
import dev.coffer.oci.store.ImageConfig;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.oci.store.LayerBlob;
import dev.coffer.oci.store.LocalImage;
import dev.coffer.policy.spec.GroupSpec;
import dev.coffer.policy.spec.GroupSpecParser;
import dev.coffer.runtime.group.GroupManager;
import dev.coffer.runtime.policy.GroupPolicies;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Pods through containerd's CRI plugin, called as the kubelet calls it: a private containerd
 * (Debian's 1.6, its own root, state and sockets under a temp directory) with the CRI plugin on,
 * the {@code coffer} runtime handler ({@code io.containerd.coffer.v2}, the shim found on
 * containerd's PATH), a pause image Coffer builds offline as {@code sandbox_image}, and pods on
 * the node's network namespace, so no CNI plugin is involved (with CNI, the pod would get its own
 * network namespace and address: a pause-held netns the shim would have to hand to the sandbox).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CriPodTest {
    static final String BUSYBOX = "coffer.test/busybox:1";
    static final String PAUSE = "coffer.test/pause:1";
    static final String SWAPPED = "coffer.test/swapped:1";
    static final String K8S_NS = "k8s.io";
    static final String HANDLER = "coffer";
    static final String POLICY_ANNOTATION = "io.katacontainers.config.agent.policy";
    static final List<String> APPLETS = List.of("sh", "echo", "cat", "sleep", "ls", "id", "env", "true", "false");
    static final List<String> PAUSE_COMMAND = List.of("sleep", "2147483647");
    static final long BOUND_S = 180;

    Path work;
    Path home;
    Path socket;
    Path logs;
    Path podLogs;
    Process containerd;
    CriClient cri;

    @BeforeAll
    void startContainerd() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/containerd")) && Files.isExecutable(Path.of("/usr/bin/ctr")),
                "needs Debian's containerd package (apt-get install containerd)");
        assumeTrue("root".equals(System.getProperty("user.name")), "containerd and the process sandbox need root");
        work = Files.createTempDirectory(Path.of("/tmp"), "cri");
        home = Files.createDirectories(work.resolve("home"));
        logs = Files.createDirectories(work.resolve("logs"));
        podLogs = Files.createDirectories(work.resolve("pods"));
        socket = work.resolve("c.sock");
        Path bin = Files.createDirectories(work.resolve("bin"));
        Path launcher = Path.of("src/main/sh/containerd-shim-coffer-v2").toAbsolutePath();
        Files.copy(launcher, bin.resolve("containerd-shim-coffer-v2"));
        Files.setPosixFilePermissions(bin.resolve("containerd-shim-coffer-v2"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(bin.resolve("coffer-shim.classpath"), System.getProperty("java.class.path"));

        // the same two images in containerd (CRI resolves them) and in the Coffer home (the agent mounts them)
        TarLayer base = busyboxLayer();
        Path busybox = new ImageBuilder().layer(base)
                .layer(new TarLayer().file("etc/passwd", "root:x:0:0:root:/:/bin/sh\n", 0644).file("etc/group", "root:x:0:\n", 0644))
                .config(ImageConfig.of(List.of("sh", "-c", "echo image default cmd")))
                .writeLayout(Files.createDirectories(work.resolve("busybox")), BUSYBOX);
        // the pause image: the busybox layer, sleeping (what holds the pod's group while it lives)
        Path pause = new ImageBuilder().layer(busyboxLayer()).config(ImageConfig.of(PAUSE_COMMAND))
                .writeLayout(Files.createDirectories(work.resolve("pause")), PAUSE);
        // one name, two images: what a registry or host swapping the image under its name leaves behind
        Path swappedForCoffer = new ImageBuilder().layer(busyboxLayer()).config(ImageConfig.of(List.of("sleep", "100000")))
                .writeLayout(Files.createDirectories(work.resolve("swapped-coffer")), SWAPPED);
        Path swappedForContainerd = new ImageBuilder().layer(busyboxLayer())
                .layer(new TarLayer().file("etc/swapped", "not the image the policy was written for\n", 0644))
                .config(ImageConfig.of(List.of("sleep", "100000")))
                .writeLayout(Files.createDirectories(work.resolve("swapped")), SWAPPED);
        try (ImageStore store = ImageStore.open(home)) {
            store.importArchive(busybox);
            store.importArchive(pause);
            store.importArchive(swappedForCoffer);
        }

        Path config = work.resolve("config.toml");
        Files.writeString(config, """
                version = 2
                root = "%s"
                state = "%s"
                [grpc]
                  address = "%s"
                [ttrpc]
                  address = "%s"
                [plugins."io.containerd.grpc.v1.cri"]
                  sandbox_image = "%s"
                  stream_server_address = "127.0.0.1"
                  stream_server_port = "0"
                  enable_selinux = false
                  disable_apparmor = true
                  [plugins."io.containerd.grpc.v1.cri".cni]
                    bin_dir = "%s"
                    conf_dir = "%s"
                  [plugins."io.containerd.grpc.v1.cri".containerd]
                    snapshotter = "native"
                    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
                      runtime_type = "io.containerd.runc.v2"
                    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.%s]
                      runtime_type = "io.containerd.coffer.v2"
                      pod_annotations = ["%s"]
                """.formatted(work.resolve("root"), work.resolve("state"), socket, work.resolve("c.sock.ttrpc"), PAUSE,
                Files.createDirectories(work.resolve("cni-bin")), Files.createDirectories(work.resolve("cni-conf")),
                HANDLER, POLICY_ANNOTATION));
        ProcessBuilder pb = new ProcessBuilder("containerd", "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(work.resolve("containerd.log").toFile());
        Map<String, String> env = pb.environment();
        env.put("PATH", bin + ":" + env.getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"));
        env.put("COFFER_HOME", home.toString());
        env.put("COFFER_SHIM_LOG_DIR", logs.toString());
        env.put("COFFER_SHIM_PAUSE_IMAGE", PAUSE);
        env.put("COFFER_JAVA", ProcessHandle.current().info().command().orElseThrow());
        containerd = pb.start();
        cri = new CriClient(socket, BOUND_S);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_S);
        while (true) {
            assertTrue(containerd.isAlive(), "containerd exited: " + Files.readString(work.resolve("containerd.log")));
            try {
                cri.version();
                break;
            } catch (StatusRuntimeException e) {
                // UNIMPLEMENTED: containerd answers but its CRI plugin did not load (its log says why)
                assertTrue(e.getStatus().getCode() != io.grpc.Status.Code.UNIMPLEMENTED,
                        "containerd's CRI plugin is off: " + e + "\n" + Files.readString(work.resolve("containerd.log")));
                assertTrue(System.nanoTime() < deadline, "containerd's CRI did not answer within " + BOUND_S + " s: " + e);
                Thread.sleep(200);
            }
        }
        for (Path layout : List.of(busybox, pause, swappedForContainerd)) {
            Path tar = work.resolve(layout.getFileName() + ".tar");
            assertEquals(0, run(List.of("tar", "-C", layout.toString(), "-cf", tar.toString(), ".")).exit());
            Result imported = ctr("images", "import", "--snapshotter", "native", tar.toString());
            assertEquals(0, imported.exit(), imported.output());
        }
        for (String image : List.of(BUSYBOX, PAUSE)) {
            assertTrue(cri.imageStatus(image) != null, "CRI does not list " + image);
        }
    }

    private static TarLayer busyboxLayer() {
        Path busybox = Files.isExecutable(Path.of("/bin/busybox")) ? Path.of("/bin/busybox") : Path.of("/usr/bin/busybox");
        TarLayer base = new TarLayer().dir("bin").file("bin/busybox", busybox, 0755);
        for (String a : APPLETS) base.symlink("bin/" + a, "busybox");
        return base.dir("proc").dir("sys").dir("dev").dir("tmp", 01777).dir("etc");
    }

    @AfterAll
    void stopContainerd() throws Exception {
        if (cri != null) cri.close();
        if (containerd != null) {
            containerd.destroy();
            if (!containerd.waitFor(30, TimeUnit.SECONDS)) containerd.destroyForcibly().waitFor();
        }
        if (work != null && new GroupManager(home).list().isEmpty() && mountsUnder(work).isEmpty()) {
            run(List.of("rm", "-rf", work.toString()));
        }
    }

    // ---- the pod ---------------------------------------------------------------------------------

    /**
     * The group spec a pod's policy is generated from: the pause container and the two the test
     * runs (CRI sets HOSTNAME, the pod's hostname, in every container's environment).
     */
    static final String POD_SPEC = """
            name: web
            containers:
              - name: pause
                image: %s
                command: [sleep, "2147483647"]
              - name: app
                image: %s
                command: [sh, -c, "echo app says hello; sleep 1; echo app to stderr >&2; sleep 1; echo app says bye; sleep 1; echo app done >&2; sleep 100000"]
                env: [{name: HOSTNAME, value: web}]
                execProcesses:
                  - command: [cat, /etc/group]
                  - command: [cat, /etc/absent]
              - name: sidecar
                image: %s
                command: [sleep, "100000"]
                env: [{name: HOSTNAME, value: web}]
            """.formatted(PAUSE, BUSYBOX, BUSYBOX);

    @Test
    void podRunsTwoContainersExecsUnderThePolicyAndLeavesNothing() throws Exception {
        String policy = policyFor(POD_SPEC);
        Cri.PodSandboxConfig pod = podConfig("web", Map.of(POLICY_ANNOTATION, base64(policy)));
        long t0 = System.nanoTime();
        String podId = cri.runPodSandbox(pod, HANDLER);
        try {
            long podReady = System.nanoTime();
            String app = cri.createContainer(podId, container("app", BUSYBOX,
                    List.of("sh", "-c", "echo app says hello; sleep 1; echo app to stderr >&2; sleep 1; echo app says bye; sleep 1;"
                            + " echo app done >&2; sleep 100000")), pod);
            cri.startContainer(app);
            long firstRunning = System.nanoTime();
            System.out.printf("CRI: RunPodSandbox %d ms; to the first container running %d ms%n",
                    TimeUnit.NANOSECONDS.toMillis(podReady - t0), TimeUnit.NANOSECONDS.toMillis(firstRunning - t0));
            String sidecar = cri.createContainer(podId, container("sidecar", BUSYBOX, List.of("sleep", "100000")), pod);
            cri.startContainer(sidecar);
            assertEquals(Cri.ContainerState.CONTAINER_RUNNING, cri.containerStatus(app).getState());
            assertEquals(Cri.ContainerState.CONTAINER_RUNNING, cri.containerStatus(sidecar).getState());
            // one shim for the pod, one Coffer group holding its three containers
            assertEquals(1, shimProcesses(), "one shim per pod: " + shims());
            var groups = new GroupManager(home);
            assertEquals(1, groups.list().size(), groups.list().toString());
            assertEquals(List.of("pause", "app", "sidecar"),
                    groups.status(groups.list().getFirst().name()).containers().stream().map(c -> c.name()).toList());

            // CRI's log file (the FIFOs containerd passed, written by CRI in its log format)
            Path log = Path.of(cri.containerStatus(app).getLogPath());
            awaitContent(log, "app done");
            // CRI's log format: TIMESTAMP STREAM P|F TEXT; each stream on its own FIFO, so each line says which it was
            List<String> lines = Files.readAllLines(log).stream().map(l -> l.substring(l.indexOf(' ') + 1)).toList();
            assertEquals(List.of("stdout F app says hello", "stderr F app to stderr", "stdout F app says bye", "stderr F app done"),
                    lines, "the container's lines, each with its stream, in the order written: " + Files.readString(log));

            Cri.ExecSyncResponse allowed = cri.execSync(app, List.of("cat", "/etc/group"), 60);
            assertEquals(0, allowed.getExitCode(), allowed.toString());
            assertEquals("root:x:0:\n", allowed.getStdout().toStringUtf8());
            Cri.ExecSyncResponse failing = cri.execSync(app, List.of("cat", "/etc/absent"), 60);
            assertEquals(1, failing.getExitCode(), failing.toString());
            assertEquals("", failing.getStdout().toStringUtf8(), "ExecSync's stderr stays out of its stdout");
            assertTrue(failing.getStderr().toStringUtf8().contains("/etc/absent"), failing.toString());

            StatusRuntimeException denied = assertThrows(StatusRuntimeException.class,
                    () -> cri.execSync(app, List.of("cat", "/etc/passwd"), 60));
            System.out.println("ExecSync the policy does not allow: " + denied.getStatus());
            assertTrue(denied.getStatus().getDescription().contains("exec_in_container denied: invalid command"), denied.getStatus().toString());

            // a container the policy does not list: containerd 1.6's CRI creates the shim's task (and so
            // asks the agent) at StartContainer, not CreateContainer: refused there with the agent's reason
            // (the generated policy matches a container by what it runs, not by its name: this one's command is not listed)
            String intruder = cri.createContainer(podId, container("intruder", BUSYBOX,
                    List.of("sh", "-c", "cat /etc/passwd; sleep 100000")), pod);
            StatusRuntimeException unlisted = assertThrows(StatusRuntimeException.class, () -> cri.startContainer(intruder));
            System.out.println("StartContainer of a container the policy does not list: " + unlisted.getStatus());
            assertTrue(unlisted.getStatus().getDescription().contains("create_container denied"), unlisted.getStatus().toString());
            cri.removeContainer(intruder);
            assertEquals(List.of("pause", "app", "sidecar"),
                    groups.status(groups.list().getFirst().name()).containers().stream().map(c -> c.name()).toList());
        } finally {
            cri.stopPodSandbox(podId);
            cri.removePodSandbox(podId);
        }
        assertNothingLeft();

        // the same group through `coffer run`'s path (GroupManager.run of the spec, the same policy), for comparison
        Path policyFile = work.resolve("web.rego");
        Files.writeString(policyFile, policy);
        GroupManager groups = new GroupManager(home);
        long r0 = System.nanoTime();
        groups.run(GroupSpecParser.parse(POD_SPEC, "pod.yaml"), dev.coffer.runtime.group.RunOptions.defaults()
                .withIsolation("process").withTee("sim").withPolicy(policyFile.toString()));
        System.out.printf("coffer run of the same group (3 containers running): %d ms%n",
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - r0));
        groups.rm("web", true);
        assertEquals(List.of(), groups.list());
    }

    @Test
    void imageSwappedUnderItsNameIsRefusedByDigest() throws Exception {
        Cri.PodSandboxConfig pod = podConfig("swap", Map.of(POLICY_ANNOTATION, base64(policyFor(POD_SPEC))));
        String podId = cri.runPodSandbox(pod, HANDLER);
        try {
            String app = cri.createContainer(podId, container("app", SWAPPED, List.of("sleep", "100000")), pod);
            StatusRuntimeException refused = assertThrows(StatusRuntimeException.class, () -> cri.startContainer(app));
            System.out.println("StartContainer of an image swapped under its name: " + refused.getStatus());
            String message = refused.getStatus().getDescription();
            assertTrue(message.contains("expected image " + SWAPPED + " to be sha256:"), message);
            assertTrue(message.contains("the two stores hold different images under one name"), message);
            var groups = new GroupManager(home);
            assertEquals(List.of("pause"), groups.status(groups.list().getFirst().name()).containers().stream()
                    .map(c -> c.name()).toList(), "the refused container left no trace in the pod's group");
        } finally {
            cri.stopPodSandbox(podId);
            cri.removePodSandbox(podId);
        }
        assertNothingLeft();
    }

    /**
     * Multi-platform images, as most registry images are: containerd's image record names the
     * index, and the shim checks Coffer's image against the index's linux/amd64 entry. The
     * hostile cases: Coffer holding another platform's image under the name (the policy pins that
     * platform's layers), an index with two linux/amd64 entries, and an index whose bytes in
     * containerd's content store were rewritten to list the manifest Coffer holds.
     */
    @Test
    void multiPlatformImagesRunTheirLinuxAmd64ManifestAndHostileIndexesAreRefused() throws Exception {
        String multi = "coffer.test/multi:1";
        String otherPlatform = "coffer.test/otherplatform:1";
        String ambiguous = "coffer.test/ambiguous:1";
        String tampered = "coffer.test/tampered:1";
        // every image distinct: CRI names a container's image by the first reference of its config digest,
        // so two names sharing an image would be checked under either name
        ImageBuilder arm = platformImage("multi", "arm64");
        ImageBuilder amd = platformImage("multi", "amd64");
        ImageBuilder otherArm = platformImage("other", "arm64");
        ImageBuilder otherAmd = platformImage("other", "amd64");
        ImageBuilder ambiguousOne = platformImage("ambiguous one", "amd64");
        ImageBuilder ambiguousTwo = platformImage("ambiguous two", "amd64");
        ImageBuilder tamperedArm = platformImage("tampered", "arm64");
        ImageBuilder tamperedAmd = platformImage("tampered", "amd64");
        ImageBuilder swapIn = platformImage("what the host wants run", "amd64");
        // containerd gets each name's index; Coffer gets what was imported into it under the name
        Path multiLayout = ImageBuilder.writeMultiPlatformLayout(work.resolve("multi"), multi, List.of(arm, amd));
        Path otherLayout = ImageBuilder.writeMultiPlatformLayout(work.resolve("other"), otherPlatform, List.of(otherArm, otherAmd));
        Path ambiguousLayout = ImageBuilder.writeMultiPlatformLayout(work.resolve("ambiguous"), ambiguous,
                List.of(ambiguousOne, ambiguousTwo));
        Path tamperedLayout = ImageBuilder.writeMultiPlatformLayout(work.resolve("tampered"), tampered, List.of(tamperedArm, tamperedAmd));
        // the manifest the hostile host wants run instead, unpacked in containerd under a name of its own
        Path swapInLayout = swapIn.writeLayout(Files.createDirectories(work.resolve("swapin")), "coffer.test/swapin:1");
        try (ImageStore store = ImageStore.open(home)) {
            assertEquals(amd.build().manifestDigest(), store.importArchive(multiLayout).manifestDigest(), "Coffer picks linux/amd64");
            store.importArchive(otherArm.writeLayout(Files.createDirectories(work.resolve("other-arm")), otherPlatform));
            store.importArchive(ambiguousTwo.writeLayout(Files.createDirectories(work.resolve("ambiguous-two")), ambiguous));
            store.importArchive(swapIn.writeLayout(Files.createDirectories(work.resolve("swapin-coffer")), tampered));
        }
        for (Path layout : List.of(multiLayout, otherLayout, ambiguousLayout, tamperedLayout, swapInLayout)) {
            Path tar = work.resolve(layout.getFileName() + ".tar");
            assertEquals(0, run(List.of("tar", "-C", layout.toString(), "-cf", tar.toString(), ".")).exit());
            Result imported = ctr("images", "import", "--snapshotter", "native", tar.toString());
            assertEquals(0, imported.exit(), imported.output());
        }
        String listing = ctr("images", "ls", "name==" + multi).output();
        assertTrue(listing.contains("application/vnd.oci.image.index.v1+json"), "containerd holds the index: " + listing);
        // a hostile host rewrites containerd's copy of the index so that its linux/amd64 entry lists what Coffer holds
        // (containerd itself reads the rewritten index and runs that manifest: only the digest of the index stops it)
        String tamperedIndex = ctr("images", "ls", "name==" + tampered).output().lines().skip(1).findFirst().orElseThrow()
                .trim().split("\\s+")[2];
        Path blob = work.resolve("root/io.containerd.content.v1.content/blobs/sha256").resolve(tamperedIndex.substring(7));
        Files.write(blob, ImageBuilder.platformIndex(List.of(tamperedArm.build(), swapIn.build())).bytes());

        String spec = POD_SPEC + """
                  - name: multi
                    image: %s
                    command: [sh, -c, "cat /etc/platform; sleep 100000"]
                    env: [{name: HOSTNAME, value: multi}]
                  - name: other
                    image: %s
                    command: [sleep, "100000"]
                    env: [{name: HOSTNAME, value: multi}]
                """.formatted(multi, otherPlatform);
        Cri.PodSandboxConfig pod = podConfig("multi", Map.of(POLICY_ANNOTATION, base64(policyFor(spec))));
        String podId = cri.runPodSandbox(pod, HANDLER);
        try {
            String runs = cri.createContainer(podId, container("multi", multi,
                    List.of("sh", "-c", "cat /etc/platform; sleep 100000")), pod);
            cri.startContainer(runs);
            assertEquals(Cri.ContainerState.CONTAINER_RUNNING, cri.containerStatus(runs).getState());
            awaitContent(Path.of(cri.containerStatus(runs).getLogPath()), "multi amd64"); // the linux/amd64 image's own file

            String wrong = cri.createContainer(podId, container("other", otherPlatform, List.of("sleep", "100000")), pod);
            String message = refusedAtStart(wrong, "an image Coffer holds for another platform");
            assertTrue(message.contains("expected image " + otherPlatform + " to be " + otherAmd.build().manifestDigest()), message);
            assertTrue(message.contains("found " + otherArm.build().manifestDigest()), message);
            assertTrue(message.contains("whose linux/amd64 entry is manifest " + otherAmd.build().manifestDigest()), message);

            String twice = cri.createContainer(podId, container("ambiguous", ambiguous, List.of("sleep", "100000")), pod);
            message = refusedAtStart(twice, "an index with two linux/amd64 entries");
            assertTrue(message.contains("is ambiguous: 2 entries are for linux/amd64: " + ambiguousOne.build().manifestDigest()
                    + " (linux/amd64), " + ambiguousTwo.build().manifestDigest() + " (linux/amd64)"), message);

            String rewritten = cri.createContainer(podId, container("tampered", tampered, List.of("sleep", "100000")), pod);
            message = refusedAtStart(rewritten, "an index rewritten in containerd's content store");
            assertTrue(message.contains("expected containerd's copy of image index " + tamperedIndex + " of " + tampered
                    + " to hash to that digest, found sha256:"), message);

            var groups = new GroupManager(home);
            assertEquals(List.of("pause", "multi"), groups.status(groups.list().getFirst().name()).containers().stream()
                    .map(c -> c.name()).toList(), "the refused containers left no trace in the pod's group");
        } finally {
            cri.stopPodSandbox(podId);
            cri.removePodSandbox(podId);
        }
        assertNothingLeft();
    }

    /** A busybox image for {@code architecture} whose own file makes it distinct from every other. */
    private static ImageBuilder platformImage(String label, String architecture) {
        return new ImageBuilder().layer(busyboxLayer())
                .layer(new TarLayer().file("etc/platform", label + " " + architecture + "\n", 0644))
                .config(ImageConfig.of(List.of("sleep", "100000")).withPlatform("linux", architecture));
    }

    private String refusedAtStart(String containerId, String what) {
        StatusRuntimeException refused = assertThrows(StatusRuntimeException.class, () -> cri.startContainer(containerId));
        System.out.println("StartContainer of " + what + ": " + refused.getStatus());
        cri.removeContainer(containerId);
        return refused.getStatus().getDescription();
    }

    @Test
    void podWhosePolicyDoesNotCompileIsRefusedAndLeavesNothing() throws Exception {
        Cri.PodSandboxConfig pod = podConfig("badpolicy", Map.of(POLICY_ANNOTATION, base64("package agent_policy\ndefault allow := {\n")));
        StatusRuntimeException refused = assertThrows(StatusRuntimeException.class, () -> cri.runPodSandbox(pod, HANDLER));
        System.out.println("RunPodSandbox with a policy that does not compile: " + refused.getStatus());
        assertTrue(refused.getStatus().getDescription().contains("Coffer did not start task"), refused.getStatus().toString());
        // CRI keeps nothing of a sandbox that failed to start; the shim and the group are gone
        assertNothingLeft();
    }

    @Test
    void containerOfAPodThatIsNotRunningIsRefused() throws Exception {
        Cri.PodSandboxConfig pod = podConfig("stopped", Map.of(POLICY_ANNOTATION, base64(policyFor(POD_SPEC))));
        String podId = cri.runPodSandbox(pod, HANDLER);
        cri.stopPodSandbox(podId);
        try {
            StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
                    () -> cri.createContainer(podId, container("app", BUSYBOX, List.of("sleep", "100000")), pod));
            System.out.println("CreateContainer in a stopped pod: " + refused.getStatus());
            // CRI itself refuses: the sandbox has no running task (the shim is not asked)
            assertTrue(refused.getStatus().getDescription().contains("no running task found"), refused.getStatus().toString());
        } finally {
            cri.removePodSandbox(podId);
        }
        assertNothingLeft();
    }

    // ---- helpers ---------------------------------------------------------------------------------

    private Cri.PodSandboxConfig podConfig(String name, Map<String, String> annotations) {
        Cri.NamespaceOption node = Cri.NamespaceOption.newBuilder().setNetwork(Cri.NamespaceMode.NODE).build();
        return Cri.PodSandboxConfig.newBuilder()
                .setMetadata(Cri.PodSandboxMetadata.newBuilder().setName(name).setNamespace("default").setUid("uid-" + name))
                .setHostname(name).setLogDirectory(podLogs.resolve(name).toString()).putAllAnnotations(annotations)
                .setLinux(Cri.LinuxPodSandboxConfig.newBuilder().setSecurityContext(
                        Cri.LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(node)))
                .build();
    }

    private static Cri.ContainerConfig container(String name, String image, List<String> command) {
        return Cri.ContainerConfig.newBuilder().setMetadata(Cri.ContainerMetadata.newBuilder().setName(name))
                .setImage(Cri.ImageSpec.newBuilder().setImage(image)).addAllCommand(command).setLogPath(name + ".log").build();
    }

    private static String base64(String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    /** The policy Coffer generates for a group spec, as {@code coffer policy gen} would write it. */
    private String policyFor(String yaml) throws Exception {
        if (dev.coffer.runtime.group.Isolation.encryptedScratchUnavailable("process") != null) {
            // this host cannot encrypt the process sandbox's scratch: the pod's policy says plaintext is acceptable
            yaml += "scratch: {allowUnencrypted: true}\n";
        }
        GroupSpec spec = GroupSpecParser.parse(yaml, "pod.yaml");
        Map<String, LocalImage> images = new LinkedHashMap<>();
        Map<String, LayerDisk> disks = new LinkedHashMap<>();
        try (ImageStore store = ImageStore.open(home)) {
            LayerDiskCache cache = new LayerDiskCache(home.resolve("layers"));
            for (GroupSpec.ContainerSpec c : spec.containers()) {
                LocalImage image = store.resolve(c.image());
                images.put(c.name(), image);
                for (LayerBlob layer : image.layers()) {
                    disks.put(layer.diffId().hex(), cache.getOrBuild("sha256:" + layer.diffId().hex(), () -> store.openLayer(layer)));
                }
            }
        }
        return GroupPolicies.generate(spec, images, disks, false).text();
    }

    private void awaitContent(Path file, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_S);
        while (!Files.exists(file) || !Files.readString(file).contains(text)) {
            assertTrue(System.nanoTime() < deadline, file + " never held \"" + text + "\"" + shimLogs());
            Thread.sleep(100);
        }
    }

    private void assertNothingLeft() throws Exception {
        assertEquals(List.of(), new GroupManager(home).list(), "no Coffer group left");
        List<String> strays = ProcessHandle.allProcesses().filter(p -> cmdline(p).contains(home.toString()))
                .map(p -> p.pid() + " " + p.info().commandLine().orElse("")).toList();
        assertEquals(List.of(), strays, "processes of the Coffer home left");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_S);
        while (shimProcesses() > 0) {
            assertTrue(System.nanoTime() < deadline, "a shim process is still running" + shimLogs());
            Thread.sleep(100);
        }
        assertEquals(List.of(), mountsUnder(work), "mounts left");
        // CRI deletes a failed sandbox's container in its own deferred cleanup: bounded wait
        while (!ctr("containers", "ls", "-q").output().isBlank()) {
            assertTrue(System.nanoTime() < deadline, "containerd containers left: " + ctr("containers", "ls", "-q").output());
            Thread.sleep(200);
        }
        Path sandboxes = work.resolve("root/io.containerd.grpc.v1.cri/sandboxes");
        if (Files.isDirectory(sandboxes)) {
            try (var s = Files.list(sandboxes)) {
                assertEquals(List.of(), s.toList(), "CRI sandbox directories left");
            }
        }
        Path policies = home.resolve("shim-policies");
        if (Files.isDirectory(policies)) {
            try (var s = Files.list(policies)) {
                assertEquals(List.of(), s.toList(), "policy files left");
            }
        }
    }

    private static List<String> mountsUnder(Path dir) throws IOException {
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .filter(l -> l.split(" ")[4].startsWith(dir.toString())).toList();
    }

    /** A process's command line from /proc (ProcessHandle.Info gives none for the shim's long one); empty once it exited. */
    private static String cmdline(ProcessHandle p) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(p.pid()), "cmdline"), StandardCharsets.ISO_8859_1).replace('\0', ' ');
        } catch (IOException e) {
            return "";
        }
    }

    /** The shim daemons of this test's containerd (started with its address), from /proc/PID/cmdline. */
    private List<String> shims() {
        return ProcessHandle.allProcesses().map(p -> {
            try {
                String cmdline = Files.readString(Path.of("/proc", Long.toString(p.pid()), "cmdline")).replace('\0', ' ');
                return cmdline.contains("dev.coffer.shim.ShimMain") && cmdline.contains(socket.toString()) ? p.pid() + "" : null;
            } catch (IOException e) {
                return null; // exited meanwhile
            }
        }).filter(java.util.Objects::nonNull).toList();
    }

    private long shimProcesses() {
        return shims().size();
    }

    private String shimLogs() throws IOException {
        StringBuilder b = new StringBuilder("\n--- shim logs ---\n");
        try (var files = Files.list(logs)) {
            for (Path p : files.toList()) b.append(Files.readString(p));
        }
        return b.toString();
    }

    record Result(int exit, String output) {}

    private Result ctr(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ctr", "-a", socket.toString(), "-n", K8S_NS));
        cmd.addAll(List.of(args));
        return run(cmd);
    }

    private static Result run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(BOUND_S, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(cmd + " did not finish within " + BOUND_S + " s");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
