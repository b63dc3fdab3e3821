package dev.coffer.agent;

import dev.coffer.agent.skr.SecureKeyRelease;
import dev.coffer.policy.model.LaunchSettings;

import java.util.List;
import java.util.Optional;

/**
 * The host's launch arguments that steer the agent beyond containers (forwarded ports, the SKR
 * API's port and endpoints), checked against what the policy pins (its {@code launch} object,
 * bound by HOST_DATA). The host may ask for less than the policy allows — a port not relayed, no
 * SKR API — never for more: a relayed port the policy does not list would let the host reach a
 * group's loopback-only services. With allow-all (development, reported debuggable) the host's
 * arguments stand as given.
 */
final class LaunchInputs {
    /** What the agent sets up: the checked ports, and the SKR API's allow-list (the policy's, when there is one). */
    record Checked(List<Integer> forwardPorts, Integer skrPort, List<String> skrEndpoints) {}

    private LaunchInputs() {}

    /**
     * @param pinned        the policy's settings, empty for allow-all
     * @param forwardPorts  the host's {@code --forward-port}s (a microVM's launch disk: network.ports)
     * @param skrPort       the host's {@code --skr-port} (launch disk: skrPort), or null
     * @param skrEndpoints  the host's {@code --skr-endpoint}s as origins (launch disk: network.endpoints); used
     *                      only with allow-all
     * @throws IllegalArgumentException naming the first argument the policy does not allow
     */
    static Checked check(Optional<LaunchSettings> pinned, List<Integer> forwardPorts, Integer skrPort, List<String> skrEndpoints) {
        if (pinned.isEmpty()) return new Checked(List.copyOf(forwardPorts), skrPort, List.copyOf(skrEndpoints));
        LaunchSettings policy = pinned.get();
        for (int port : forwardPorts) {
            if (!policy.forwardedPorts().contains(port)) {
                throw new IllegalArgumentException("expected each forwarded port (--forward-port; a microVM's launch disk"
                        + " network.ports) to be one the policy lists in launch.forwarded_ports " + policy.forwardedPorts()
                        + ", found " + port + "; a port the policy does not list would open the group's loopback-only"
                        + " services to the host: declare it under the container's ports and regenerate the policy");
            }
        }
        if (skrPort != null && !skrPort.equals(policy.skrPort())) {
            throw new IllegalArgumentException("expected the SKR API's port (--skr-port; launch disk skrPort) to be "
                    + (policy.skrPort() == null ? "absent, as the policy declares no SKR API (no launch.skr_port)"
                    : "the policy's launch.skr_port " + policy.skrPort()) + ", found " + skrPort
                    + "; the port comes from the spec's skr section through the policy");
        }
        // The SKR API's allow-list is the policy's. The host's endpoints are not refused, only not
        // used: they also name where encrypted volumes' keys come from (checked by their own
        // enforcement point), and a microVM reaches them through its network plan either way.
        List<String> allowed = policy.skrEndpoints().stream().map(SecureKeyRelease::endpointOrigin).toList();
        // the policy's list, not the host's: an SKR API may call exactly what the policy names
        return new Checked(List.copyOf(forwardPorts), skrPort, skrPort == null ? List.of() : allowed);
    }
}
