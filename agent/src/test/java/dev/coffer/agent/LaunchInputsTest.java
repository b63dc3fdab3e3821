package dev.coffer.agent;

import dev.coffer.policy.model.LaunchSettings;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The host's launch arguments against the policy's launch object. */
class LaunchInputsTest {
    static final LaunchSettings PINNED = new LaunchSettings(List.of(8080, 9000), 8081, List.of("http://127.0.0.1:8400"));

    @Test
    void theHostMayAskForLessThanThePolicyAllows() {
        LaunchInputs.Checked all = LaunchInputs.check(Optional.of(PINNED), List.of(8080, 9000), 8081, List.of());
        assertEquals(List.of(8080, 9000), all.forwardPorts());
        assertEquals(8081, all.skrPort());
        LaunchInputs.Checked less = LaunchInputs.check(Optional.of(PINNED), List.of(9000), null, List.of());
        assertEquals(List.of(9000), less.forwardPorts());
        assertEquals(null, less.skrPort());
        assertEquals(List.of(), less.skrEndpoints());
    }

    @Test
    void aForwardedPortThePolicyDoesNotListIsRefusedNamingTheField() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LaunchInputs.check(Optional.of(PINNED), List.of(8080, 22), 8081, List.of()));
        assertTrue(e.getMessage().contains("forwarded port (--forward-port; a microVM's launch disk network.ports)")
                && e.getMessage().contains("launch.forwarded_ports [8080, 9000], found 22"), e.getMessage());
        // a policy without a launch object (an ACI policy) relays nothing
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> LaunchInputs.check(Optional.of(LaunchSettings.NONE), List.of(8080), null, List.of()));
        assertTrue(none.getMessage().contains("launch.forwarded_ports [], found 8080"), none.getMessage());
    }

    @Test
    void anSkrPortOtherThanThePoliciesIsRefused() {
        IllegalArgumentException other = assertThrows(IllegalArgumentException.class,
                () -> LaunchInputs.check(Optional.of(PINNED), List.of(), 8080, List.of()));
        assertTrue(other.getMessage().contains("skrPort) to be the policy's launch.skr_port 8081, found 8080"), other.getMessage());
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> LaunchInputs.check(Optional.of(LaunchSettings.NONE), List.of(), 8081, List.of()));
        assertTrue(none.getMessage().contains("declares no SKR API"), none.getMessage());
    }

    @Test
    void theSkrApiCallsThePoliciesEndpointsNotTheHosts() {
        LaunchInputs.Checked c = LaunchInputs.check(Optional.of(PINNED), List.of(), 8081, List.of("https://evil.example:443"));
        assertEquals(List.of("http://127.0.0.1:8400"), c.skrEndpoints());
    }

    @Test
    void allowAllLeavesTheHostsArgumentsAsGiven() {
        LaunchInputs.Checked c = LaunchInputs.check(Optional.empty(), List.of(22), 8081, List.of("http://127.0.0.1:1"));
        assertEquals(List.of(22), c.forwardPorts());
        assertEquals(List.of("http://127.0.0.1:1"), c.skrEndpoints());
    }
}
