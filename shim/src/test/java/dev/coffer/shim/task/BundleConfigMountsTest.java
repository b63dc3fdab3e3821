package dev.coffer.shim.task;

import dev.coffer.policy.spec.GroupSpec;
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
    void emptyDirsBecomeTheSandboxsVolumesAndTheKubeletsOtherMountsAreNotTaken() throws Exception {
        // what containerd 1.6 writes for a container with two emptyDirs, a ConfigMap, the service account token and /etc/hosts
        BundleConfig b = read(List.of(
                mount("/proc", "proc", "nosuid"),
                mount("/cache", POD + "/volumes/kubernetes.io~empty-dir/cache", "rbind", "rprivate", "rw"),
                mount("/shared", POD + "/volumes/kubernetes.io~empty-dir/shared-data", "rbind", "rprivate", "ro"),
                mount("/etc/config", POD + "/volumes/kubernetes.io~configmap/config", "rbind", "rprivate", "ro"),
                mount("/var/run/secrets/kubernetes.io/serviceaccount", POD + "/volumes/kubernetes.io~projected/kube-api-access-x2x9q",
                        "rbind", "rprivate", "ro"),
                mount("/etc/hosts", POD + "/etc-hosts", "rbind", "rprivate", "rw")).toString());
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
    void hostileMountsAreRefusedWithWhatWasFound() {
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
        for (Map.Entry<String, String> c : cases.entrySet()) {
            TtrpcException e = assertThrows(TtrpcException.class, () -> read(c.getKey()), c.getKey());
            assertEquals(Code.INVALID_ARGUMENT, e.code(), c.getKey());
            assertTrue(e.getMessage().contains(c.getValue()), c.getKey() + ": " + e.getMessage());
        }
    }
}
