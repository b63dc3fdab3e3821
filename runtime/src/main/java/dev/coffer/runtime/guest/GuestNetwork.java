package dev.coffer.runtime.guest;

import dev.coffer.agent.netns.TcpRelay;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The network of a group's microVM. QEMU's user-mode network is restricted ({@code restrict=on}):
 * the guest reaches nothing outside but what is forwarded, in both directions.
 *
 * <ul>
 * <li>Outbound, to the attestation services and key vaults the spec lists ({@code skr.endpoints}):
 * endpoint {@code i} gets the guest address {@code 10.0.2.(100+i)}, which QEMU forwards
 * ({@code guestfwd}, one {@code socat} per connection on the host) to the endpoint's host and
 * port. Inside the guest the agent keeps using the URL as written: a relay listens on the URL's own
 * address (a loopback address, an address added to {@code lo}, or for a host name a loopback
 * address named in {@code /etc/hosts}) and passes each connection to the forwarded address. So TLS
 * still checks the name the spec gave, and the agent's code is the same as in the process
 * sandbox.</li>
 * <li>Inbound, to the containers' declared TCP ports: QEMU forwards the host's
 * 127.0.0.1:PORT to the guest's 10.0.2.15:PORT, where the agent's port relay
 * ({@code --forward-port}, as in the process sandbox) passes each connection into the group's
 * network namespace. The SKR API's port is never relayed: only the group may ask it for keys.</li>
 * </ul>
 *
 * <p>The plan travels on the launch disk, so the guest checks its shape and trusts nothing else
 * about it: what the host could do with it (reach other endpoints, open other ports) it could do
 * with its own network anyway, except reaching into the group, which the SKR-port rule keeps out.
 */
public final class GuestNetwork {
    /** QEMU user networking's fixed address of the guest. */
    public static final String GUEST_ADDRESS = "10.0.2.15";
    static final int FIRST_FORWARD_HOST = 100;
    static final int MAX_ENDPOINTS = 16;
    static final int MAX_PORTS = 64;
    private static final Pattern ORIGIN = Pattern.compile("(http|https)://([a-z0-9.-]{1,253}):(\\d{1,5})");
    private static final Pattern VIA = Pattern.compile("10\\.0\\.2\\.(\\d{1,3}):(\\d{1,5})");
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    private GuestNetwork() {}

    /** An endpoint origin {@code scheme://host:port} and the guest address QEMU forwards to it. */
    public record Endpoint(String origin, String via) {
        public Endpoint {
            if (origin == null || !ORIGIN.matcher(origin).matches()) {
                throw new IllegalArgumentException("expected an endpoint origin http(s)://host:port (an IPv4 address or host name),"
                        + " found \"" + origin + "\"");
            }
            var m = via == null ? null : VIA.matcher(via);
            if (m == null || !m.matches() || Integer.parseInt(m.group(1)) < FIRST_FORWARD_HOST
                    || Integer.parseInt(m.group(1)) >= FIRST_FORWARD_HOST + MAX_ENDPOINTS || port(m.group(2)) != port(origin)) {
                throw new IllegalArgumentException("expected a forwarded guest address 10.0.2.100-115 on the endpoint's port for "
                        + origin + ", found \"" + via + "\"");
            }
        }

        public String host() {
            return URI.create(origin).getHost();
        }

        public int port() {
            return port(origin);
        }

        private static int port(String text) {
            int p = Integer.parseInt(text.substring(text.lastIndexOf(':') + 1));
            if (p < 1 || p > 65535) throw new IllegalArgumentException("expected a port 1..65535, found " + p + " in " + text);
            return p;
        }
    }

    /**
     * @param endpoints where the guest may connect out to
     * @param ports     the containers' TCP ports forwarded from the host's 127.0.0.1
     */
    public record Plan(List<Endpoint> endpoints, List<Integer> ports) {
        public static final Plan NONE = new Plan(List.of(), List.of());

