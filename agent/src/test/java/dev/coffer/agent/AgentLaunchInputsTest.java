package dev.coffer.agent;

import dev.coffer.agent.container.Mounts;
import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Frames;
import dev.coffer.agent.protocol.Protocol;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.RequestEnvelope;
import dev.coffer.agent.protocol.Response;
import dev.coffer.agent.protocol.Result;
import dev.coffer.agent.transport.UnixSocketServer;
import dev.coffer.layer.LayerDisk;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.ResolvedImage;
import dev.coffer.policy.model.GroupPolicyInput;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile launch inputs and connections against a real agent process: a forwarded port the
 * policy does not list, a mount_device source that is not an attached disk, too many
 * connections, an oversized frame, frames that hold the agent's request memory. Each is refused
 * with a reason and changes nothing; the honest request still works afterwards.
 */
class AgentLaunchInputsTest {
    static final String SPEC = """
            name: pod
            containers:
              - name: web
                image: coffer.test/busybox:1
                command: [httpd, -f, -p, "127.0.0.1:8080", -h, /www]
                ports: [{containerPort: 8080, protocol: TCP}]
            """;

    @TempDir
    Path dir;
    AgentProcess agent;

    @AfterEach
    void cleanUp() throws Exception {
        AgentProcess.cleanUp(agent, dir);
    }

    private static GeneratedPolicy policyFor(LayerDisk layer) throws Exception {
        PolicyGenerator generator = new PolicyGenerator(ref -> new ResolvedImage(ref, List.of(layer.rootHash()), List.of(),
                List.of("sh"), List.of("PATH=/bin"), "/", ""));
        return generator.generate(GroupPolicyInput.parse(SPEC, "pod.yaml"), false);
    }

    @Test
    void aForwardedPortThePolicyDoesNotListStopsTheLaunchBeforeAnythingIsSetUp() throws Exception {
        LayerDisk layer = BusyboxRootfs.disk(dir.resolve("layers"));
        GeneratedPolicy policy = policyFor(layer);
        assertTrue(policy.text().contains("\"forwarded_ports\": [8080]"), policy.text());
        Path policyFile = dir.resolve("policy.rego");
        Files.write(policyFile, policy.bytes());
        agent = AgentProcess.start(dir, "pod", "--policy", policyFile.toString(), "--host-data", policy.sha256(),
                "--forward-port", "22");
        assertEquals(2, agent.waitExit());
        assertTrue(agent.output().contains("launch.forwarded_ports [8080], found 22"), agent.output());
        assertFalse(Files.exists(agent.socket), "a refused launch serves nothing");
        assertFalse(Files.exists(agent.state.resolve("containers")), "no container state for a refused launch");
        assertFalse(Files.exists(agent.state.resolve("netns")), "no network namespace for a refused launch");
    }

    @Test
    void aMountDeviceSourceThatIsNotAnAttachedDiskIsRefused() throws Exception {
        LayerDisk layer = BusyboxRootfs.disk(dir.resolve("layers"));
        GeneratedPolicy policy = policyFor(layer);
        Path policyFile = dir.resolve("policy.rego");
        Files.write(policyFile, policy.bytes());
        agent = AgentProcess.start(dir, "pod", "--policy", policyFile.toString(), "--host-data", policy.sha256(),
                "--layer-disk", layer.file().toAbsolutePath().toString());
        assertTrue(agent.output().contains("READY"), agent.output());
        String l0 = agent.state.resolve("devices/l0").toString();
        // the very layer the policy pins, at a path the runtime did not attach: its content would pass the hash check
        Path copy = dir.resolve("elsewhere.disk");
        Files.copy(layer.file(), copy);
        // and a link to the attached disk from elsewhere: the name the host gives must be the attached one
        Path link = Files.createSymbolicLink(dir.resolve("link.disk"), layer.file().toAbsolutePath());
        try (AgentClient c = agent.client()) {
            for (String source : List.of(copy.toString(), "/dev/sda", link.toString())) {
                Response r = c.exchange(new Request.MountDevice(source, l0, layer.rootHash()));
                assertFalse(r.ok(), source);
                assertTrue(r.error().reason().contains("expected the mount_device source to be one of the layer disks")
                        && r.error().reason().contains(source), r.error().reason());
            }
            assertEquals(List.of(), Mounts.mountedUnder(agent.state.resolve("devices")), "nothing mounted after refusals");
            // nothing was committed: the attached disk mounts at the same target
            c.call(new Request.MountDevice(layer.file().toAbsolutePath().toString(), l0, layer.rootHash()), Result.Done.class);
        }
    }

