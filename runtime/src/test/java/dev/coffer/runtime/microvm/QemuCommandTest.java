package dev.coffer.runtime.microvm;

import dev.coffer.runtime.guest.GuestImage;
import dev.coffer.runtime.guest.GuestNetwork;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QemuCommandTest {
    static final GuestImage GUEST = new GuestImage(Path.of("/g"), "6.1.0-test", "ab".repeat(32), 10,
            "console=ttyS0 reboot=t tsc_early_khz=1000 coffer.agentdisk=" + "ab".repeat(32) + ",10", "");

    @Test
    void theCommandLineIsExactlyTheMeasuredOneAndDevicesAreNamed() {
        MicroVm.Config c = MicroVm.Config.forAgent(GUEST, Path.of("/run/g1"), Accelerator.TCG)
                .withDisks(List.of(new MicroVm.Disk(Path.of("/l/0.disk"), "coffer-l0", true)))
                .withNetwork(List.of(new MicroVm.PortForward(18080, 80)),
                        GuestNetwork.Plan.of(List.of("http://127.0.0.1:8400", "https://vault.example:443"), List.of()).endpoints());
        List<String> cmd = MicroVm.qemuCommand(c, true);
        String joined = String.join(" ", cmd);
        assertEquals(GUEST.cmdline(), cmd.get(cmd.indexOf("-append") + 1));
        assertTrue(joined.contains("microvm,x-option-roms=off,auto-kernel-cmdline=off"), joined);
        assertTrue(joined.contains("-accel tcg -cpu max"), joined);
        assertTrue(joined.contains("-m 256M"), joined);
        assertTrue(joined.contains("serial=coffer-agent") && joined.contains("serial=coffer-l0"), joined);
        assertTrue(joined.contains("file=/l/0.disk,format=raw,if=none,read-only=on"), joined);
        assertTrue(joined.contains("user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:18080-:80"
                + ",guestfwd=tcp:10.0.2.100:8400-cmd:socat STDIO TCP:127.0.0.1:8400"
                + ",guestfwd=tcp:10.0.2.101:443-cmd:socat STDIO TCP:vault.example:443 "), joined);
        assertTrue(joined.contains("name=" + GuestImage.AGENT_PORT_NAME), joined);
        assertTrue(joined.contains("-daemonize") && !joined.contains("-nographic"), joined);
        assertFalse(String.join(" ", MicroVm.qemuCommand(c, false)).contains("-daemonize"));
    }

    @Test
    void badSerialsAndPortsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new MicroVm.Disk(Path.of("/d"), "a,b=c", true));
        assertThrows(IllegalArgumentException.class, () -> new MicroVm.Disk(Path.of("/d"), "x".repeat(21), true));
        assertThrows(IllegalArgumentException.class, () -> new MicroVm.PortForward(0, 80));
        assertThrows(IllegalArgumentException.class, () -> new MicroVm.PortForward(80, 70000));
        assertThrows(IllegalArgumentException.class, () -> new MicroVm.Config(GUEST, Path.of("/r"), "x", 64, Accelerator.TCG,
                List.of(), false, List.of(), List.of()));
    }

    @Test
    void theNetworkPlanAdmitsOnlyForwardableEndpointsAndSanePorts() {
        GuestNetwork.Plan plan = GuestNetwork.Plan.of(List.of("http://127.0.0.1:8400", "https://vault.example:443"), List.of(80, 8443));
        assertEquals(List.of("http://127.0.0.1:8400", "https://vault.example:443"), plan.origins());
        assertEquals("10.0.2.101:443", plan.endpoints().get(1).via());
        // shapes that would let a hostile launch disk smuggle QEMU options or reach outside the plan
        for (String origin : List.of("http://[::1]:80", "http://a,b:80", "http://a b:80", "ftp://h:21", "http://h")) {
            assertThrows(IllegalArgumentException.class, () -> GuestNetwork.Plan.of(List.of(origin), List.of()), origin);
        }
        assertThrows(IllegalArgumentException.class, () -> new GuestNetwork.Endpoint("http://h:80", "10.0.2.15:80"));
        assertThrows(IllegalArgumentException.class, () -> new GuestNetwork.Endpoint("http://h:80", "10.0.2.100:81"));
        assertThrows(IllegalArgumentException.class, () -> new GuestNetwork.Plan(List.of(), List.of(80, 80)));
        assertThrows(IllegalArgumentException.class, () -> new GuestNetwork.Plan(List.of(), List.of(0)));
    }
}