        public Plan {
            endpoints = endpoints == null ? List.of() : List.copyOf(endpoints);
            ports = ports == null ? List.of() : List.copyOf(ports);
            if (endpoints.size() > MAX_ENDPOINTS || ports.size() > MAX_PORTS) {
                throw new IllegalArgumentException("expected at most " + MAX_ENDPOINTS + " endpoints and " + MAX_PORTS
                        + " forwarded ports, found " + endpoints.size() + " and " + ports.size());
            }
            for (int p : ports) {
                if (p < 1 || p > 65535) throw new IllegalArgumentException("expected forwarded ports 1..65535, found " + p);
            }
            if (ports.stream().distinct().count() != ports.size()) {
                throw new IllegalArgumentException("expected distinct forwarded ports, found " + ports);
            }
        }

        /**
         * The plan for endpoint origins (as the spec parser normalises them) and container ports.
         *
         * @throws IllegalArgumentException for an origin a guest cannot be forwarded to (IPv6)
         */
        public static Plan of(List<String> origins, List<Integer> ports) {
            List<Endpoint> endpoints = new ArrayList<>();
            for (int i = 0; i < origins.size(); i++) {
                String origin = origins.get(i);
                int port = Integer.parseInt(origin.substring(origin.lastIndexOf(':') + 1));
                endpoints.add(new Endpoint(origin, "10.0.2." + (FIRST_FORWARD_HOST + i) + ":" + port));
            }
            return new Plan(endpoints, ports);
        }

        /** The endpoints' origins, the agent's allow-list. */
        public List<String> origins() {
            return endpoints.stream().map(Endpoint::origin).toList();
        }
    }

    /**
     * Starts the guest's side of {@code plan}'s outbound endpoints: their names and addresses made
     * local, and a relay from each to its forwarded address. (The inbound ports are the agent's
     * {@code --forward-port}s, relayed from {@link #GUEST_ADDRESS}.)
     */
    public static AutoCloseable start(Plan plan) throws IOException {
        List<TcpRelay> relays = new ArrayList<>();
        try {
            StringBuilder hosts = new StringBuilder("127.0.0.1 localhost\n");
            for (int i = 0; i < plan.endpoints().size(); i++) {
                Endpoint e = plan.endpoints().get(i);
                InetAddress listen = listenAddress(e.host(), i, hosts);
                String[] via = e.via().split(":");
                InetSocketAddress target = new InetSocketAddress(InetAddress.getByName(via[0]), Integer.parseInt(via[1]));
                relays.add(TcpRelay.start("endpoint " + e.origin(), new InetSocketAddress(listen, e.port()),
                        () -> TcpRelay.connected(SocketChannel.open(), target)));
            }
            Files.writeString(Path.of("/etc/hosts"), hosts.toString(), StandardCharsets.US_ASCII);
            // glibc would ask DNS first, and the restricted network has none: the hosts file alone answers
            Files.writeString(Path.of("/etc/nsswitch.conf"), "hosts: files\n", StandardCharsets.US_ASCII);
        } catch (IOException | RuntimeException e) {
            relays.forEach(TcpRelay::close);
            throw e;
        }
        return () -> relays.forEach(TcpRelay::close);
    }

    /** The guest address the agent will connect to for endpoint host {@code host}, made local here. */
    private static InetAddress listenAddress(String host, int index, StringBuilder hosts) throws IOException {
        if (host.equals("localhost")) return InetAddress.getByName("127.0.0.1"); // already in the hosts file
        if (IPV4.matcher(host).matches()) {
            InetAddress a = InetAddress.getByName(host);
            if (!a.isLoopbackAddress()) addToLoopback(host);
            return a;
        }
        String local = "127.0.1." + (index + 1);
        hosts.append(local).append(' ').append(host).append('\n');
        return InetAddress.getByName(local);
    }

    private static void addToLoopback(String ip) throws IOException {
        Process p = new ProcessBuilder("ip", "addr", "add", ip + "/32", "dev", "lo").redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0 && !out.contains("File exists")) {
                throw new IOException("cannot add " + ip + " to the guest's loopback for its endpoint relay: " + out.strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted adding " + ip + " to the guest's loopback");
        }
    }
}