    @Test
    void connectionsAndRequestMemoryAreBounded() throws Exception {
        agent = AgentProcess.start(dir, "caps", "--policy", "allow-all");
        assertTrue(agent.output().contains("READY"), agent.output());
        int cap = UnixSocketServer.Limits.DEFAULT.connections();
        List<AgentClient> open = new ArrayList<>();
        try {
            for (int i = 0; i < cap; i++) {
                AgentClient c = agent.client();
                open.add(c);
                c.call(new Request.Ping(), Result.class); // accepted and served: it holds a place
            }
            try (SocketChannel extra = raw()) {
                Response r = Protocol.decodeResponse(Frames.read(Channels.newInputStream(extra)));
                assertFalse(r.ok());
                assertTrue(r.error().reason().contains("at most " + cap + " connections"), r.error().reason());
            }
        } finally {
            for (AgentClient c : open) c.close();
        }
        // the agent frees those places as it sees each connection end: wait until one is served again
        String lastRefusal = "no attempt";
        boolean served = false;
        for (int attempt = 0; attempt < 100 && !served; attempt++) {
            try {
                Response r = ping();
                served = r.ok();
                if (!served) lastRefusal = String.valueOf(r.error());
            } catch (java.io.IOException refusedAndClosed) {
                lastRefusal = refusedAndClosed.toString();
            }
            if (!served) Thread.sleep(50);
        }
        assertTrue(served, "expected a ping answered once the clients left, found " + lastRefusal);

        // an oversized frame: refused by its length, before any allocation
        try (SocketChannel ch = raw()) {
            OutputStream out = Channels.newOutputStream(ch);
            out.write(new byte[] {0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff});
            out.flush();
            Response r = Protocol.decodeResponse(Frames.read(Channels.newInputStream(ch)));
            assertEquals(Response.Failure.BAD_FRAME, r.error().code());
            assertTrue(r.error().reason().contains("frame length of 1.." + Frames.MAX_FRAME_BYTES), r.error().reason());
        }

        // frames announced at the largest size and never finished hold the whole in-flight budget
        int holders = (int) (UnixSocketServer.Limits.DEFAULT.inFlightBytes() / Frames.MAX_FRAME_BYTES);
        List<SocketChannel> holding = new ArrayList<>();
        try {
            for (int i = 0; i < holders; i++) {
                SocketChannel ch = raw();
                holding.add(ch);
                OutputStream out = Channels.newOutputStream(ch);
                int n = Frames.MAX_FRAME_BYTES;
                out.write(new byte[] {(byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n, '{'});
                out.flush();
            }
            Response refused = null;
            for (int attempt = 0; attempt < 100 && refused == null; attempt++) {
                Response r = ping();
                if (!r.ok()) refused = r;
                else Thread.sleep(50); // the agent has not read every held header yet
            }
            assertTrue(refused != null, "expected a ping refused while the budget is held");
            assertEquals(Response.Failure.BAD_FRAME, refused.error().code());
            assertTrue(refused.error().reason().contains("memory for now"), refused.error().reason());
        } finally {
            for (SocketChannel ch : holding) ch.close();
        }
        // the held bytes are returned when those peers leave
        Response after = null;
        for (int attempt = 0; attempt < 100; attempt++) {
            after = ping();
            if (after.ok()) break;
            Thread.sleep(50);
        }
        assertTrue(after.ok(), "expected a ping answered once the budget is free, found " + after.error());
    }

    private SocketChannel raw() throws Exception {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(agent.socket));
        return ch;
    }

    private Response ping() throws Exception {
        try (SocketChannel ch = raw()) {
            Frames.write(Channels.newOutputStream(ch), Protocol.encode(new RequestEnvelope(Protocol.VERSION, 7, new Request.Ping())));
            InputStream in = Channels.newInputStream(ch);
            return Protocol.decodeResponse(Frames.read(in));
        }
    }
}
