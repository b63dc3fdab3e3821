package dev.coffer.agent;

import dev.coffer.agent.container.AgentException;
import dev.coffer.agent.container.ContainerService;
import dev.coffer.agent.container.OciRuntime;
import dev.coffer.agent.enforce.AllowAllEnforcer;
import dev.coffer.agent.enforce.Enforcer;
import dev.coffer.agent.transport.UnixSocketServer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The agent process: {@code AgentMain --socket PATH --state DIR --name GROUP --policy allow-all
 * [--runtime auto|runc|crun|PATH]}. The same program later runs inside the microVM with a
 * virtio-serial port instead of the socket.
 *
 * <p>Exit codes: 0 after shutdown_sandbox, 2 bad arguments, 3 the sandbox cannot be prepared
 * (no OCI runtime, no permission to mount, ...). The first line on stdout once ready is
 * {@code READY <pid> <runtime>}.
 */
public final class AgentMain {
    private AgentMain() {}

    public static void main(String[] args) {
        Path socket = null;
        Path state = null;
        String name = null;
        String policy = null;
        String runtime = "auto";
        List<String> rest = new ArrayList<>(List.of(args));
        try {
            while (!rest.isEmpty()) {
                String flag = rest.removeFirst();
                if (rest.isEmpty()) throw new IllegalArgumentException("expected a value after " + flag + ", found none");
                String value = rest.removeFirst();
                switch (flag) {
                    case "--socket" -> socket = Path.of(value).toAbsolutePath();
                    case "--state" -> state = Path.of(value).toAbsolutePath();
                    case "--name" -> name = value;
                    case "--policy" -> policy = value;
                    case "--runtime" -> runtime = value;
                    default -> throw new IllegalArgumentException("expected one of --socket --state --name --policy --runtime, found " + flag);
                }
            }
            if (socket == null || state == null || name == null) {
                throw new IllegalArgumentException("expected --socket PATH --state DIR --name GROUP, found some missing");
            }
            if (!name.matches("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")) {
                throw new IllegalArgumentException("expected --name of lowercase letters, digits and '-', found \"" + name + "\"");
            }
        } catch (IllegalArgumentException e) {
            System.err.println("coffer-agent: " + e.getMessage());
            System.exit(2);
            return;
        }
        Enforcer enforcer;
        if (AllowAllEnforcer.NAME.equals(policy)) {
            enforcer = new AllowAllEnforcer();
        } else {
            // Refusing to start is the safe default: running without enforcement must be a choice.
            System.err.println("coffer-agent: expected --policy allow-all (the only enforcer available), found "
                    + (policy == null ? "no --policy" : "--policy " + policy)
                    + "; pass --policy allow-all to run without policy enforcement");
            System.exit(2);
            return;
        }
        try {
            Files.createDirectories(state);
            OciRuntime oci = OciRuntime.detect(runtime, state.resolve("oci-state"));
            ContainerService service = ContainerService.start(state, name, oci);
            RequestHandler handler = new RequestHandler(enforcer, service);
            try (UnixSocketServer server = UnixSocketServer.bind(socket, handler)) {
                System.out.println("READY " + ProcessHandle.current().pid() + " " + oci.describe()
                        + " enforcer=" + enforcer.name());
                System.out.flush();
                server.serve();
            }
            System.out.println("coffer-agent: sandbox shut down");
            System.exit(0);
        } catch (AgentException | IOException e) {
            System.err.println("coffer-agent: " + e.getMessage());
            System.exit(3);
        }
    }
}
