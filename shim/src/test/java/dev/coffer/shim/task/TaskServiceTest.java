package dev.coffer.shim.task;

import com.google.protobuf.Message;
import dev.coffer.shim.proto.Shim;
import dev.coffer.shim.proto.TaskTypes;
import dev.coffer.shim.ttrpc.Code;
import dev.coffer.shim.ttrpc.TtrpcClient;
import dev.coffer.shim.ttrpc.TtrpcException;
import dev.coffer.shim.ttrpc.TtrpcServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Task service over ttrpc, without containerd: the calls that need no launched group (bad
 * bundles, calls out of order, refused methods). Launches are covered by {@link ContainerdShimTest}.
 */
class TaskServiceTest {
    @TempDir
    Path dir;
    TtrpcServer server;
    TtrpcClient client;
    final List<String> log = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        Path home = Files.createDirectories(dir.resolve("home"));
        ContainerdShimTest.importBusybox(home, dir);
        // allowing plaintext scratch: where the host has no device-mapper the process sandbox cannot encrypt it
        TaskService tasks = new TaskService(new ShimConfig(home, "generate", "sim", "process", ShimConfig.DEFAULT_PAUSE_IMAGE, true), "ns",
                new EventPublisher(null, "", "ns", log::add), log::add, () -> { });
        server = new TtrpcServer(dir.resolve("s.sock"), List.of(tasks.service()), log::add);
        server.start();
        client = new TtrpcClient(server.socket());
    }

    @AfterEach
    void stop() throws Exception {
        client.close();
        server.close();
    }

    private byte[] call(String method, Message request) throws Exception {
        return client.call(TaskService.NAME, method, request.toByteArray());
    }

    private TtrpcException refused(String method, Message request) {
        return assertThrows(TtrpcException.class, () -> call(method, request));
    }

    private Path bundle(String name, String annotations) throws Exception {
        Path b = Files.createDirectories(dir.resolve(name));
        Files.writeString(b.resolve("config.json"), """
                {"ociVersion":"1.0.2","process":{"args":["sh","-c","echo hi"],"env":["PATH=/bin","MODE=x"],"cwd":"/"},
                 "annotations":{%s}}""".formatted(annotations));
        return b;
    }

    private Shim.CreateTaskRequest create(String id, Path bundle) {
        return Shim.CreateTaskRequest.newBuilder().setId(id).setBundle(bundle.toString()).build();
    }

    @Test
    void createdTaskHasStateAndIsKilledAndDeletedWithoutEverLaunching() throws Exception {
        Path b = bundle("b1", "\"dev.coffer.image\":\"coffer.test/busybox:1\"");
        assertEquals(0, Shim.CreateTaskResponse.parseFrom(call("Create", create("t1", b))).getPid());
        Shim.StateResponse state = Shim.StateResponse.parseFrom(call("State", Shim.StateRequest.newBuilder().setId("t1").build()));
        assertEquals(TaskTypes.Status.CREATED, state.getStatus());
        assertEquals(b.toString(), state.getBundle());

        TtrpcException twice = refused("Create", create("t1", b));
        assertEquals(Code.ALREADY_EXISTS, twice.code());

        call("Kill", Shim.KillRequest.newBuilder().setId("t1").setSignal(9).build());
        Shim.WaitResponse exit = Shim.WaitResponse.parseFrom(call("Wait", Shim.WaitRequest.newBuilder().setId("t1").build()));
        assertEquals(137, exit.getExitStatus());
        TtrpcException start = refused("Start", Shim.StartRequest.newBuilder().setId("t1").build());
        assertEquals(Code.FAILED_PRECONDITION, start.code());
        assertEquals("expected task t1 to be created, found it stopped; a task starts once", start.getMessage());

        Shim.DeleteResponse deleted = Shim.DeleteResponse.parseFrom(call("Delete", Shim.DeleteRequest.newBuilder().setId("t1").build()));
        assertEquals(137, deleted.getExitStatus());
        assertEquals(Code.NOT_FOUND, refused("State", Shim.StateRequest.newBuilder().setId("t1").build()).code());
    }

    @Test
    void callsForUnknownTasksAndExecsAreNotFound() {
        assertEquals(Code.NOT_FOUND, refused("Start", Shim.StartRequest.newBuilder().setId("nope").build()).code());
        assertEquals(Code.NOT_FOUND, refused("Wait", Shim.WaitRequest.newBuilder().setId("nope").build()).code());
        assertEquals(Code.NOT_FOUND, refused("Delete", Shim.DeleteRequest.newBuilder().setId("nope").build()).code());
        TtrpcException exec = refused("State", Shim.StateRequest.newBuilder().setId("nope").setExecId("e1").build());
        assertEquals(Code.NOT_FOUND, exec.code());
        assertTrue(exec.getMessage().contains("task nope not found"), exec.getMessage());
    }

    @Test
    void methodsNotImplementedYetAreRefusedCleanly() {
        for (String m : List.of("Pause", "Resume", "Checkpoint", "ResizePty", "Update", "Stats")) {
            TtrpcException e = refused(m, Shim.PauseRequest.newBuilder().setId("x").build());
            assertEquals(Code.UNIMPLEMENTED, e.code(), m);
            assertTrue(e.getMessage().startsWith(m + " is not implemented by the Coffer shim yet"), e.getMessage());
        }
    }

    @Test
    void badBundlesAreRefusedAtCreateAndLeaveNoTask() throws Exception {
        TtrpcException noImage = refused("Create", create("a", bundle("b2", "")));
        assertEquals(Code.INVALID_ARGUMENT, noImage.code());
        assertTrue(noImage.getMessage().contains("--annotation dev.coffer.image=REF"), noImage.getMessage());

        TtrpcException unknownImage = refused("Create", create("b", bundle("b3", "\"dev.coffer.image\":\"coffer.test/absent:9\"")));
        assertEquals(Code.NOT_FOUND, unknownImage.code());
        assertTrue(unknownImage.getMessage().contains("image coffer.test/absent:9 is not in the Coffer home"), unknownImage.getMessage());

        TtrpcException badPolicy = refused("Create", create("c", bundle("b4",
                "\"dev.coffer.image\":\"coffer.test/busybox:1\",\"io.katacontainers.config.agent.policy\":\"not base64!\"")));
        assertEquals(Code.INVALID_ARGUMENT, badPolicy.code());
        assertTrue(badPolicy.getMessage().contains("to be base64 of the policy's Rego text"), badPolicy.getMessage());

        TtrpcException missing = refused("Create", create("d", dir.resolve("no-such-bundle")));
        assertEquals(Code.INVALID_ARGUMENT, missing.code());
        assertTrue(missing.getMessage().startsWith("expected an OCI runtime spec at "), missing.getMessage());

        TtrpcException tty = refused("Create", create("e", bundle("b5", "\"dev.coffer.image\":\"coffer.test/busybox:1\"")).toBuilder()
                .setTerminal(true).build());
        assertEquals(Code.INVALID_ARGUMENT, tty.code());

        // a task that is no pod's container (here ctr's) with a kubelet ConfigMap: nothing would carry its files into a
        // create_container of its own, so it is refused, not run without them
        Path config = dev.coffer.shim.kubelet.KubeletVolumeTest.atomicWriterVolume(dir.resolve("pods"), "configmap", "config",
                java.util.Map.of("a", "b"));
        Path withConfig = bundle("b6", "\"dev.coffer.image\":\"coffer.test/busybox:1\"");
        Files.writeString(withConfig.resolve("config.json"), Files.readString(withConfig.resolve("config.json")).replaceFirst("\\}$",
                ",\"mounts\":[{\"destination\":\"/etc/config\",\"type\":\"bind\",\"source\":\"" + config + "\",\"options\":[\"ro\"]}]}"));
        TtrpcException standalone = refused("Create", create("f", withConfig));
        assertEquals(Code.INVALID_ARGUMENT, standalone.code());
        assertTrue(standalone.getMessage().contains("expected ConfigMap, Secret, projected or downwardAPI volumes only in a pod's"
                + " containers, found 1 in task f"), standalone.getMessage());

        for (String id : List.of("a", "b", "c", "d", "e", "f")) {
            assertEquals(Code.NOT_FOUND, refused("State", Shim.StateRequest.newBuilder().setId(id).build()).code(), id);
        }
    }

    @Test
    void policyAnnotationIsDecodedAndTheProcessBecomesTheGroupSpec() throws Exception {
        String rego = "package agent_policy\ndefault CreateContainerRequest := false\n";
        Path b = bundle("b6", "\"io.kubernetes.cri.image-name\":\"coffer.test/busybox:1\",\"io.katacontainers.config.agent.policy\":\""
                + Base64.getEncoder().encodeToString(rego.getBytes(StandardCharsets.UTF_8)) + "\"");
        BundleConfig config = BundleConfig.read(b);
        assertEquals(rego, config.policyText());
        var spec = config.groupSpec("g-1");
        assertEquals("g-1", spec.name());
        var c = spec.containers().getFirst();
        assertEquals(List.of("sh", "-c", "echo hi"), c.command());
        assertEquals("coffer.test/busybox:1", c.image());
        assertEquals(2, c.env().size());
        // plaintext scratch only where the shim's setting says so: a generated policy then allows it, else refuses it
        assertFalse(spec.scratch().allowUnencrypted());
        assertTrue(config.groupSpec("g-1", true).scratch().allowUnencrypted());
    }

    @Test
    void theUnencryptedScratchSettingIsTrueOrFalseAndOffByDefault() {
        assertFalse(ShimConfig.fromEnvironment(Map.of()).allowUnencryptedScratch());
        assertTrue(ShimConfig.fromEnvironment(Map.of(ShimConfig.ALLOW_UNENCRYPTED_SCRATCH, "true")).allowUnencryptedScratch());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ShimConfig.fromEnvironment(Map.of(ShimConfig.ALLOW_UNENCRYPTED_SCRATCH, "yes")));
        assertEquals("expected COFFER_SHIM_ALLOW_UNENCRYPTED_SCRATCH true or false, found \"yes\"", e.getMessage());
    }

    @Test
    void groupNamesAreDnsLabelsAndKeepNamespacesApart() {
        String a = BundleConfig.groupName("default", "My_Task.1");
        assertTrue(a.matches("my-task-1-[0-9a-f]{10}"), a);
        String b = BundleConfig.groupName("k8s.io", "My_Task.1");
        assertTrue(!a.equals(b), a + " " + b);
        String long64 = BundleConfig.groupName("k8s.io", "f".repeat(64));
        assertTrue(long64.length() <= 31 && long64.matches("[a-z0-9]([a-z0-9-]*[a-z0-9])?"), long64);
        assertTrue(BundleConfig.groupName("ns", "___").matches("task-[0-9a-f]{10}"));
    }

    @Test
    void podAnnotationsAreReadStrictly() throws Exception {
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        assertEquals(new PodRole.Standalone(), PodRole.of(json.readTree("{}")));
        assertEquals(new PodRole.Sandbox("p1"), PodRole.of(json.readTree(
                "{\"io.kubernetes.cri.container-type\":\"sandbox\",\"io.kubernetes.cri.sandbox-id\":\"p1\"}")));
        assertEquals(new PodRole.Member("p1", "app"), PodRole.of(json.readTree("{\"io.kubernetes.cri.container-type\":\"container\","
                + "\"io.kubernetes.cri.sandbox-id\":\"p1\",\"io.kubernetes.cri.container-name\":\"app\"}")));
        TtrpcException unknown = assertThrows(TtrpcException.class, () -> PodRole.of(json.readTree(
                "{\"io.kubernetes.cri.container-type\":\"vm\",\"io.kubernetes.cri.sandbox-id\":\"p1\"}")));
        assertEquals(Code.INVALID_ARGUMENT, unknown.code());
        assertTrue(unknown.getMessage().contains("to be sandbox or container, found \"vm\""), unknown.getMessage());
        TtrpcException noPod = assertThrows(TtrpcException.class, () -> PodRole.of(json.readTree(
                "{\"io.kubernetes.cri.container-type\":\"container\"}")));
        assertTrue(noPod.getMessage().contains("expected annotation io.kubernetes.cri.sandbox-id"), noPod.getMessage());
        TtrpcException noName = assertThrows(TtrpcException.class, () -> PodRole.of(json.readTree(
                "{\"io.kubernetes.cri.container-type\":\"container\",\"io.kubernetes.cri.sandbox-id\":\"p1\"}")));
        assertTrue(noName.getMessage().contains("expected annotation io.kubernetes.cri.container-name"), noName.getMessage());
    }
    /** A pod sandbox task's bundle whose spec names {@code namespaces} (JSON array) as linux.namespaces. */
    private Path sandboxBundle(String name, String podId, String namespaces) throws Exception {
        Path b = Files.createDirectories(dir.resolve(name));
        Files.writeString(b.resolve("config.json"), """
                {"ociVersion":"1.0.2","process":{"args":["sleep","2147483647"],"env":["PATH=/bin"],"cwd":"/"},
                 "linux":{"namespaces":%s},
                 "annotations":{"io.kubernetes.cri.container-type":"sandbox","io.kubernetes.cri.sandbox-id":"%s",
                                "io.kubernetes.cri.image-name":"coffer.test/busybox:1"}}""".formatted(namespaces, podId));
        return b;
    }

    @Test
    void theSandboxTaskNamesThePodNetworkNamespaceAndNothingElseDoes() throws Exception {
        String ipc = "{\"type\":\"ipc\"}";
        // CNI's namespace, as containerd names it: taken as given (the agent checks it)
        Path cni = BundleConfig.read(sandboxBundle("n1", "p1", "[" + ipc + ",{\"type\":\"network\",\"path\":\"/var/run/netns/cni-1\"}]"))
                .networkNamespace();
        assertEquals(Path.of("/var/run/netns/cni-1"), cni);
        // a new namespace (no path), no entry (hostNetwork) or the host's own: the group makes its own
        assertEquals(null, BundleConfig.read(sandboxBundle("n2", "p1", "[{\"type\":\"network\"}]")).networkNamespace());
        assertEquals(null, BundleConfig.read(sandboxBundle("n3", "p1", "[" + ipc + "]")).networkNamespace());
        assertEquals(null, BundleConfig.read(sandboxBundle("n4", "p1", "[{\"type\":\"network\",\"path\":\"/proc/"
                + ProcessHandle.current().pid() + "/ns/net\"}]")).networkNamespace());
        // a pod's container joins the group's network: its spec's path (the pod's too) is not used
        Path member = Files.createDirectories(dir.resolve("n5"));
        Files.writeString(member.resolve("config.json"), """
                {"ociVersion":"1.0.2","process":{"args":["sleep","1"]},"linux":{"namespaces":[{"type":"network","path":"/x"}]},
                 "annotations":{"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.sandbox-id":"p1",
                 "io.kubernetes.cri.container-name":"app","io.kubernetes.cri.image-name":"coffer.test/busybox:1"}}""");
        assertEquals(null, BundleConfig.read(member).networkNamespace());

        TtrpcException relative = assertThrows(TtrpcException.class, () -> BundleConfig.read(
                sandboxBundle("n6", "p1", "[{\"type\":\"network\",\"path\":\"netns/cni-1\"}]")));
        assertEquals(Code.INVALID_ARGUMENT, relative.code());
        assertTrue(relative.getMessage().contains("to be absolute (e.g. /var/run/netns/cni-UUID), found \"netns/cni-1\""),
                relative.getMessage());
        TtrpcException two = assertThrows(TtrpcException.class, () -> BundleConfig.read(sandboxBundle("n7", "p1",
                "[{\"type\":\"network\",\"path\":\"/a\"},{\"type\":\"network\",\"path\":\"/b\"}]")));
        assertTrue(two.getMessage().contains("expected at most one network namespace"), two.getMessage());
    }

    /**
     * A hostile or broken host names a file that is not a network namespace as the pod's: the
     * launch is refused at Start (RunPodSandbox) with the agent's reason, no group is left, and
     * the named file is untouched.
     */
    @Test
    void aSandboxWhoseNetworkNamespaceIsNotOneIsRefusedAtStartAndLeavesNothing() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "the process sandbox needs root");
        Path fake = Files.writeString(dir.resolve("cni-fake"), "not a namespace\n");
        Path b = sandboxBundle("hostile", "pod1", "[{\"type\":\"network\",\"path\":\"" + fake + "\"}]");
        call("Create", create("pod1", b));
        TtrpcException refused = refused("Start", Shim.StartRequest.newBuilder().setId("pod1").build());
        System.out.println("Start of a pod whose network namespace is a regular file: " + refused.getMessage());
        assertEquals(Code.FAILED_PRECONDITION, refused.code());
        assertTrue(refused.getMessage().contains("expected the pod's network namespace at " + fake + " to be a namespace file")
                && refused.getMessage().contains("found a regular file"), refused.getMessage());
        Shim.WaitResponse exit = Shim.WaitResponse.parseFrom(call("Wait", Shim.WaitRequest.newBuilder().setId("pod1").build()));
        assertEquals(255, exit.getExitStatus());
        call("Delete", Shim.DeleteRequest.newBuilder().setId("pod1").build());
        assertEquals(List.of(), new dev.coffer.runtime.group.GroupManager(dir.resolve("home")).list(), "no group left");
        assertFalse(Files.exists(dir.resolve("home/groups").resolve(BundleConfig.groupName("ns", "pod1"))), "no group directory left");
        assertEquals(List.of(), dev.coffer.agent.container.Mounts.mountedUnder(dir), "nothing mounted");
        assertEquals("not a namespace\n", Files.readString(fake), "the named file is left as it was");
    }
    /**
     * A CNI pod network is not bridged into a microVM yet: a pod whose sandbox task names one is
     * refused at Start (RunPodSandbox) with a reason that says so, before any VM starts, and
     * leaves no group.
     */
    @Test
    void aPodNetworkIsRefusedForMicroVmPodsWithTheReason() throws Exception {
        Path home = dir.resolve("home");
        TaskService vmTasks = new TaskService(new ShimConfig(home, "generate", "sim", "microvm", ShimConfig.DEFAULT_PAUSE_IMAGE, true),
                "ns", new EventPublisher(null, "", "ns", log::add), log::add, () -> { });
        try (TtrpcServer vmServer = new TtrpcServer(dir.resolve("vm.sock"), List.of(vmTasks.service()), log::add)) {
            vmServer.start();
            try (TtrpcClient vm = new TtrpcClient(vmServer.socket())) {
                Path b = sandboxBundle("vm", "vmpod", "[{\"type\":\"network\",\"path\":\"/var/run/netns/cni-0000\"}]");
                vm.call(TaskService.NAME, "Create", create("vmpod", b).toByteArray());
                TtrpcException refused = assertThrows(TtrpcException.class,
                        () -> vm.call(TaskService.NAME, "Start", Shim.StartRequest.newBuilder().setId("vmpod").build().toByteArray()));
                System.out.println("Start of a microVM pod on a CNI network: " + refused.getMessage());
                assertTrue(refused.getMessage().contains("a Kubernetes pod's network (CNI) is not bridged into a microVM yet"),
                        refused.getMessage());
                vm.call(TaskService.NAME, "Delete", Shim.DeleteRequest.newBuilder().setId("vmpod").build().toByteArray());
            }
        }
        assertEquals(List.of(), new dev.coffer.runtime.group.GroupManager(home).list(), "no group left");
        assertFalse(Files.exists(home.resolve("groups").resolve(BundleConfig.groupName("ns", "vmpod"))), "no group directory left");
    }
}
