package dev.coffer.shim.task;

import dev.coffer.agent.protocol.Request;
import dev.coffer.policy.spec.GroupSpec;
import dev.coffer.shim.kubelet.KubeletVolumeTest;
import dev.coffer.shim.ttrpc.Code;
import dev.coffer.shim.ttrpc.TtrpcException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The mounts containerd's CRI writes for a pod's container, as the kubelet asks for them: its
 * emptyDir volumes become the sandbox's own volumes of those names (never the host's directory);
 * what a hostile host could write there instead is refused with what was found.
 */
class BundleConfigMountsTest {
    static final String POD = "/var/lib/kubelet/pods/6f1c0a52-0d2e-4a1b-9c55-2f0c8e1d7a10";

    @TempDir
    Path dir;

    private BundleConfig read(String mounts) throws Exception {
        Files.writeString(dir.resolve("config.json"), """
                {"ociVersion": "1.0.2", "process": {"args": ["sh"], "env": ["PATH=/bin"], "cwd": "/"},
                 "annotations": {"dev.coffer.image": "coffer.test/busybox:1"}, "mounts": %s}
                """.formatted(mounts));
        return BundleConfig.read(dir);
    }

    private static String mount(String destination, String source, String... options) {
        return "{\"destination\": \"" + destination + "\", \"type\": \"bind\", \"source\": \"" + source + "\", \"options\": "
                + java.util.Arrays.stream(options).map(o -> "\"" + o + "\"").toList() + "}";
    }

    @Test
    void emptyDirsBecomeTheSandboxsVolumesAndTheKubeletsContentVolumesAreCopied() throws Exception {
        // what containerd 1.6 writes for a container with two emptyDirs, a ConfigMap, the service account token and /etc/hosts
        Path pods = dir.resolve("pods");
        Path config = KubeletVolumeTest.atomicWriterVolume(pods, "configmap", "config", Map.of("app.yaml", "level: info\n"));
        Path token = KubeletVolumeTest.atomicWriterVolume(pods, "projected", "kube-api-access-x2x9q",
                Map.of("token", "eyJhbGciOi", "ca.crt", "-----BEGIN CERTIFICATE-----", "namespace", "default"));
        BundleConfig b = read(List.of(
                mount("/proc", "proc", "nosuid"),
                mount("/cache", POD + "/volumes/kubernetes.io~empty-dir/cache", "rbind", "rprivate", "rw"),
                mount("/shared", POD + "/volumes/kubernetes.io~empty-dir/shared-data", "rbind", "rprivate", "ro"),
                mount("/etc/config", config.toString(), "rbind", "rprivate", "ro"),
                mount("/var/run/secrets/kubernetes.io/serviceaccount", token.toString(), "rbind", "rprivate", "ro"),
                mount("/etc/hosts", POD + "/etc-hosts", "rbind", "rprivate", "rw")).toString());
        // the content volumes, read now, asked for read-only at their destinations with their files
        assertEquals(List.of("/etc/config", "/var/run/secrets/kubernetes.io/serviceaccount"),
                b.contentMounts().stream().map(Request.Mount::destination).toList());
        Request.Mount cm = b.contentMounts().getFirst();
        assertEquals("sandbox:///files/configmap/config", cm.source());
        assertEquals(List.of("rbind", "rshared", "ro"), cm.options());
        assertEquals(List.of("app.yaml"), cm.files().stream().map(Request.MountFile::path).toList());
        assertEquals("level: info\n", new String(cm.files().getFirst().content(), java.nio.charset.StandardCharsets.UTF_8));
        assertEquals("sandbox:///files/projected/kube-api-access-x2x9q", b.contentMounts().get(1).source());
        assertEquals(List.of("ca.crt", "namespace", "token"), b.contentMounts().get(1).files().stream().map(Request.MountFile::path).toList());
        assertEquals(List.of(new BundleConfig.EmptyDirMount("cache", "/cache", false),
                new BundleConfig.EmptyDirMount("shared-data", "/shared", true)), b.emptyDirs());

        GroupSpec spec = b.groupSpec("g", "main", "coffer.test/busybox:1", false);
        assertEquals(List.of(new GroupSpec.VolumeMount("cache", "/cache", false), new GroupSpec.VolumeMount("shared-data", "/shared", true)),
                spec.containers().getFirst().volumeMounts());
        assertEquals(List.of("cache", "shared-data"), spec.volumes().stream().map(GroupSpec.VolumeSpec::name).toList());
        assertTrue(spec.volumes().stream().allMatch(v -> v.kind() == GroupSpec.VolumeSpec.Kind.EMPTY_DIR), spec.volumes().toString());

        // no mounts at all (ctr run): no volumes
        assertEquals(List.of(), read("[]").emptyDirs());
    }

    @Test
    void hostileMountsAreRefusedWithWhatWasFound() throws Exception {
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put(List.of(mount("/data", POD + "/volumes/kubernetes.io~empty-dir/../../../../etc")).toString(),
                "to be named by a DNS label (as Kubernetes names volumes), found \"../../../../etc\"");
        cases.put(List.of(mount("/data", POD + "/volumes/kubernetes.io~empty-dir/Data")).toString(), "found \"Data\"");
        cases.put(List.of(mount("data", POD + "/volumes/kubernetes.io~empty-dir/data")).toString(), "found destination \"data\"");
        cases.put(List.of(mount("/", POD + "/volumes/kubernetes.io~empty-dir/data")).toString(), "found destination \"/\"");
        cases.put(List.of(mount("/a/../../etc", POD + "/volumes/kubernetes.io~empty-dir/data")).toString(), "found destination \"/a/../../etc\"");
        cases.put(List.of(mount("/d", POD + "/volumes/kubernetes.io~empty-dir/a"), mount("/d", POD + "/volumes/kubernetes.io~empty-dir/b"))
                .toString(), "and once, found destination \"/d\"");
        cases.put("{\"destination\": \"/d\"}", "expected mounts in " + dir.resolve("config.json") + " to be a list, found OBJECT");
        // a ConfigMap mounted at a destination with .., twice, or not as the kubelet lays it out
        Path config = KubeletVolumeTest.atomicWriterVolume(dir.resolve("pods"), "configmap", "config", Map.of("a", "b"));
        cases.put(List.of(mount("/etc/../../root/.ssh", config.toString(), "ro")).toString(),
                "expected configMap volume config mounted at an absolute path other than / without .. and once, found destination \"/etc/../../root/.ssh\"");
        cases.put(List.of(mount("/c", config.toString(), "ro"), mount("/c", config.toString(), "ro")).toString(), "and once, found destination \"/c\"");
        cases.put(List.of(mount("/c", POD + "/volumes/kubernetes.io~secret/missing", "ro")).toString(),
                "expected the secret volume missing at " + POD + "/volumes/kubernetes.io~secret/missing to be a directory the kubelet wrote, found nothing");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            TtrpcException e = assertThrows(TtrpcException.class, () -> read(c.getKey()), c.getKey());
            assertEquals(Code.INVALID_ARGUMENT, e.code(), c.getKey());
            assertTrue(e.getMessage().contains(c.getValue()), c.getKey() + ": " + e.getMessage());
        }
    }
}
