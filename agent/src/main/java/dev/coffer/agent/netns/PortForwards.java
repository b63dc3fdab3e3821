package dev.coffer.agent.netns;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The group's declared TCP ports, reachable from outside its network namespace: for each port a
 * relay listens on {@code address:PORT} in the agent's namespace (the host's 127.0.0.1 for the
 * process sandbox; the guest's own address, where QEMU forwards the host's 127.0.0.1, for a
 * microVM) and passes each connection to 127.0.0.1:PORT inside the group.
 *
 * <p>The SKR API's port is never forwarded, whatever the launcher asks: it releases keys to
 * whoever can reach it, and only the group's containers may.
 */
public final class PortForwards implements AutoCloseable {
    private final List<TcpRelay> relays;

    private PortForwards(List<TcpRelay> relays) {
        this.relays = relays;
    }

    /**
     * Starts one relay per port.
     *
     * @param groupNetns the group's network namespace (an nsfs file)
     * @param skrPort    the SKR API's port inside the group, or null
     * @throws IOException when a port cannot be listened on (taken: the message says which); no relay is left running
     */
    public static PortForwards start(InetAddress address, List<Integer> ports, Path groupNetns, Integer skrPort) throws IOException {
        List<TcpRelay> relays = new ArrayList<>();
        try {
            for (int port : ports) {
                if (skrPort != null && port == skrPort) {
                    throw new IOException("expected a forwarded port other than " + port + ", the group's SKR API, which only the"
                            + " group's containers may reach; found it among the ports to forward");
                }
                InetSocketAddress inside = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
                // a socket keeps the namespace it was created in: create it there, connect from here
                relays.add(TcpRelay.start("port " + port, new InetSocketAddress(address, port),
                        () -> TcpRelay.connected(NetworkNamespaces.call(groupNetns, SocketChannel::open), inside)));
            }
        } catch (IOException | RuntimeException e) {
            relays.forEach(TcpRelay::close);
            throw e;
        }
        return new PortForwards(List.copyOf(relays));
    }

    /** Where each relay listens, in port order. */
    public List<InetSocketAddress> addresses() throws IOException {
        List<InetSocketAddress> out = new ArrayList<>();
        for (TcpRelay r : relays) out.add(r.address());
        return out;
    }

    @Override
    public void close() {
        relays.forEach(TcpRelay::close);
    }
}
