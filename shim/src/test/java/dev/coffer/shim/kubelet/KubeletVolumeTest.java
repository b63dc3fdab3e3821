package dev.coffer.shim.kubelet;

import dev.coffer.agent.protocol.Request;
import dev.coffer.policy.enforce.ContentVolumeKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kubelet's atomic-writer layout, built in a temp directory exactly as the kubelet builds it
 * (a timestamped directory of regular files, {@code ..data} pointing to it, one symlink per
 * top-level key), and what a hostile host could put there instead.
 */
public class KubeletVolumeTest {
    public static final String TIMESTAMPED = "..2026_12_08_01_02_03.123456789";

    @TempDir
    Path pods;

    /** A kubelet volume directory of {@code files} (path -> content), as the atomic writer leaves it. */
    public static Path atomicWriterVolume(Path pods, String kind, String name, Map<String, String> files) throws Exception {
        Path dir = pods.resolve("6f1c0a52-0d2e-4a1b-9c55-2f0c8e1d7a10/volumes/kubernetes.io~" + kind).resolve(name);
        // the kubelet's files are the shim's input from here on: pods is the test's /var/lib/kubelet/pods
        Path data = dir.resolve(TIMESTAMPED);
        Files.createDirectories(data);
        java.util.Set<String> top = new java.util.TreeSet<>();
        for (Map.Entry<String, String> f : files.entrySet()) {
            Path p = data.resolve(f.getKey());
            Files.createDirectories(p.getParent());
            Files.writeString(p, f.getValue());
            top.add(f.getKey().split("/")[0]);
        }
        Files.createSymbolicLink(dir.resolve("..data"), Path.of(TIMESTAMPED));
        for (String t : top) Files.createSymbolicLink(dir.resolve(t), Path.of("..data/" + t));
        return dir;
    }

    static KubeletVolume read(Path dir) throws Exception {
        return KubeletVolume.read(KubeletVolume.refOf(dir.toString()));
    }

    static Map<String, String> contents(KubeletVolume v) {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        for (Request.MountFile f : v.files()) out.put(f.path(), new String(f.content(), StandardCharsets.UTF_8));
        return out;
    }

    @Test
    void readsTheKubeletsLayoutAsItsFilesSortedByPath() throws Exception {
        Path dir = atomicWriterVolume(pods, "configmap", "app-config", Map.of("app.yaml", "level: info\n",
                "conf/nested/x.txt", "nested", "empty", ""));
        // an older timestamped directory and the update's ..data_tmp are the kubelet's, not the volume's
        Files.createDirectories(dir.resolve("..2026_12_07_00_00_00.000000001"));
        Files.writeString(dir.resolve("..2026_12_07_00_00_00.000000001/app.yaml"), "old");
        Files.createSymbolicLink(dir.resolve("..data_tmp"), Path.of("..2026_12_07_00_00_00.000000001"));
        KubeletVolume v = read(dir);
        assertEquals(ContentVolumeKind.CONFIG_MAP, v.kind());
        assertEquals("app-config", v.name());
        assertEquals(Map.of("app.yaml", "level: info\n", "conf/nested/x.txt", "nested", "empty", ""), contents(v));
        assertEquals(List.of("app.yaml", "conf/nested/x.txt", "empty"), v.files().stream().map(Request.MountFile::path).toList());

        // every kind the kubelet writes, by its plugin directory; the kubelet's other directories are not these volumes
        for (ContentVolumeKind k : ContentVolumeKind.values()) {
            Path d = atomicWriterVolume(pods, k.directory(), "v-" + k.ordinal(), Map.of("token", "t"));
            assertEquals(k, read(d).kind());
        }
        assertNull(KubeletVolume.refOf("/var/lib/kubelet/pods/u/volumes/kubernetes.io~empty-dir/cache"));
        assertNull(KubeletVolume.refOf("/var/lib/kubelet/pods/u/volumes/kubernetes.io~host-path/x"));
        assertNull(KubeletVolume.refOf("/var/lib/kubelet/pods/u/etc-hosts"));
    }

