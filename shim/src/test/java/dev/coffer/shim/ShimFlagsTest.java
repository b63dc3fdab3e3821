package dev.coffer.shim;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** containerd's command lines for the shim binary, as containerd 1.6 spells them. */
class ShimFlagsTest {
    @Test
    void startAndDeleteAsContainerdRunsThem() {
        ShimMain.Flags start = ShimMain.Flags.parse(new String[]{"-namespace", "k8s.io", "-address", "/run/containerd/containerd.sock",
                "-publish-binary", "/usr/bin/containerd", "-id", "abc", "-debug", "start"});
        assertEquals(new ShimMain.Flags("k8s.io", "/run/containerd/containerd.sock", "/usr/bin/containerd", "abc", "", "start"), start);
        ShimMain.Flags delete = ShimMain.Flags.parse(new String[]{"-namespace=k8s.io", "--address=/run/c.sock", "-id", "abc",
                "-bundle", "/run/b/abc", "-some-future-flag", "x", "delete"});
        assertEquals("delete", delete.command());
        assertEquals("/run/b/abc", delete.bundle());
    }

    @Test
    void socketIsPerTaskAndShortEnoughForAUnixAddress() {
        ShimMain.Flags a = ShimMain.Flags.parse(new String[]{"-namespace", "ns", "-address", "/a", "-id", "t", "start"});
        ShimMain.Flags b = ShimMain.Flags.parse(new String[]{"-namespace", "ns2", "-address", "/a", "-id", "t", "start"});
        assertNotEquals(a.socket(), b.socket());
        assertTrue(a.socket().toString().length() < 108, a.socket().toString());
    }

    @Test
    void badCommandLinesSayWhatWasExpected() {
        assertEquals("expected a command (start, delete), found none",
                assertThrows(IllegalArgumentException.class, () -> ShimMain.Flags.parse(new String[]{"-namespace", "n", "-id", "i"})).getMessage());
        assertEquals("expected -id TASK-ID, found none",
                assertThrows(IllegalArgumentException.class, () -> ShimMain.Flags.parse(new String[]{"-namespace", "n", "start"})).getMessage());
        assertEquals("expected a value after -id, found none",
                assertThrows(IllegalArgumentException.class, () -> ShimMain.Flags.parse(new String[]{"start", "-id"})).getMessage());
        assertEquals("expected one command, found start and delete",
                assertThrows(IllegalArgumentException.class, () -> ShimMain.Flags.parse(new String[]{"-id", "i", "start", "delete"})).getMessage());
    }
}
