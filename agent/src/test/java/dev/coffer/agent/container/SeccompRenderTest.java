package dev.coffer.agent.container;

import dev.coffer.policy.enforce.SeccompDefault;
import dev.coffer.policy.gen.DefaultCapabilities;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The runtime-default profile as the OCI runtime sees it, for the container's capabilities. */
class SeccompRenderTest {

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> rules(Map<String, Object> seccomp) {
        return (List<Map<String, Object>>) seccomp.get("syscalls");
    }

    @SuppressWarnings("unchecked")
    private static List<String> allowed(Map<String, Object> seccomp) {
        List<String> names = new ArrayList<>();
        for (Map<String, Object> r : rules(seccomp)) {
            if (r.get("action").equals("SCMP_ACT_ALLOW") && !r.containsKey("args")) names.addAll((List<String>) r.get("names"));
        }
        return names;
    }

    @Test
    void unprivilegedContainersGetNoNamespaceOrMountCalls() {
        Map<String, Object> s = SeccompRender.forCapabilities(DefaultCapabilities.UNPRIVILEGED);
        assertEquals("SCMP_ACT_ERRNO", s.get("defaultAction"));
        assertEquals(1, s.get("defaultErrnoRet"), "EPERM");
        List<String> allowed = allowed(s);
        for (String call : List.of("read", "write", "execve", "openat", "futex", "chroot")) {
            assertTrue(allowed.contains(call), call);
        }
        for (String call : List.of("mount", "umount2", "unshare", "setns", "ptrace", "bpf", "init_module", "kexec_load",
                "open_by_handle_at", "reboot", "keyctl", "add_key", "userfaultfd")) {
            assertFalse(allowed.contains(call), call + " must not be allowed without its capability");
        }
        // clone only without namespace flags; clone3 answers ENOSYS so libc falls back to clone
        assertTrue(rules(s).stream().anyMatch(r -> r.get("names").equals(List.of("clone")) && r.containsKey("args")));
        assertTrue(rules(s).stream().anyMatch(r -> r.get("names").equals(List.of("clone3"))
                && Integer.valueOf(38).equals(r.get("errnoRet"))));
    }

    @Test
    void capabilityRulesFollowTheBoundingSet() {
        List<String> caps = new ArrayList<>(DefaultCapabilities.UNPRIVILEGED);
        caps.add("CAP_SYS_ADMIN");
        caps.add("CAP_SYS_PTRACE");
        Map<String, Object> s = SeccompRender.forCapabilities(caps);
        assertTrue(allowed(s).containsAll(List.of("mount", "unshare", "setns", "clone", "clone3", "ptrace")));
        assertFalse(rules(s).stream().anyMatch(r -> r.get("names").equals(List.of("clone3")) && r.containsKey("errnoRet")));
    }

    @Test
    void theReportedHashIsOfTheProfileText() throws Exception {
        String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(SeccompDefault.text().getBytes(StandardCharsets.UTF_8)));
        assertEquals(expected, SeccompDefault.sha256());
    }
}
