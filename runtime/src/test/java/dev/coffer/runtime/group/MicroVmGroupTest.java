package dev.coffer.runtime.group;

import dev.coffer.runtime.attest.GroupAttestation;
import dev.coffer.runtime.guest.GuestBuilder;
import dev.coffer.runtime.guest.GuestImage;
import dev.coffer.policy.spec.GroupSpec;
import dev.coffer.policy.spec.GroupSpecParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A whole group in a microVM through the same lifecycle as the process sandbox: the generated
 * policy travels on the launch disk, layer disks are attached by serial and opened with
 * dm-verity in the guest, crun runs the containers, the policy refuses what the spec does not
 * list, and stop leaves no QEMU behind. Under TCG here (PVM /dev/kvm cannot boot a stock kernel).
 */
class MicroVmGroupTest {
    @TempDir
    Path home;
    @TempDir
    Path work;

    @Test
    void aGroupRunsInItsMicroVmUnderItsGeneratedPolicyAndStopLeavesNoVm() throws Exception {
        GuestImage guest = new GuestBuilder(home.resolve("guest"), step -> { }).build();
        TestImages.importBusybox(home, work);
        GroupManager groups = new GroupManager(home);
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        // the server listens on the group's loopback only; its declared port is forwarded from the host's
        GroupSpec spec = GroupSpecParser.parse("""
                name: vmpod
                containers:
                  - name: server
                    image: coffer.test/busybox:1
                    command: [httpd, -f, -p, "127.0.0.1:%d", -h, /www]
                    ports: [{containerPort: %d}]
                  - name: client
                    image: coffer.test/busybox:1
                    command: [sh, -c]
                    args:
                      - "for i in $(seq 1 100); do wget -q -O - http://127.0.0.1:%d/index.html && exit 0; sleep 0.2; done; exit 1"
                """.formatted(port, port, port), "vmpod.yaml");
        GroupHandle g = groups.run(spec, RunOptions.defaults().withIsolation("microvm").withTee(RunOptions.TEE_SIM)
                .withAgentEnvironment(Map.of("COFFER_ACCEL", "tcg")));
        long qemuPid = groups.status("vmpod").agentPid();
        try {
            assertTrue(g.isolationNotice().startsWith("microvm"), g.isolationNotice());
            assertTrue(g.ociRuntime().startsWith("crun"), g.ociRuntime());
            assertTrue(g.enforcer().startsWith("policy sha256:"), "the launch disk carried the generated policy: " + g.enforcer());
            assertEquals(Files.readString(groups.groupDir("vmpod").resolve("policy.rego")).length() > 0, true);

            var client = g.waitFor("client", Duration.ofSeconds(180));
            assertEquals(0, client.exitCode(), g.logs("client"));
            assertTrue(g.logs("client").contains("hello"), g.logs("client"));

            // the declared port, from the host: QEMU forwards 127.0.0.1:port to the guest, whose agent
            // relays into the group's network namespace
            var http = java.net.http.HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(20)).build();
            var page = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/index.html"))
                    .timeout(Duration.ofSeconds(60)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, page.statusCode());
            assertTrue(page.body().contains("hello"), page.body());

            GroupException denied = assertThrows(GroupException.class,
                    () -> g.exec("server", List.of("sh", "-c", "id"), Duration.ofSeconds(60)));
            assertTrue(denied.getMessage().contains("exec_in_container denied"), denied.getMessage());

            // the decision log lives in the guest; reading it is runtime logging, which this policy does not allow
            GroupException kept = assertThrows(GroupException.class, () -> groups.policyLog("vmpod"));
            assertTrue(kept.getMessage().contains("read_decision_log denied") && kept.getMessage().contains("allow_runtime_logging"),
                    kept.getMessage());

            // launched on the simulated secure processor: MEASUREMENT is the guest's (kernel, initramfs,
            // command line, agent disk), HOST_DATA the policy's; a fresh report through the agent verifies
            GroupStatus recorded = groups.status("vmpod");
            assertEquals("sim", recorded.tee());
            assertEquals(java.util.HexFormat.of().formatHex(guest.measurement().compute()), recorded.measurement());
            assertEquals(g.enforcer().substring("policy sha256:".length()), recorded.hostData());
            GroupAttestation.Outcome attested = GroupAttestation.attest(groups, "vmpod");
            assertTrue(attested.valid(), attested.toString());

            // hostile bytes through the virtio-serial relay, once a session is open, get the agent's
            // own error answers and change nothing: the relay reads frame lengths, never content
            try (var ch = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
                ch.connect(java.net.UnixDomainSocketAddress.of(groups.groupDir("vmpod").resolve("vm/agent.sock")));
                var out = java.nio.channels.Channels.newOutputStream(ch);
                var in = java.nio.channels.Channels.newInputStream(ch);
                dev.coffer.runtime.guest.RelaySession.hostOpening().open(in, out);
                dev.coffer.agent.protocol.Frames.write(out, "\u0000\u0001garbage".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
                var r = dev.coffer.agent.protocol.Protocol.decodeResponse(dev.coffer.agent.protocol.Frames.read(in));
                assertEquals(dev.coffer.agent.protocol.Response.Failure.BAD_JSON, r.error().code());
                dev.coffer.agent.protocol.Frames.write(out, "{\"version\":99,\"id\":5,\"request\":{\"type\":\"ping\"}}".getBytes());
                r = dev.coffer.agent.protocol.Protocol.decodeResponse(dev.coffer.agent.protocol.Frames.read(in));
                assertEquals(dev.coffer.agent.protocol.Response.Failure.UNSUPPORTED_VERSION, r.error().code());
            }

            GroupStatus ps = groups.status("vmpod");
            assertEquals("running", ps.status());
            assertEquals("microvm", ps.isolation());
            assertTrue(ps.agentAlive());
        } finally {
            groups.stop("vmpod", Duration.ofSeconds(2));
        }
        assertEquals("stopped", groups.status("vmpod").status());
        assertFalse(ProcessHandle.of(qemuPid).map(ProcessHandle::isAlive).orElse(false), "QEMU survived stop");
        assertFalse(Files.exists(groups.groupDir("vmpod").resolve("vm/agent.sock")), "socket left behind");
        assertFalse(Files.exists(groups.groupDir("vmpod").resolve("vm/launch.img")), "the launch disk holds the sim chip's key");
        // the host keeps what it read from the guest: container logs (the policy allows their stdio)
        assertTrue(groups.readLog("vmpod", "client").contains("hello"));
    }
}