    @Test
    void hostileLayoutsAreRefusedWithWhatWasFound() throws Exception {
        Map<String, String> refusals = new java.util.LinkedHashMap<>();
        Path outside = Files.writeString(pods.resolve("shadow"), "root:$6$...");

        // a key that is a symlink out of the volume
        Path d = atomicWriterVolume(pods, "secret", "escape", Map.of("ok", "x"));
        Files.createSymbolicLink(d.resolve("passwd"), outside);
        refusals.put(d.toString(), "expected passwd in the secret volume escape at " + d + " to be the kubelet's symlink passwd -> ..data/passwd, found a symlink to \"" + outside + "\"");
        // a symlink inside the timestamped directory
        d = atomicWriterVolume(pods, "configmap", "inner-link", Map.of("ok", "x"));
        Files.createSymbolicLink(d.resolve(TIMESTAMPED).resolve("link"), outside);
        Files.createSymbolicLink(d.resolve("link"), Path.of("..data/link"));
        refusals.put(d.toString(), "expected only regular files and directories in the configMap volume inner-link at " + d + ", found a symlink at link");
        // ..data pointing out of the volume
        d = pods.resolve("p/volumes/kubernetes.io~configmap/data-escape");
        Files.createDirectories(d);
        Files.createSymbolicLink(d.resolve("..data"), Path.of("/etc"));
        refusals.put(d.toString(), "to point to a timestamped directory beside it (..2026_12_08_01_02_03.123456789), found it pointing to \"/etc\"");
        // no ..data at all: a plain directory of files
        d = pods.resolve("p/volumes/kubernetes.io~configmap/plain");
        Files.createDirectories(d);
        Files.writeString(d.resolve("app.yaml"), "x");
        refusals.put(d.toString(), "expected ..data in the configMap volume plain at " + d + " to be the kubelet's symlink");
        // a regular file beside ..data
        d = atomicWriterVolume(pods, "configmap", "beside", Map.of("ok", "x"));
        Files.writeString(d.resolve("extra"), "x");
        refusals.put(d.toString(), "found a file that is not a symlink");
        // a file in the data with no symlink: the container would not see it under the kubelet
        d = atomicWriterVolume(pods, "configmap", "hidden", Map.of("ok", "x"));
        Files.writeString(d.resolve(TIMESTAMPED).resolve("hidden"), "x");
        refusals.put(d.toString(), "to be exactly those with a symlink beside ..data [ok], found [hidden, ok]");
        // a FIFO
        d = atomicWriterVolume(pods, "configmap", "fifo", Map.of("ok", "x"));
        new ProcessBuilder("mkfifo", d.resolve(TIMESTAMPED).resolve("pipe").toString()).start().waitFor();
        Files.createSymbolicLink(d.resolve("pipe"), Path.of("..data/pipe"));
        refusals.put(d.toString(), "found a FIFO, socket or device at pipe");
        // a device node (the tests run as root; elsewhere mknod fails and this case is the FIFO's again)
        d = atomicWriterVolume(pods, "configmap", "device", Map.of("ok", "x"));
        Process mknod = new ProcessBuilder("mknod", d.resolve(TIMESTAMPED).resolve("null").toString(), "c", "1", "3").start();
        if (mknod.waitFor() == 0) {
            Files.createSymbolicLink(d.resolve("null"), Path.of("..data/null"));
            refusals.put(d.toString(), "found a FIFO, socket or device at null");
        }
        // over the 1 MiB bound, in one file and in many
        d = atomicWriterVolume(pods, "configmap", "big", Map.of("big", "x".repeat(1024 * 1024 + 1)));
        refusals.put(d.toString(), "expected at most 1048576 bytes in the configMap volume big");
        Map<String, String> many = new java.util.HashMap<>();
        for (int i = 0; i < 1025; i++) many.put("k" + i, "");
        d = atomicWriterVolume(pods, "configmap", "many", many);
        refusals.put(d.toString(), "expected at most 1024 files in the configMap volume many");
        // a name that is not a DNS label
        d = atomicWriterVolume(pods, "configmap", "Not_A_Label", Map.of("ok", "x"));
        refusals.put(d.toString(), "to be named by a DNS label (as Kubernetes names volumes), found \"Not_A_Label\"");
        // a file name the kubelet never writes
        d = atomicWriterVolume(pods, "configmap", "odd-name", Map.of("ok", "x"));
        Files.writeString(d.resolve(TIMESTAMPED).resolve("with space"), "x");
        Files.createSymbolicLink(d.resolve("with space"), Path.of("..data/with space"));
        refusals.put(d.toString(), "found 'with space'");
        // the volume directory itself a symlink
        Path real = atomicWriterVolume(pods, "configmap", "real", Map.of("ok", "x"));
        d = real.resolveSibling("linked");
        Files.createSymbolicLink(d, real);
        refusals.put(d.toString(), "to be a directory the kubelet wrote, found something else");

        for (Map.Entry<String, String> r : refusals.entrySet()) {
            KubeletVolume.LayoutException e = assertThrows(KubeletVolume.LayoutException.class, () -> read(Path.of(r.getKey())),
                    r.getKey());
            assertTrue(e.getMessage().contains(r.getValue()), r.getKey() + ": " + e.getMessage());
        }
    }
}
