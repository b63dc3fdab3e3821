package dev.coffer.runtime.guest;

import dev.coffer.agent.AgentMain;
import dev.coffer.agent.container.AttachedDisks;
import dev.coffer.agent.tee.SimTeeFiles;
import dev.coffer.agent.tee.TeeException;
import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Result;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The agent's entry point inside the microVM: runs {@link AgentMain} unchanged on a UNIX socket
 * in this JVM and relays one virtio-serial port to it, byte for byte.
 *
 * <p>Why a relay: the agent serves UNIX sockets; the only host channel a microVM has here is a
 * virtio-serial port (vhost-vsock is unavailable). A port is a single character device, not a
 * listening socket: the host "connects" when QEMU's socket chardev has a client, and while no
 * client is attached reads return end-of-file at once. End-of-file alone cannot mark where one
 * host connection ends and the next begins (a quick reconnect is never seen), so each host
 * connection opens its own agent session in band ({@link RelaySession}). The relay reads only
 * frame lengths, never a frame's content, so it cannot widen what the host may ask of the agent.
 *
 * <p>{@code GuestAgent --train DIR} is used at guest build time on the host: it drives a real
 * agent through ping, get_properties and shutdown so the JVM records the classes the agent
 * needs, for the class-data-sharing archive that halves the agent's start under emulation.
 */
public final class GuestAgent {
    private static final long HOST_ABSENT_POLL_MILLIS = 20;

    /**
     * The thread copying the agent's replies to the host. The agent exits the JVM right after
     * answering shutdown_sandbox; a shutdown hook lets this thread deliver that last answer.
     */
    private static volatile Thread lastCopier;

    private GuestAgent() {}

    public static void main(String[] args) throws Exception {
        List<String> rest = new ArrayList<>(List.of(args));
        if (!rest.contains("--train")) mark("agent-jvm-started");
        if (rest.size() == 2 && rest.get(0).equals("--train")) {
            try {
                train(Path.of(rest.get(1)));
            } catch (Exception e) {
                // the agent thread would keep the JVM alive: the build waits for this process
                System.err.println("coffer-guest-agent: training run failed: " + e);
                System.exit(1);
            }
            return;
        }
        int at = rest.indexOf("--port");
        if (at < 0 || at + 1 >= rest.size()) {
            System.err.println("coffer-guest-agent: expected --port /dev/virtio-ports/NAME followed by the agent's own options");
            System.exit(2);
        }
        Path port = Path.of(rest.get(at + 1));
        rest.remove(at + 1);
        rest.remove(at);
        int stateAt = rest.indexOf("--state");
        Path state = Path.of(stateAt >= 0 && stateAt + 1 < rest.size() ? rest.get(stateAt + 1) : "/run/coffer");
        Files.createDirectories(state);
        int launchAt = rest.indexOf("--launch");
        LaunchDisk.Content launch = null;
        if (launchAt >= 0) {
            if (launchAt + 1 >= rest.size()) {
                System.err.println("coffer-guest-agent: expected a device after --launch, found none");
                System.exit(2);
            }
            Path device = Path.of(rest.get(launchAt + 1));
            rest.remove(launchAt + 1);
            rest.remove(launchAt);
            launch = readLaunch(device);
            mark("launch-parsed");
            try {
                rest.addAll(launchArguments(launch, state, SimTeeFiles.GUEST_DIRECTORY));
            } catch (TeeException e) {
                System.err.println("coffer-guest-agent: refusing the launch disk " + device + ": " + e.getMessage());
                System.exit(2);
            }
            mark("launch-read");
        }
        Path socket = state.resolve("agent.sock");
        rest.addAll(List.of("--socket", socket.toString()));
        Thread agent = Thread.ofPlatform().name("agent").start(() -> AgentMain.main(rest.toArray(String[]::new)));
        awaitSocket(socket, agent);
        if (launch != null) {
            try {
                // lives as long as the VM: the relays stop when the agent ends and init powers off
                GuestNetwork.start(launch.network());
            } catch (IOException e) {
                System.err.println("coffer-guest-agent: cannot set up the group's network: " + e.getMessage());
                System.exit(3);
            }
        }
        mark("agent-listening");
        relay(port, socket);
    }

    /** A progress line on the console, timed by the guest's uptime like init's own (the host reads them). */
    private static void mark(String name) {
        String uptime;
        try {
            uptime = Files.readString(Path.of("/proc/uptime")).split(" ")[0];
        } catch (IOException | RuntimeException e) {
            uptime = "?";
        }
        System.out.println("COFFER-INIT " + name + " uptime=" + uptime);
        System.out.flush();
    }

