package dev.coffer.runtime.group;

import dev.coffer.agent.container.Mounts;
import dev.coffer.policy.spec.GroupSpec;
import dev.coffer.policy.spec.GroupSpecParser;
import dev.coffer.runtime.guest.GuestBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A microVM whose guest never answers (QEMU SIGSTOPped: as a hung guest kernel, or a hostile guest
 * that reads requests and says nothing) is still removed by {@code rm --force}: the stop gives up
 * on the agent after its probe, kills QEMU, and leaves no QEMU, mount or group directory. Under
 * TCG here. The timeout bounds a hang of the test; it asserts nothing about speed.
 */
class MicroVmForcedStopTest {
    @TempDir
    Path home;
    @TempDir
    Path work;

    @Test
    @Timeout(value = 20, unit = TimeUnit.MINUTES)
    void aSilentGuestIsKilledAndRmForceLeavesNoVm() throws Exception {
        new GuestBuilder(home.resolve("guest"), step -> { }).build();
        TestImages.importBusybox(home, work);
        GroupManager groups = new GroupManager(home);
        GroupSpec spec = GroupSpecParser.parse("""
                name: vmhung
                containers:
                  - name: sleeper
                    image: coffer.test/busybox:1
                    command: [sleep, "3600"]
                """, "vmhung.yaml");
        groups.run(spec, RunOptions.defaults().withIsolation("microvm").withTee(RunOptions.TEE_SIM)
                .withAgentEnvironment(Map.of("COFFER_ACCEL", "tcg")));
        long qemuPid = groups.status("vmhung").agentPid();
        Path dir = groups.groupDir("vmhung");
        GroupManagerTest.signal("STOP", qemuPid);
        try {
            GroupManager.StopOutcome stopped = new GroupManager(home, GroupManagerTest.SILENT_AGENT_DEADLINES).rm("vmhung", true);
            assertNotNull(stopped, "rm --force of a running group reports its stop");
            assertTrue(stopped.forced(), "the stop of a silent guest is forced");
            assertTrue(stopped.forcedBecause().contains("ping") && stopped.forcedBecause().contains("QEMU (pid " + qemuPid + ")"),
                    stopped.forcedBecause());
            assertEquals(List.of("unknown"), stopped.containers().stream().map(ContainerRecord::state).toList());
            assertTrue(GroupManagerTest.gone(qemuPid), "QEMU survived the forced stop");
            assertEquals(List.of(), GroupManagerTest.processesUnder(dir), "no QEMU (or its watchdog) of the group is left");
            assertEquals(List.of(), Mounts.mountedUnder(home));
            assertFalse(Files.exists(dir), "the group directory is removed");
        } finally {
            GroupManagerTest.signal("CONT", qemuPid);
            if (Files.exists(dir)) groups.rm("vmhung", true);
        }
    }
}
