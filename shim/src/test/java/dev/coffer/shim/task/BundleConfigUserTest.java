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
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The OCI spec's process.user as containerd writes it for a pod that runs as a user, and what a
 * hostile host could write there instead: read into the group spec the agent is asked for, or
 * refused with what was found.
 */
class BundleConfigUserTest {
    @TempDir
    Path dir;

    private BundleConfig read(String user) throws Exception {
        Files.writeString(dir.resolve("config.json"), """
                {"ociVersion": "1.0.2", "process": {"args": ["id"], "env": ["PATH=/bin"], "cwd": "/"%s},
                 "annotations": {"dev.coffer.image": "coffer.test/busybox:1"}}
                """.formatted(user == null ? "" : ", \"user\": " + user));
        return BundleConfig.read(dir);
    }

    @Test
    void containerdsUserAndGroupsGoIntoTheGroupSpec() throws Exception {
        // containerd 1.6's CRI repeats the primary gid among additionalGids, then the kubelet's fsGroup and supplementalGroups
        BundleConfig b = read("{\"uid\": 1000, \"gid\": 3000, \"additionalGids\": [3000, 2000, 4000, 2000]}");
        assertEquals(new BundleConfig.ProcessUser(1000, 3000, List.of(3000, 2000, 4000)), b.user());
        GroupSpec.ContainerSpec c = b.groupSpec("g", "main", "coffer.test/busybox:1", false).containers().getFirst();
        assertEquals("1000:3000", c.user());
        assertEquals(List.of(3000, 2000, 4000), c.supplementalGroups(), "containerd's list, each once");

        // root as containerd writes it by default: uid and gid 0, no other groups
        GroupSpec.ContainerSpec root = read("{\"uid\": 0, \"gid\": 0}").groupSpec("g", "main", "x:1", false).containers().getFirst();
        assertEquals("0:0", root.user());
        assertEquals(List.of(), root.supplementalGroups());
        // no process.user: the image's user, as before
        assertNull(read(null).user());
        assertNull(read(null).groupSpec("g", "main", "x:1", false).containers().getFirst().user());
    }

    @Test
    void whatIsNotANumericUserIsRefusedWithWhatWasFound() {
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("{\"uid\": -1, \"gid\": 0}", "expected process.user.uid in " + dir.resolve("config.json") + " to be an id 0..2147483647, found -1");
        cases.put("{\"uid\": 4294967296, \"gid\": 0}", "process.user.uid");
        cases.put("{\"uid\": \"1000\", \"gid\": 0}", "process.user.uid");
        cases.put("{\"uid\": 1000, \"gid\": 1.5}", "process.user.gid");
        cases.put("{\"uid\": 1000, \"gid\": 1000, \"additionalGids\": [2000, -4]}", "process.user.additionalGids[1]");
        cases.put("{\"uid\": 1000, \"gid\": 1000, \"additionalGids\": 2000}", "process.user.additionalGids");
        cases.put("{\"uid\": 1000, \"gid\": 1000, \"additionalGids\": " + java.util.stream.IntStream.range(0, 257).boxed().toList() + "}",
                "at most 256 group ids, found 257 entries");
        cases.put("{\"username\": \"app\"}", "found username \"app\"");
        cases.put("\"1000\"", "to be an object");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            TtrpcException e = assertThrows(TtrpcException.class, () -> read(c.getKey()), c.getKey());
            assertEquals(Code.INVALID_ARGUMENT, e.code(), c.getKey());
            assertTrue(e.getMessage().contains(c.getValue()), c.getKey() + ": " + e.getMessage());
        }
    }
}