    /** The launch the host attached; exits on a bad disk. */
    private static LaunchDisk.Content readLaunch(Path device) throws IOException {
        try {
            return LaunchDisk.read(device);
        } catch (IOException e) {
            System.err.println("coffer-guest-agent: expected the launch disk " + device + " (serial " + LaunchDisk.SERIAL
                    + "), found: " + e.getMessage());
            System.exit(2);
            throw e;
        }
    }

    /**
     * The agent's flags (name, policy, HOST_DATA, runtime, TEE, SKR, forwarded ports, layer disks) for
     * {@code launch}, the simulated chip (if any) installed in {@code chipDirectory}.
     */
    static List<String> launchArguments(LaunchDisk.Content launch, Path state, Path chipDirectory) throws IOException {
        // writable layers and volumes only on the scratch disk (never the guest's memory): the guest's rule, not the host's
        List<String> args = new ArrayList<>(List.of("--name", launch.group(), "--runtime", launch.ociRuntime(),
                "--layer-disk", AttachedDisks.VIRTIO, "--scratch", "disk"));
        if (!launch.tee().equals("none")) {
            // snp: the agent finds the secure processor's guest interface itself and reads HOST_DATA from its report
            args.addAll(launch.tee().equals("sim") ? simLaunch(launch, state, chipDirectory) : List.of("--tee", "snp"));
            if (launch.endorsement() != null) {
                // opaque to the guest: the agent forwards it with its evidence, the service verifies it
                Path endorsement = state.resolve("endorsement.cose");
                Files.write(endorsement, java.util.Base64.getDecoder().decode(launch.endorsement()));
                args.addAll(List.of("--endorsement", endorsement.toString()));
            }
            if (launch.skrPort() != null) {
                args.addAll(List.of("--skr-port", Integer.toString(launch.skrPort())));
                for (String origin : launch.network().origins()) args.addAll(List.of("--skr-endpoint", origin));
            }
        }
        if (!launch.network().ports().isEmpty()) {
            args.addAll(List.of("--forward-address", GuestNetwork.GUEST_ADDRESS));
            for (int port : launch.network().ports()) args.addAll(List.of("--forward-port", Integer.toString(port)));
        }
        if (launch.policy() == null) {
            args.addAll(List.of("--policy", "allow-all"));
        } else {
            Path policy = state.resolve("policy.rego");
            Files.writeString(policy, launch.policy(), java.nio.charset.StandardCharsets.UTF_8);
            args.addAll(List.of("--policy", policy.toString(), "--host-data", launch.hostData()));
        }
        return args;
    }

    /**
     * Checks the sealed context against the simulated chip the disk carries (in memory), then puts
     * the chip in the guest's fixed directory and the context beside the agent's state, both
     * readable by root only, and returns the agent's TEE flags. No name or path from the disk
     * decides where anything is written (see {@link SimTeeFiles}); the agent then checks the seal
     * and the policy against HOST_DATA as in the process sandbox.
     */
    static List<String> simLaunch(LaunchDisk.Content launch, Path state, Path chipDirectory) throws IOException {
        Path contextFile = state.resolve("launch-context.json");
        SimTeeFiles.install(launch.simTee(), launch.launchContext(), launch.group(), chipDirectory, contextFile);
        return List.of("--tee", "sim", "--launch-context", contextFile.toString(), "--sim-tee", chipDirectory.toString());
    }

    private static void awaitSocket(Path socket, Thread agent) throws InterruptedException {
        // bounded but generous: under emulation a sim-TEE agent checks the chip and the policy before binding
        for (int i = 0; i < 30_000 && !Files.exists(socket); i++) {
            if (!agent.isAlive()) {
                // AgentMain exits the JVM itself on every failure it knows; a thread that ended
                // without doing so died of something unexpected (its trace is on stderr above)
                agent.join(1000);
                System.err.println("coffer-guest-agent: expected the agent to serve " + socket
                        + ", found its thread ended before binding it; see the trace above");
                System.exit(3);
            }
            Thread.sleep(10);
        }
        if (!Files.exists(socket)) {
            System.err.println("coffer-guest-agent: expected the agent socket " + socket + " within 300 s, found none");
            System.exit(3);
        }
    }

