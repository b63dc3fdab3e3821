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
 * containerd's PATH), a pause image Coffer builds offline as {@code sandbox_image}. Most pods use
 * the node's network (hostNetwork: the group makes a namespace of its own, as {@code coffer run}
 * does); the pod-network tests give pods a network through CNI (Debian's containernetworking-plugins:
 * a bridge of the test's own on a private /24 it checked is unused, host-local addresses kept in the
 * test's directory, loopback), whose namespace containerd names in the sandbox task's spec and the
 * group adopts.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CriPodTest {
    static final String BUSYBOX = "coffer.test/busybox:1";
    static final String PAUSE = "coffer.test/pause:1";
    static final String SWAPPED = "coffer.test/swapped:1";
    static final String MEMBER = "coffer.test/member:1";
    static final String K8S_NS = "k8s.io";
    static final String HANDLER = "coffer";
    static final String POLICY_ANNOTATION = "io.katacontainers.config.agent.policy";
    static final List<String> APPLETS = List.of("sh", "echo", "cat", "sleep", "ls", "id", "env", "true", "false", "mkdir", "httpd", "wget", "seq");
    static final List<String> PAUSE_COMMAND = List.of("sleep", "2147483647");
    static final long BOUND_S = 180;
    /** Where Debian's containernetworking-plugins puts the CNI plugins. */
    static final Path CNI_BIN = Path.of("/usr/lib/cni");
    static final String CNI_NETWORK = "coffer-test";

    Path work;
    Path home;
    Path socket;
    Path logs;
    Path podLogs;
    PrivateContainerd containerd;
    CriClient cri;
    /** The CNI bridge and subnet ("10.A.B") of this test's pod network; null where the CNI plugins are missing. */
    String bridge;
    String subnet;
    Path ipamDir;

    @BeforeAll
    void startContainerd() throws Exception {
        String unavailable = PrivateContainerd.unavailableReason();
        assumeTrue(unavailable == null, unavailable);
        work = Files.createTempDirectory(Path.of("/tmp"), "cri");
        home = Files.createDirectories(work.resolve("home"));
        logs = Files.createDirectories(work.resolve("logs"));
        podLogs = Files.createDirectories(work.resolve("pods"));

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
        // an image whose /etc/group lists its user app (uid 1000) in group 5000: containerd adds that group
        Path member = new ImageBuilder().layer(busyboxLayer())
                .layer(new TarLayer().file("etc/passwd", "root:x:0:0:root:/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n", 0644)
                        .file("etc/group", "root:x:0:\napp:x:1000:app\nweb:x:5000:www,app\n", 0644))
                .config(ImageConfig.of(List.of("sh", "-c", "id")))
                .writeLayout(Files.createDirectories(work.resolve("member")), MEMBER);
        try (ImageStore store = ImageStore.open(home)) {
            store.importArchive(busybox);
            store.importArchive(pause);
            store.importArchive(swappedForCoffer);
            store.importArchive(member);
        }

        Path cniConf = Files.createDirectories(work.resolve("cni-conf"));
        boolean cni = Files.isExecutable(CNI_BIN.resolve("bridge")) && Files.isExecutable(CNI_BIN.resolve("host-local"))
                && Files.isExecutable(CNI_BIN.resolve("loopback"));
        if (cni) writeCniNetwork(cniConf);

        var options = new PrivateContainerd.Options(work.resolve("containerd"), home,
                Path.of("src/main/sh/containerd-shim-coffer-v2").toAbsolutePath(), System.getProperty("java.class.path"),
                Path.of(ProcessHandle.current().info().command().orElseThrow()), PAUSE, null, null,
                Map.of("COFFER_SHIM_LOG_DIR", logs.toString()), java.time.Duration.ofSeconds(BOUND_S));
        containerd = PrivateContainerd.start(cni ? options.withCni(CNI_BIN, cniConf) : options);
        socket = containerd.socket();
        cri = containerd.cri();
        for (Path layout : List.of(busybox, pause, swappedForContainerd, member)) {
            containerd.importLayout(layout);
        }
        for (String image : List.of(BUSYBOX, PAUSE)) {
            assertTrue(cri.imageStatus(image) != null, "CRI does not list " + image);
        }
    }

    /**
     * The pod network: a bridge named for this test (so it never meets another's), host-local
     * addresses on a /24 no interface or route of this host uses, kept in the test's directory so
     * what CNI allocated and released can be read, and loopback up in every pod.
     */
    private void writeCniNetwork(Path confDir) throws Exception {
        bridge = "cof" + "%06x".formatted(new java.util.Random().nextInt(1 << 24));
        subnet = unusedSubnet();
        ipamDir = work.resolve("cni-ipam");
        Files.writeString(confDir.resolve("10-coffer-test.conflist"), """
                {
                  "cniVersion": "0.4.0",
                  "name": "%s",
                  "plugins": [
                    {"type": "bridge", "bridge": "%s", "isGateway": true, "ipMasq": false, "hairpinMode": true,
                     "ipam": {"type": "host-local", "ranges": [[{"subnet": "%s.0/24"}]], "dataDir": "%s"}},
                    {"type": "loopback"}
                  ]
                }
                """.formatted(CNI_NETWORK, bridge, subnet, ipamDir));
        System.out.println("CNI pod network: bridge " + bridge + ", " + subnet + ".0/24");
    }

    /** A private 10.x.y.0/24 that overlaps no IPv4 address or route of this host ("10.x.y"). */
    private static String unusedSubnet() throws Exception {
        String used = run(List.of("ip", "-4", "-o", "addr", "show")).output()
                + run(List.of("ip", "-4", "route", "show", "table", "all")).output();
        List<long[]> taken = new ArrayList<>();
        var m = java.util.regex.Pattern.compile("(\\d+)\\.(\\d+)\\.(\\d+)\\.(\\d+)(?:/(\\d+))?").matcher(used);
        while (m.find()) {
            long ip = (Long.parseLong(m.group(1)) << 24) | (Long.parseLong(m.group(2)) << 16)
                    | (Long.parseLong(m.group(3)) << 8) | Long.parseLong(m.group(4));
            taken.add(new long[]{ip, m.group(5) == null ? 32 : Long.parseLong(m.group(5))});
        }
        java.util.Random random = new java.util.Random();
        for (int attempt = 0; attempt < 100; attempt++) {
            long candidate = (10L << 24) | ((200L + random.nextInt(50)) << 16) | ((long) random.nextInt(256) << 8);
            boolean free = taken.stream().noneMatch(t -> {
                long prefix = Math.min(24, t[1]);
                long mask = prefix == 0 ? 0 : (0xffffffffL << (32 - prefix)) & 0xffffffffL;
                return (candidate & mask) == (t[0] & mask);
            });
            if (free) return (candidate >> 24) + "." + ((candidate >> 16) & 255) + "." + ((candidate >> 8) & 255);
        }
        throw new AssertionError("no unused 10.200-249.x.0/24 found among this host's addresses and routes:\n" + used);
    }

    private static TarLayer busyboxLayer() {
        Path busybox = Files.isExecutable(Path.of("/bin/busybox")) ? Path.of("/bin/busybox") : Path.of("/usr/bin/busybox");
        TarLayer base = new TarLayer().dir("bin").file("bin/busybox", busybox, 0755);
        for (String a : APPLETS) base.symlink("bin/" + a, "busybox");
        return base.dir("proc").dir("sys").dir("dev").dir("tmp", 01777).dir("etc");
    }

    @AfterAll
    void stopContainerd() throws Exception {
        if (containerd != null) containerd.close();
        if (bridge != null && run(List.of("ip", "link", "show", bridge)).exit() == 0) {
            // CNI's bridge plugin leaves the bridge when the last pod goes: it is this test's own
            run(List.of("ip", "link", "del", bridge));
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
    /** The pod's app container, as POD_SPEC's policy pins it: both tests that run the pod start it with these args. */
    static final List<String> APP_COMMAND = List.of("sh", "-c",
            "echo app says hello; sleep 1; echo app to stderr >&2; sleep 1; echo app says bye; sleep 1; echo app done >&2; sleep 100000");

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
                    APP_COMMAND), pod);
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

    /** A pod whose two containers share an emptyDir volume, the reader's mount read-only. */
    static final String SHARED_VOLUME_SPEC = """
            name: shared
            containers:
              - name: pause
                image: %s
                command: [sleep, "2147483647"]
              - name: writer
                image: %s
                command: [sh, -c, "echo written in the pod > /shared/msg; sleep 100000"]
                env: [{name: HOSTNAME, value: shared}]
                volumeMounts: [{name: shared, mountPath: /shared}]
              - name: reader
                image: %s
                command: [sh, -c, "until cat /shared/msg; do sleep 1; done; sleep 100000"]
                env: [{name: HOSTNAME, value: shared}]
                volumeMounts: [{name: shared, mountPath: /shared, readOnly: true}]
            volumes:
              - name: shared
                emptyDir: {}
            """.formatted(PAUSE, BUSYBOX, BUSYBOX);

    /**
     * The kubelet's emptyDir volumes: containerd passes each as a bind mount of a directory the
     * kubelet made on the host; in a Coffer pod it is the sandbox's own volume of that name, so what
     * one container writes the other reads, and none of it is in the host's directory. A host that
     * mounts the volume writable where the policy says read-only is refused.
     */
    @Test
    void podContainersShareAnEmptyDirThatIsNotTheHostsDirectory() throws Exception {
        Cri.PodSandboxConfig pod = podConfig("shared", Map.of(POLICY_ANNOTATION, base64(policyFor(SHARED_VOLUME_SPEC))));
        Path hostDir = Files.createDirectories(work.resolve("kubelet/pods/uid-shared/volumes/kubernetes.io~empty-dir/shared"));
        java.util.function.BiFunction<Cri.ContainerConfig, Boolean, Cri.ContainerConfig> withVolume = (c, ro) -> c.toBuilder()
                .addMounts(Cri.Mount.newBuilder().setContainerPath("/shared").setHostPath(hostDir.toString()).setReadonly(ro)).build();
        String podId = cri.runPodSandbox(pod, HANDLER);
        try {
            String writer = cri.createContainer(podId, withVolume.apply(container("writer", BUSYBOX,
                    List.of("sh", "-c", "echo written in the pod > /shared/msg; sleep 100000")), false), pod);
            cri.startContainer(writer);
            String reader = cri.createContainer(podId, withVolume.apply(container("reader", BUSYBOX,
                    List.of("sh", "-c", "until cat /shared/msg; do sleep 1; done; sleep 100000")), true), pod);
            cri.startContainer(reader);
            Path log = Path.of(cri.containerStatus(reader).getLogPath());
            awaitContent(log, "written in the pod");
            try (var listing = Files.list(hostDir)) {
                assertEquals(List.of(), listing.toList(), "the volume's data is the sandbox's, never in the kubelet's host directory");
            }
            // the same reader asking for the volume writable: not what the policy pins for it
            String writable = cri.createContainer(podId, withVolume.apply(container("reader-rw", BUSYBOX,
                    List.of("sh", "-c", "until cat /shared/msg; do sleep 1; done; sleep 100000")), false), pod);
            StatusRuntimeException refused = assertThrows(StatusRuntimeException.class, () -> cri.startContainer(writable));
            System.out.println("StartContainer with the volume writable against the policy: " + refused.getStatus());
            assertTrue(refused.getStatus().getDescription().contains("create_container denied"), refused.getStatus().toString());
            cri.removeContainer(writable);
        } finally {
            cri.stopPodSandbox(podId);
            cri.removePodSandbox(podId);
        }
        assertNothingLeft();
    }

    /** A container whose SIGTERM handler takes 12 s to finish, and one that ignores SIGTERM. */
    static final List<String> GRACEFUL = List.of("sh", "-c",
            "trap 'echo term received; sleep 12; echo finished cleanly; exit 0' TERM; echo ready; while true; do sleep 1; done");
    static final List<String> STUBBORN = List.of("sh", "-c", "trap '' TERM; echo ready; while true; do sleep 1; done");
    static final String GRACE_SPEC = """
            name: grace
            containers:
              - name: pause
                image: %s
                command: [sleep, "2147483647"]
              - name: graceful
                image: %s
                command: %s
                env: [{name: HOSTNAME, value: grace}]
              - name: stubborn
                image: %s
                command: %s
                env: [{name: HOSTNAME, value: grace}]
            """.formatted(PAUSE, BUSYBOX, flow(GRACEFUL), BUSYBOX, flow(STUBBORN));

    private static String flow(List<String> command) {
        return command.stream().map(a -> "'" + a.replace("'", "''") + "'").collect(java.util.stream.Collectors.joining(", ", "[", "]"));
    }

    /**
     * CRI's StopContainer gives a container its own timeout (the pod's terminationGracePeriodSeconds):
     * containerd sends SIGTERM, waits that long, then SIGKILL. A container that needs 12 s to shut
     * down cleanly gets them under a 60 s timeout (the shim used to let the agent kill it after its
     * own 10 s: exit 137), and one that ignores SIGTERM is killed when a 2 s timeout ends.
     */
    @Test
    void stopContainerGivesTheContainerCrisTimeoutNotAShorterOne() throws Exception {
        Cri.PodSandboxConfig pod = podConfig("grace", Map.of(POLICY_ANNOTATION, base64(policyFor(GRACE_SPEC))));
        String podId = cri.runPodSandbox(pod, HANDLER);
        try {
            String graceful = cri.createContainer(podId, container("graceful", BUSYBOX, GRACEFUL), pod);
            cri.startContainer(graceful);
            String stubborn = cri.createContainer(podId, container("stubborn", BUSYBOX, STUBBORN), pod);
            cri.startContainer(stubborn);
            awaitContent(Path.of(cri.containerStatus(graceful).getLogPath()), "ready");
            awaitContent(Path.of(cri.containerStatus(stubborn).getLogPath()), "ready");

            cri.stopContainer(graceful, 60);
            Cri.ContainerStatus done = cri.containerStatus(graceful);
            assertEquals(Cri.ContainerState.CONTAINER_EXITED, done.getState(), done.toString());
            assertEquals(0, done.getExitCode(), "the TERM handler ran to its end: " + Files.readString(Path.of(done.getLogPath())));
            assertTrue(Files.readString(Path.of(done.getLogPath())).contains("finished cleanly"), done.toString());

            cri.stopContainer(stubborn, 2);
            Cri.ContainerStatus killed = cri.containerStatus(stubborn);
            assertEquals(Cri.ContainerState.CONTAINER_EXITED, killed.getState(), killed.toString());
            assertEquals(137, killed.getExitCode(), "containerd's SIGKILL after the timeout ended it: " + killed);

            // the shim waits for each container's exit with the agent's long wait, and its output
            // copier asks nothing more: over the graceful container's ~15 s the decision log holds a
            // few wait_container decisions for it, not one per 200 ms (which filled the bounded log
            // of a long-running pod within about an hour)
            var groups = new GroupManager(home);
            Path decisions = home.resolve("groups").resolve(groups.list().getFirst().name()).resolve("sandbox/policy-decisions.jsonl");
            long waits = Files.readAllLines(decisions).stream()
                    .filter(l -> l.contains("\"rule\":\"wait_container\"") && l.contains("\"containerID\":\"graceful\"")).count();
            System.out.println("wait_container decisions for the graceful container: " + waits);
            assertTrue(waits >= 1 && waits <= 8, waits + " wait_container decisions for one container in ~15 s");
        } finally {
            cri.stopPodSandbox(podId);
            cri.removePodSandbox(podId);
        }
        assertNothingLeft();
    }

    /**
     * A ConfigMap volume through the kubelet's mount: containerd passes the directory the kubelet
     * wrote (its atomic-writer layout, written here by the test as the kubelet writes it); the shim
     * reads it, the agent copies the files into the sandbox after the pod's policy (from {@code
     * coffer policy gen pod.yaml}, which pins the ConfigMap's files by SHA-256) allowed them, and the
     * container reads its copy. The same container with one byte of the file changed on the host is
     * refused (at the shim's Create, which containerd 1.6's CRI runs at StartContainer) naming the file.
     */
    @Test
    void podConfigMapVolumeIsCopiedUnderThePolicyAndChangedContentIsRefused() throws Exception {
        String podYaml = """
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: app-config}
                data:
                  greeting.txt: "hello from the ConfigMap"
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: cm}
                spec:
                  automountServiceAccountToken: false
                  containers:
                    - name: app
                      image: %s
                      command: [sh, -c, "cat /etc/app/greeting.txt; echo; sleep 100000"]
                      volumeMounts: [{name: config, mountPath: /etc/app}]
                  volumes:
                    - name: config
                      configMap: {name: app-config}
                """.formatted(BUSYBOX);
        String policy = podSpecPolicy(podYaml);
        assertTrue(policy.contains("\"files\": [{\"path\": \"greeting.txt\""), "the ConfigMap's file is pinned: " + policy);
        Path honest = dev.coffer.shim.kubelet.KubeletVolumeTest.atomicWriterVolume(work.resolve("kubelet/pods"), "configmap", "config",
                Map.of("greeting.txt", "hello from the ConfigMap"));
        Path changed = dev.coffer.shim.kubelet.KubeletVolumeTest.atomicWriterVolume(work.resolve("kubelet/pods-changed"), "configmap",
                "config", Map.of("greeting.txt", "hello from the ConfigMaq"));
        java.util.function.BiFunction<String, Path, Cri.ContainerConfig> app = (name, volume) -> container(name, BUSYBOX,
                List.of("sh", "-c", "cat /etc/app/greeting.txt; echo; sleep 100000")).toBuilder()
                .addMounts(Cri.Mount.newBuilder().setContainerPath("/etc/app").setHostPath(volume.toString()).setReadonly(true)).build();
        Cri.PodSandboxConfig pod = podConfig("cm", Map.of(POLICY_ANNOTATION, base64(policy)));
        String podId = cri.runPodSandbox(pod, HANDLER);
        try {
            String reader = cri.createContainer(podId, app.apply("app", honest), pod);
            cri.startContainer(reader);
            Path log = Path.of(cri.containerStatus(reader).getLogPath());
            awaitContent(log, "hello from the ConfigMap");
            System.out.println("a pod's container read its ConfigMap: " + Files.readString(log).lines()
                    .filter(l -> l.contains("hello")).findFirst().orElseThrow());

            String tampered = cri.createContainer(podId, app.apply("app-changed", changed), pod);
            StatusRuntimeException refused = assertThrows(StatusRuntimeException.class, () -> cri.startContainer(tampered));
            System.out.println("StartContainer with the ConfigMap's file changed on the host: " + refused.getStatus());
            String reason = refused.getStatus().getDescription();
            assertTrue(reason.contains("create_container denied") && reason.contains("greeting.txt")
                    && reason.contains("its content changed"), refused.getStatus().toString());
            cri.removeContainer(tampered);
        } finally {
            cri.stopPodSandbox(podId);
            cri.removePodSandbox(podId);
        }
        assertNothingLeft();
    }

    /**
     * containerd gives a pod's container every group the image's /etc/group lists its user in, on
     * top of runAsGroup: a policy from {@code coffer policy gen pod.yaml} allows exactly that, so
     * the pod runs with the image's group among its groups.
     */
    @Test
    void podPolicyFromThePodSpecAllowsTheGroupsContainerdTakesFromTheImage() throws Exception {
        String podYaml = """
                apiVersion: v1
                kind: Pod
                metadata: {name: member}
                spec:
                  automountServiceAccountToken: false
                  securityContext: {runAsUser: 1000, runAsGroup: 3000}
                  containers:
                    - name: whoami
                      image: %s
                      command: [sh, -c, "echo groups=$(id -G); sleep 100000"]
                """.formatted(MEMBER);
        String policy = podSpecPolicy(podYaml);
        assertTrue(policy.contains("{\"pattern\": \"5000\", \"strategy\": \"id\"}"), "the image's group is allowed: " + policy);
        Cri.PodSandboxConfig pod = podConfig("member", Map.of(POLICY_ANNOTATION, base64(policy)));
        pod = pod.toBuilder().setLinux(pod.getLinux().toBuilder().setSecurityContext(pod.getLinux().getSecurityContext().toBuilder()
                .setRunAsUser(Cri.Int64Value.newBuilder().setValue(1000)).setRunAsGroup(Cri.Int64Value.newBuilder().setValue(3000)))).build();
        String podId = cri.runPodSandbox(pod, HANDLER);
        try {
            String whoami = cri.createContainer(podId, runAs(container("whoami", MEMBER,
                    List.of("sh", "-c", "echo groups=$(id -G); sleep 100000")), 1000, 3000, List.of()), pod);
            cri.startContainer(whoami);
            Path log = Path.of(cri.containerStatus(whoami).getLogPath());
            awaitContent(log, "groups=");
            String line = Files.readString(log).lines().filter(l -> l.contains("groups=")).findFirst().orElseThrow();
            System.out.println("a pod's container with the image's group, as containerd ran it: " + line.substring(line.indexOf("groups=")));
            assertEquals(java.util.Set.of("3000", "5000"), java.util.Set.of(line.substring(line.indexOf("groups=") + 7).split(" ")),
                    "runAsGroup and the group the image lists the user in: " + line);
        } finally {
            cri.stopPodSandbox(podId);
            cri.removePodSandbox(podId);
        }
        assertNothingLeft();
    }

    /**
     * {@link #POD_SPEC} as the kubelet runs a pod with {@code securityContext: {runAsUser: 1000,
     * runAsGroup: 3000, fsGroup: 2000, supplementalGroups: [4000]}}: the pause container and a
     * container that prints its ids run as 1000:3000 with the groups the kubelet passes (fsGroup,
     * then supplementalGroups), pinned in the policy as {@code coffer policy gen} pins them.
     */
    static final String POD_AS_USER_SPEC = runAs(POD_SPEC + """
              - name: whoami
                image: %s
                command: [sh, -c, "echo uid=$(id -u) gid=$(id -g) groups=$(id -G); sleep 100000"]
                env: [{name: HOSTNAME, value: asuser}]
                execProcesses:
                  - command: [id, -G]
            """.formatted(BUSYBOX), List.of("pause", "whoami"), "1000:3000", List.of(2000, 4000));
    static final List<String> WHOAMI = List.of("sh", "-c", "echo uid=$(id -u) gid=$(id -g) groups=$(id -G); sleep 100000");

    /** {@code spec} with {@code user} and {@code supplementalGroups} set on the named containers. */
    static String runAs(String spec, List<String> containers, String user, List<Integer> groups) {
        StringBuilder out = new StringBuilder();
        for (String line : spec.split("\n", -1)) {
            out.append(line).append('\n');
            for (String c : containers) {
                if (line.equals("  - name: " + c)) {
                    out.append("    user: \"").append(user).append("\"\n    supplementalGroups: ").append(groups).append('\n');
                }
            }
        }
        return out.substring(0, out.length() - 1);
    }

    @Test
    void podRunsAsItsUserWithItsGroupsAndAnotherUidIsRefusedByThePolicy() throws Exception {
        Cri.PodSandboxConfig pod = podConfig("asuser", Map.of(POLICY_ANNOTATION, base64(policyFor(POD_AS_USER_SPEC))));
        // what the kubelet passes for the pod-level securityContext: the sandbox gets the user and fsGroup + supplementalGroups
        pod = pod.toBuilder().setLinux(pod.getLinux().toBuilder().setSecurityContext(pod.getLinux().getSecurityContext().toBuilder()
                .setRunAsUser(Cri.Int64Value.newBuilder().setValue(1000)).setRunAsGroup(Cri.Int64Value.newBuilder().setValue(3000))
                .addSupplementalGroups(2000).addSupplementalGroups(4000))).build();
        String podId = cri.runPodSandbox(pod, HANDLER);
        try {
            String whoami = cri.createContainer(podId, runAs(container("whoami", BUSYBOX, WHOAMI), 1000, 3000, List.of(2000L, 4000L)), pod);
            cri.startContainer(whoami);
            Path log = Path.of(cri.containerStatus(whoami).getLogPath());
            awaitContent(log, "uid=");
            String line = Files.readString(log).lines().filter(l -> l.contains("uid=")).findFirst().orElseThrow();
            String ids = line.substring(line.indexOf("uid="));
            System.out.println("the pod's container as CRI ran it: " + ids);
            assertTrue(ids.startsWith("uid=1000 gid=3000 groups="), ids);
            assertEquals(java.util.Set.of("3000", "2000", "4000"), java.util.Set.of(ids.substring(ids.indexOf("groups=") + 7).split(" ")),
                    "exactly the primary group, fsGroup and supplementalGroups: " + ids);
            // an exec runs as the container's user too
            Cri.ExecSyncResponse exec = cri.execSync(whoami, List.of("id", "-G"), 60);
            assertEquals(0, exec.getExitCode(), exec.toString());
            assertEquals(java.util.Set.of("3000", "2000", "4000"), java.util.Set.of(exec.getStdout().toStringUtf8().trim().split(" ")));
            // the pause container (the process sandbox's containers are host processes): the pod-level user and groups
            var groups = new GroupManager(home);
            String group = groups.list().getFirst().name();
            // containerd 1.6 gives the sandbox its user and primary group only (not the pod's supplemental groups),
            // the container the kubelet's groups with its primary one: the kernel's view of both processes
            assertEquals("1000 3000 [3000]", credentials(groups.status(group).containers().get(0).pid()), "the pause container");
            assertEquals("1000 3000 [2000, 3000, 4000]", credentials(groups.status(group).containers().get(1).pid()), "whoami");

            // the same process asking for root, or for the root group: refused by the policy, with its reason
            // (the generated policy matches a container by what it runs, not by its name)
            Map<List<Long>, String> reasons = Map.of(List.of(0L, 3000L), "field user: expected id \"1000\", got {\"id\":\"0\",\"name\":\"root\"}",
                    List.of(1000L, 0L), "invalid user; field groups: expected [{\"pattern\":\"3000\",\"strategy\":\"id\"},"
                            + "{\"pattern\":\"2000\",\"strategy\":\"id\"},{\"pattern\":\"4000\",\"strategy\":\"id\"}], got {\"id\":\"0\",\"name\":\"root\"}");
            for (var asked : List.of(List.of(0L, 3000L), List.of(1000L, 0L))) {
                String other = cri.createContainer(podId, runAs(container("as-" + asked.get(0) + "-" + asked.get(1), BUSYBOX, WHOAMI),
                        asked.get(0), asked.get(1), List.of(2000L, 4000L)), pod);
                StatusRuntimeException refused = assertThrows(StatusRuntimeException.class, () -> cri.startContainer(other));
                System.out.println("StartContainer as " + asked + ": " + refused.getStatus());
                assertTrue(refused.getStatus().getDescription().contains("create_container denied"), refused.getStatus().toString());
                assertTrue(refused.getStatus().getDescription().contains(reasons.get(asked)), refused.getStatus().toString());
                cri.removeContainer(other);
            }
            assertEquals(List.of("pause", "whoami"), groups.status(group).containers().stream().map(c -> c.name()).toList(),
                    "the refused containers left no trace in the pod's group");
        } finally {
            cri.stopPodSandbox(podId);
            cri.removePodSandbox(podId);
        }
        assertNothingLeft();
    }

    /** "uid gid [groups]" of a running process from /proc (the process sandbox's containers are host processes), each id once. */
    private static String credentials(Long pid) throws IOException {
        assertTrue(pid != null && pid > 0, "a container's pid: " + pid);
        List<String> status = Files.readAllLines(Path.of("/proc", pid.toString(), "status"));
        java.util.function.Function<String, List<String>> field = name -> status.stream().filter(l -> l.startsWith(name + ":"))
                .findFirst().map(l -> l.substring(name.length() + 1).trim()).map(v -> v.isEmpty() ? List.<String>of()
                        : java.util.Arrays.stream(v.split("\\s+")).distinct().sorted().toList()).orElseThrow();
        return String.join(",", field.apply("Uid")) + " " + String.join(",", field.apply("Gid")) + " " + field.apply("Groups");
    }

    /** {@code c} with the Linux security context the kubelet writes for runAsUser, runAsGroup and the pod's groups. */
    private static Cri.ContainerConfig runAs(Cri.ContainerConfig c, long uid, long gid, List<Long> groups) {
        return c.toBuilder().setLinux(Cri.LinuxContainerConfig.newBuilder().setSecurityContext(Cri.LinuxContainerSecurityContext.newBuilder()
                .setRunAsUser(Cri.Int64Value.newBuilder().setValue(uid)).setRunAsGroup(Cri.Int64Value.newBuilder().setValue(gid))
                .addAllSupplementalGroups(groups))).build();
    }

    /**
     * containerd restarted (stopped with SIGTERM, as systemd stops it) while a pod runs: the shim and
     * the pod's group live on, containerd reconnects to the shim through the address file it kept,
     * and the pod is still managed (status, exec under the policy, stop, remove; nothing left).
     */
    @Test
    void podSurvivesAContainerdRestartAndIsStillManaged() throws Exception {
        Cri.PodSandboxConfig pod = podConfig("web", Map.of(POLICY_ANNOTATION, base64(policyFor(POD_SPEC)))); // the hostname POD_SPEC pins
        String podId = cri.runPodSandbox(pod, HANDLER);
        try {
            String app = cri.createContainer(podId, container("app", BUSYBOX,
                    APP_COMMAND), pod);
            cri.startContainer(app);
            List<String> shimsBefore = shims();
            assertEquals(1, shimsBefore.size(), shimsBefore.toString());
            String group = new GroupManager(home).list().getFirst().name();
            long unpublished = unpublishedEvents();

            assertTrue(containerd.terminate(), "containerd did not stop on SIGTERM");
            assertEquals(shimsBefore, shims(), "the shim outlives containerd");
            var status = new GroupManager(home).status(group);
            assertTrue(status.agentAlive() && status.containers().size() == 2, "the pod's group runs on without containerd: " + status);
            containerd.startProcess();

            assertEquals(Cri.ContainerState.CONTAINER_RUNNING, cri.containerStatus(app).getState());
            Cri.ExecSyncResponse allowed = cri.execSync(app, List.of("cat", "/etc/group"), 60);
            assertEquals(0, allowed.getExitCode(), allowed.toString());
            assertEquals("root:x:0:\n", allowed.getStdout().toStringUtf8());
            StatusRuntimeException denied = assertThrows(StatusRuntimeException.class,
                    () -> cri.execSync(app, List.of("cat", "/etc/passwd"), 60));
            assertTrue(denied.getStatus().getDescription().contains("exec_in_container denied: invalid command"), denied.getStatus().toString());
            assertEquals(shimsBefore, shims(), "the same shim serves the pod after the restart");
            cri.stopPodSandbox(podId);
            // the exec and exit events since the restart reached the new containerd (the publisher runs its binary per event)
            assertEquals(unpublished, unpublishedEvents(), "events not published after the restart:" + shimLogs());
        } finally {
            cri.stopPodSandbox(podId);
            cri.removePodSandbox(podId);
        }
        assertNothingLeft();
    }

    /** How many events the shims logged as not published to containerd. */
    private long unpublishedEvents() throws IOException {
        return shimLogs().lines().filter(l -> l.contains(" not published")).count();
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
            containerd.importLayout(layout);
        }
        String listing = ctr("images", "ls", "name==" + multi).output();
        assertTrue(listing.contains("application/vnd.oci.image.index.v1+json"), "containerd holds the index: " + listing);
        // a hostile host rewrites containerd's copy of the index so that its linux/amd64 entry lists what Coffer holds
        // (containerd itself reads the rewritten index and runs that manifest: only the digest of the index stops it)
        String tamperedIndex = ctr("images", "ls", "name==" + tampered).output().lines().skip(1).findFirst().orElseThrow()
                .trim().split("\\s+")[2];
        Path blob = containerd.root().resolve("io.containerd.content.v1.content/blobs/sha256").resolve(tamperedIndex.substring(7));
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

    // ---- key release inside a pod ----------------------------------------------------------------

    static final String POD_KEY = "pod-key";
    static final int SKR_PORT = 8081;

    /** A container that asks the pod's SKR API for {@link #POD_KEY} up to {@code tries} times (the key may not exist yet) and prints the answer. */
    static String keyHolderScript(String vaultUrl, int tries) {
        String request = "{\"maa_endpoint\":\"" + vaultUrl + "\",\"akv_endpoint\":\"" + vaultUrl + "\",\"kid\":\"" + POD_KEY + "\"}";
        return "for i in $(seq 1 " + tries + "); do if wget -q -O /tmp/key.json --header 'Content-Type: application/json' --post-data '"
                + request + "' http://127.0.0.1:" + SKR_PORT + "/key/release 2>/dev/null; then echo released:; cat /tmp/key.json; echo;"
                + " exit 0; fi; sleep 0.5; done; echo no key released after " + tries + " tries >&2; exit 1";
    }

    /** A pod of the pause container and a key holder, its SKR API pinned to the vault (the spec's skr section: port, endpoint, pins). */
    static String keyPodSpec(String name, String vaultUrl, dev.coffer.server.CofferServer.Pins pins, int tries) throws Exception {
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        return """
                name: %s
                containers:
                  - name: pause
                    image: %s
                    command: [sleep, "2147483647"]
                  - name: keyholder
                    image: %s
                    command: [sh, -c, %s]
                    env: [{name: HOSTNAME, value: %s}]
                skr: {port: %d, endpoints: [%s], pins: [{endpoint: %s, tls_certificate: '%s', signing_keys: ['%s']}]}
                """.formatted(name, PAUSE, BUSYBOX, json.writeValueAsString(keyHolderScript(vaultUrl, tries)), name, SKR_PORT, vaultUrl,
                vaultUrl, pins.tlsCertificate(), String.join("', '", pins.signingKeys()));
    }

    /** Runs the pod's key holder through CRI and returns its output once it exited (bounded), with its exit code. */
    private Result runKeyHolder(String name, String policy, String vaultUrl, int tries) throws Exception {
        Cri.PodSandboxConfig pod = podConfig(name, Map.of(POLICY_ANNOTATION, base64(policy)));
        String podId = cri.runPodSandbox(pod, HANDLER);
        try {
            String holder = cri.createContainer(podId, container("keyholder", BUSYBOX, List.of("sh", "-c", keyHolderScript(vaultUrl, tries))), pod);
            cri.startContainer(holder);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_S);
            Cri.ContainerStatus status;
            while ((status = cri.containerStatus(holder)).getState() != Cri.ContainerState.CONTAINER_EXITED) {
                assertTrue(System.nanoTime() < deadline, "the key holder of pod " + name + " did not exit within " + BOUND_S + " s" + shimLogs());
                Thread.sleep(200);
            }
            return new Result(status.getExitCode(), Files.readString(Path.of(status.getLogPath())));
        } finally {
            cri.stopPodSandbox(podId);
            cri.removePodSandbox(podId);
        }
    }

    /**
     * Key release inside a pod, as {@code coffer demo}'s key-released and key-refused-modified-policy
     * steps for groups: the pod's policy pins its SKR API (port, the vault as its one endpoint, the
     * vault's TLS certificate and signing keys), the shim launches the pod's group with exactly that,
     * and a container of the pod releases a vault key whose release policy requires the pod
     * policy's HOST_DATA through the SKR API on the pod's loopback: the key it prints is the vault's.
     * A pod whose policy differs (another HOST_DATA) asks for the same key and is refused; the vault's
     * audit names the claim that failed.
     */
    @Test
    void podReleasesAKeyThroughItsSkrApiAndAPodWithAModifiedPolicyIsRefused() throws Exception {
        try (var server = dev.coffer.server.CofferServer.start(dev.coffer.server.ServerConfig.defaults(home).withPort(0).withTrustSim(true))) {
            String url = server.url();
            String policy = policyFor(keyPodSpec("skr", url, server.pins(), 120));
            String hostData = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(policy.getBytes(StandardCharsets.UTF_8)));
            byte[] key = new byte[32];
            new java.security.SecureRandom().nextBytes(key);
            String k = Base64.getUrlEncoder().withoutPadding().encodeToString(key);
            server.vault().importKey(POD_KEY, com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode().put("kty", "oct").put("k", k),
                    true, dev.coffer.server.policy.ReleasePolicies.forCofferGuest(server.issuerName(), hostData, "sim"), false);

            Result released = runKeyHolder("skr", policy, url, 120);
            assertNothingLeft();
            assertEquals(0, released.exit(), released.output());
            // the released key (a JWK inside the SKR API's JSON answer) is the vault's key
            var m = java.util.regex.Pattern.compile("\\\\?\"k\\\\?\":\\\\?\"([A-Za-z0-9_-]+)").matcher(released.output());
            assertTrue(m.find(), "no key in the key holder's output: " + released.output());
            assertEquals(k, m.group(1), "the key released inside the pod is the vault's");
            System.out.println("key released inside a pod through its SKR API on 127.0.0.1:" + SKR_PORT + " (policy HOST_DATA "
                    + hostData.substring(0, 16) + "…)");

            // another pod: a key holder that gives up sooner, so another policy and another HOST_DATA
            String modified = policyFor(keyPodSpec("skr-modified", url, server.pins(), 3));
            Result refused = runKeyHolder("skr-modified", modified, url, 3);
            assertNothingLeft();
            assertTrue(refused.exit() != 0 && !refused.output().contains("released:"), refused.output());
            var refusal = server.vault().audit(POD_KEY, 20).stream()
                    .filter(a -> a.reason() != null && a.reason().contains("x-ms-sevsnpvm-hostdata")).findFirst();
            assertTrue(refusal.isPresent(), "expected the vault's audit to record a refusal naming x-ms-sevsnpvm-hostdata, found "
                    + server.vault().audit(POD_KEY, 20));
            System.out.println("a pod with a modified policy asked for the key: " + refusal.get().code() + ": " + refusal.get().reason());
        }
    }

    // ---- pod networking (CNI) -------------------------------------------------------------------

    /** A pod that serves its name over HTTP on port 8080 of the pod's address: pause and one web server. */
    static String webPodSpec(String name) {
        return """
                name: %s
                containers:
                  - name: pause
                    image: %s
                    command: [sleep, "2147483647"]
                  - name: web
                    image: %s
                    command: [sh, -c, "%s"]
                    env: [{name: HOSTNAME, value: %s}]
                    execProcesses:
                      - command: [wget, -q, -O, -, "http://127.0.0.1:8080/"]
                """.formatted(name, PAUSE, BUSYBOX, webCommand(name), name);
    }

    static String webCommand(String name) {
        return "mkdir -p /tmp/www && echo pod " + name + " answers > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www";
    }

    /** A running pod on the CNI network: its id, address and the namespace containerd made for it. */
    record NetworkedPod(String id, String web, String ip, Path netns) {}

    /** @param policy the pod's policy (generated beforehand, as {@code coffer policy gen} does, so it is not timed) */
    private NetworkedPod runWebPod(String name, String policy) throws Exception {
        Cri.PodSandboxConfig pod = podConfig(name, Map.of(POLICY_ANNOTATION, base64(policy)), Cri.NamespaceMode.POD);
        String id = cri.runPodSandbox(pod, HANDLER);
        String web = cri.createContainer(id, container("web", BUSYBOX, List.of("sh", "-c", webCommand(name))), pod);
        cri.startContainer(web);
        return networked(id, web);
    }

    private NetworkedPod networked(String id, String web) throws Exception {
        String ip = cri.podSandboxStatus(id).getNetwork().getIp();
        // the namespace containerd made through CNI, as it named it in the sandbox task's spec
        var spec = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                containerd.state().resolve("io.containerd.runtime.v2.task").resolve(K8S_NS).resolve(id).resolve("config.json").toFile());
        String netns = null;
        for (var ns : spec.path("linux").path("namespaces")) {
            if (ns.path("type").asText().equals("network")) netns = ns.path("path").asText();
        }
        assertTrue(netns != null && !netns.isEmpty(), "containerd named no network namespace for pod " + id + ": " + spec);
        return new NetworkedPod(id, web, ip, Path.of(netns));
    }

    /** The body of GET / from http://IP:8080, retried (bounded) while the server starts. */
    private String fetch(String ip) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_S);
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try (java.net.Socket socket = new java.net.Socket()) {
                socket.connect(new java.net.InetSocketAddress(ip, 8080), 2000);
                socket.setSoTimeout(10_000);
                socket.getOutputStream().write(("GET / HTTP/1.0\r\nHost: " + ip + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                String reply = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(reply.startsWith("HTTP/1.") && reply.contains(" 200 "), "expected HTTP 200 from " + ip + ", found: " + reply);
                return reply.substring(reply.indexOf("\r\n\r\n") + 4);
            } catch (IOException e) {
                last = e;
                Thread.sleep(100);
            }
        }
        throw new AssertionError("nothing answered on " + ip + ":8080 within " + BOUND_S + " s: " + last + shimLogs());
    }

    /** The addresses host-local holds for this test's network: one file per allocated address. */
    private List<String> allocatedAddresses() throws IOException {
        Path dir = ipamDir.resolve(CNI_NETWORK);
        if (!Files.isDirectory(dir)) return List.of();
        try (var files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString()).filter(n -> n.startsWith(subnet + ".")).sorted().toList();
        }
    }

    private void assumeCni() {
        assumeTrue(bridge != null, "needs the CNI plugins in " + CNI_BIN + " (apt-get install containernetworking-plugins)");
    }

    /**
     * Two pods on the CNI network at once, each a Coffer group in the namespace containerd made for
     * it: each has its own address, and serves its own content there (reached from the host, as
     * another pod or a Service would reach it); removing one leaves the other serving; once both
     * are gone nothing is left: no group, no bind of a namespace, containerd's namespace files
     * removed, the addresses released and the bridge without ports.
     */
    @Test
    void podsOnAPodNetworkServeOnTheirOwnAddressesAndLeaveNothing() throws Exception {
        assumeCni();
        String policyA = policyFor(webPodSpec("net-a"));
        String policyB = policyFor(webPodSpec("net-b"));
        long t0 = System.nanoTime();
        NetworkedPod a = runWebPod("net-a", policyA);
        long firstRunning = System.nanoTime();
        NetworkedPod b = null;
        try {
            assertEquals("pod net-a answers\n", fetch(a.ip()));
            long answered = System.nanoTime();
            System.out.printf("CRI with a CNI pod network: RunPodSandbox to the first container running %d ms, to its first"
                    + " HTTP answer on the pod IP %d ms%n", TimeUnit.NANOSECONDS.toMillis(firstRunning - t0),
                    TimeUnit.NANOSECONDS.toMillis(answered - t0));
            // inside the pod, on the namespace's loopback (up, for the pod's containers and its SKR API)
            Cri.ExecSyncResponse local = cri.execSync(a.web(), List.of("wget", "-q", "-O", "-", "http://127.0.0.1:8080/"), 60);
            assertEquals(0, local.getExitCode(), local.toString());
            assertEquals("pod net-a answers\n", local.getStdout().toStringUtf8());
            long b0 = System.nanoTime();
            b = runWebPod("net-b", policyB);
            // the second pod finds the shim's code, the layer disks and containerd warm, as the hostNetwork one below does
            System.out.printf("CRI with a CNI pod network, a second pod: RunPodSandbox to the first container running %d ms%n",
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - b0));
            assertEquals("pod net-b answers\n", fetch(b.ip()));
            assertEquals("pod net-a answers\n", fetch(a.ip()));
            System.out.println("pod addresses: " + a.ip() + ", " + b.ip());
            assertTrue(a.ip().startsWith(subnet + ".") && b.ip().startsWith(subnet + "."), a.ip() + " " + b.ip());
            assertTrue(!a.ip().equals(b.ip()), "two pods, one address: " + a.ip());
            assertEquals(List.of(a.ip(), b.ip()).stream().sorted().toList(), allocatedAddresses());
            // each group's namespace is its pod's: the bind under the Coffer home is containerd's namespace
            for (NetworkedPod p : List.of(a, b)) {
                Path groupNetns = new GroupManager(home).groupDir(dev.coffer.shim.task.TaskService.groupOf(K8S_NS, p.id()))
                        .resolve("sandbox/netns");
                assertEquals(Files.getAttribute(p.netns(), "unix:ino"), Files.getAttribute(groupNetns, "unix:ino"),
                        "the group of pod " + p.id() + " runs in the namespace containerd made for it");
                assertTrue(mountsUnder(home).stream().anyMatch(l -> l.split(" ")[4].equals(groupNetns.toString())), groupNetns.toString());
                // the pod's ports are the pod IP's: the agent is handed the namespace and relays no host port
                String agent = ProcessHandle.allProcesses().map(CriPodTest::cmdline)
                        .filter(c -> c.contains("dev.coffer.agent.AgentMain") && c.contains(groupNetns.getParent().toString()))
                        .findFirst().orElseThrow(() -> new AssertionError("no agent of pod " + p.id()));
                assertTrue(agent.contains("--network-namespace " + p.netns() + " "), agent);
                assertTrue(!agent.contains("--forward-port"), "a pod's agent forwards no host port: " + agent);
            }

            cri.stopPodSandbox(b.id());
            cri.removePodSandbox(b.id());
            assertTrue(!Files.exists(b.netns()), "containerd removed the namespace of the removed pod: " + b.netns());
            assertEquals(List.of(a.ip()), allocatedAddresses(), "the removed pod's address is released");
            b = null;
            assertEquals("pod net-a answers\n", fetch(a.ip()));
            assertEquals(1, new GroupManager(home).list().size());
        } finally {
            if (b != null) {
                cri.stopPodSandbox(b.id());
                cri.removePodSandbox(b.id());
            }
            cri.stopPodSandbox(a.id());
            cri.removePodSandbox(a.id());
        }
        assertNothingLeft();
        assertTrue(!Files.exists(a.netns()), "containerd removed the pod's namespace: " + a.netns());
        assertEquals(List.of(), allocatedAddresses(), "CNI released every address");
        assertEquals("", run(List.of("ip", "-o", "link", "show", "master", bridge)).output().strip(), "no pod left on the bridge");

        // the same pod with hostNetwork, for comparison: no CNI, the group makes a namespace of its own (as
        // `coffer run` does) and its server answers on that namespace's loopback
        String policyH = policyFor(webPodSpec("net-h"));
        Cri.PodSandboxConfig hostPod = podConfig("net-h", Map.of(POLICY_ANNOTATION, base64(policyH)));
        long h0 = System.nanoTime();
        String hostId = cri.runPodSandbox(hostPod, HANDLER);
        try {
            String web = cri.createContainer(hostId, container("web", BUSYBOX, List.of("sh", "-c", webCommand("net-h"))), hostPod);
            cri.startContainer(web);
            System.out.printf("CRI with hostNetwork (the same pod): RunPodSandbox to the first container running %d ms%n",
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - h0));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_S);
            Cri.ExecSyncResponse local;
            do {
                // bounded: the server may not listen yet
                local = cri.execSync(web, List.of("wget", "-q", "-O", "-", "http://127.0.0.1:8080/"), 60);
            } while (local.getExitCode() != 0 && System.nanoTime() < deadline && sleep(200));
            assertEquals("pod net-h answers\n", local.getStdout().toStringUtf8(), local.toString());
        } finally {
            cri.stopPodSandbox(hostId);
            cri.removePodSandbox(hostId);
        }
        assertNothingLeft();
    }

    private static boolean sleep(long millis) throws InterruptedException {
        Thread.sleep(millis);
        return true;
    }

    // ---- helpers ---------------------------------------------------------------------------------

    private Cri.PodSandboxConfig podConfig(String name, Map<String, String> annotations) {
        return podConfig(name, annotations, Cri.NamespaceMode.NODE);
    }

    /** @param network NODE (hostNetwork) or POD (a network of the pod's own, through CNI) */
    private Cri.PodSandboxConfig podConfig(String name, Map<String, String> annotations, Cri.NamespaceMode network) {
        Cri.NamespaceOption node = Cri.NamespaceOption.newBuilder().setNetwork(network).build();
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

    /** The policy {@code coffer policy gen pod.yaml} writes for the manifest's first workload (plaintext scratch where this host cannot encrypt it). */
    private String podSpecPolicy(String podYaml) throws Exception {
        var manifest = dev.coffer.policy.k8s.KubernetesManifest.parse(podYaml, "pod.yaml");
        try (ImageStore store = ImageStore.open(home)) {
            var options = new dev.coffer.policy.k8s.PodPolicyGenerator.Options(false, false, PAUSE,
                    dev.coffer.runtime.group.Isolation.encryptedScratchUnavailable("process") != null);
            return new dev.coffer.policy.k8s.PodPolicyGenerator(new dev.coffer.policy.gen.StoreImageSource(store))
                    .generate(manifest, manifest.workloads().getFirst(), options).policy().text();
        }
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
        Path sandboxes = containerd.root().resolve("io.containerd.grpc.v1.cri/sandboxes");
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

    private PrivateContainerd.CommandResult ctr(String... args) throws Exception {
        return containerd.ctr(args);
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