    /**
     * Relays the port to agent connections, one per host session ({@link RelaySession}), until
     * the JVM exits (the agent ends it).
     */
    static void relay(Path port, Path socket) throws IOException, InterruptedException {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            Thread copier = lastCopier;
            if (copier == null) return;
            try {
                copier.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "deliver-last-answer"));
        try (RandomAccessFile device = new RandomAccessFile(port.toFile(), "rw")) {
            // streams over the bare descriptor: a FileChannel would serialize a blocked read with
            // the other direction's writes on its position lock, and deadlock the relay
            InputStream fromHost = new FileInputStream(device.getFD());
            Relay relay = new Relay(socket, new FileOutputStream(device.getFD()));
            RelaySession.HostStream stream = new RelaySession.HostStream();
            byte[] buf = new byte[64 * 1024];
            while (true) {
                int n = fromHost.read(buf);
                if (n < 0) {
                    // no host attached: end the current agent connection and wait for the next host
                    relay.hostLeft();
                    stream.reset();
                    Thread.sleep(HOST_ABSENT_POLL_MILLIS);
                    continue;
                }
                stream.feed(buf, 0, n, relay);
            }
        }
    }

    /**
     * The relay's sessions. Every answer goes to the host under the {@code toHost} lock and only
     * while its session is the current one: once a new session's WELCOME is written, nothing of
     * an older session follows it.
     */
    private static final class Relay implements RelaySession.HostStream.Sink {
        private final Path socket;
        private final OutputStream toHost;
        private SocketChannel session;
        private OutputStream toAgent;
        /** The current session's number, guarded by toHost; 0 while none is open. */
        private long current;
        private long sessions;
        private boolean reportedLost;

        Relay(Path socket, OutputStream toHost) {
            this.socket = socket;
            this.toHost = toHost;
        }

        @Override
        public void open(byte[] nonce) throws IOException {
            endSession();
            SocketChannel s;
            try {
                s = openSession(socket);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while connecting to the agent", e);
            }
            long number = ++sessions;
            synchronized (toHost) {
                current = number;
                toHost.write(RelaySession.marker(RelaySession.WELCOME, nonce));
                toHost.flush();
            }
            session = s;
            toAgent = Channels.newOutputStream(s);
            reportedLost = false;
            lastCopier = Thread.ofPlatform().name("agent-to-host-" + number).daemon().start(() -> copy(s, number));
        }

        @Override
        public void forward(byte[] b, int off, int len) throws IOException {
            if (session == null) return; // a host that has not opened a session: nothing of it reaches the agent
            try {
                toAgent.write(b, off, len);
            } catch (IOException e) {
                endSession(); // the agent closed this connection; the host's next HELLO opens another
            }
        }

        @Override
        public void lost(String why) {
            if (!reportedLost) System.err.println("coffer-guest-agent: " + why);
            reportedLost = true;
            endSession();
        }

        void hostLeft() {
            endSession();
        }

        private void endSession() {
            synchronized (toHost) {
                current = 0;
            }
            if (session != null) {
                try {
                    session.close();
                } catch (IOException e) {
                    // closing is all that was wanted: the agent sees the connection end either way
                }
                session = null;
                toAgent = null;
            }
        }

        private void copy(SocketChannel from, long number) {
            try (InputStream in = Channels.newInputStream(from)) {
                byte[] buf = new byte[64 * 1024];
                for (int n; (n = in.read(buf)) > 0; ) {
                    synchronized (toHost) {
                        if (current != number) return; // a newer session (or none) owns the port now
                        toHost.write(buf, 0, n);
                    }
                }
            } catch (IOException e) {
                // the connection ended from either side; the next HELLO opens another
            }
        }
    }

    /** The socket file appears at bind(2), a moment before listen(2): retry a refused connect briefly. */
    private static SocketChannel openSession(Path socket) throws IOException, InterruptedException {
        for (int attempt = 0; ; attempt++) {
            SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                channel.connect(UnixDomainSocketAddress.of(socket));
                return channel;
            } catch (IOException e) {
                channel.close();
                if (attempt >= 200) throw e;
                Thread.sleep(10);
            }
        }
    }

    private static AgentClient connect(Path socket) throws IOException, InterruptedException {
        for (int attempt = 0; ; attempt++) {
            try {
                return AgentClient.connect(socket);
            } catch (IOException e) {
                if (attempt >= 200) throw e;
                Thread.sleep(10);
            }
        }
    }

    private static void train(Path dir) throws Exception {
        Path state = dir.resolve("state");
        Path socket = dir.resolve("agent.sock");
        Files.createDirectories(state);
        String[] agentArgs = {"--socket", socket.toString(), "--state", state.toString(), "--name", "train",
                "--policy", "allow-all", "--runtime", "auto"};
        Thread agent = Thread.ofPlatform().name("agent").start(() -> AgentMain.main(agentArgs));
        awaitSocket(socket, agent);
        try (AgentClient client = connect(socket)) {
            client.call(new Request.Ping(), Result.class);
            client.call(new Request.GetProperties(), Result.Properties.class);
            client.call(new Request.ShutdownSandbox(1000), Result.class);
        }
        agent.join(30_000); // AgentMain exits the JVM after shutdown_sandbox
        System.exit(0);
    }
}
